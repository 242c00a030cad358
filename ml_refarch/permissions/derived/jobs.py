"""What the role of a SageMaker job or model started by a workflow does, from its request.

Per "How to use SageMaker AI execution roles", sections "CreateTrainingJob API: Execution
Role Permissions" and "CreateModel API: Execution Role Permissions"
(https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html): the role reads the
input channels (``s3:ListBucket``, ``s3:GetObject``), writes the output and checkpoints
(``s3:PutObject``), writes its logs under ``/aws/sagemaker/`` and metrics, pulls the image
(ECR: on the template's repository when the image is in one), creates the network
interfaces of a ``VpcConfig``, and creates a grant on the ``VolumeKmsKeyId``. An output
``KmsKeyId`` (``OutputDataConfig``, or a processing job's ``ProcessingOutputConfig``): "the
SageMaker execution role must include permissions to call kms:Encrypt" (OutputDataConfig,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_OutputDataConfig.html), and an
upload encrypted with a KMS key needs ``kms:GenerateDataKey``, a download ``kms:Decrypt``
("Using server-side encryption with AWS KMS keys",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).

S3 locations set at run time with ``States.Format('s3://bucket/prefix/{}/', ...)`` are
evaluated with ``run`` in place of ``{}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ml_refarch import cfn
from ml_refarch.aws_facts import SAGEMAKER_VPC_ACTIONS
from ml_refarch.permissions.derive import Resource
from ml_refarch.permissions.derived.sagemaker import ECR_PULL
from ml_refarch.permissions.derived.storage import default_key
from ml_refarch.permissions.scenarios import Call, Scenario

ROLES = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
S3_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"

IMAGE_ACTIONS = ("ecr:GetAuthorizationToken", *ECR_PULL)
_S3_URI = re.compile(r"s3://([^/]+)/?(.*)")
_FORMAT = re.compile(r"States\.Format\('([^']*)'")
#: Log group and metric namespace each kind writes to ("Log Amazon SageMaker AI events by
#: using Amazon CloudWatch", https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html).
_LOG_GROUPS = {
    "createTrainingJob": "TrainingJobs",
    "createHyperParameterTuningJob": "TrainingJobs",
    "createProcessingJob": "ProcessingJobs",
    "createModel": "Endpoints/endpoint",
}


def _uri(request: Any, key: str) -> str | None:
    """The S3 URI at ``key`` of ``request``: literal, or a ``States.Format`` with ``run``."""
    literal = cfn.field(request, key)
    if isinstance(literal, str):
        return literal
    dynamic = cfn.field(request, f"{key}.$")
    match = _FORMAT.search(dynamic) if isinstance(dynamic, str) else None
    return match.group(1).replace("{}", "run") if match else None


def _object(uri: str) -> tuple[str, str, str] | None:
    """(bucket ARN, key prefix, an object ARN below it) of an ``s3://`` URI."""
    match = _S3_URI.fullmatch(uri)
    if not match:
        return None
    bucket, key = match.groups()
    obj = key + "part-0" if not key or key.endswith("/") else key
    arn = f"arn:${{AWS::Partition}}:s3:::{bucket}"
    return arn, key, f"{arn}/{obj}"


def bucket_key(bucket_arn: str, resource: Resource) -> str | None:
    """``${Key.Arn}`` of the template's key a bucket is encrypted with by default."""
    name = bucket_arn.rsplit(":::", 1)[-1]
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)\}", name)
    key, _ = default_key(resource, match.group(1) if match else None)
    return "${" + key + ".Arn}" if key else None


def _key_text(text: Any, resource: Resource) -> str | None:
    if not isinstance(text, str):
        return None
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}", text)
    if match and match.group(1) in resource.of_type("AWS::KMS::Key"):
        return "${" + match.group(1) + ".Arn}"
    return None


def _reads(uri: str | None, resource: Resource) -> list[Call]:
    found = _object(uri) if uri else None
    if found is None:
        return []
    bucket, prefix, obj = found
    calls = [Call("s3:ListBucket", bucket, {"s3:prefix": prefix}), Call("s3:GetObject", obj)]
    key = bucket_key(bucket, resource)
    return calls + ([Call("kms:Decrypt", key)] if key else [])


def _writes(uri: str | None, key: str | None, resource: Resource) -> list[Call]:
    found = _object(uri) if uri else None
    if found is None:
        return []
    bucket, _, obj = found
    calls = [Call("s3:PutObject", obj)]
    key = key or bucket_key(bucket, resource)
    return calls + ([Call("kms:GenerateDataKey", key)] if key else [])


