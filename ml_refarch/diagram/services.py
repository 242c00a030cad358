"""Service groups and readable names of the resources a diagram shows.

A node sits in the box of its service (S3, KMS, Kinesis, ...), chosen by the prefix of its
CloudFormation type; its label is its logical id without CDK's hash and this project's
construct-scope prefixes, its detail a short name of its type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ml_refarch.diagram.model import (
    EXTERNAL_GROUP,
    KMS_GROUP,
    OTHER_GROUP,
    SAGEMAKER_GROUP,
    VPC_GROUP,
)


@dataclass(frozen=True)
class ServiceGroup:
    """A service box: its name, the type prefix of its resources, and its colours."""

    name: str
    type_prefix: str | None
    edge_colour: str
    face_colour: str


#: In the order supporting groups appear in the bottom row.
SERVICE_GROUPS: tuple[ServiceGroup, ...] = (
    ServiceGroup(EXTERNAL_GROUP, None, "#545B64", "#F2F3F3"),
    ServiceGroup("Kinesis", "AWS::Kinesis::", "#8C4FFF", "#F1EAFF"),
    ServiceGroup("Firehose", "AWS::KinesisFirehose::", "#7D3FD8", "#EFE6FC"),
    ServiceGroup("Step Functions", "AWS::StepFunctions::", "#D6246E", "#FCE8F0"),
    ServiceGroup(SAGEMAKER_GROUP, "AWS::SageMaker::", "#067F68", "#E3F4F0"),
    ServiceGroup("Lambda", "AWS::Lambda::", "#D45B07", "#FDEDE0"),
    ServiceGroup("Glue", "AWS::Glue::", "#5A30B5", "#ECE6F8"),
    ServiceGroup("S3", "AWS::S3::", "#3F8624", "#EAF4E4"),
    ServiceGroup("FSx", "AWS::FSx::", "#277116", "#E6F1E2"),
    ServiceGroup("CodeArtifact", "AWS::CodeArtifact::", "#2E73B8", "#E6F0FA"),
    ServiceGroup("SNS", "AWS::SNS::", "#B0084D", "#FBE5EE"),
    ServiceGroup("API Gateway", "AWS::ApiGateway::", "#8C4FFF", "#F1EAFF"),
    ServiceGroup("WAF", "AWS::WAFv2::", "#DD344C", "#FCE8EB"),
    ServiceGroup("EventBridge", "AWS::Events::", "#E7157B", "#FDE7F2"),
    ServiceGroup("Auto Scaling", "AWS::ApplicationAutoScaling::", "#ED7100", "#FEF0E3"),
    ServiceGroup("CloudWatch", "AWS::CloudWatch::", "#B0084D", "#FBE8F0"),
    ServiceGroup(VPC_GROUP, "AWS::EC2::", "#6B40C9", "#F3EFFB"),
    ServiceGroup("IAM", "AWS::IAM::", "#BF0816", "#FCE9EA"),
    ServiceGroup(KMS_GROUP, "AWS::KMS::", "#C7511F", "#FDEEE6"),
    ServiceGroup("CloudWatch Logs", "AWS::Logs::", "#B0084D", "#FBE8F0"),
    ServiceGroup(OTHER_GROUP, None, "#687078", "#F4F4F4"),
)
GROUPS_BY_NAME = {group.name: group for group in SERVICE_GROUPS}


def service_group(resource_type: str) -> str:
    """The service group of a CloudFormation resource type (``Other`` if unknown)."""
    for group in SERVICE_GROUPS:
        if group.type_prefix and resource_type.startswith(group.type_prefix):
            return group.name
    return OTHER_GROUP


#: Short names of the resource types the patterns use; others are derived from the type.
TYPE_NAMES: dict[str, str] = {
    "AWS::Kinesis::Stream": "Kinesis stream",
    "AWS::KinesisFirehose::DeliveryStream": "Firehose delivery stream",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::KMS::Key": "KMS key",
    "AWS::Glue::Database": "Glue database",
    "AWS::Glue::Table": "Glue table",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::IAM::Role": "IAM role",
    "AWS::Logs::LogGroup": "log group",
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::SecurityGroup": "security group",
    "AWS::EC2::FlowLog": "VPC flow log",
    "AWS::EC2::Subnet": "subnet",
    "AWS::FSx::FileSystem": "FSx file system",
    "AWS::SageMaker::NotebookInstance": "notebook instance",
    "AWS::SageMaker::NotebookInstanceLifecycleConfig": "lifecycle config",
    "AWS::SageMaker::Domain": "Studio domain",
    "AWS::SageMaker::UserProfile": "Studio user profile",
    "AWS::SageMaker::StudioLifecycleConfig": "Studio lifecycle config",
    "AWS::CodeArtifact::Domain": "CodeArtifact domain",
    "AWS::CodeArtifact::Repository": "CodeArtifact repository",
    "AWS::StepFunctions::StateMachine": "state machine",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::SageMaker::Model": "model",
    "AWS::SageMaker::EndpointConfig": "endpoint config",
    "AWS::SageMaker::Endpoint": "endpoint",
    "AWS::SageMaker::DataQualityJobDefinition": "data-quality job definition",
    "AWS::SageMaker::MonitoringSchedule": "monitoring schedule",
    "AWS::ApplicationAutoScaling::ScalableTarget": "scalable target",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "scaling policy",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::ApiGateway::RestApi": "REST API",
    "AWS::WAFv2::WebACL": "web ACL",
    "AWS::Events::Rule": "EventBridge rule",
}


def type_name(resource_type: str) -> str:
    """A short, readable name of a resource type: ``Kinesis stream`` for AWS::Kinesis::Stream."""
    if resource_type in TYPE_NAMES:
        return TYPE_NAMES[resource_type]
    parts = resource_type.split("::")
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", parts[-1]).lower()
    return f"{parts[1]} {words}" if len(parts) == 3 else words


_CDK_HASH = re.compile(r"(?<=.)[0-9A-F]{8}$")
#: Scope names of this project's constructs that prefix logical ids without saying much.
_SCOPE_PREFIXES = ("Environment", "Network", "Vpc")


def short_name(logical_id: str, resource_type: str = "") -> str:
    """A logical id without its CDK hash and construct-scope prefixes: ``Stream790BDEE4`` ->
    ``Stream``, ``EnvironmentNetworkVpcSageMakerApi2597E680`` -> ``SageMakerApi``."""
    name = _CDK_HASH.sub("", logical_id)
    stripped = True
    while stripped:
        stripped = False
        for prefix in _SCOPE_PREFIXES:
            rest = name[len(prefix) :]
            if name.startswith(prefix) and rest[:1].isupper():
                name, stripped = rest, True
    if resource_type == "AWS::Logs::LogGroup" and len(name) > len("LogGroup"):
        name = name.removesuffix("LogGroup")
    return name
