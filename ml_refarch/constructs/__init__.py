"""Reusable constructs that carry the security baseline of every ml-refarch stack.

This package lives inside ``ml_refarch`` on purpose: a top-level package named
``constructs`` would shadow the ``constructs`` library that aws-cdk-lib imports.
"""

from ml_refarch.constructs.encryption_key import EncryptionKey
from ml_refarch.constructs.log_group import EncryptedLogGroup
from ml_refarch.constructs.secure_bucket import SecureBucket

__all__ = ["EncryptedLogGroup", "EncryptionKey", "SecureBucket"]
