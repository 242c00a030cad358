"""A CloudWatch log group encrypted with a customer-managed key and a bounded retention."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    retention: logs.RetentionDays,
    removal_policy: cdk.RemovalPolicy,
) -> logs.LogGroup:
    """A log group under ``construct_id`` (as ``<construct_id>/LogGroup``), KMS-encrypted.

    Args:
        encryption_key: the key that encrypts the log data; its policy must allow
            CloudWatch Logs (``customer_managed_key(allow_cloudwatch_logs=True)``).
        retention: how long the events are kept.
        removal_policy: whether the group outlives the stack.
    """
    holder = Construct(scope, construct_id)
    return logs.LogGroup(
        holder,
        "LogGroup",
        encryption_key=encryption_key,
        retention=retention,
        removal_policy=removal_policy,
    )
