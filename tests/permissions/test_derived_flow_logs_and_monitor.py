"""The flow-log and Model Monitor derivers find what those roles lack."""

from __future__ import annotations

import copy

import pytest

from ml_refarch.permissions.run import evaluate
from tests.permissions.sagemaker_templates import (
    KEY_ARN,
    SAGEMAKER_LOGS,
    VPC_ACTIONS,
    encrypted_bucket,
    key,
    objects,
    role,
    s3_uri,
    statement,
    without,
)

GROUP_ARN = {"Fn::GetAtt": ["FlowLogs", "Arn"]}
ALL_GROUPS = "arn:aws:logs:us-east-1:111122223333:log-group:*"


def flow_log(describe_groups_on: object, *, group_in_template: bool = True) -> dict:
    write = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources: dict = {
        "FlowLogRole": role(
            "vpc-flow-logs.amazonaws.com",
            [
                statement("Write", write, GROUP_ARN if group_in_template else "*"),
                statement("List", ["logs:DescribeLogGroups"], describe_groups_on),
            ],
        ),
        "FlowLog": {
            "Type": "AWS::EC2::FlowLog",
            "Properties": {
                "DeliverLogsPermissionArn": {"Fn::GetAtt": ["FlowLogRole", "Arn"]},
                "LogDestinationType": "cloud-watch-logs",
                "LogGroupName": {"Ref": "FlowLogs"} if group_in_template else "flows",
                "ResourceId": "vpc-1",
                "ResourceType": "VPC",
                "TrafficType": "ALL",
            },
        },
    }
    if group_in_template:
        resources["FlowLogs"] = {"Type": "AWS::Logs::LogGroup", "Properties": {}}
    return {"Resources": resources}


def failing(template: dict) -> set[str]:
    return {result.call.action for result in evaluate("stack", template).failures}


def test_listing_log_groups_on_one_group_is_not_enough():
    assert failing(flow_log(GROUP_ARN)) == {"logs:DescribeLogGroups"}


def test_a_flow_log_role_as_the_vpc_guide_says_passes():
    result = evaluate("stack", flow_log(ALL_GROUPS))
    assert result.ok, [failure.describe() for failure in result.failures]
    assert "logs:CreateLogGroup" not in {r.call.action for r in result.results}


def test_a_group_the_template_does_not_create_must_be_creatable():
    assert failing(flow_log(ALL_GROUPS, group_in_template=False)) == {"logs:CreateLogGroup"}


def test_a_flow_log_to_s3_asks_nothing_of_a_role():
    template = flow_log(GROUP_ARN)
    template["Resources"]["FlowLog"]["Properties"]["LogDestinationType"] = "s3"
    assert evaluate("stack", template).uncovered_roles == ["FlowLogRole"]


# --- Model Monitor ------------------------------------------------------------------------


def monitor_statements() -> list[dict]:
    return [
        statement("Baseline", ["s3:GetObject"], objects("baseline/")),
        statement("Captured", ["s3:GetObject"], objects("capture/")),
        statement("List", ["s3:ListBucket"], {"Fn::GetAtt": ["Data", "Arn"]}),
        statement("Reports", ["s3:PutObject"], objects("reports/")),
        statement("Key", ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"], KEY_ARN),
        statement(
            "Volume", ["kms:CreateGrant"], KEY_ARN, {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        ),
        statement("Network", VPC_ACTIONS, "*"),
        statement(
            "Logs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams",
             "logs:PutLogEvents"],
            SAGEMAKER_LOGS,
        ),
        statement(
            "Metrics",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringEquals": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/data-metrics"}},
        ),
    ]  # fmt: skip


