"""Model Monitor: what the monitoring job (a processing job) does as its role.

A monitoring schedule starts processing jobs with the job definition's ``RoleArn``; the
role needs what "CreateProcessingJob API: Execution Role Permissions"
(:data:`.sagemaker.PROCESSING_ROLE`) lists for the job's inputs, outputs and settings:

- the baseline constraints and statistics it compares against, and the data the endpoint
  captured (``s3:ListBucket`` on the bucket of an input, ``s3:GetObject`` on its objects,
  ``kms:Decrypt`` for SSE-KMS objects); for model quality, the ground truth too;
- the reports it writes (``s3:PutObject``, and ``kms:Encrypt`` for the output config's
  ``KmsKeyId``);
- ``kms:CreateGrant`` for the volume key (``VolumeKmsKeyId``), a grant for an AWS resource
  (a grant to anyone else must stay denied: :func:`.sagemaker.grant_calls`);
- the nine ``ec2`` actions when ``NetworkConfig`` has a ``VpcConfig``;
- its logs, in the ``/aws/sagemaker/ProcessingJobs`` group.

With ``publish_cloudwatch_metrics`` enabled, the job publishes its metrics to CloudWatch
("CloudWatch Metrics", :data:`MONITOR_METRICS`). The AWS pages spell the namespace
differently (``/aws/sagemaker/Endpoints/data-metric`` on that page,
``/aws/sagemaker/Endpoint/data-metrics`` on "CloudWatch Metrics for Bring Your Own
Containers"); the built-in container publishes to ``aws/sagemaker/Endpoints/data-metrics``
(and ``model-metrics``, ``bias-metrics``, ``explainability-metrics``), the namespace the
SageMaker example notebooks (aws/amazon-sagemaker-examples, ``sagemaker_model_monitor``)
read the metrics from, so that is the one asked for.

The captured data lies under ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``
("Capture data from real-time endpoint", :data:`.sagemaker.DATA_CAPTURE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_refarch import cfn
from ml_refarch.aws_facts import MODEL_MONITOR_JOB_DEFINITION_TYPES
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.derived import storage
from ml_refarch.permissions.derived.sagemaker import (
    PROCESSING_ROLE,
    grant_calls,
    log_calls,
    output_calls,
    vpc_calls,
)
from ml_refarch.permissions.scenarios import Call, Scenario

MONITOR_METRICS = (
    "https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-cloudwatch.html"
)
_NAMESPACES = {
    "DataQuality": "aws/sagemaker/Endpoints/data-metrics",
    "ModelQuality": "aws/sagemaker/Endpoints/model-metrics",
    "ModelBias": "aws/sagemaker/Endpoints/bias-metrics",
    "ModelExplainability": "aws/sagemaker/Endpoints/explainability-metrics",
}
_CAPTURED = "AllTraffic/2026/01/01/00/capture.jsonl"


@dataclass
class MonitorJob:
    """What one monitoring job reads, writes and runs with, as the template says."""

    role: str
    baselines: list[Any] = field(default_factory=list)
    endpoints: list[Any] = field(default_factory=list)
    other_inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    output_key: Any = None
    volume_key: Any = None
    vpc: bool = False
    namespace: str | None = None


def _job(resource: Resource, role: str, parts: Mapping[str, Any], kind: str) -> MonitorJob:
    """``parts``: ``baseline``, ``input``, ``output``, ``resources``, ``network``, ``app``
    (the sections of a job definition or of a schedule's inline definition)."""

    def part(name: str, path: str) -> Any:
        return cfn.raw(cfn.get(parts.get(name) or {}, path))

    job = MonitorJob(role)
    job.baselines = [
        part("baseline", "ConstraintsResource.S3Uri"),
        part("baseline", "StatisticsResource.S3Uri"),
    ]
    inputs = cfn.as_list(parts.get("input") or [])
    job.endpoints = [cfn.raw(cfn.get(i, "EndpointInput.EndpointName")) for i in inputs]
    job.other_inputs = [cfn.raw(cfn.get(i, "GroundTruthS3Input.S3Uri")) for i in inputs]
    outputs = cfn.as_list(part("output", "MonitoringOutputs"))
    job.outputs = [cfn.raw(cfn.get(o, "S3Output.S3Uri")) for o in outputs]
    job.output_key = part("output", "KmsKeyId")
    job.volume_key = part("resources", "ClusterConfig.VolumeKmsKeyId")
    job.vpc = bool(part("network", "VpcConfig"))
    environment = part("app", "Environment") or {}
    publish = (
        environment.get("publish_cloudwatch_metrics", "")
        if isinstance(environment, Mapping)
        else ""
    )
    if str(publish).lower() == "enabled":
        job.namespace = _NAMESPACES.get(kind)
    return job


def _captures(resource: Resource, endpoint_name: Any) -> list[tuple[Any, Any]]:
    """(DestinationS3Uri, KmsKeyId) of the data capture of the named endpoint's config."""
    endpoint = resource.resource_of(endpoint_name, "AWS::SageMaker::Endpoint")
    if endpoint is None:
        return []
    config = resource.resource_of(
        resource.properties_of(endpoint).get("EndpointConfigName"),
        "AWS::SageMaker::EndpointConfig",
    )
    capture = resource.properties_of(config).get("DataCaptureConfig") if config else None
    if not isinstance(capture, Mapping):
        return []
    return [(capture.get("DestinationS3Uri"), capture.get("KmsKeyId"))]


def _input_calls(resource: Resource, uri: Any, below: str) -> list[Call]:
    place = storage.location(resource, uri)
    if place is None:
        return []
    return [
        Call("s3:ListBucket", place.bucket_arn),
        *storage.read_calls(resource, place, place.object_arn(below)),
    ]


def _read_calls(resource: Resource, job: MonitorJob) -> list[Call]:
    calls = []
    for uri in job.baselines:
        place = storage.location(resource, uri) if uri is not None else None
        if place is not None:
            calls += storage.read_calls(resource, place, place.object_arn())
    for endpoint_name in job.endpoints:
        for uri, _ in _captures(resource, endpoint_name):
            endpoint = resource.resource_of(endpoint_name, "AWS::SageMaker::Endpoint")
            below = "${" + f"{endpoint}.EndpointName" + "}/" + _CAPTURED
            calls += _input_calls(resource, uri, below)
    for uri in job.other_inputs:
        if uri is not None:
            calls += _input_calls(resource, uri, "2026/01/01/00/ground-truth.jsonl")
    return calls


def _calls(resource: Resource, job: MonitorJob) -> list[Call]:
    calls = _read_calls(resource, job)
    for uri in job.outputs:
        if uri is not None:
            report = "endpoint/schedule/2026/01/01/00/constraint_violations.json"
            calls += output_calls(resource, uri, report, job.output_key)
    volume = resource.resource_of(job.volume_key, "AWS::KMS::Key") if job.volume_key else None
    if volume is not None:
        calls += grant_calls(volume)
    if job.vpc:
        calls += vpc_calls()
    calls += log_calls("/aws/sagemaker/ProcessingJobs", "monitoring-job/algo-1-1700000000")
    return calls


def _scenarios(resource: Resource, job: MonitorJob) -> list[Scenario]:
    on_behalf = "SageMaker, running the monitoring job"
    scenarios = [
        resource.scenario(
            "the monitoring job reads its inputs and writes its report",
            job.role,
            PROCESSING_ROLE,
            _calls(resource, job),
            on_behalf_of=on_behalf,
        )
    ]
    if job.namespace is not None:
        scenarios.append(
            resource.scenario(
                "the monitoring job publishes its metrics",
                job.role,
                MONITOR_METRICS,
                [Call("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": job.namespace})],
                on_behalf_of=on_behalf,
            )
        )
    return scenarios


