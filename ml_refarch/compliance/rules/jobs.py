"""SageMaker jobs started by workflows (notes: "Security", "Sagemaker", "Step functions",
"Automatic model tuning").

Training, tuning, processing and batch transform jobs have no CloudFormation resource of their
own: they are API requests inside a Step Functions state machine (a Task state whose
``Resource`` names ``sagemaker:createTrainingJob`` and friends, request in ``Parameters`` or,
with JSONata, ``Arguments``) or inside a SageMaker Pipeline (a step of ``Type`` Training,
Processing, Transform or Tuning, request in ``Arguments``). The rules read those requests and
report one finding per failing job, ``State::<state name>`` or ``Step::<step name>``.

Values a workflow fills in at run time (``"Key.$": "$.path"``, JSONata ``{% ... %}``, pipeline
``{"Get": "Parameters.X"}``, CloudFormation tokens, ``${Substitution}`` placeholders) count
as present but are never compared. A definition that cannot be parsed is not applicable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ml_refarch.aws_facts import MAX_RUNTIME_DEFAULT_SECONDS, has_local_storage
from ml_refarch.cfn import (
    PLACEHOLDER,
    Unresolved,
    as_list,
    field,
    get,
    is_intrinsic,
    literal_text,
    lower_keys,
    number,
    parse_json_text,
    present,
    states,
    task_request,
    truthy,
)
from ml_refarch.compliance.rules.model import NOT_APPLICABLE, Resource, Verdict, rule

STATE_MACHINE = "AWS::StepFunctions::StateMachine"
PIPELINE = "AWS::SageMaker::Pipeline"
TYPES = (STATE_MACHINE, PIPELINE)

TRAINING = "training"
TUNING = "tuning"
PROCESSING = "processing"
TRANSFORM = "transform"

#: Step Functions service actions (lower-cased) and SageMaker Pipeline step types, by job kind.
_SFN_ACTIONS = {
    "createtrainingjob": TRAINING,
    "createhyperparametertuningjob": TUNING,
    "createprocessingjob": PROCESSING,
    "createtransformjob": TRANSFORM,
}
_PIPELINE_STEP_TYPES = {
    "training": TRAINING,
    "tuning": TUNING,
    "processing": PROCESSING,
    "transform": TRANSFORM,
}
# Matches the optimised integration (``states:::sagemaker:...``) and the AWS SDK one
# (``states:::aws-sdk:sagemaker:...``), both of which take the API request as is.
_SFN_RESOURCE = re.compile(r":sagemaker:(create[a-z]+job)(?:\.|$)")


# --- Reading definitions -------------------------------------------------------------------


def _is_dynamic(value: Any) -> bool:
    """A value only the running workflow knows."""
    if isinstance(value, Unresolved) or is_intrinsic(value):
        return True
    if isinstance(value, str):
        text = value.strip()
        return PLACEHOLDER in text or "${" in text or text.startswith("{%")
    if isinstance(value, Mapping) and len(value) == 1:
        # SageMaker Pipelines' expressions: {"Get": "Parameters.X"}, {"Std:Join": ...}.
        (key,) = value
        key = str(key).lower()
        return key == "get" or key.startswith("std:")
    return False


def _value(request: Any, path: str) -> Any:
    """``get`` along ``path``, stopping at (and returning as Unresolved) any dynamic value."""
    current = request
    for part in path.split("."):
        if _is_dynamic(current):
            return current if isinstance(current, Unresolved) else Unresolved(current)
        current = get(current, part)
        if current is None:
            return None
    if _is_dynamic(current):
        return current if isinstance(current, Unresolved) else Unresolved(current)
    return current


@dataclass(frozen=True)
class _Job:
    """One SageMaker job request found in a workflow."""

    where: str
    kind: str
    #: The API request with lower-cased keys, or an Unresolved when the whole request is.
    request: Any


def _state_machine_jobs(resource: Resource) -> list[_Job] | None:
    definition = resource.get("Definition")
    if isinstance(definition, Mapping) and not is_intrinsic(definition):
        # Inline definitions reach the rules already lower-cased, state names included.
        machine = definition
    else:
        machine = parse_json_text(resource.get("DefinitionString"))
    if not isinstance(machine, Mapping):
        return None
    jobs = []
    for name, state in states(machine):
        if not isinstance(state, Mapping) or str(field(state, "Type")).lower() != "task":
            continue
        match = _SFN_RESOURCE.search(literal_text(field(state, "Resource")).lower())
        kind = _SFN_ACTIONS.get(match.group(1)) if match else None
        if kind is not None:
            jobs.append(_Job(f"State::{name}", kind, lower_keys(task_request(state))))
    return jobs


def _pipeline_steps(steps: Any) -> Iterator[Mapping[str, Any]]:
    for step in as_list(steps):
        if not isinstance(step, Mapping):
            continue
        yield step
        # Condition steps hold the steps of each branch in their arguments.
        arguments = field(step, "Arguments")
        for branch in ("IfSteps", "ElseSteps"):
            yield from _pipeline_steps(field(arguments, branch))


def _pipeline_jobs(resource: Resource) -> list[_Job] | None:
    body = parse_json_text(resource.get("PipelineDefinition.PipelineDefinitionBody"))
    if not isinstance(body, Mapping):
        return None
    jobs = []
    for step in _pipeline_steps(field(body, "Steps")):
        kind = _PIPELINE_STEP_TYPES.get(str(field(step, "Type")).lower())
        if kind is not None:
            name = field(step, "Name")
            jobs.append(_Job(f"Step::{name}", kind, lower_keys(field(step, "Arguments"))))
    return jobs


def _jobs(resource: Resource) -> list[_Job] | None:
    if resource.type == PIPELINE:
        return _pipeline_jobs(resource)
    return _state_machine_jobs(resource)


def _training_definitions(job: _Job) -> list[Any]:
    """The training requests a training or tuning job runs (a tuning job may hold several)."""
    if job.kind == TRAINING:
        return [job.request]
    definitions = [_value(job.request, "TrainingJobDefinition")]
    definitions += as_list(_value(job.request, "TrainingJobDefinitions"))
    return [d for d in definitions if d is not None]


#: What a job-level check says: True passes, False fails, None when it does not apply.
JobCheck = Callable[[_Job], bool | None]


def _combine(results: list[bool | None]) -> bool | None:
    """A job fails when any of its parts fails and is not applicable when none applies."""
    if any(result is False for result in results):
        return False
    return True if any(result is True for result in results) else None


def _findings(resource: Resource, kinds: tuple[str, ...], check: JobCheck) -> Verdict:
    jobs = _jobs(resource)
    if jobs is None:
        return NOT_APPLICABLE
    results = [
        (job.where, check(job))
        for job in jobs
        # A request taken whole from the execution input cannot be read at all.
        if job.kind in kinds and isinstance(job.request, Mapping)
    ]
    if all(passed is None for _, passed in results):
        return NOT_APPLICABLE
    return [where for where, passed in results if passed is False]


def _enabled(value: Any) -> bool:
    """A flag set to true, or to something decided at run time."""
    return truthy(value) is True or isinstance(value, Unresolved)


# --- JB1: volume keys ---------------------------------------------------------------------


def _volume_encrypted(config: Any, instance_types: list[Any]) -> bool | None:
    """True with a key or on local-storage instances only; None when an instance type
    known only at run time may be one with local storage, which needs no key."""
    if present(_value(config, "VolumeKmsKeyId")):
        return True
    if any(isinstance(t, Unresolved) for t in instance_types):
        return None
    return bool(instance_types) and all(has_local_storage(t) for t in instance_types)


def _training_volume(definition: Any) -> bool | None:
    results: list[bool | None] = []
    for name in ("ResourceConfig", "HyperParameterTuningResourceConfig"):
        config = _value(definition, name)
        if config is None:
            continue
        if isinstance(config, Unresolved):
            return True
        groups = as_list(_value(config, "InstanceGroups")) + as_list(
            _value(config, "InstanceConfigs")
        )
        types = [_value(config, "InstanceType")] if not groups else []
        types += [_value(group, "InstanceType") for group in groups]
        results.append(_volume_encrypted(config, types))
    if any(result is True for result in results):
        return True
    return None if None in results else False


def _volume_key(job: _Job) -> bool | None:
    if job.kind == TRANSFORM:
        config = _value(job.request, "TransformResources")
        return isinstance(config, Unresolved) or _volume_encrypted(
            config, [_value(config, "InstanceType")]
        )
    if job.kind == PROCESSING:
        config = _value(job.request, "ProcessingResources.ClusterConfig")
        return isinstance(config, Unresolved) or _volume_encrypted(
            config, [_value(config, "InstanceType")]
        )
    return _combine([_training_volume(d) for d in _training_definitions(job)])


@rule(
    "JB1",
    types=TYPES,
    info="A SageMaker job in the workflow has no KMS key for its ML storage volume.",
    explanation=(
        "Training, tuning, processing and transform jobs keep their data, checkpoints and "
        "scratch files (/opt/ml, /tmp) on an ML storage volume; without VolumeKmsKeyId it is "
        "encrypted with a key you neither control nor audit. Set VolumeKmsKeyId to a "
        "customer-managed key (instances with local NVMe storage, which the API refuses a key "
        "for, are encrypted in hardware and pass)."
    ),
    notes="Security",
)
def job_volume_key(resource: Resource) -> Verdict:
    return _findings(resource, (TRAINING, TUNING, PROCESSING, TRANSFORM), _volume_key)


# --- JB2: output keys ---------------------------------------------------------------------


def _output_key(job: _Job) -> bool | None:
    paths = {
        TRAINING: "OutputDataConfig",
        TUNING: "OutputDataConfig",
        PROCESSING: "ProcessingOutputConfig",
        TRANSFORM: "TransformOutput",
    }
    requests = _training_definitions(job) if job.kind in (TRAINING, TUNING) else [job.request]
    results: list[bool | None] = []
    for request in requests:
        config = _value(request, paths[job.kind])
        if not present(config):
            results.append(None)
        else:
            results.append(present(_value(config, "KmsKeyId")))
    return _combine(results)


@rule(
    "JB2",
    types=TYPES,
    info="A SageMaker job in the workflow writes its output to S3 without a KMS key.",
    explanation=(
        "Model artifacts, processed data and batch predictions are written to S3 encrypted "
        "only with the bucket's default unless the job names a KmsKeyId in its output "
        "configuration. Name a customer-managed key so the outputs stay under your key policy "
        "whatever bucket they land in."
    ),
    notes="Security",
)
def job_output_key(resource: Resource) -> Verdict:
    return _findings(resource, (TRAINING, TUNING, PROCESSING, TRANSFORM), _output_key)


# --- JB3: network isolation ---------------------------------------------------------------


def _network_isolation(job: _Job) -> bool | None:
    if job.kind == PROCESSING:
        return _enabled(_value(job.request, "NetworkConfig.EnableNetworkIsolation"))
    return _combine(
        [
            _enabled(_value(definition, "EnableNetworkIsolation"))
            for definition in _training_definitions(job)
        ]
    )


@rule(
    "JB3",
    types=TYPES,
    info="A SageMaker training, tuning or processing job runs without network isolation.",
    explanation=(
        "Job containers can reach the internet by default, so code or a dependency inside "
        "the image can send data out. EnableNetworkIsolation cuts the container off from every "
        "network, S3 included; SageMaker itself still copies the input channels in and the "
        "output out. Batch transform jobs take the setting from their Model instead."
    ),
    notes="Security",
)
def job_network_isolation(resource: Resource) -> Verdict:
    return _findings(resource, (TRAINING, TUNING, PROCESSING), _network_isolation)


# --- JB4: inter-node traffic encryption ----------------------------------------------------


def _instance_count(config: Any) -> float | None:
    """The literal number of instances, summed over instance groups; None when unknown."""
    groups = as_list(_value(config, "InstanceGroups"))
    counts = (
        [number(_value(group, "InstanceCount")) for group in groups]
        if groups
        else [number(_value(config, "InstanceCount"))]
    )
    return None if any(count is None for count in counts) else sum(counts)


def _inter_node(count: float | None, encryption: Any, vpc: Any) -> bool | None:
    distributed = count is not None and count > 1
    enabled = truthy(encryption) is True
    if enabled and not present(vpc):
        return False
    if distributed:
        return _enabled(encryption)
    return True if enabled else None


def _inter_node_encryption(job: _Job) -> bool | None:
    if job.kind == PROCESSING:
        network = _value(job.request, "NetworkConfig")
        return _inter_node(
            _instance_count(_value(job.request, "ProcessingResources.ClusterConfig")),
            _value(network, "EnableInterContainerTrafficEncryption"),
            _value(network, "VpcConfig"),
        )
    results = []
    for definition in _training_definitions(job):
        config = _value(definition, "ResourceConfig")
        if config is None:
            config = _value(definition, "HyperParameterTuningResourceConfig")
        results.append(
            _inter_node(
                _instance_count(config),
                _value(definition, "EnableInterContainerTrafficEncryption"),
                _value(definition, "VpcConfig"),
            )
        )
    return _combine(results)


@rule(
    "JB4",
    types=TYPES,
    info=(
        "A distributed SageMaker job does not encrypt traffic between its instances, or "
        "encrypts it without a VPC."
    ),
    explanation=(
        "With more than one instance, training and processing jobs exchange data and model "
        "state between nodes in the clear. Set EnableInterContainerTrafficEncryption; it only "
        "works for a job placed in a VPC, so give the job a VpcConfig too. It makes the job "
        "slower and dearer, which regulated data usually justifies."
    ),
    notes="Security",
)
def job_inter_node_encryption(resource: Resource) -> Verdict:
    return _findings(resource, (TRAINING, TUNING, PROCESSING), _inter_node_encryption)


# --- JB5: managed spot training -----------------------------------------------------------


def _spot_ready(definition: Any) -> bool | None:
    if truthy(_value(definition, "EnableManagedSpotTraining")) is not True:
        return None
    if not present(_value(definition, "CheckpointConfig.S3Uri")):
        return False
    max_wait = _value(definition, "StoppingCondition.MaxWaitTimeInSeconds")
    if max_wait is None:
        return False
    max_runtime = _value(definition, "StoppingCondition.MaxRuntimeInSeconds")
    max_wait_seconds = number(max_wait)
    max_runtime_seconds = (
        MAX_RUNTIME_DEFAULT_SECONDS if max_runtime is None else number(max_runtime)
    )
    if max_wait_seconds is None or max_runtime_seconds is None:
        return True
    return max_wait_seconds >= max_runtime_seconds


def _spot_training(job: _Job) -> bool | None:
    return _combine([_spot_ready(d) for d in _training_definitions(job)])


@rule(
    "JB5",
    types=TYPES,
    info="A spot training job lacks a checkpoint S3 URI, or its max wait is below its max runtime.",
    explanation=(
        "Spot capacity can be taken back at any moment. Without CheckpointConfig.S3Uri an "
        "interrupted job starts again from scratch, and the API requires a "
        "MaxWaitTimeInSeconds (time spent waiting for spot capacity plus running) at least as "
        "long as MaxRuntimeInSeconds. Set both so interruptions cost minutes, not the job."
    ),
    notes="Sagemaker",
)
def job_spot_checkpoints(resource: Resource) -> Verdict:
    return _findings(resource, (TRAINING, TUNING), _spot_training)
