"""multi-az-endpoint: 2+ instances across zones, KMS, target tracking, alarms, and its settings."""

from __future__ import annotations

import pytest

from ml_refarch.stacks.multi_az_endpoint.outputs import Outputs
from tests.support import Variant, only_resource, resources_of_type, synthesize

STACK = "MlRefArch-MultiAzEndpoint"
P = "multi-az-endpoint."


@pytest.fixture(scope="module")
def template(synthesized) -> dict:
    return synthesized("sandbox").templates[STACK]


def logical_id(template: dict, resource_type: str, prefix: str = "") -> str:
    (found,) = [k for k in resources_of_type(template, resource_type) if k.startswith(prefix)]
    return found


def test_one_variant_starts_on_two_instances_with_encrypted_volumes(template):
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    key_id = logical_id(template, "AWS::KMS::Key")
    assert config["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["InstanceType"] == "ml.c5.large"  # the sandbox default
    assert variant["InitialInstanceCount"] == 2
    assert variant["InitialVariantWeight"] == 1
    model_id = logical_id(template, "AWS::SageMaker::Model")
    assert variant["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
    endpoint = only_resource(template, "AWS::SageMaker::Endpoint")["Properties"]
    config_id = logical_id(template, "AWS::SageMaker::EndpointConfig")
    assert endpoint["EndpointConfigName"] == {"Fn::GetAtt": [config_id, "EndpointConfigName"]}


def test_the_model_is_isolated_in_subnets_of_two_zones(template):
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    assert model["EnableNetworkIsolation"] is True
    subnets = model["VpcConfig"]["Subnets"]
    assert len(subnets) >= 2
    resources = template["Resources"]
    zones = [resources[s["Ref"]]["Properties"]["AvailabilityZone"] for s in subnets]
    assert len({str(zone) for zone in zones}) == len(subnets)
    for subnet in subnets:
        assert resources[subnet["Ref"]]["Properties"]["MapPublicIpOnLaunch"] is False
    assert not resources_of_type(template, "AWS::EC2::InternetGateway")
    assert not resources_of_type(template, "AWS::EC2::NatGateway")
    # The container pulls the committed churn-v1 artifact, an asset.
    assert model["PrimaryContainer"]["ModelDataUrl"]["Fn::Sub"].startswith("s3://cdk-")


def test_the_variant_tracks_invocations_between_the_configured_bounds(template):
    target = only_resource(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    endpoint_id = logical_id(template, "AWS::SageMaker::Endpoint")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    assert target["ResourceId"] == {
        "Fn::Join": [
            "",
            ["endpoint/", {"Fn::GetAtt": [endpoint_id, "EndpointName"]}, "/variant/AllTraffic"],
        ]
    }
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
        "TargetValue": 100,
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    }


def test_5xx_and_latency_alarms_go_to_an_encrypted_topic(template):
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {"Invocation5XXErrors", "ModelLatency"}
    assert alarms["ModelLatency"]["Threshold"] == 500_000  # microseconds
    topic_id = logical_id(template, "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    topic = template["Resources"][topic_id]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [logical_id(template, "AWS::KMS::Key"), "Arn"]}


def test_outputs_name_the_endpoint_and_its_model(template):
    outputs = template["Outputs"]
    assert outputs[Outputs.VARIANT_MODELS]["Value"] == "AllTraffic=churn-v1"
    endpoint_id = logical_id(template, "AWS::SageMaker::Endpoint")
    assert outputs[Outputs.ENDPOINT_NAME]["Value"] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}
    assert outputs[Outputs.ENDPOINT_ARN]["Value"] == {"Ref": endpoint_id}
    assert {"AlertTopicArn", "KeyArn"} <= set(outputs)
    assert "multi-az-endpoint" in template["Description"]


def test_settings_reach_the_template(tmp_path):
    context = {
        P + "instance_type": "ml.c5.xlarge",
        P + "instance_count": "3",
        P + "min_instance_count": "3",
        P + "max_instance_count": "8",
        P + "target_invocations_per_instance": "250",
        P + "scale_in_cooldown_seconds": "900",
        P + "scale_out_cooldown_seconds": "30",
        P + "latency_alarm_ms": "120",
    }
    template = synthesize(tmp_path, Variant(context, frozenset({STACK}))).templates[STACK]
    (variant,) = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"][
        "ProductionVariants"
    ]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.xlarge", 3)
    target = only_resource(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 8)
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert (tracking["TargetValue"], tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (
        250,
        900,
        30,
    )
    latency = [
        a["Properties"]
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ModelLatency"
    ]
    assert latency[0]["Threshold"] == 120_000