@derives(*MODEL_MONITOR_JOB_DEFINITION_TYPES)
def job_definition_role(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("RoleArn"))
    if role is None:
        return []
    kind = resource.type.removeprefix("AWS::SageMaker::").removesuffix("JobDefinition")
    properties = resource.properties
    parts = {
        "baseline": properties.get(f"{kind}BaselineConfig"),
        "input": [properties.get(f"{kind}JobInput")],
        "output": properties.get(f"{kind}JobOutputConfig"),
        "resources": properties.get("JobResources"),
        "network": properties.get("NetworkConfig"),
        "app": properties.get(f"{kind}AppSpecification"),
    }
    return _scenarios(resource, _job(resource, role, parts, kind))


@derives("AWS::SageMaker::MonitoringSchedule")
def schedule_role(resource: Resource) -> list[Scenario]:
    """A schedule with its job definition inline (one naming a job definition of the
    template leaves it to :func:`job_definition_role`)."""
    inline = cfn.raw(
        cfn.get(resource.properties, "MonitoringScheduleConfig.MonitoringJobDefinition")
    )
    if not isinstance(inline, Mapping):
        return []
    role = resource.role_of(inline.get("RoleArn"))
    if role is None:
        return []
    kind = cfn.raw(cfn.get(resource.properties, "MonitoringScheduleConfig.MonitoringType"))
    parts = {
        "baseline": inline.get("BaselineConfig"),
        "input": inline.get("MonitoringInputs"),
        "output": inline.get("MonitoringOutputConfig"),
        "resources": inline.get("MonitoringResources"),
        "network": inline.get("NetworkConfig"),
        "app": {"Environment": inline.get("Environment")},
    }
    return _scenarios(resource, _job(resource, role, parts, str(kind or "DataQuality")))
