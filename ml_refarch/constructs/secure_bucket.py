"""An S3 bucket with the ml-refarch baseline: KMS, no public access, TLS only."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge, acknowledge_cdk_provider
from ml_refarch.compliance.control_tower import RULE_PREFIX as CT


class SecureBucket(Construct):
    """A data bucket encrypted with a customer-managed key.

    Public access is blocked, requests without TLS are denied by the bucket policy, and
    default encryption uses ``encryption_key`` with an S3 bucket key (fewer KMS requests).
    The props decide the rest (the sandbox profile: destroyed, emptied, no versioning or
    access logs; production: retained, versioned, access logs).

    Args:
        encryption_key: the key for default encryption.
        removal_policy: whether the bucket (and its access log bucket) outlives the stack.
        auto_delete_objects: empty the bucket before CloudFormation deletes it, through one
            of CDK's Lambda-backed custom resources. Without it, deleting the stack fails
            while the bucket holds objects. Only meaningful with ``DESTROY``.
        versioned: keep every version of every object; when false, the compliance packs'
            versioning findings are acknowledged as throwaway data.
        access_logs: write server access logs to a companion log bucket; when false, the
            logging findings are acknowledged as throwaway data.
        contents: a few words on what the bucket holds, used in acknowledgment reasons.
        event_bridge: send the bucket's object events to EventBridge (the bucket's own
            ``NotificationConfiguration``, no custom resource). Default: false, the Control
            Tower event-notification finding is acknowledged (nothing consumes the events).
        no_replication_because: why the data needs no cross-region replica; the
            compliance packs' replication rules are acknowledged with it. Default: ``None``,
            the findings stand (configure replication, or give the reason).

    Attributes:
        bucket: the data bucket.
        access_log_bucket: the server access log bucket, or ``None`` without access logs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        auto_delete_objects: bool,
        versioned: bool,
        access_logs: bool,
        contents: str,
        no_replication_because: str | None = None,
        event_bridge: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_log_bucket: s3.Bucket | None = (
            self._access_log_bucket(removal_policy) if access_logs else None
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=versioned,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=f"{construct_id.lower()}/"
            if self.access_log_bucket
            else None,
            removal_policy=removal_policy,
            auto_delete_objects=auto_delete_objects,
            # Parts of an upload that never completes are stored and billed until they are
            # aborted: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html
            lifecycle_rules=[
                s3.LifecycleRule(abort_incomplete_multipart_upload_after=cdk.Duration.days(7))
            ],
        )
        if event_bridge:
            resource = self.bucket.node.default_child
            assert isinstance(resource, s3.CfnBucket)
            resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                    event_bridge_enabled=True
                )
            )
        else:
            acknowledge(
                self.bucket,
                f"The bucket holds {contents}; nothing in the pattern reacts to its object "
                "events, so event notifications would deliver to no consumer.",
                f"{CT}-s3_event_notifications_enabled_check",
            )
        # Object Lock keeps each locked object version from being deleted or overwritten
        # until its retention ends: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
        acknowledge(
            self.bucket,
            f"The bucket holds {contents}, which the pattern replaces and deletes as it runs; "
            "S3 Object Lock would make every version undeletable for its retention period, "
            "a records-retention decision for the data's owner, not for this pattern.",
            f"{CT}-s3_bucket_object_lock_enabled_check",
        )
        if no_replication_because is not None:
            acknowledge(self.bucket, no_replication_because, controls.S3_REPLICATION)
        if not access_logs:
            acknowledge(
                self.bucket,
                f"Sandbox profile: the bucket holds {contents}, throwaway data deleted with "
                "the stack; the production profile turns on server access logs.",
                controls.S3_ACCESS_LOGS,
                checkov=("CKV_AWS_18",),
            )
        if not versioned:
            acknowledge(
                self.bucket,
                f"Sandbox profile: the bucket holds {contents}, throwaway data deleted with "
                "the stack; the production profile turns on versioning.",
                controls.S3_VERSIONING,
                checkov=("CKV_AWS_21",),
            )
        if auto_delete_objects:
            acknowledge_cdk_provider(
                self,
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                purpose="empties sandbox buckets while the stack is deleted",
                calls="the S3 API",
            )

    def _access_log_bucket(self, removal_policy: cdk.RemovalPolicy) -> s3.Bucket:
        """The companion bucket S3 delivers server access logs to, kept a year."""
        log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access log delivery writes only to SSE-S3 encrypted targets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
        )
        acknowledge(
            log_bucket,
            "This bucket receives S3 server access logs, which S3 delivers only to "
            "SSE-S3 encrypted targets; giving the log bucket its own access log or a "
            "replica would only log the logs.",
            controls.S3_REPLICATION,
            controls.S3_DEFAULT_KMS,
            checkov=("CKV_AWS_18",),
        )
        acknowledge(
            log_bucket,
            "This bucket receives S3 server access logs of its data bucket: logging its own "
            "access would only log the logs, nothing reacts to its object events, and S3 "
            "Object Lock would keep locked log versions that its lifecycle rule expires.",
            f"{CT}-s3_bucket_logging_enabled_check",
            f"{CT}-s3_event_notifications_enabled_check",
            f"{CT}-s3_bucket_object_lock_enabled_check",
        )
        return log_bucket
