"""The CreateTrainingJob and CreateHyperParameterTuningJob requests, validated first.

Parameter names are spelled as the API spells them and keys come in a fixed order.
"""

from __future__ import annotations

from typing import Any

from ml_refarch.aws_facts import has_local_storage
from ml_refarch.training.names import (
    TRAINING_JOB_NAME_MAX_LENGTH,
    TUNING_JOB_NAME_MAX_LENGTH,
    name_problems,
)
from ml_refarch.training.source import CODE_CHANNEL, ENTRY_POINT
from ml_refarch.training.spec import FsxInput, S3Input, TrainingJobSpec
from ml_refarch.training.validation import TrainingSpecError, spec_problems, tuning_problems

#: Where the training container writes checkpoints; SageMaker syncs it with the S3 URI.
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
CHANNEL_CONTENT_TYPE = "text/csv"
TUNED_HYPERPARAMETER = "learning_rate"


def training_job_request(spec: TrainingJobSpec, job_name: str) -> dict[str, Any]:
    """The CreateTrainingJob request for ``spec``; raises :class:`TrainingSpecError` first.

    VpcConfig, CheckpointConfig, HyperParameters and Tags appear only when set.
    """
    problems = name_problems("job_name", job_name, TRAINING_JOB_NAME_MAX_LENGTH)
    problems += spec_problems(spec)
    if problems:
        raise TrainingSpecError(problems)
    request: dict[str, Any] = {"TrainingJobName": job_name, **_job_definition(spec)}
    hyperparameters = _hyperparameters(spec)
    if hyperparameters:
        request["HyperParameters"] = hyperparameters
    if spec.tags:
        request["Tags"] = _tags(spec)
    return request


def tuning_job_request(
    spec: TrainingJobSpec,
    tuning_job_name: str,
    *,
    learning_rate_range: tuple[float, float] = (0.0001, 1.0),
    max_jobs: int = 4,
    max_parallel_jobs: int = 2,
    objective_metric: str = "validation:logloss",
) -> dict[str, Any]:
    """The CreateHyperParameterTuningJob request that tunes ``learning_rate`` for ``spec``.

    Bayesian search minimizes ``objective_metric`` over a logarithmic learning-rate range and
    stops unpromising jobs early. The training jobs it launches are defined by ``spec``; the
    spec's own ``learning_rate``, if any, is left out of the static hyperparameters.
    """
    problems = name_problems("tuning_job_name", tuning_job_name, TUNING_JOB_NAME_MAX_LENGTH)
    problems += spec_problems(spec)
    problems += tuning_problems(
        learning_rate_range,
        max_jobs,
        max_parallel_jobs,
        objective_metric,
        spec.metric_definitions,
    )
    if problems:
        raise TrainingSpecError(problems)
    definition: dict[str, Any] = {
        "StaticHyperParameters": _hyperparameters(spec, without=TUNED_HYPERPARAMETER),
        **_job_definition(spec),
    }
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": tuning_job_name,
        "HyperParameterTuningJobConfig": _tuning_config(
            learning_rate_range, max_jobs, max_parallel_jobs, objective_metric
        ),
        "TrainingJobDefinition": definition,
    }
    if spec.tags:
        request["Tags"] = _tags(spec)
    return request


def _tuning_config(
    learning_rate_range: tuple[float, float],
    max_jobs: int,
    max_parallel_jobs: int,
    objective_metric: str,
) -> dict[str, Any]:
    """Bayesian search over a logarithmic learning-rate range, with early stopping."""
    low, high = (float(bound) for bound in learning_rate_range)
    return {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {
            "Type": "Minimize",
            "MetricName": objective_metric,
        },
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": max_jobs,
            "MaxParallelTrainingJobs": max_parallel_jobs,
        },
        "ParameterRanges": {
            "ContinuousParameterRanges": [
                {
                    "Name": TUNED_HYPERPARAMETER,
                    "MinValue": str(low),
                    "MaxValue": str(high),
                    "ScalingType": "Logarithmic",
                }
            ]
        },
        "TrainingJobEarlyStoppingType": "Auto",
    }


