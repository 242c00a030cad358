"""The ``CreateInferenceRecommendationsJob`` requests of the ``model-registry`` workflow.

A default job (``JobType`` ``Default``) benchmarks the instance types it is given; an
advanced job (``Advanced``) runs a custom load test: endpoint configurations, a traffic
pattern of phases, a time limit, a resource limit and stopping conditions for latency and
throughput (CreateInferenceRecommendationsJob,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateInferenceRecommendationsJob.html).
Fields of ``InputConfig.ContainerConfig`` override the model package's
(RecommendationJobInputConfig,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RecommendationJobInputConfig.html):
the request names the staged payload and, for a default job, the instance types there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ml_refarch.stacks.model_registry.settings import ModelRegistrySettings

JOB_TYPES = ("Default", "Advanced")


@dataclass(frozen=True)
class JobPlace:
    """Where a job runs and what it names: the role it passes, the key of its volumes and
    output, the VPC of its endpoints, its payload (an ``s3://`` URL of a ``.tar.gz``) and
    the request's tags."""

    role_arn: str
    key_arn: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    payload_url: str
    payload_content_type: str
    tags: Sequence[dict[str, str]]


def job_request(settings: ModelRegistrySettings, job_type: str, place: JobPlace) -> dict[str, Any]:
    """The task's parameters: the job's name and the version come from the run's input."""
    if job_type not in JOB_TYPES:
        raise ValueError(f"job_type must be one of {JOB_TYPES}, not {job_type!r}")
    container: dict[str, Any] = {
        "PayloadConfig": {
            "SamplePayloadUrl": place.payload_url,
            "SupportedContentTypes": [place.payload_content_type],
        }
    }
    input_config: dict[str, Any] = {
        "ModelPackageVersionArn.$": "$.package.arn",
        "VolumeKmsKeyId": place.key_arn,
        "VpcConfig": {
            "Subnets": list(place.subnet_ids),
            "SecurityGroupIds": list(place.security_group_ids),
        },
        "ContainerConfig": container,
    }
    request: dict[str, Any] = {
        "JobName.$": "$.job.name",
        "JobType": job_type,
        "RoleArn": place.role_arn,
        "JobDescription": f"ml-refarch {job_type.lower()} recommendation",
        "OutputConfig": {"KmsKeyId": place.key_arn},
        "Tags": list(place.tags),
        "InputConfig": input_config,
    }
    if job_type == "Default":
        container["SupportedInstanceTypes"] = list(settings.default_instance_types)
        return request
    input_config |= {
        "JobDurationInSeconds": settings.advanced_job_duration_seconds,
        "TrafficPattern": {
            "TrafficType": "PHASES",
            "Phases": [phase.to_api() for phase in settings.traffic_phases],
        },
        "ResourceLimit": {
            "MaxNumberOfTests": settings.max_tests,
            "MaxParallelOfTests": settings.max_parallel_tests,
        },
        "EndpointConfigurations": [
            {"InstanceType": instance_type} for instance_type in settings.advanced_instance_types
        ],
    }
    request["StoppingConditions"] = {
        "MaxInvocations": settings.max_invocations_per_minute,
        "ModelLatencyThresholds": [
            {
                "Percentile": settings.latency_percentile,
                "ValueInMilliseconds": settings.latency_threshold_ms,
            }
        ],
    }
    return request