def monitor(statements: list[dict] | None = None) -> dict:
    job = {
        "RoleArn": {"Fn::GetAtt": ["MonitorRole", "Arn"]},
        "DataQualityAppSpecification": {
            "ImageUri": {"Fn::FindInMap": ["Images", {"Ref": "AWS::Region"}, "uri"]},
            "Environment": {"publish_cloudwatch_metrics": "Enabled"},
        },
        "DataQualityBaselineConfig": {
            "ConstraintsResource": {"S3Uri": s3_uri("baseline/constraints.json")},
            "StatisticsResource": {"S3Uri": s3_uri("baseline/statistics.json")},
        },
        "DataQualityJobInput": {
            "EndpointInput": {
                "EndpointName": {"Fn::GetAtt": ["Endpoint", "EndpointName"]},
                "LocalPath": "/opt/ml/processing/input",
            }
        },
        "DataQualityJobOutputConfig": {
            "KmsKeyId": KEY_ARN,
            "MonitoringOutputs": [{"S3Output": {"S3Uri": s3_uri("reports"), "LocalPath": "/o"}}],
        },
        "JobResources": {"ClusterConfig": {"VolumeKmsKeyId": KEY_ARN}},
        "NetworkConfig": {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}},
    }
    capture = {"DestinationS3Uri": s3_uri("capture"), "EnableCapture": True}
    return {
        "Resources": {
            "Key": key(),
            "Data": encrypted_bucket(),
            "MonitorRole": role(
                "sagemaker.amazonaws.com",
                monitor_statements() if statements is None else statements,
            ),
            "Config": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {"ProductionVariants": [], "DataCaptureConfig": capture},
            },
            "Endpoint": {
                "Type": "AWS::SageMaker::Endpoint",
                "Properties": {
                    "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}
                },
            },
            "Job": {"Type": "AWS::SageMaker::DataQualityJobDefinition", "Properties": job},
        }
    }


def test_a_monitoring_job_with_what_it_needs_passes():
    result = evaluate("stack", monitor())
    assert result.ok, [failure.describe() for failure in result.failures]
    read = {r.resource for r in result.results if r.call.action == "s3:GetObject"}
    assert read == {
        "arn:aws:s3:::data/baseline/constraints.json",
        "arn:aws:s3:::data/baseline/statistics.json",
        "arn:aws:s3:::data/capture/endpoint/AllTraffic/2026/01/01/00/capture.jsonl",
    }


@pytest.mark.parametrize(
    ("sid", "missing"),
    [
        ("Baseline", {"s3:GetObject"}),
        ("Captured", {"s3:GetObject"}),
        ("List", {"s3:ListBucket"}),
        ("Reports", {"s3:PutObject"}),
        ("Key", {"kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"}),
        ("Volume", {"kms:CreateGrant"}),
        ("Network", {"ec2:CreateNetworkInterface"}),
        ("Logs", {"logs:PutLogEvents"}),
        ("Metrics", {"cloudwatch:PutMetricData"}),
    ],
)
def test_what_the_monitoring_role_lacks_is_found(sid, missing):
    assert missing <= failing(without(monitor(), "MonitorRole", sid))


def test_a_volume_key_grant_to_anyone_is_found():
    template = monitor()
    document = template["Resources"]["MonitorRole"]["Properties"]["Policies"][0]
    volume = next(s for s in document["PolicyDocument"]["Statement"] if s["Sid"] == "Volume")
    del volume["Condition"]
    (failure,) = evaluate("stack", template).failures
    assert (failure.call.action, failure.call.expect) == ("kms:CreateGrant", "deny")


def test_a_schedule_with_its_job_inline_is_derived_too():
    template = monitor()
    job = template["Resources"].pop("Job")["Properties"]
    inline = {
        "RoleArn": job["RoleArn"],
        "BaselineConfig": job["DataQualityBaselineConfig"],
        "MonitoringInputs": [job["DataQualityJobInput"]],
        "MonitoringOutputConfig": job["DataQualityJobOutputConfig"],
        "MonitoringResources": job["JobResources"],
        "MonitoringAppSpecification": {"ImageUri": "image"},
    }
    template["Resources"]["Schedule"] = {
        "Type": "AWS::SageMaker::MonitoringSchedule",
        "Properties": {
            "MonitoringScheduleName": "s",
            "MonitoringScheduleConfig": {"MonitoringJobDefinition": copy.deepcopy(inline)},
        },
    }
    assert failing(without(template, "MonitorRole", "Reports")) == {"s3:PutObject"}
    assert evaluate("stack", template).ok