def _job_calls(action: str, request: Any, resource: Resource) -> list[Call]:
    calls: list[Call] = []
    for channel in cfn.as_list(cfn.field(request, "InputDataConfig")):
        calls += _reads(_uri(cfn.get(channel, "DataSource.S3DataSource"), "S3Uri"), resource)
    for processing_input in cfn.as_list(cfn.field(request, "ProcessingInputs")):
        calls += _reads(_uri(cfn.field(processing_input, "S3Input"), "S3Uri"), resource)
    output_key = _key_text(cfn.get(request, "OutputDataConfig.KmsKeyId"), resource)
    calls += _writes(
        _uri(cfn.field(request, "OutputDataConfig"), "S3OutputPath"), output_key, resource
    )
    if output_key:
        calls.append(Call("kms:Encrypt", output_key))
    processing_key = _key_text(cfn.get(request, "ProcessingOutputConfig.KmsKeyId"), resource)
    for output in cfn.as_list(cfn.get(request, "ProcessingOutputConfig.Outputs")):
        calls += _writes(_uri(cfn.field(output, "S3Output"), "S3Uri"), processing_key, resource)
    if processing_key:
        calls.append(Call("kms:Encrypt", processing_key))
    checkpoints = _uri(cfn.field(request, "CheckpointConfig"), "S3Uri")
    calls += _writes(checkpoints, None, resource) + _reads(checkpoints, resource)
    volume_key = _key_text(
        cfn.get(request, "ResourceConfig.VolumeKmsKeyId")
        or cfn.get(request, "ProcessingResources.ClusterConfig.VolumeKmsKeyId"),
        resource,
    )
    if volume_key:
        calls.append(Call("kms:CreateGrant", volume_key, {"kms:GrantIsForAWSResource": True}))
    return calls


def _image_calls(request: Any, resource: Resource) -> list[Call]:
    """The image pull: on the template's ECR repository the image names (by its ``Ref``,
    the repository name), else on ``*`` (an AWS-owned image, whose repository the role
    cannot know)."""
    image = cfn.get(request, "AlgorithmSpecification.TrainingImage") or cfn.get(
        request, "PrimaryContainer.Image"
    )
    repositories = resource.of_type("AWS::ECR::Repository")
    named = re.findall(r"\$\{([A-Za-z0-9]+)\}", image) if isinstance(image, str) else []
    repository = next((name for name in named if name in repositories), None)
    if repository is None:
        return [Call(action_name, "*") for action_name in IMAGE_ACTIONS]
    arn = "${" + repository + ".Arn}"
    return [Call("ecr:GetAuthorizationToken", "*"), *(Call(a, arn) for a in ECR_PULL)]


def _common_calls(action: str, request: Any, resource: Resource) -> list[Call]:
    group = f"/aws/sagemaker/{_LOG_GROUPS[action]}"
    stream = (
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{group}"
        ":log-stream:run"
    )
    namespace = "/aws/sagemaker/" + _LOG_GROUPS[action].split("/")[0]
    calls = [
        Call("logs:CreateLogStream", stream),
        Call("logs:PutLogEvents", stream),
        Call("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": namespace}),
    ]
    calls += _image_calls(request, resource)
    vpc = cfn.field(request, "VpcConfig") or cfn.get(request, "NetworkConfig.VpcConfig")
    if vpc:
        calls += [Call(action_name, "*") for action_name in SAGEMAKER_VPC_ACTIONS]
    return calls


def job_scenarios(
    resource: Resource,
    state: str,
    action: str,
    request: Mapping[str, Any],
    *,
    started_by: str | None = None,
) -> list[Scenario]:
    """The scenario of the role a SageMaker create request in state ``state`` passes (or
    that ``started_by``, a schedule say, sends)."""
    if action not in _LOG_GROUPS:
        return []
    body = request
    if action == "createHyperParameterTuningJob":
        body = cfn.field(request, "TrainingJobDefinition") or {}
    role_text = cfn.field(body, "ExecutionRoleArn" if action == "createModel" else "RoleArn")
    match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}", role_text or "")
    role = match.group(1) if match else None
    if role is None or role not in resource.of_type("AWS::IAM::Role"):
        return []
    calls = _common_calls(action, body, resource)
    if action != "createModel":
        calls += _job_calls(action, body, resource)
    kind = action.removeprefix("create")
    title = (
        f"the {kind} {started_by} starts runs as its role"
        if started_by
        else f"the {kind} of state {state} runs as its role"
    )
    return [
        resource.scenario(
            title,
            role,
            ROLES,
            calls,
            on_behalf_of=f"SageMaker, for {started_by or 'the workflow'}'s {kind}",
        )
    ]