def _channel(name: str, channel: FsxInput | S3Input, input_mode: str = "File") -> dict[str, Any]:
    if isinstance(channel, FsxInput):
        source: dict[str, Any] = {
            "FileSystemDataSource": {
                "FileSystemId": channel.file_system_id,
                "FileSystemType": "FSxLustre",
                # Training only reads its data; a read-only mount keeps it intact.
                "FileSystemAccessMode": "ro",
                "DirectoryPath": channel.directory_path,
            }
        }
    else:
        source = {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": channel.s3_uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        }
    return {
        "ChannelName": name,
        "DataSource": source,
        "ContentType": CHANNEL_CONTENT_TYPE,
        # A file system is mounted, never streamed: FSx channels take File mode.
        "InputMode": "File" if isinstance(channel, FsxInput) else input_mode,
    }


def _algorithm(spec: TrainingJobSpec) -> dict[str, Any]:
    algorithm: dict[str, Any] = {
        "TrainingImage": spec.image_uri,
        "TrainingInputMode": spec.input_mode,
    }
    if spec.metric_definitions:
        algorithm["MetricDefinitions"] = [
            {"Name": name, "Regex": regex} for name, regex in spec.metric_definitions.items()
        ]
    return algorithm


def _channels(spec: TrainingJobSpec) -> list[dict[str, Any]]:
    channels = [_channel("train", spec.train_input, spec.input_mode)]
    if spec.validation_input is not None:
        channels.append(_channel("validation", spec.validation_input, spec.input_mode))
    if spec.code_input is not None:
        channels.append(_channel(CODE_CHANNEL, spec.code_input))
    return channels


def _resources(spec: TrainingJobSpec) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "InstanceType": spec.instance_type,
        "InstanceCount": spec.instance_count,
        "VolumeSizeInGB": spec.volume_size_gib,
    }
    # Local NVMe volumes are encrypted in hardware and the API rejects a key for them.
    if not has_local_storage(spec.instance_type):
        resources["VolumeKmsKeyId"] = spec.kms_key_id
    return resources


def _job_definition(spec: TrainingJobSpec) -> dict[str, Any]:
    """The parts CreateTrainingJob and a tuning job's TrainingJobDefinition share, in order."""
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": spec.max_runtime_seconds}
    if spec.use_spot:
        stopping["MaxWaitTimeInSeconds"] = spec.max_wait_seconds
    definition: dict[str, Any] = {
        "AlgorithmSpecification": _algorithm(spec),
        "RoleArn": spec.role_arn,
        "InputDataConfig": _channels(spec),
        "OutputDataConfig": {"S3OutputPath": spec.output_s3_uri, "KmsKeyId": spec.kms_key_id},
        "ResourceConfig": _resources(spec),
    }
    if spec.in_vpc:
        definition["VpcConfig"] = {
            "SecurityGroupIds": list(spec.security_group_ids),
            "Subnets": list(spec.subnet_ids),
        }
    definition["StoppingCondition"] = stopping
    definition["EnableNetworkIsolation"] = spec.network_isolation
    definition["EnableInterContainerTrafficEncryption"] = spec.encrypts_inter_container_traffic
    definition["EnableManagedSpotTraining"] = spec.use_spot
    if spec.checkpoint_s3_uri:
        definition["CheckpointConfig"] = {
            "S3Uri": spec.checkpoint_s3_uri,
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        }
    return definition


def _tags(spec: TrainingJobSpec) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in spec.tags.items()]


def _hyperparameters(spec: TrainingJobSpec, *, without: str | None = None) -> dict[str, str]:
    values = {
        str(name): str(value) for name, value in spec.hyperparameters.items() if name != without
    }
    if spec.code_input is not None:
        # How SageMaker's framework containers find a script delivered as a channel.
        values["sagemaker_program"] = ENTRY_POINT
        # The channel keeps the object's own file name (a CDK asset names it by its hash).
        file_name = spec.code_input.s3_uri.rstrip("/").rsplit("/", 1)[-1]
        values["sagemaker_submit_directory"] = f"/opt/ml/input/data/{CODE_CHANNEL}/{file_name}"
    return values
