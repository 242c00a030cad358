"""Facts about AWS services that several parts of ml-refarch rely on.

The bottom layer beside :mod:`ml_refarch.cfn`: stacks, constructs, compliance rules, cost
and the training helpers read these facts here; each names the AWS page it comes from.
This module imports nothing from the rest of the project.
"""

from __future__ import annotations

import math
import re
from fnmatch import fnmatchcase
from typing import Any

# --------------------------------------------------------------------------------------
# Instance types

#: Instance families (``ml.<family>.<size>``) that come with local NVMe instance storage.
#: Sources: the SageMaker API reference for CreateEndpointConfig (KmsKeyId: "Certain
#: Nitro-based instances include local storage ... You can't request a KmsKeyId when using an
#: instance type with local storage"), and the EC2 user guide's "Instance store volumes" list.
#: Patterns use fnmatch syntax: a family name ending in "d", "dn" or "de" (c5d, m5d, r5d,
#: c6id, m6id, r6id, g4dn, p3dn, p4d, p4de, ...) always has instance storage; the rest are
#: accelerated families whose names do not say so.
LOCAL_STORAGE_FAMILIES: tuple[str, ...] = (
    "*d",
    "*dn",
    "*de",
    "g5",
    "g6",
    "g6e",
    "p5",
    "p5e",
    "p5en",
    "trn1",
    "trn1n",
    "trn2",
)


def has_local_storage(instance_type: Any) -> bool:
    """Whether an ``ml.<family>.<size>`` instance type has local NVMe instance storage."""
    if not isinstance(instance_type, str):
        return False
    parts = instance_type.strip().lower().split(".")
    if len(parts) != 3 or parts[0] != "ml":
        return False
    family = parts[1]
    return any(fnmatchcase(family, pattern) for pattern in LOCAL_STORAGE_FAMILIES)


# --------------------------------------------------------------------------------------
# SageMaker Model Monitor schedules

#: The cron forms a Model Monitor schedule accepts (it runs at most hourly).
MODEL_MONITOR_SCHEDULE_FORMS = (
    "'cron(0 * ? * * *)' (hourly), 'cron(0 H ? * * *)' (daily at hour H UTC) or "
    "'cron(0 H/N ? * * *)' (every N hours from hour H), with H 0-23 and N 1-24"
)


_MONITOR_CRON = re.compile(r"cron\(0 (\*|(\d{1,2})(?:/(\d{1,2}))?) \? \* \* \*\)")


def monitoring_runs_per_day(expression: str) -> float:
    """Runs a day of a Model Monitor cron expression (see :data:`MODEL_MONITOR_SCHEDULE_FORMS`).

    Raises:
        ValueError: for any other expression.
    """
    match = _MONITOR_CRON.fullmatch(expression.strip()) if isinstance(expression, str) else None
    if match is None:
        raise ValueError(f"not a Model Monitor schedule: {expression!r}")
    if match.group(1) == "*":
        return 24.0
    start = int(match.group(2))
    step = int(match.group(3)) if match.group(3) is not None else None
    if start > 23 or (step is not None and not 1 <= step <= 24):
        raise ValueError(f"not a Model Monitor schedule: {expression!r}")
    if step is None:
        return 1.0
    # Model Monitor reads H/N as every N hours starting at H (17/12: 17:00 and 05:00).
    return float(math.ceil(24 / step))


# --------------------------------------------------------------------------------------
# Names and formats

#: A SageMaker instance type: ``ml.<family>.<size>`` (the InstanceType values of
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html).
INSTANCE_TYPE = re.compile(r"ml\.[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge)")

#: An AWS account id: 12 digits
#: (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html).
ACCOUNT_ID = re.compile(r"[0-9]{12}")

#: An AWS Region name such as ``us-east-1`` or ``ap-southeast-2``
#: (https://docs.aws.amazon.com/general/latest/gr/rande.html#regional-endpoints).
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")

#: An ``s3://bucket[/key]`` URI whose bucket name follows the general purpose bucket naming
#: rules: 3-63 characters of lower-case letters, digits, dots and hyphens, beginning and
#: ending with a letter or digit
#: (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?")


# --------------------------------------------------------------------------------------
# EventBridge Scheduler (sandbox expiry)

#: The service principal that assumes a schedule's execution role ("Set up the execution
#: role", EventBridge Scheduler user guide:
#: https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html).
SCHEDULER_SERVICE_PRINCIPAL = "scheduler.amazonaws.com"

