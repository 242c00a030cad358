"""A customer-managed KMS key with rotation, for one stack's data."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def customer_managed_key(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    removal_policy: cdk.RemovalPolicy,
    allow_cloudwatch_logs: bool = False,
) -> kms.Key:
    """A symmetric customer-managed key with yearly rotation, as ``<construct_id>/Key``.

    Args:
        description: what the key protects (shown in the KMS console).
        removal_policy: ``RETAIN`` keeps the key when the stack is deleted; ``DESTROY``
            schedules its deletion after the shortest waiting period (7 days).
        allow_cloudwatch_logs: let CloudWatch Logs in this stack's region use the key for log
            groups of this account (log-group encryption needs it in the key policy).
            Default: false.
    """
    holder = Construct(scope, construct_id)
    key = kms.Key(
        holder,
        "Key",
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
        # The shortest waiting period keeps sandbox teardown quick; production retains.
        pending_window=cdk.Duration.days(7),
    )
    grants_only_for_aws_services(key)
    if allow_cloudwatch_logs:
        stack = cdk.Stack.of(holder)
        key.add_to_resource_policy(
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
    return key


def grants_only_for_aws_services(key: kms.IKey) -> None:
    """Deny ``kms:CreateGrant`` on ``key`` unless an AWS service asks for one of its
    resources (a key of this project, or one CDK creates, such as a pipeline's
    artifact key)."""
    # Grants let their grantee use the key without the key policy naming it; only AWS
    # services acting for a resource of the account need them here (a role's
    # kms:CreateGrant is scoped with kms:GrantIsForAWSResource). AWS Control Tower's
    # CT.KMS.PR.3 asks for this statement:
    # https://docs.aws.amazon.com/controltower/latest/controlreference/kms-rules.html
    # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalisawsservice
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="GrantsOnlyForAwsServices",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        )
    )
