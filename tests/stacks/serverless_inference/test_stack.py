"""serverless-inference: a serverless variant from config, no VPC, nothing billed idle."""

from __future__ import annotations

import pytest

from ml_refarch.config import ConfigError, read_config
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


# --- bad input ---------------------------------------------------------------------------


def problems_of(context: dict) -> dict[str, object]:
    with pytest.raises(ConfigError) as raised:
        read_config(context)
    return {problem.key: problem for problem in raised.value.problems}


@pytest.mark.parametrize("memory", ["1000", "0", "7168", "1536", "-1024", "2 GB", 2048.5, True])
def test_memory_must_be_a_serverless_size(memory):
    problem = problems_of({SV + "memory_size_mb": memory})[SV + "memory_size_mb"]
    assert "1024, 2048, 3072, 4096, 5120, 6144" in problem.allowed


@pytest.mark.parametrize("memory", [1024, "3072", 6144])
def test_every_serverless_memory_size_is_accepted(memory):
    assert read_config({SV + "memory_size_mb": memory}).serverless_inference.memory_size_mb == int(
        memory
    )


@pytest.mark.parametrize("concurrency", ["0", "201", "-3", "many"])
def test_max_concurrency_is_1_to_200(concurrency):
    problem = problems_of({SV + "max_concurrency": concurrency})[SV + "max_concurrency"]
    assert "1 to 200" in problem.allowed


@pytest.mark.parametrize("provisioned", ["-1", "201", "x"])
def test_provisioned_concurrency_is_0_to_200(provisioned):
    problems = problems_of({SV + "provisioned_concurrency": provisioned})
    assert "0 for none" in problems[SV + "provisioned_concurrency"].allowed


def test_provisioned_concurrency_cannot_exceed_max_concurrency():
    problem = problems_of({SV + "max_concurrency": "5", SV + "provisioned_concurrency": "6"})[
        SV + "provisioned_concurrency"
    ]
    assert problem.received == 6
    assert "max_concurrency (5)" in problem.allowed
    settings = read_config(
        {SV + "max_concurrency": "5", SV + "provisioned_concurrency": "5"}
    ).serverless_inference
    assert settings.provisioned_concurrency == settings.max_concurrency == 5


def test_the_model_must_be_a_committed_one():
    problem = problems_of({SV + "model": "churn-v3"})[SV + "model"]
    assert "churn-v1" in problem.allowed and "churn-v2" in problem.allowed


def test_every_bad_setting_is_reported_at_once():
    problems = problems_of(
        {
            SV + "memory_size_mb": "512",
            SV + "max_concurrency": "0",
            SV + "provisioned_concurrency": "300",
            SV + "model": "other",
        }
    )
    assert set(problems) == {
        SV + "memory_size_mb",
        SV + "max_concurrency",
        SV + "provisioned_concurrency",
        SV + "model",
    }