#: The universal target that calls CloudFormation's DeleteStack: a target ARN is
#: ``arn:<partition>:scheduler:::aws-sdk:<service>:<apiAction>`` and its ``Input`` is the
#: API's request as JSON ("Using universal targets in EventBridge Scheduler":
#: https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html).
DELETE_STACK_UNIVERSAL_TARGET = "aws-sdk:cloudformation:deleteStack"

#: A one-time schedule's expression, ``at(yyyy-mm-ddThh:mm:ss)``, read in the schedule's
#: time zone (UTC unless ``ScheduleExpressionTimezone`` says otherwise); Scheduler invokes the
#: target within the minute, so the seconds are always ``00`` here ("Schedule types in
#: EventBridge Scheduler", one-time schedules:
#: https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
SCHEDULER_AT_FORMAT = "at(%Y-%m-%dT%H:%M:00)"


def delete_stack_target_arn(partition: str) -> str:
    """``arn:<partition>:scheduler:::aws-sdk:cloudformation:deleteStack``."""
    return f"arn:{partition}:scheduler:::{DELETE_STACK_UNIVERSAL_TARGET}"


# --------------------------------------------------------------------------------------
# SageMaker limits

#: MaxRuntimeInSeconds when a job sets none (one day), and the most it may be (28 days):
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StoppingCondition.html
MAX_RUNTIME_DEFAULT_SECONDS = 24 * 60 * 60
MAX_RUNTIME_LIMIT_SECONDS = 28 * 24 * 60 * 60

#: MemorySizeInMB values a serverless endpoint accepts (1 GB to 6 GB in 1 GB steps), and the
#: most concurrent invocations one may serve (MaxConcurrency 1-200):
#: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY = 200

#: A serial inference pipeline chains two to fifteen containers:
#: https://docs.aws.amazon.com/sagemaker/latest/dg/inference-pipelines.html
PIPELINE_MIN_CONTAINERS = 2
PIPELINE_MAX_CONTAINERS = 15

#: The Application Auto Scaling dimension of a SageMaker variant's instance count:
#: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
SAGEMAKER_SCALING_NAMESPACE = "sagemaker"
SAGEMAKER_VARIANT_INSTANCE_COUNT = "sagemaker:variant:DesiredInstanceCount"


# --------------------------------------------------------------------------------------
# Streaming and storage limits

#: A Kinesis data stream keeps records 24 hours at least and 8760 hours (365 days) at most:
#: https://docs.aws.amazon.com/streams/latest/dev/kinesis-extended-retention.html
KINESIS_MIN_RETENTION_HOURS = 24
KINESIS_MAX_RETENTION_HOURS = 8760

#: A Kinesis video stream keeps media at most 87600 hours (ten years):
#: https://docs.aws.amazon.com/kinesisvideostreams/latest/dg/API_CreateStream.html
VIDEO_STREAM_MAX_RETENTION_HOURS = 87600

#: Firehose needs a buffer of at least 64 MiB to convert records to Parquet or ORC:
#: https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
FIREHOSE_CONVERSION_MIN_BUFFER_MIB = 64

#: The ports FSx for Lustre clients and servers talk on, as (first, last) ranges:
#: https://docs.aws.amazon.com/fsx/latest/LustreGuide/limit-access-security-groups.html
LUSTRE_PORT_RANGES = ((988, 988), (1018, 1023))


# Defaults, minimums and names the cost estimate reads templates with

#: ``VolumeSizeInGB`` of a notebook instance when the template leaves it out. Source: the
#: SageMaker API reference, CreateNotebookInstance ("The default value is 5 GB").
NOTEBOOK_DEFAULT_VOLUME_GB = 5

#: The smallest FSx for Lustre file system (SSD storage). Source: the FSx API reference,
#: CreateFileSystem StorageCapacity ("the valid values are 1200 GiB, 2400 GiB, and
#: increments of 2400 GiB"; SCRATCH_1 starts at 1200 GiB too).
LUSTRE_MIN_STORAGE_GIB = 1200

#: ``LustreConfiguration.DeploymentType`` when absent. Source: the FSx API reference,
#: LustreFileSystemConfiguration DeploymentType ("The default is SCRATCH_1").
LUSTRE_DEFAULT_DEPLOYMENT_TYPE = "SCRATCH_1"

#: ``VpcEndpointType`` when absent. Source: the CloudFormation reference for
#: AWS::EC2::VPCEndpoint (VpcEndpointType, "Default: Gateway").
VPC_ENDPOINT_DEFAULT_TYPE = "Gateway"

