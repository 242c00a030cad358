"""Inference Recommender jobs a state machine starts through the AWS SDK integration: what
the state machine's role calls, and what the job does as the role it passes.

- ``aws-sdk:sagemaker:createInferenceRecommendationsJob``, ``describe...`` and ``stop...``:
  the IAM action is the API action ("Integrating services with the AWS SDK",
  https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html),
  authorized on the job, ``arn:...:inference-recommendations-job/<name>`` (the Service
  Authorization Reference lists that resource type for the three actions,
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html);
  a request with ``Tags`` also needs ``sagemaker:AddTags`` on it, and its ``RoleArn`` is
  passed to SageMaker (``iam:PassRole`` with ``iam:PassedToService``).
- The role the job runs as: Inference Recommender deploys the model package's versions on
  endpoints it creates and load-tests them ("Recommendation jobs with Amazon SageMaker
  Inference Recommender",
  https://docs.aws.amazon.com/sagemaker/latest/dg/inference-recommender-recommendation-jobs.html).
  AWS documents no narrower policy for that role than ``AmazonSageMakerFullAccess``
  ("Prerequisites for using Amazon SageMaker Inference Recommender",
  https://docs.aws.amazon.com/sagemaker/latest/dg/inference-recommender-prerequisites.html),
  so the scenario holds the role to what a model on an endpoint needs of its execution role
  ("CreateModel API: Execution Role Permissions", :data:`.sagemaker.CREATE_MODEL_ROLE`): the
  artifacts of the template's model packages, the sample payload the request names
  (``ContainerConfig.PayloadConfig.SamplePayloadUrl``), the endpoint's logs and metrics, the
  network interfaces of ``VpcConfig``, and a grant on ``VolumeKmsKeyId`` for the volumes.

The job's name is known only at run time; it stands for the name the template's policies
give such jobs (see :class:`.definitions.Names`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource
from ml_refarch.permissions.derived import sagemaker, storage
from ml_refarch.permissions.derived.definitions import Names, sagemaker_arn
from ml_refarch.permissions.scenarios import Call, Scenario

SFN_SDK = "https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html"
JOB_KIND = "inference-recommendations-job"
#: The SDK actions on a job, by the Step Functions action name.
ACTIONS = {
    "createInferenceRecommendationsJob": "sagemaker:CreateInferenceRecommendationsJob",
    "describeInferenceRecommendationsJob": "sagemaker:DescribeInferenceRecommendationsJob",
    "stopInferenceRecommendationsJob": "sagemaker:StopInferenceRecommendationsJob",
}
_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}")


def _role(resource: Resource, text: Any) -> str | None:
    match = _REFERENCE.fullmatch(text) if isinstance(text, str) else None
    if match and match.group(1) in resource.of_type("AWS::IAM::Role"):
        return match.group(1)
    return None


def task_calls(action: str, request: Mapping[str, Any], names: Names) -> list[Call]:
    """What the state machine's role calls for one Inference Recommender task."""
    arn = sagemaker_arn(JOB_KIND, names.value(request, "JobName", JOB_KIND))
    calls = [Call(ACTIONS[action], arn)]
    if action != "createInferenceRecommendationsJob":
        return calls
    if request.get("Tags"):
        calls.append(Call("sagemaker:AddTags", arn))
    role = request.get("RoleArn")
    if isinstance(role, str):
        calls.append(Call("iam:PassRole", role, {"iam:PassedToService": "sagemaker.amazonaws.com"}))
    return calls


def _payload_calls(resource: Resource, request: Mapping[str, Any]) -> list[Call]:
    uri = cfn.get(request, "InputConfig.ContainerConfig.PayloadConfig.SamplePayloadUrl")
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return []
    bucket = _REFERENCE.fullmatch(uri.removeprefix("s3://").split("/", 1)[0])
    bucket_id = bucket.group(1) if bucket else None
    if bucket_id not in resource.of_type("AWS::S3::Bucket"):
        bucket_id = None
    place = storage.S3Location(uri, bucket_id)
    return storage.read_calls(resource, place, place.object_arn())


def _package_artifact_calls(resource: Resource) -> list[Call]:
    """Reading the artifacts of every model package version the template registers."""
    calls = []
    for package in resource.of_type("AWS::SageMaker::ModelPackage").values():
        specification = cfn.properties_of(package).get("InferenceSpecification") or {}
        for container in cfn.as_list(cfn.field(specification, "Containers")):
            if isinstance(container, Mapping):
                calls += sagemaker.artifact_calls(resource, container)
                calls += sagemaker.image_calls(resource, container)
    return calls


def job_scenarios(
    resource: Resource, state: str, request: Mapping[str, Any], names: Names
) -> list[Scenario]:
    """The scenario of the role a CreateInferenceRecommendationsJob request passes."""
    role = _role(resource, request.get("RoleArn"))
    if role is None:
        return []
    job = names.value(request, "JobName", JOB_KIND)
    input_config = cfn.field(request, "InputConfig") or {}
    calls = _package_artifact_calls(resource) + _payload_calls(resource, request)
    calls += sagemaker.log_calls(f"/aws/sagemaker/Endpoints/{job}", "AllTraffic/i-0123")
    calls.append(
        Call("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"})
    )
    if cfn.field(input_config, "VpcConfig"):
        calls += sagemaker.vpc_calls()
    volume_key = _REFERENCE.fullmatch(str(cfn.field(input_config, "VolumeKmsKeyId") or ""))
    if volume_key and volume_key.group(1) in resource.of_type("AWS::KMS::Key"):
        calls += sagemaker.grant_calls(volume_key.group(1))
    return [
        resource.scenario(
            f"the Inference Recommender job of state {state} runs as its role",
            role,
            sagemaker.CREATE_MODEL_ROLE,
            calls,
            on_behalf_of="SageMaker Inference Recommender, benchmarking the model package",
        )
    ]
