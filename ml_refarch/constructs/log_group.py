"""A CloudWatch log group encrypted with a customer-managed key and a bounded retention."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.compliance.control_tower import RULE_PREFIX as CT

#: AWS Control Tower's CT.CLOUDWATCH.PR.2 asks for a year or more (or no expiry):
#: https://docs.aws.amazon.com/controltower/latest/controlreference/cloudwatch-rules.html
_CONTROL_TOWER_MINIMUM_RETENTION_DAYS = 365


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
    log_group = logs.LogGroup(
        holder,
        "LogGroup",
        encryption_key=encryption_key,
        retention=retention,
        removal_policy=removal_policy,
    )
    acknowledge_short_retention(log_group)
    return log_group


def acknowledge_short_retention(log_group: logs.LogGroup) -> None:
    """Acknowledge Control Tower's one-year retention control on a log group kept less.

    Only the sandbox profile keeps logs less than a year (a week by default): a sandbox is
    destroyed after a trial, and its logs should cost nothing once it is gone. The
    production profile keeps them a year, which the control accepts.
    """
    resource = log_group.node.default_child
    assert isinstance(resource, logs.CfnLogGroup)
    days = cdk.Stack.of(log_group).resolve(resource.retention_in_days)
    if isinstance(days, int) and days < _CONTROL_TOWER_MINIMUM_RETENTION_DAYS:
        acknowledge(
            log_group,
            f"Kept {days} days as the sandbox profile sets it: a sandbox stack is destroyed "
            "after a short trial and its logs should not outlive it or bill for a year; the "
            "production profile keeps logs a year.",
            f"{CT}-cloudwatch_log_group_retention_period_check",
        )