#: A Kinesis stream without ``StreamModeDetails`` is provisioned. Source: the CloudFormation
#: reference for AWS::Kinesis::Stream (StreamModeDetails: "the default is PROVISIONED").
KINESIS_DEFAULT_STREAM_MODE = "PROVISIONED"

#: The principal SageMaker assumes roles as. Source: the SageMaker developer guide, "How to
#: use SageMaker AI execution roles" (the trust policy names ``sagemaker.amazonaws.com``).
SAGEMAKER_SERVICE_PRINCIPAL = "sagemaker.amazonaws.com"

#: What SageMaker calls, as the execution role, to place a model's or a job's instances in
#: a VPC. Source: the SageMaker developer guide, "How to use SageMaker AI execution roles"
#: (the same nine actions for CreateModel, CreateProcessingJob, CreateTrainingJob and
#: CreateHyperParameterTuningJob "If you specify a private VPC").
SAGEMAKER_VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)

#: The job definitions a Model Monitor schedule can name. Source: the CloudFormation
#: reference for AWS::SageMaker::MonitoringSchedule and its MonitoringType values
#: (DataQuality, ModelQuality, ModelBias, ModelExplainability).
MODEL_MONITOR_JOB_DEFINITION_TYPES = (
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::ModelBiasJobDefinition",
    "AWS::SageMaker::ModelExplainabilityJobDefinition",
)

#: Resource types that use a SageMaker execution role to host or watch models, not to run
#: training jobs: a model's ExecutionRoleArn and the monitoring resources' RoleArn.
SAGEMAKER_HOSTING_ROLE_USERS = frozenset(
    {"AWS::SageMaker::Model", "AWS::SageMaker::MonitoringSchedule"}
    | set(MODEL_MONITOR_JOB_DEFINITION_TYPES)
)

#: Resource types that only attach policies to a role; they do not make it a job role.
IAM_ROLE_ATTACHMENTS = frozenset(
    {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile"}
)

#: Firehose record format conversion serializers and the formats they write. Source: the
#: Firehose developer guide, "Convert input data format" (ParquetSerDe, OrcSerDe).
FIREHOSE_SERIALIZER_FORMATS = {"ParquetSerDe": "Parquet", "OrcSerDe": "ORC"}

#: Service name prefixes of PrivateLink endpoints (``com.amazonaws.<region>.<service>``,
#: ``aws.sagemaker.<region>.<service>`` for notebooks and Studio). Source: the PrivateLink
#: guide, "AWS services that integrate with AWS PrivateLink".
ENDPOINT_SERVICE_NAME_PREFIXES = ("com.amazonaws.", "aws.sagemaker.", "aws.api.")


def endpoint_service_short_name(service_name: str) -> str:
    """``com.amazonaws.<region>.sagemaker.api`` -> ``sagemaker.api`` (other text unchanged)."""
    for prefix in ENDPOINT_SERVICE_NAME_PREFIXES:
        if service_name.startswith(prefix):
            rest = service_name[len(prefix) :]
            return rest.split(".", 1)[1] if "." in rest else rest
    return service_name


def step_functions_task_action(resource_arn: str) -> str:
    """``arn:...:states:::sagemaker:createTrainingJob.sync`` -> ``createTrainingJob``.

    Source: the Step Functions developer guide, "Create and manage Amazon SageMaker AI jobs
    with Step Functions" (task resources ``arn:aws:states:::sagemaker:<action>[.sync]``).
    """
    return resource_arn.rsplit(":", 1)[-1].split(".", 1)[0]


# --------------------------------------------------------------------------------------
# AWS managed policies

#: The statements of the AWS managed policies the project attaches, by name, so that what a
#: role may do can be evaluated offline. Source: "AWS managed policy reference guide",
#: AWSLambdaBasicExecutionRole (version 1): CloudWatch Logs permissions only.
AWS_MANAGED_POLICIES: dict[str, tuple[dict[str, Any], ...]] = {
    "service-role/AWSLambdaBasicExecutionRole": (
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        },
    ),
}

#: What a CodeBuild project's service role needs for builds in a VPC: CodeBuild creates a
#: network interface per build in one of the project's subnets ("Allow CodeBuild access to
#: AWS services required to create a VPC network interface",
#: https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-identity-based-access-control.html).
#: ``ec2:CreateNetworkInterfacePermission`` is on the interface, with ``ec2:Subnet`` and
#: ``ec2:AuthorizedService`` conditions; the others support no resource-level permissions.
CODEBUILD_VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
)
