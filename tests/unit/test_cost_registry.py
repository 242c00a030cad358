"""The cost engine's shape: pricers registered by resource type, and what the engine does
with what they yield."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ml_refarch import catalog
from ml_refarch.cfn import resources_by_type
from ml_refarch.cost import (
    PRICERS,
    USAGE_ORDER,
    CostLine,
    TemplateContext,
    Usage,
    estimate_stack,
    load_prices,
    pricer,
    pricers_for,
)
from ml_refarch.cost import pricers as pricer_modules
from ml_refarch.cost.pricers import hosting, storage


@pytest.fixture(scope="module")
def prices():
    return load_prices()


@pytest.fixture
def restore_pricers():
    """Registrations a test makes are undone after it."""
    saved = list(PRICERS)
    yield
    PRICERS[:] = saved


def template(*resources: tuple[str, str, dict]) -> dict:
    return {
        "Resources": {
            logical_id: {"Type": resource_type, "Properties": properties}
            for logical_id, resource_type, properties in resources
        }
    }


def test_an_unknown_resource_type_costs_nothing_and_is_no_error(prices):
    assert pricers_for("AWS::Made::Up") == []
    cost = estimate_stack(template(("Thing", "AWS::Made::Up", {"Size": 10})), prices)
    assert (cost.lines, cost.usage_based, cost.monthly_usd) == ([], [], 0)


def test_a_pricer_is_found_by_each_of_its_types():
    (endpoint,) = pricers_for("AWS::SageMaker::Endpoint")
    assert endpoint.price is hosting.endpoints
    (key,) = pricers_for("AWS::KMS::Key")
    assert pricers_for("AWS::KMS::ReplicaKey") == [key]
    assert key.price is storage.kms_keys
    assert key.name == "ml_refarch.cost.pricers.storage.kms_keys"


def test_a_pricer_gets_every_resource_of_its_types_at_once_sorted_by_id(prices):
    keys = template(
        ("Zeta", "AWS::KMS::Key", {}),
        ("Alpha", "AWS::KMS::ReplicaKey", {}),
        ("Mid", "AWS::KMS::Key", {}),
    )
    (line,) = estimate_stack(keys, prices).lines
    assert (line.item, line.note) == ("3 KMS keys", "Alpha, Mid, Zeta")


def test_a_type_with_two_pricers_runs_both_in_order(prices, restore_pricers):
    seen: list[list[str]] = []

    @pricer("AWS::KMS::Key")
    def key_audit(keys, context: TemplateContext):
        seen.append([logical_id for logical_id, _ in keys])
        yield CostLine("key audit", len(keys), "$0.50/key-month", 0.5 * len(keys))
        yield Usage("kms", "key audit requests")

    assert [p.price for p in pricers_for("AWS::KMS::Key")] == [storage.kms_keys, key_audit]
    cost = estimate_stack(template(("A", "AWS::KMS::Key", {}), ("B", "AWS::KMS::Key", {})), prices)
    assert seen == [["A", "B"]]
    assert [line.item for line in cost.lines] == ["2 KMS keys", "key audit"]
    assert cost.monthly_usd == pytest.approx(2 * 1.00 + 2 * 0.50)
    assert cost.usage_based == ["KMS requests", "key audit requests"]


def test_usage_is_listed_in_usage_order_whatever_order_pricers_run(prices, restore_pricers):
    @pricer("AWS::SNS::Topic")
    def late_storage(_, context):
        yield Usage("s3", "object storage a topic archives to")

    cost = estimate_stack(
        template(("Topic", "AWS::SNS::Topic", {}), ("Bucket", "AWS::S3::Bucket", {})), prices
    )
    assert cost.usage_based == [
        "S3 storage and requests",
        "object storage a topic archives to",
        "SNS publishes and deliveries",
    ]


def test_usage_named_twice_is_listed_once(prices):
    roles_and_machine = template(
        (
            "Role",
            "AWS::IAM::Role",
            {
                "AssumeRolePolicyDocument": {
                    "Statement": [{"Principal": {"Service": "sagemaker.amazonaws.com"}}]
                }
            },
        ),
        (
            "Machine",
            "AWS::StepFunctions::StateMachine",
            {
                "Definition": {
                    "States": {
                        "T": {"Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync"}
                    }
                }
            },
        ),
    )
    usage = estimate_stack(roles_and_machine, prices).usage_based
    assert usage.count("SageMaker training and tuning instance-hours") == 1


def test_a_usage_kind_outside_the_order_is_an_error():
    assert "s3" in USAGE_ORDER
    with pytest.raises(ValueError, match="USAGE_ORDER"):
        Usage("gpu-rental", "something new")


def test_a_pricer_needs_a_type_and_a_name_of_its_own(restore_pricers):
    with pytest.raises(ValueError, match="at least one resource type"):
        pricer()
    with pytest.raises(ValueError, match="registered twice"):
        pricer("AWS::S3::Bucket")(storage.buckets)


def test_a_pricer_that_yields_something_else_fails_naming_itself(prices, restore_pricers):
    @pricer("AWS::S3::Bucket")
    def sloppy(_, context):
        yield "S3 requests"

    with pytest.raises(TypeError, match="sloppy"):
        estimate_stack(template(("Bucket", "AWS::S3::Bucket", {})), prices)


def test_the_context_answers_cross_resource_questions(prices):
    context = TemplateContext(
        prices,
        resources_by_type(
            template(
                ("Role", "AWS::IAM::Role", {}),
                ("Policy", "AWS::IAM::Policy", {"Roles": [{"Ref": "Role"}]}),
                (
                    "Model",
                    "AWS::SageMaker::Model",
                    {"ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]}},
                ),
                ("Handler", "AWS::Lambda::Function", {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}),
                (
                    "Cleanup",
                    "Custom::Cleanup",
                    {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}},
                ),
            )
        ),
    )
    assert context.referring_types("Role") == {
        "AWS::IAM::Policy",
        "AWS::SageMaker::Model",
        "AWS::Lambda::Function",
    }
    assert context.referring_types("Role", ignore={"AWS::IAM::Policy"}) == {
        "AWS::SageMaker::Model",
        "AWS::Lambda::Function",
    }
    assert context.custom_resource_handlers() == {"Handler"}
    assert context.hourly(2, 0.5) == pytest.approx(2 * 0.5 * 730)
    assert context.per_hour(0.015, "shard-hour") == "$0.015/shard-hour x 730 h"


def test_every_pricer_module_registers_pricers():
    modules = {p.name.rsplit(".", 1)[0] for p in PRICERS}
    area_modules = {
        f"{pricer_modules.__name__}.{name}"
        for name, module in inspect.getmembers(pricer_modules, inspect.ismodule)
    }
    assert modules == area_modules


def test_no_cost_module_names_a_pattern():
    """Cost is keyed by resource type: a new pattern needs no change here."""
    names = {
        word
        for p in catalog.discover()
        for word in (p.id, p.stack_name, p.package.rsplit(".", 1)[-1])
    }
    package = Path(inspect.getfile(pricer_modules)).parents[1]
    sources = sorted(package.rglob("*.py"))
    assert len(sources) >= 12
    for source in sources:
        text = source.read_text()
        assert not [name for name in names if name in text], source
