"""Reusable constructs that carry the security baseline of every ml-refarch stack.

This package lives inside ``ml_refarch`` on purpose: a top-level package named
``constructs`` would shadow the ``constructs`` library that aws-cdk-lib imports.

Constructs take explicit props (removal policy, versioning, log retention, zones) and never
the app's profile; :class:`ResourceDefaults` groups the ones every stack passes on.
"""

from ml_refarch.constructs.defaults import ResourceDefaults
from ml_refarch.constructs.encryption_key import customer_managed_key
from ml_refarch.constructs.log_group import encrypted_log_group
from ml_refarch.constructs.secure_bucket import SecureBucket

__all__ = ["ResourceDefaults", "SecureBucket", "customer_managed_key", "encrypted_log_group"]
