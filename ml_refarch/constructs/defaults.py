"""What an environment decides for the resources every construct creates.

Constructs take these as explicit props and never see the app's profile: the stack base
(:class:`ml_refarch.stacks.base.PatternStack`) maps the profile to one
:class:`ResourceDefaults` and passes its fields on. A construct that composes others (the
hosting foundation, the notebook environment) takes the whole set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs


@dataclass(frozen=True)
class ResourceDefaults:
    """Removal, versioning, logging and spread of the resources a stack creates.

    Attributes:
        removal_policy: what ``cdk destroy`` does with data (buckets, keys, log groups,
            file systems). Default: ``DESTROY``, the stack leaves nothing behind.
        versioned_buckets: turn on S3 object versioning for data buckets. Default: false.
        access_logs: write S3 server access logs of data buckets to a companion log bucket.
            Default: false.
        log_retention: retention of every CloudWatch log group. Default: one week.
        max_azs: Availability Zones of a VPC (CDK caps environment-agnostic stacks at two).
            Default: 2.
        interface_endpoint_azs: Availability Zones each interface endpoint has a network
            interface in; ``None`` for every zone of the VPC. Default: 1 (each zone bills).
        custom_resources: whether CDK's Lambda-backed custom resources may be used
            (emptying buckets on delete, closing a VPC's default security group, copying
            files into a bucket). Default: true; false where the target cannot run them.
    """

    removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY
    versioned_buckets: bool = False
    access_logs: bool = False
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_WEEK
    max_azs: int = 2
    interface_endpoint_azs: int | None = 1
    custom_resources: bool = True

    @property
    def retains_data(self) -> bool:
        """Whether data outlives the stack."""
        return self.removal_policy == cdk.RemovalPolicy.RETAIN

    @property
    def removes_leftovers(self) -> bool:
        """Whether custom resources remove, on delete, what would outlive a destroyed stack
        (objects in its buckets, files a service created): only when data is destroyed and
        the target can run Lambda-backed custom resources."""
        return not self.retains_data and self.custom_resources

    @property
    def auto_delete_objects(self) -> bool:
        """Empty buckets on delete (see :attr:`removes_leftovers`)."""
        return self.removes_leftovers

    def bucket_props(self) -> dict[str, Any]:
        """A :class:`~ml_refarch.constructs.secure_bucket.SecureBucket`'s removal, emptying,
        versioning and access-log props."""
        return {
            "removal_policy": self.removal_policy,
            "auto_delete_objects": self.auto_delete_objects,
            "versioned": self.versioned_buckets,
            "access_logs": self.access_logs,
        }

    def log_group_props(self) -> dict[str, Any]:
        """A log group's ``retention`` and ``removal_policy`` (``logs.LogGroup`` and
        :func:`~ml_refarch.constructs.log_group.encrypted_log_group` take both)."""
        return {"retention": self.log_retention, "removal_policy": self.removal_policy}

    def vpc_props(self) -> dict[str, Any]:
        """An :class:`~ml_refarch.constructs.isolated_vpc.IsolatedVpc`'s zones, log
        retention, removal and custom-resource props."""
        return {
            "max_azs": self.max_azs,
            "interface_endpoint_azs": self.interface_endpoint_azs,
            "log_retention": self.log_retention,
            "removal_policy": self.removal_policy,
            "custom_resources": self.custom_resources,
        }
