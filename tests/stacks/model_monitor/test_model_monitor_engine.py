"""model-monitor with ``engine=model-monitor`` (accounts that already use Model Monitor): data
capture, the data quality job and schedule, the drift alarm, settings."""

from __future__ import annotations

import json

import pytest

from ml_refarch.aws_facts import monitoring_runs_per_day
from ml_refarch.cost import estimate_stack, load_prices
from ml_refarch.stacks.model_monitor.outputs import Outputs
from ml_refarch.stacks.model_monitor.stack import (
    CAPTURE_PREFIX,
    COLUMNS,
    METRICS_NAMESPACE,
)
from tests.stacks.model_monitor.test_stack import custom_template as stack_template
from tests.support import only_resource, resources_of_type

STACK = "MlRefArch-ModelMonitor"
MON = "model-monitor."


@pytest.fixture(scope="module")
def template(synthesized) -> dict:
    return synthesized("sandbox-model-monitor").templates[STACK]


def custom_template(**settings) -> dict:
    """The stack alone with the Model Monitor engine, synthesized with ``settings`` (no rule
    packs: just the template)."""
    return stack_template(**{MON + "engine": "model-monitor", **settings})


def logical_id(template: dict, resource_type: str) -> str:
    (found,) = resources_of_type(template, resource_type)
    return found


def key_id(template: dict) -> str:
    return logical_id(template, "AWS::KMS::Key")


def bucket_id(template: dict) -> str:
    buckets = resources_of_type(template, "AWS::S3::Bucket")
    (found,) = [i for i in buckets if i.startswith("MonitorDataBucket")]
    return found


def s3_uri(template: dict, suffix: str) -> dict:
    return {"Fn::Join": ["", ["s3://", {"Ref": bucket_id(template)}, suffix]]}


def key_arn(template: dict) -> dict:
    return {"Fn::GetAtt": [key_id(template), "Arn"]}


# --- the endpoint and its data capture ---------------------------------------------------------


def test_endpoint_captures_requests_and_responses_with_the_stack_key(template):
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 100
    assert capture["KmsKeyId"] == key_arn(template)
    assert capture["DestinationS3Uri"] == s3_uri(template, f"/{CAPTURE_PREFIX}")
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}
    assert capture["CaptureContentTypeHeader"] == {"CsvContentTypes": ["text/csv"]}
    assert config["KmsKeyId"] == key_arn(template)


def test_endpoint_spans_two_zones_and_scales_with_cooldowns(template):
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    (variant,) = config["ProductionVariants"]
    assert variant["InitialInstanceCount"] >= 2
    target = only_resource(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert target["MinCapacity"] >= 2 and target["MaxCapacity"] == 4
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["ScaleInCooldown"] == 300 and tracking["ScaleOutCooldown"] == 60
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) >= 2


# --- the data quality job definition and the schedule ------------------------------------------


