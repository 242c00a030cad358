"""A customer-managed KMS key with rotation, for one stack's data."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ml_refarch.config import Profile
from ml_refarch.constructs.removal import removal_policy


class EncryptionKey(Construct):
    """A symmetric customer-managed key with yearly automatic rotation.

    Args:
        description: what the key protects (shown in the KMS console).
        profile: decides whether the key is retained or scheduled for deletion on destroy.
        allow_cloudwatch_logs: let CloudWatch Logs in this stack's region use the key for log
            groups of this account (log-group encryption needs it in the key policy).
            Default: false.

    Attributes:
        key: the KMS key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        profile: Profile,
        allow_cloudwatch_logs: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            removal_policy=removal_policy(profile),
            # The shortest waiting period keeps sandbox teardown quick; production retains.
            pending_window=cdk.Duration.days(7),
        )
        if allow_cloudwatch_logs:
            stack = cdk.Stack.of(self)
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowCloudWatchLogsInThisAccount",
                    principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                    actions=[
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                        "kms:GenerateDataKey",
                        "kms:GenerateDataKeyWithoutPlaintext",
                        "kms:DescribeKey",
                    ],
                    resources=["*"],
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": (
                                f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
                            )
                        }
                    },
                )
            )
