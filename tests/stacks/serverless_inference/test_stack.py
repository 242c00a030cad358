"""serverless-inference: a serverless variant from config, no VPC, nothing billed idle."""

from __future__ import annotations

import pytest

from ml_refarch.cost import KMS_KEY_MONTH, estimate_stack, load_prices
from ml_refarch.stacks.serverless_inference.outputs import Outputs
from tests.support import Variant, only_resource, resources_of_type, synthesize

STACK = "MlRefArch-ServerlessInference"
SV = "serverless-inference."


def _template(tmp_path_factory, name: str, context: dict) -> dict:
    outdir = tmp_path_factory.mktemp(f"cdk.out.serverless.{name}")
    # synthesize() runs every rule pack and fails on any unacknowledged finding.
    return synthesize(outdir, Variant(context, frozenset({STACK}))).templates[STACK]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    return _template(tmp_path_factory, "sandbox", {})


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory) -> dict:
    return _template(
        tmp_path_factory,
        "provisioned",
        {
            "profile": "production",
            SV + "memory_size_mb": "6144",
            SV + "max_concurrency": "200",
            SV + "provisioned_concurrency": "200",
            SV + "model": "churn-v2",
        },
    )


def _variant(template: dict) -> dict:
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    (variant,) = config["ProductionVariants"]
    return variant


def test_the_variant_is_serverless_with_the_default_memory_and_concurrency(template):
    variant = _variant(template)
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant


def test_settings_reach_the_variant_including_provisioned_concurrency(provisioned):
    assert _variant(provisioned)["ServerlessConfig"] == {
        "MemorySizeInMB": 6144,
        "MaxConcurrency": 200,
        "ProvisionedConcurrency": 200,
    }
    outputs = provisioned["Outputs"]
    assert outputs[Outputs.MODEL_NAME]["Value"] == "churn-v2"


def test_no_vpc_is_built_and_the_model_runs_outside_one(template):
    for resource_type in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::FlowLog"):
        assert not resources_of_type(template, resource_type), resource_type
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    # Serverless endpoints support neither; MLS-MD1 is acknowledged with that reason.
    assert "VpcConfig" not in model
    assert model["EnableNetworkIsolation"] is False
    assert model["PrimaryContainer"]["Mode"] == "SingleModel"


def test_nothing_scales_instances_but_alarms_watch_the_variant(template):
    assert not resources_of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    metrics = sorted(alarm["Properties"]["MetricName"] for alarm in alarms.values())
    assert metrics == ["Invocation5XXErrors", "ModelLatency"]
    topic = only_resource(template, "AWS::SNS::Topic")["Properties"]
    assert "KmsMasterKeyId" in topic


def test_the_role_reads_only_the_served_artifact(template):
    policies = resources_of_type(template, "AWS::IAM::ManagedPolicy")
    statements = [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    s3_actions = {
        action
        for statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith("s3:")
    }
    assert s3_actions == {"s3:GetObject"}
    (artifact,) = [s for s in statements if s.get("Sid") == "ArtifactChurnv1"]
    assert "Fn::Join" in str(artifact["Resource"])


def test_idle_cost_is_only_the_key_and_serverless_use_is_named(template, provisioned):
    prices = load_prices()
    cost = estimate_stack(template, prices, STACK)
    assert [line.item for line in cost.lines] == ["1 KMS key"]
    assert cost.monthly_usd == pytest.approx(prices.usd(KMS_KEY_MONTH))
    assert "SageMaker serverless inference per request and GB-second" in cost.usage_based
    assert not any("provisioned concurrency" in item for item in cost.usage_based)
    warm = estimate_stack(provisioned, prices, STACK)
    assert any("provisioned concurrency" in item for item in warm.usage_based)


def test_outputs_name_what_the_smoke_script_reads(template):
    assert {Outputs.ENDPOINT_NAME, Outputs.VARIANT_NAME, Outputs.MODEL_NAME} <= set(
        template["Outputs"]
    )
    assert template["Outputs"][Outputs.MODEL_NAME]["Value"] == "churn-v1"
