"""ab-variants: one weighted variant per model version, each scaled and alarmed; the weights."""

from __future__ import annotations

import pytest

from ml_refarch.stacks.ab_variants.outputs import Outputs
from tests.support import Variant, only_resource, resources_of_type, synthesize

STACK = "MlRefArch-AbVariants"
P = "ab-variants."


@pytest.fixture(scope="module")
def template(synthesized) -> dict:
    return synthesized("sandbox").templates[STACK]


def models_by_artifact(template: dict) -> dict[str, str]:
    """{model logical id: asset file name of its artifact}."""
    return {
        logical_id: model["Properties"]["PrimaryContainer"]["ModelDataUrl"]["Fn::Sub"]
        for logical_id, model in resources_of_type(template, "AWS::SageMaker::Model").items()
    }


def test_each_model_version_is_a_variant_with_its_initial_weight(template):
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    variants = config["ProductionVariants"]
    assert [v["VariantName"] for v in variants] == ["churn-v1", "churn-v2"]
    assert [v["InitialVariantWeight"] for v in variants] == [0.9, 0.1]
    for variant in variants:
        assert variant["InitialInstanceCount"] == 2
        assert variant["InstanceType"] == "ml.c5.large"  # the sandbox default
    (key_id,) = resources_of_type(template, "AWS::KMS::Key")
    assert config["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_each_variant_serves_its_own_model_version(template):
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    served = [v["ModelName"]["Fn::GetAtt"][0] for v in config["ProductionVariants"]]
    assert len(set(served)) == 2
    artifacts = models_by_artifact(template)
    assert set(served) == set(artifacts)
    assert len(set(artifacts.values())) == 2, "each model has its own artifact"
    for variant_model, name in zip(served, ("ChurnV1", "ChurnV2"), strict=True):
        assert variant_model.startswith(f"Model{name}")
    for model in resources_of_type(template, "AWS::SageMaker::Model").values():
        properties = model["Properties"]
        assert properties["EnableNetworkIsolation"] is True
        assert len(properties["VpcConfig"]["Subnets"]) >= 2
    assert (
        template["Outputs"][Outputs.VARIANT_MODELS]["Value"]
        == "churn-v1=churn-v1,churn-v2=churn-v2"
    )


def test_every_variant_scales_and_raises_alarms(template):
    targets = resources_of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    suffixes = sorted(t["Properties"]["ResourceId"]["Fn::Join"][1][-1] for t in targets.values())
    assert suffixes == ["/variant/churn-v1", "/variant/churn-v2"]
    for target in targets.values():
        assert target["Properties"]["MinCapacity"] >= 2
    policies = resources_of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == 2
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    per_variant = sorted(
        (
            next(d["Value"] for d in a["Properties"]["Dimensions"] if d["Name"] == "VariantName"),
            a["Properties"]["MetricName"],
        )
        for a in alarms
    )
    assert per_variant == [
        ("churn-v1", "Invocation5XXErrors"),
        ("churn-v1", "ModelLatency"),
        ("churn-v2", "Invocation5XXErrors"),
        ("churn-v2", "ModelLatency"),
    ]


def test_other_weights_reach_the_template(tmp_path):
    context = {P + "weights": "1,3", P + "instance_count": "3", P + "max_instance_count": "5"}
    template = synthesize(tmp_path, Variant(context, frozenset({STACK}))).templates[STACK]
    variants = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"][
        "ProductionVariants"
    ]
    assert [(v["VariantName"], v["InitialVariantWeight"]) for v in variants] == [
        ("churn-v1", 1),
        ("churn-v2", 3),
    ]
    assert {v["InitialInstanceCount"] for v in variants} == {3}
