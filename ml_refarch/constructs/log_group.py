"""A CloudWatch log group encrypted with a customer-managed key and a bounded retention."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_refarch.config import Profile
from ml_refarch.constructs.removal import removal_policy

_RETENTION_BY_DAYS = {
    7: logs.RetentionDays.ONE_WEEK,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


class EncryptedLogGroup(Construct):
    """A log group whose retention follows the profile.

    Args:
        encryption_key: the key that encrypts the log data; its policy must allow
            CloudWatch Logs (``EncryptionKey(allow_cloudwatch_logs=True)``).
        profile: gives the retention and whether the group outlives the stack.

    Attributes:
        log_group: the log group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        profile: Profile,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=encryption_key,
            retention=_RETENTION_BY_DAYS[profile.log_retention_days],
            removal_policy=removal_policy(profile),
        )