def test_job_definition_encrypts_volumes_and_outputs_and_isolates_the_job(template):
    job = only_resource(template, "AWS::SageMaker::DataQualityJobDefinition")["Properties"]
    cluster = job["JobResources"]["ClusterConfig"]
    assert cluster["VolumeKmsKeyId"] == key_arn(template)
    assert cluster == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
        "VolumeKmsKeyId": key_arn(template),
        "VolumeSizeInGB": 30,
    }
    assert job["DataQualityJobOutputConfig"]["KmsKeyId"] == key_arn(template)
    network = job["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is True
    assert network["EnableInterContainerTrafficEncryption"] is True
    subnets = network["VpcConfig"]["Subnets"]
    assert len(subnets) >= 2 and all("isolatedSubnet" in s["Ref"] for s in subnets)
    (group,) = network["VpcConfig"]["SecurityGroupIds"]
    assert "WorkloadSecurityGroup" in group["Fn::GetAtt"][0]
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    role = job["RoleArn"]["Fn::GetAtt"][0]
    assert (
        role
        == only_resource(template, "AWS::SageMaker::Model")["Properties"]["ExecutionRoleArn"][
            "Fn::GetAtt"
        ][0]
    )


def test_job_definition_reads_the_endpoint_and_the_baseline_and_writes_reports(template):
    job = only_resource(template, "AWS::SageMaker::DataQualityJobDefinition")["Properties"]
    endpoint = logical_id(template, "AWS::SageMaker::Endpoint")
    endpoint_input = job["DataQualityJobInput"]["EndpointInput"]
    assert endpoint_input["EndpointName"] == {"Fn::GetAtt": [endpoint, "EndpointName"]}
    baseline = job["DataQualityBaselineConfig"]
    assert baseline["ConstraintsResource"]["S3Uri"] == s3_uri(
        template, "/baseline/results/constraints.json"
    )
    assert baseline["StatisticsResource"]["S3Uri"] == s3_uri(
        template, "/baseline/results/statistics.json"
    )
    (output,) = job["DataQualityJobOutputConfig"]["MonitoringOutputs"]
    assert output["S3Output"]["S3Uri"] == s3_uri(template, "/reports")
    app = job["DataQualityAppSpecification"]
    assert app["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    mapping = app["ImageUri"]["Fn::FindInMap"]
    assert mapping[1] == {"Ref": "AWS::Region"}
    images = template["Mappings"][mapping[0]]
    assert images["us-east-1"]["uri"].endswith("/sagemaker-model-monitor-analyzer")
    assert len(images) > 20


def test_schedule_runs_the_job_definition_hourly(template):
    schedule = only_resource(template, "AWS::SageMaker::MonitoringSchedule")
    job_id = logical_id(template, "AWS::SageMaker::DataQualityJobDefinition")
    job = template["Resources"][job_id]["Properties"]
    config = schedule["Properties"]["MonitoringScheduleConfig"]
    assert config["MonitoringJobDefinitionName"] == job["JobDefinitionName"]
    assert config["MonitoringType"] == "DataQuality"
    assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert job_id in schedule["DependsOn"]
    outputs = template["Outputs"]
    assert (
        outputs[Outputs.SCHEDULE_NAME]["Value"] == schedule["Properties"]["MonitoringScheduleName"]
    )


def test_role_reaches_only_the_monitor_prefixes_and_the_metric_namespace(template):
    statements = {
        statement.get("Sid"): statement
        for policy in resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    bucket = bucket_id(template)

    def objects(prefix):
        return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}/*"]]}

    def resources(sid):
        return sorted(json.dumps(r, sort_keys=True) for r in statements[sid]["Resource"])

    def expected(*prefixes):
        return sorted(json.dumps(objects(p), sort_keys=True) for p in prefixes)

    assert resources("MonitorDataRead") == expected("data-capture", "baseline")
    assert resources("MonitorDataWrite") == expected("data-capture", "baseline/results", "reports")
    assert statements["MonitorMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}
    }


# --- the drift alarm ---------------------------------------------------------------------------


def test_drift_alarm_takes_the_largest_column_drift_to_the_encrypted_topic(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    (alarm,) = [a["Properties"] for i, a in alarms.items() if i.startswith("DriftAlarm")]
    expression = next(m for m in alarm["Metrics"] if "Expression" in m)
    stats = [m for m in alarm["Metrics"] if "MetricStat" in m]
    assert len(alarm["Metrics"]) <= 10, "CloudWatch alarms take at most 10 metrics"
    assert expression["Expression"] == f"MAX([{', '.join(m['Id'] for m in stats)}])"
    names = [m["MetricStat"]["Metric"]["MetricName"] for m in stats]
    assert names == [f"feature_baseline_drift_{column}" for column in COLUMNS]
    assert COLUMNS == ("_c0", "_c1", "_c2", "_c3", "_c4", "_c5", "_c6", "_c7", "_c8")
    endpoint = logical_id(template, "AWS::SageMaker::Endpoint")
    schedule = only_resource(template, "AWS::SageMaker::MonitoringSchedule")["Properties"]
    for stat in stats:
        metric = stat["MetricStat"]["Metric"]
        assert metric["Namespace"] == "aws/sagemaker/Endpoints/data-metrics"
        assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {
            "Endpoint": {"Fn::GetAtt": [endpoint, "EndpointName"]},
            "MonitoringSchedule": schedule["MonitoringScheduleName"],
        }
    assert alarm["Threshold"] == 0.1
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    topic = logical_id(template, "AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic}] == alarm["OKActions"]
    topic_key = template["Resources"][topic]["Properties"]["KmsMasterKeyId"]
    assert topic_key == key_arn(template)


def test_outputs_carry_what_the_scripts_need(template):
    outputs = template["Outputs"]
    for name in (
        Outputs.ENDPOINT_NAME,
        Outputs.VARIANT_NAME,
        Outputs.CAPTURE_URI,
        Outputs.BASELINE_DATASET_URI,
        Outputs.BASELINE_RESULTS_URI,
        Outputs.CONSTRAINTS_URI,
        Outputs.STATISTICS_URI,
        Outputs.ROLE_ARN,
        Outputs.KEY_ARN,
        Outputs.SUBNET_IDS,
        Outputs.SECURITY_GROUP_IDS,
        Outputs.MONITORING_INSTANCE_TYPE,
        Outputs.MONITORING_INSTANCE_COUNT,
        Outputs.MONITORING_VOLUME_SIZE_GI_B,
        Outputs.MAX_RUNTIME_SECONDS,
        Outputs.SCHEDULE_NAME,
        Outputs.DRIFT_ALARM_NAME,
    ):
        assert name in outputs, name
    assert outputs[Outputs.BASELINE_RESULTS_URI]["Value"] == s3_uri(template, "/baseline/results")


# --- settings ----------------------------------------------------------------------------------


def test_settings_reach_the_template():
    template = custom_template(
        **{
            MON + "sampling_percentage": "20",
            MON + "schedule_expression": "cron(0 0/6 ? * * *)",
            MON + "monitoring_instance_type": "ml.r5d.large",
            MON + "monitoring_instance_count": "2",
            MON + "max_runtime_seconds": "3600",
            MON + "drift_threshold": "0.25",
        }
    )
    capture = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"][
        "DataCaptureConfig"
    ]
    assert capture["InitialSamplingPercentage"] == 20
    job = only_resource(template, "AWS::SageMaker::DataQualityJobDefinition")["Properties"]
    cluster = job["JobResources"]["ClusterConfig"]
    # Local NVMe storage is encrypted in hardware and the API refuses a volume key.
    assert "VolumeKmsKeyId" not in cluster
    assert cluster["InstanceType"] == "ml.r5d.large" and cluster["InstanceCount"] == 2
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    schedule = only_resource(template, "AWS::SageMaker::MonitoringSchedule")["Properties"]
    config = schedule["MonitoringScheduleConfig"]
    assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 0/6 ? * * *)"
    # A changed job gets a new name, so CloudFormation can replace it.
    default_job = custom_template()
    default_name = only_resource(default_job, "AWS::SageMaker::DataQualityJobDefinition")[
        "Properties"
    ]["JobDefinitionName"]
    assert job["JobDefinitionName"] != default_name
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    (alarm,) = [a["Properties"] for i, a in alarms.items() if i.startswith("DriftAlarm")]
    assert alarm["Threshold"] == 0.25


def test_a_pinned_region_gets_the_literal_analyzer_image():
    template = custom_template(region="eu-west-1", account="123456789012")
    job = only_resource(template, "AWS::SageMaker::DataQualityJobDefinition")["Properties"]
    image = job["DataQualityAppSpecification"]["ImageUri"]
    assert image == "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("cron(0 * ? * * *)", 24),
        ("cron(0 12 ? * * *)", 1),
        ("cron(0 0/2 ? * * *)", 12),
        ("cron(0 17/12 ? * * *)", 2),
        ("cron(0 0/24 ? * * *)", 1),
    ],
)
def test_runs_per_day_of_each_schedule_form(expression, runs):
    assert monitoring_runs_per_day(expression) == runs


# --- cost ----------------------------------------------------------------------------------------


def test_cost_names_the_scheduled_monitoring_runs(template):
    cost = estimate_stack(template, load_prices(), STACK)
    (line,) = [item for item in cost.usage_based if item.startswith("Model Monitor")]
    assert "about 730 processing runs a month on 1 x ml.m5.xlarge" in line
    assert "at most 1800 s" in line
    assert {cost_line.item for cost_line in cost.lines} >= {"2 endpoint instances ml.c5.large"}


def test_cost_follows_the_schedule():
    template = custom_template(**{MON + "schedule_expression": "cron(0 3 ? * * *)"})
    cost = estimate_stack(template, load_prices(), STACK)
    (line,) = [item for item in cost.usage_based if item.startswith("Model Monitor")]
    assert "about 30 processing runs a month" in line
    assert json.dumps("cron(0 3 ? * * *)") in line
