"""ml_refarch/constructs/model_endpoint.py on tiny stacks: the chain every hosting stack uses."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

import ml_refarch  # noqa: F401  (points jsii at the pinned Node)
from ml_refarch.constructs.defaults import ResourceDefaults
from ml_refarch.constructs.hosting import Container, Serverless
from ml_refarch.constructs.model_endpoint import (
    ALL_TRAFFIC,
    HostingFoundation,
    ModelEndpoint,
    ServedModel,
    ServedVariant,
    committed_model_endpoint,
    construct_id_of,
)
from ml_refarch.endpoint_settings import EndpointHostingSettings
from tests.support import only_resource, resources_of_type

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
HOSTING = EndpointHostingSettings(
    instance_type="ml.c5.xlarge",
    instance_count=3,
    min_instance_count=2,
    max_instance_count=6,
    target_invocations_per_instance=700,
    scale_in_cooldown_seconds=600,
    scale_out_cooldown_seconds=60,
    latency_alarm_ms=250,
)


def served(name: str, construct_id: str = "Model", **kwargs) -> ServedModel:
    container = Container(image=IMAGE, model_data_url=f"s3://bucket/{name}.tar.gz")
    return ServedModel(name=name, containers=[container], construct_id=construct_id, **kwargs)


class Tiny:
    def __init__(self, *, network: bool = True) -> None:
        self.app = cdk.App()
        self.stack = cdk.Stack(self.app, "Tiny")
        self.foundation = HostingFoundation(
            self.stack, "Hosting", defaults=ResourceDefaults(), purpose="test", network=network
        )

    def endpoint(self, construct_id: str = "Default", **kwargs) -> ModelEndpoint:
        return ModelEndpoint(self.stack, construct_id, foundation=self.foundation, **kwargs)

    def template(self) -> dict:
        return Template.from_stack(self.stack).to_json()


def test_one_model_gets_one_all_traffic_variant_on_the_hosting_instances():
    tiny = Tiny()
    hosted = tiny.endpoint(models=[served("churn-v1")], hosting=HOSTING)
    assert hosted.variant_models == {ALL_TRAFFIC: "churn-v1"}
    template = tiny.template()
    (variant,) = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"][
        "ProductionVariants"
    ]
    model_id = tiny.stack.get_logical_id(hosted.models["churn-v1"].model)
    assert variant == {
        "VariantName": "AllTraffic",
        "ModelName": {"Fn::GetAtt": [model_id, "ModelName"]},
        "InitialVariantWeight": 1,
        "InstanceType": "ml.c5.xlarge",
        "InitialInstanceCount": 3,
    }


def test_models_run_in_the_foundation_vpc_as_its_role_and_volumes_use_its_key():
    tiny = Tiny()
    hosted = tiny.endpoint(models=[served("churn-v1")], hosting=HOSTING)
    template = tiny.template()
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    role_id = tiny.stack.get_logical_id(tiny.foundation.role.node.default_child)
    assert model["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) == 2
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    key_id = tiny.stack.get_logical_id(tiny.foundation.key.node.default_child)
    assert config["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert hosted.endpoint_arn == hosted.endpoint.endpoint.ref


def test_instance_variants_scale_and_alarm_as_the_hosting_settings_say():
    tiny = Tiny()
    tiny.endpoint(models=[served("churn-v1")], hosting=HOSTING)
    template = tiny.template()
    target = only_resource(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (2, 6)
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 700
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (600, 60)
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    latency = next(a for a in alarms if a["Properties"]["MetricName"] == "ModelLatency")
    assert latency["Properties"]["Threshold"] == 250_000
    topic_id = tiny.stack.get_logical_id(tiny.foundation.topic.node.default_child)
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": topic_id}] for a in alarms)


def test_weighted_variants_map_to_their_models():
    tiny = Tiny()
    hosted = tiny.endpoint(
        models=[served("churn-v1", "ModelChurnV1"), served("churn-v2", "ModelChurnV2")],
        variants=[
            ServedVariant(model="churn-v1", name="blue", initial_weight=3),
            ServedVariant(model="churn-v2", name="green", initial_weight=1),
        ],
        hosting=HOSTING,
    )
    assert hosted.variant_models == {"blue": "churn-v1", "green": "churn-v2"}
    variants = only_resource(tiny.template(), "AWS::SageMaker::EndpointConfig")["Properties"][
        "ProductionVariants"
    ]
    models = {name: tiny.stack.get_logical_id(m.model) for name, m in hosted.models.items()}
    assert [(v["VariantName"], v["ModelName"], v["InitialVariantWeight"]) for v in variants] == [
        ("blue", {"Fn::GetAtt": [models["churn-v1"], "ModelName"]}, 3),
        ("green", {"Fn::GetAtt": [models["churn-v2"], "ModelName"]}, 1),
    ]
    assert (
        len(resources_of_type(tiny.template(), "AWS::ApplicationAutoScaling::ScalableTarget")) == 2
    )


def test_the_default_id_keeps_the_logical_ids_of_stack_level_children():
    tiny = Tiny()
    hosted = tiny.endpoint(models=[served("churn-v1", "ModelChurnV1")], hosting=HOSTING)
    assert tiny.stack.get_logical_id(hosted.endpoint.endpoint).startswith("Endpoint")
    assert tiny.stack.get_logical_id(hosted.endpoint.endpoint) == "Endpoint8024A810"
    assert tiny.stack.get_logical_id(hosted.models["churn-v1"].model) == "ModelChurnV1ModelFB2BF1F7"
    other = Tiny()
    named = other.endpoint("Serving", models=[served("churn-v1", "ModelChurnV1")], hosting=HOSTING)
    assert other.stack.get_logical_id(named.endpoint.endpoint) != "Endpoint8024A810"


def test_a_serverless_variant_needs_no_hosting_settings_and_neither_scales_nor_needs_a_vpc():
    tiny = Tiny(network=False)
    tiny.endpoint(
        models=[served("churn-v1", network_isolation=False)],
        variants=[
            ServedVariant(
                model="churn-v1",
                name="Serverless",
                serverless=Serverless(memory_size_mb=2048, max_concurrency=5),
            )
        ],
    )
    template = tiny.template()
    (variant,) = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"][
        "ProductionVariants"
    ]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    assert model["EnableNetworkIsolation"] is False
    assert "VpcConfig" not in model
    assert not resources_of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert len(resources_of_type(template, "AWS::CloudWatch::Alarm")) == 2


def test_models_wait_for_what_they_are_told_to():
    tiny = Tiny()
    hosted = tiny.endpoint(
        models=[served("churn-v1")],
        hosting=HOSTING,
        models_wait_for=[tiny.foundation.role_policy],
    )
    model = tiny.template()["Resources"][tiny.stack.get_logical_id(hosted.models["churn-v1"].model)]
    policy_id = tiny.stack.get_logical_id(tiny.foundation.role_policy.node.default_child)
    assert policy_id in model["DependsOn"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": []}, "one or more uniquely named"),
        ({"models": [served("a", "A"), served("a", "B")]}, "one or more uniquely named"),
        ({"models": [served("a", "A"), served("b", "B")]}, "name the variants"),
        ({"models": [served("a")], "variants": [ServedVariant(model="b")]}, "lacks: \\['b'\\]"),
        ({"models": [served("a")], "hosting": None}, "need hosting settings"),
    ],
)
def test_the_endpoint_refuses_what_it_cannot_build(kwargs, message):
    kwargs.setdefault("hosting", HOSTING)
    with pytest.raises(ValueError, match=message):
        Tiny().endpoint(**kwargs)


def test_construct_ids_title_case_model_names():
    assert construct_id_of("churn-v1") == "ChurnV1"
    assert construct_id_of("sklearn_preprocess") == "SklearnPreprocess"


def test_committed_models_get_their_artifacts_and_a_foundation_that_reads_only_those():
    stack = cdk.Stack(cdk.App(), "Committed")
    hosted = committed_model_endpoint(
        stack,
        defaults=ResourceDefaults(),
        purpose="test",
        variants=[
            ServedVariant(model="churn-v2", name="b", initial_weight=1),
            ServedVariant(model="churn-v1", name="a", initial_weight=2),
        ],
        hosting=HOSTING,
    )
    assert [child.node.id for child in stack.node.children if child.node.id.startswith("Art")] == [
        "ArtifactChurnV2",
        "ArtifactChurnV1",
    ]
    assert hosted.foundation is stack.node.find_child("Hosting")
    assert {name: model.node.id for name, model in hosted.models.items()} == {
        "churn-v2": "ModelChurnV2",
        "churn-v1": "ModelChurnV1",
    }
    assert hosted.variant_models == {"b": "churn-v2", "a": "churn-v1"}
    template = Template.from_stack(stack).to_json()
    policy_id = stack.get_logical_id(hosted.foundation.role_policy.node.default_child)
    policy = template["Resources"][policy_id]["Properties"]["PolicyDocument"]
    artifact_sids = {s["Sid"] for s in policy["Statement"] if s.get("Sid", "").startswith("Art")}
    assert artifact_sids == {"ArtifactChurnv1", "ArtifactChurnv2"}
