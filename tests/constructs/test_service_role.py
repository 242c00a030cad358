"""service_role: a role one service assumes, its permissions in a managed policy."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from ml_refarch.cfn import ref_target, trusted_services
from ml_refarch.constructs.service_role import service_role
from tests.support import resources_of_type


def test_the_role_trusts_one_service_and_carries_a_managed_policy():
    stack = cdk.Stack(cdk.App(), "Tiny")
    role, policy = service_role(
        stack,
        "Starter",
        service="events.amazonaws.com",
        description="starts things",
        statements=[iam.PolicyStatement(actions=["states:StartExecution"], resources=["*"])],
    )
    assert stack.get_logical_id(role.node.default_child).startswith("StarterRole")
    assert stack.get_logical_id(policy.node.default_child).startswith("StarterPolicy")
    template = Template.from_stack(stack).to_json()
    (role_body,) = resources_of_type(template, "AWS::IAM::Role").values()
    (policy_body,) = resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
    assert trusted_services(role_body) == {"events.amazonaws.com"}
    assert "Policies" not in role_body["Properties"]
    assert [ref_target(r) for r in policy_body["Properties"]["Roles"]] == [
        stack.get_logical_id(role.node.default_child)
    ]
    assert policy_body["Properties"].get("Description", "") == ""  # none unless given


def test_the_trust_may_carry_conditions():
    stack = cdk.Stack(cdk.App(), "Tiny")
    service_role(
        stack,
        "Delivery",
        service="firehose.amazonaws.com",
        conditions={"StringEquals": {"sts:ExternalId": "123456789012"}},
        description="delivers",
        statements=[iam.PolicyStatement(actions=["s3:PutObject"], resources=["*"])],
    )
    template = Template.from_stack(stack).to_json()
    (role_body,) = resources_of_type(template, "AWS::IAM::Role").values()
    (statement,) = role_body["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "123456789012"}}
