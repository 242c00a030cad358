"""ml_refarch/constructs/hosting.py on tiny stacks: what each construct writes and refuses."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

import ml_refarch  # noqa: F401  (points jsii at the pinned Node)
from ml_refarch.constructs.defaults import ResourceDefaults
from ml_refarch.constructs.hosting import (
    SAGEMAKER_SCALING_ROLE,
    Alarms,
    Autoscaling,
    Container,
    DataCapture,
    HostedModel,
    RealtimeEndpoint,
    Serverless,
    Variant,
)
from ml_refarch.constructs.model_endpoint import AlertTopic, HostingFoundation
from tests.support import only_resource, resources_of_type

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
ARTIFACT = "s3://bucket/model.tar.gz"


class Tiny:
    """A stack with a key, a role and a topic: enough for models and endpoints."""

    def __init__(self) -> None:
        self.app = cdk.App()
        self.stack = cdk.Stack(self.app, "Tiny")
        self.key = kms.Key(self.stack, "Key", enable_key_rotation=True)
        self.role = iam.Role(
            self.stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.topic = sns.Topic(self.stack, "Topic")

    def model(self, construct_id: str = "Model", count: int = 1, **kwargs) -> HostedModel:
        containers = [Container(image=IMAGE, model_data_url=ARTIFACT) for _ in range(count)]
        return HostedModel(
            self.stack, construct_id, role=self.role, containers=containers, **kwargs
        )

    def template(self) -> dict:
        return Template.from_stack(self.stack).to_json()


def config_of(template: dict) -> dict:
    return only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]


# --- models ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 16])
def test_a_model_has_one_container_or_a_pipeline_of_2_to_15(count):
    with pytest.raises(ValueError, match="2 to 15"):
        Tiny().model(count=count)


def test_a_pipeline_model_runs_its_containers_in_series_and_a_single_one_is_primary():
    tiny = Tiny()
    tiny.model("Pipeline", count=15)
    tiny.model("Single", count=1)
    models = resources_of_type(tiny.template(), "AWS::SageMaker::Model")
    pipeline = next(m for k, m in models.items() if k.startswith("Pipeline"))["Properties"]
    single = next(m for k, m in models.items() if k.startswith("Single"))["Properties"]
    assert len(pipeline["Containers"]) == 15
    assert pipeline["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert "PrimaryContainer" not in pipeline
    assert single["PrimaryContainer"]["ModelDataUrl"] == ARTIFACT
    assert "Containers" not in single
    assert single["EnableNetworkIsolation"] is True
    assert "VpcConfig" not in single


def test_multi_model_containers_need_a_prefix_and_a_known_mode():
    with pytest.raises(ValueError, match="S3 prefix"):
        Container(image=IMAGE, mode="MultiModel")
    with pytest.raises(ValueError, match="SingleModel or MultiModel"):
        Container(image=IMAGE, mode="Multi")
    container = Container(image=IMAGE, model_data_url="s3://bucket/models/", mode="MultiModel")
    tiny = Tiny()
    HostedModel(tiny.stack, "Mme", role=tiny.role, containers=[container])
    model = only_resource(tiny.template(), "AWS::SageMaker::Model")["Properties"]
    assert model["PrimaryContainer"]["Mode"] == "MultiModel"


def test_a_multi_model_container_cannot_be_a_pipeline_step():
    tiny = Tiny()
    steps = [
        Container(image=IMAGE, model_data_url=ARTIFACT),
        Container(image=IMAGE, model_data_url="s3://bucket/models/", mode="MultiModel"),
    ]
    with pytest.raises(ValueError, match="only container"):
        HostedModel(tiny.stack, "Bad", role=tiny.role, containers=steps)


def test_the_foundation_puts_models_in_isolated_subnets_of_two_zones():
    app = cdk.App()
    stack = cdk.Stack(app, "Foundation")
    foundation = HostingFoundation(stack, "Hosting", defaults=ResourceDefaults(), purpose="test")
    HostedModel(
        stack,
        "Model",
        role=foundation.role,
        containers=[Container(image=IMAGE, model_data_url=ARTIFACT)],
        network=foundation.network,
    )
    template = Template.from_stack(stack).to_json()
    vpc_config = only_resource(template, "AWS::SageMaker::Model")["Properties"]["VpcConfig"]
    assert len(vpc_config["Subnets"]) == 2
    zones = {
        str(template["Resources"][subnet["Ref"]]["Properties"]["AvailabilityZone"])
        for subnet in vpc_config["Subnets"]
    }
    assert len(zones) == 2
    assert not resources_of_type(template, "AWS::EC2::VPCEndpoint").keys() - {
        k
        for k, v in resources_of_type(template, "AWS::EC2::VPCEndpoint").items()
        if v["Properties"].get("VpcEndpointType", "Gateway") == "Gateway"
    }, "the foundation adds no interface endpoints"


# --- endpoint configurations ----------------------------------------------------------------------


def test_instance_volumes_use_the_key():
    tiny = Tiny()
    model = tiny.model()
    model_id = tiny.stack.get_logical_id(model.model)
    RealtimeEndpoint(
        tiny.stack, "Endpoint", variants=[Variant("a", model)], encryption_key=tiny.key
    )
    config = config_of(tiny.template())
    assert config["KmsKeyId"] == {
        "Fn::GetAtt": [tiny.stack.get_logical_id(tiny.key.node.default_child), "Arn"]
    }
    assert config["ProductionVariants"] == [
        {
            "VariantName": "a",
            "ModelName": {"Fn::GetAtt": [model_id, "ModelName"]},
            "InitialVariantWeight": 1,
            "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 2,
        }
    ]


@pytest.mark.parametrize(
    "instance_types",
    [("ml.g5.xlarge",), ("ml.c5d.large", "ml.m5.large")],
    ids=["local-nvme-only", "one-local-nvme-variant"],
)
def test_the_key_is_left_out_when_a_variant_has_local_nvme_storage(instance_types):
    tiny = Tiny()
    model = tiny.model()
    variants = [
        Variant(f"v{index}", model, instance_type=instance_type)
        for index, instance_type in enumerate(instance_types)
    ]
    RealtimeEndpoint(tiny.stack, "Endpoint", variants=variants, encryption_key=tiny.key)
    assert "KmsKeyId" not in config_of(tiny.template())


def test_the_key_is_left_out_of_a_serverless_only_configuration():
    tiny = Tiny()
    serverless = Variant("s", tiny.model(), serverless=Serverless(2048, 5, 1))
    RealtimeEndpoint(tiny.stack, "Endpoint", variants=[serverless], encryption_key=tiny.key)
    config = config_of(tiny.template())
    assert "KmsKeyId" not in config
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 5,
        "ProvisionedConcurrency": 1,
    }
    assert "InstanceType" not in variant


def test_data_capture_writes_inputs_and_outputs_with_its_key():
    tiny = Tiny()
    bucket = s3.Bucket(tiny.stack, "Captures")
    RealtimeEndpoint(
        tiny.stack,
        "Endpoint",
        variants=[Variant("a", tiny.model())],
        encryption_key=tiny.key,
        data_capture=DataCapture(
            bucket=bucket, prefix="/capture/", sampling_percentage=25, encryption_key=tiny.key
        ),
    )
    capture = config_of(tiny.template())["DataCaptureConfig"]
    bucket_id = tiny.stack.get_logical_id(bucket.node.default_child)
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 25
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["CaptureContentTypeHeader"] == {"CsvContentTypes": ["text/csv"]}
    assert capture["KmsKeyId"] == {
        "Fn::GetAtt": [tiny.stack.get_logical_id(tiny.key.node.default_child), "Arn"]
    }
    assert capture["DestinationS3Uri"] == {
        "Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/capture"]]
    }


@pytest.mark.parametrize("percentage", [0, 101])
def test_data_capture_samples_1_to_100_percent(percentage):
    tiny = Tiny()
    with pytest.raises(ValueError, match="1 to 100"):
        DataCapture(
            bucket=s3.Bucket(tiny.stack, "B"),
            prefix="c",
            sampling_percentage=percentage,
            encryption_key=tiny.key,
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad_name"}, "letters, digits and hyphens"),
        ({"name": "-starts-with-hyphen"}, "letters, digits and hyphens"),
        ({"initial_weight": -1.0}, "initial_weight"),
        ({"initial_weight": float("nan")}, "initial_weight"),
        ({"initial_instance_count": 0}, "initial_instance_count"),
    ],
)
def test_variants_refuse_what_sagemaker_would(kwargs, message):
    tiny = Tiny()
    with pytest.raises(ValueError, match=message):
        Variant(**{"name": "ok", "model": tiny.model(), **kwargs})


def test_endpoints_need_uniquely_named_variants():
    tiny = Tiny()
    model = tiny.model()
    with pytest.raises(ValueError, match="at least one"):
        RealtimeEndpoint(tiny.stack, "None", variants=[], encryption_key=tiny.key)
    with pytest.raises(ValueError, match="unique"):
        RealtimeEndpoint(
            tiny.stack,
            "Twice",
            variants=[Variant("a", model), Variant("a", model)],
            encryption_key=tiny.key,
        )


def test_provisioned_concurrency_stays_within_max_concurrency():
    with pytest.raises(ValueError, match="provisioned_concurrency"):
        Serverless(memory_size_mb=2048, max_concurrency=2, provisioned_concurrency=3)


# --- auto scaling and alarms ------------------------------------------------------------------


def test_every_instance_variant_tracks_invocations_per_instance_with_cooldowns():
    tiny = Tiny()
    model = tiny.model()
    endpoint = RealtimeEndpoint(
        tiny.stack,
        "Endpoint",
        variants=[
            Variant("blue", model),
            Variant("green", model),
            Variant("lambda-like", model, serverless=Serverless(1024, 1)),
        ],
        encryption_key=tiny.key,
        autoscaling=Autoscaling(2, 6, 70, 600, 30),
    )
    template = tiny.template()
    endpoint_id = tiny.stack.get_logical_id(endpoint.endpoint)
    targets = resources_of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert sorted(endpoint.scalable_targets) == ["blue", "green"]
    assert len(targets) == 2
    for name in ("blue", "green"):
        target_id = tiny.stack.get_logical_id(endpoint.scalable_targets[name].node.default_child)
        target = targets[target_id]["Properties"]
        assert target["ResourceId"] == {
            "Fn::Join": [
                "",
                ["endpoint/", {"Fn::GetAtt": [endpoint_id, "EndpointName"]}, f"/variant/{name}"],
            ]
        }
        assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
        assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
        assert SAGEMAKER_SCALING_ROLE in str(target["RoleARN"])
    policies = resources_of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        properties = policy["Properties"]
        assert properties["PolicyType"] == "TargetTrackingScaling"
        assert properties["TargetTrackingScalingPolicyConfiguration"] == {
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "TargetValue": 70,
            "ScaleInCooldown": 600,
            "ScaleOutCooldown": 30,
        }
    # No role of our own: the service-linked role does the scaling.
    assert not [
        r
        for r in resources_of_type(template, "AWS::IAM::Role").values()
        if "application-autoscaling" in str(r["Properties"]["AssumeRolePolicyDocument"])
    ]


@pytest.mark.parametrize(
    "bounds", [(0, 2, 1, 0, 0), (3, 2, 1, 0, 0), (2, 4, 0, 0, 0), (2, 4, 1, -1, 0)]
)
def test_autoscaling_refuses_impossible_settings(bounds):
    with pytest.raises(ValueError):
        Autoscaling(*bounds)


def test_latency_alarms_compare_microseconds_and_errors_count_5xx():
    tiny = Tiny()
    RealtimeEndpoint(
        tiny.stack,
        "Endpoint",
        variants=[Variant("a", tiny.model())],
        encryption_key=tiny.key,
        alarms=Alarms(topic=tiny.topic, model_latency_ms=250, errors_5xx=3, evaluation_minutes=2),
    )
    alarms = {
        alarm["Properties"]["MetricName"]: alarm["Properties"]
        for alarm in resources_of_type(tiny.template(), "AWS::CloudWatch::Alarm").values()
    }
    latency, errors = alarms["ModelLatency"], alarms["Invocation5XXErrors"]
    assert latency["Threshold"] == 250_000
    assert (latency["Statistic"], latency["ComparisonOperator"]) == (
        "Average",
        "GreaterThanThreshold",
    )
    assert errors["Threshold"] == 3
    assert errors["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    topic_id = tiny.stack.get_logical_id(tiny.topic.node.default_child)
    for alarm in (latency, errors):
        assert alarm["Namespace"] == "AWS/SageMaker"
        assert alarm["EvaluationPeriods"] == 2 and alarm["Period"] == 60
        assert alarm["AlarmActions"] == [{"Ref": topic_id}] == alarm["OKActions"]
        assert {"Name": "VariantName", "Value": "a"} in alarm["Dimensions"]


def test_alarms_refuse_a_zero_threshold():
    with pytest.raises(ValueError):
        Alarms(topic=Tiny().topic, model_latency_ms=0)


def test_the_alert_topic_lets_cloudwatch_publish_and_encrypt():
    tiny = Tiny()
    AlertTopic(tiny.stack, "Alerts", encryption_key=tiny.key, display_name="alerts")
    template = tiny.template()
    policy = only_resource(template, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow == [
        {
            "Sid": "PublishFromServices",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": allow[0]["Resource"],
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]
    key_policy = only_resource(template, "AWS::KMS::Key")["Properties"]["KeyPolicy"]
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        and "kms:GenerateDataKey*" in s["Action"]
        for s in key_policy["Statement"]
    )
    topics = resources_of_type(template, "AWS::SNS::Topic")
    (alerts,) = [topic for logical_id, topic in topics.items() if logical_id.startswith("Alerts")]
    assert "KmsMasterKeyId" in alerts["Properties"]


# --- access -----------------------------------------------------------------------------------


def test_grant_invoke_allows_invoking_this_endpoint_only():
    tiny = Tiny()
    endpoint = RealtimeEndpoint(
        tiny.stack, "Endpoint", variants=[Variant("a", tiny.model())], encryption_key=tiny.key
    )
    caller = iam.Role(tiny.stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller)
    policies = resources_of_type(tiny.template(), "AWS::IAM::Policy")
    (statement,) = [
        s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    # The endpoint's Ref is the ARN SageMaker reports (its name in lower case).
    assert statement == {
        "Effect": "Allow",
        "Action": "sagemaker:InvokeEndpoint",
        "Resource": {"Ref": tiny.stack.get_logical_id(endpoint.endpoint)},
    }
