"""A KMS-encrypted dead-letter queue for EventBridge targets, with an alarm on its messages.

The function builds in the caller's scope, so the construct ids (``<name>``, ``alarm_id``)
sit where the caller puts them.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ml_refarch.compliance.acknowledge import acknowledge


def alarmed_dead_letters(
    scope: Construct,
    name: str,
    *,
    key: kms.IKey,
    topic: sns.ITopic,
    no_redrive_because: str,
    no_redrive_rules: Sequence[str],
    alarm_id: str,
    alarm_description: str,
    removal_policy: cdk.RemovalPolicy | None = None,
) -> sqs.Queue:
    """The queue ``name`` (14 days' retention) encrypted with ``key``, which EventBridge may
    use to write to it, and the alarm ``alarm_id`` telling ``topic`` as soon as a message
    waits in it. ``no_redrive_because`` acknowledges ``no_redrive_rules``: the findings of a
    dead-letter queue without its own."""
    dead_letters = sqs.Queue(
        scope,
        name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
        removal_policy=removal_policy,
    )
    acknowledge(dead_letters, no_redrive_because, *no_redrive_rules)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgeDeadLetters",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(scope).account}},
        )
    )
    alarm = cloudwatch.Alarm(
        scope,
        alarm_id,
        alarm_description=alarm_description,
        metric=dead_letters.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(5), statistic="Maximum"
        ),
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return dead_letters
