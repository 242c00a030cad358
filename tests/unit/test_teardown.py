"""Teardown, proven from the templates: a sandbox stack leaves nothing that bills when it is
destroyed, and a production stack keeps its data.

CloudFormation keeps a resource whose ``DeletionPolicy`` is ``Retain`` (or ``Snapshot``)
when the stack is deleted ("DeletionPolicy attribute", CloudFormation User Guide).
"""

from __future__ import annotations

import pytest

from tests.support import AWS_VARIANT_STACKS, VARIANTS

#: Types that bill nothing while they exist, so a sandbox may keep them: the API Gateway
#: CloudWatch role that `public-endpoint` sets for the whole region stays (other APIs may log
#: through it); see that pattern's page.
BILL_NOTHING = frozenset({"AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"})
#: Types that hold data: production keeps them when the stack is deleted.
HOLD_DATA = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::Kinesis::Stream",
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::Logs::LogGroup",
        "AWS::KMS::Key",
    }
)
KEPT = ("Retain", "RetainExceptOnCreate", "Snapshot")


def kept_resources(template: dict) -> dict[str, str]:
    """Logical id -> type of every resource the stack's deletion leaves behind."""
    return {
        logical_id: resource["Type"]
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("DeletionPolicy") in KEPT
    }


def billing_leftovers(template: dict) -> list[str]:
    return [
        f"{logical_id} ({type_})"
        for logical_id, type_ in kept_resources(template).items()
        if type_ not in BILL_NOTHING
    ]


def unkept_data(template: dict) -> list[str]:
    kept = kept_resources(template)
    return [
        f"{logical_id} ({resource['Type']})"
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] in HOLD_DATA and logical_id not in kept
    ]


SANDBOX_STACKS = [
    (variant, stack)
    for variant, stack in AWS_VARIANT_STACKS
    if VARIANTS[variant].context.get("profile", "sandbox") == "sandbox"
]
PRODUCTION_STACKS = [(v, s) for v, s in AWS_VARIANT_STACKS if v == "production"]


@pytest.mark.parametrize(("variant", "stack"), SANDBOX_STACKS)
def test_a_sandbox_stack_leaves_nothing_that_bills(synthesized, variant, stack):
    assert billing_leftovers(synthesized(variant).templates[stack]) == []


@pytest.mark.parametrize(("variant", "stack"), PRODUCTION_STACKS)
def test_a_production_stack_keeps_its_data(synthesized, variant, stack):
    assert unkept_data(synthesized(variant).templates[stack]) == []


def test_the_checks_find_a_kept_stream_and_a_deleted_bucket():
    template = {
        "Resources": {
            "Stream": {"Type": "AWS::Kinesis::Stream", "DeletionPolicy": "Retain"},
            "Role": {"Type": "AWS::IAM::Role", "DeletionPolicy": "Retain"},
            "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete"},
        }
    }
    assert billing_leftovers(template) == ["Stream (AWS::Kinesis::Stream)"]
    assert unkept_data(template) == ["Bucket (AWS::S3::Bucket)"]
