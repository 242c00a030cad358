"""An acknowledgment written for an environment-agnostic stack (``<AWS::Region>`` in an IAM5
finding) also covers the same finding in a stack pinned to an account and region, where CDK
writes the values themselves (``-c account/region``, a delivery pipeline's stages)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from ml_refarch.app import project_context
from ml_refarch.compliance.acknowledge import acknowledge, in_environment
from ml_refarch.compliance.packs import make_packs

FINDING = (
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
    "log-group:/aws/sagemaker/*]"
)
REASON = "SageMaker names each job's log group below /aws/sagemaker/, so the role may write there."


def iam5_findings(env: cdk.Environment | None, *, acknowledged: bool) -> list[str]:
    stack = cdk.Stack(cdk.App(context=project_context()), "Pinned", env=env)
    policy = iam.Policy(
        stack,
        "Policy",
        statements=[
            iam.PolicyStatement(
                actions=["logs:CreateLogStream"],
                resources=[
                    f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:"
                    "log-group:/aws/sagemaker/*"
                ],
            )
        ],
    )
    iam.Role(
        stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
    ).attach_inline_policy(policy)
    if acknowledged:
        acknowledge(policy, REASON, FINDING)
    violations = make_packs()["AwsSolutions"].validate_scope(stack).violations
    return [v.rule_name for v in violations if v.rule_name.startswith("AwsSolutions-IAM5")]


@pytest.mark.parametrize("env", [None, cdk.Environment(account="111122223333", region="eu-west-1")])
def test_the_acknowledgment_covers_the_finding_pinned_or_not(env):
    assert iam5_findings(env, acknowledged=False)  # the finding is there to acknowledge
    assert iam5_findings(env, acknowledged=True) == []


def test_a_pinned_stack_reads_the_pseudo_parameters_as_values():
    stack = cdk.Stack(
        cdk.App(context=project_context()),
        "Pinned",
        env=cdk.Environment(account="111122223333", region="eu-west-1"),
    )
    assert in_environment(stack, FINDING) == (
        "AwsSolutions-IAM5[Resource::arn:aws:logs:eu-west-1:111122223333:"
        "log-group:/aws/sagemaker/*]"
    )
    assert in_environment(cdk.Stack(cdk.App(), "Agnostic"), FINDING) == FINDING
