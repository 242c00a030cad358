"""SageMaker CreateTrainingJob and CreateHyperParameterTuningJob requests, built and validated.

Notes sections:

- "Sagemaker": managed spot training saves cost, and checkpoints to S3 let an interrupted spot
  job resume instead of starting again from scratch.
- "Data input": File mode copies the channel to the instance; Pipe mode streams from S3 only,
  so channels read from FSx for Lustre (or S3) here in File mode, and Pipe is not offered.
- "Security": a KMS key for everything in ``/opt/ml`` and ``/tmp`` (the ML storage volume) and
  for the output; inter-node traffic encryption, which requires a VPC; network isolation.
- "Automatic model tuning": a Bayesian tuning job over a logarithmic ``learning_rate`` range
  (0.0001 to 1.0 spans four orders of magnitude), few jobs in parallel.

A :class:`TrainingJobSpec` describes one job. :func:`validate` reports every problem at once
as a :class:`TrainingSpecError` of :class:`ml_refarch.settings.Problem` items;
:func:`training_job_request` and :func:`tuning_job_request` validate and return the exact
boto3 request (parameter names as the API spells them, keys in a fixed order).

Strings holding CDK tokens (``${Token[...]}``) are accepted without format checks, so a CDK
stack can build requests from values CloudFormation resolves at deploy time.

This module is pure Python: it imports neither aws_cdk nor boto3.
"""

from __future__ import annotations

import gzip
import io
import math
import re
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ml_refarch.aws_facts import (
    INSTANCE_TYPE,
    MAX_RUNTIME_LIMIT_SECONDS,
    S3_URI,
    has_local_storage,
)
from ml_refarch.settings import Problem

#: Where the training container writes checkpoints; SageMaker syncs it with the S3 URI.
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"

#: The training script and how it reaches a network-isolated container.
TRAINING_CODE_DIR = Path(__file__).resolve().parent / "assets" / "training"
ENTRY_POINT = "train.py"
SOURCE_NAME = "sourcedir.tar.gz"
CODE_CHANNEL = "code"
#: Name limits of CreateTrainingJob and CreateHyperParameterTuningJob.
TRAINING_JOB_NAME_MAX_LENGTH = 63
TUNING_JOB_NAME_MAX_LENGTH = 32
CHANNEL_CONTENT_TYPE = "text/csv"
TUNED_HYPERPARAMETER = "learning_rate"

#: Metrics the training script prints on every epoch, e.g.
#: ``epoch=3 train:logloss=0.41234 validation:logloss=0.43210 validation:accuracy=0.8125``.
DEFAULT_METRIC_DEFINITIONS: Mapping[str, str] = MappingProxyType(
    {
        "validation:logloss": r"validation:logloss=([0-9\.]+)",
        "validation:accuracy": r"validation:accuracy=([0-9\.]+)",
    }
)

_TOKEN_MARKER = "${Token["
_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
_NOT_IN_JOB_NAME = re.compile(r"[^a-zA-Z0-9-]+")
# Bucket names are 3 to 63 lower-case letters, digits, dots and hyphens.


# --------------------------------------------------------------------------------------
# Specification


@dataclass(frozen=True)
class FsxInput:
    """A channel read from FSx for Lustre, in File mode (FSx channels cannot use Pipe mode).

    ``directory_path`` starts with the file system's mount name, e.g. ``/abcdef12/data``.
    """

    file_system_id: str
    directory_path: str


@dataclass(frozen=True)
class S3Input:
    """A channel copied from an S3 prefix, in File mode."""

    s3_uri: str


@dataclass(frozen=True)
class TrainingJobSpec:
    """One training job; every setting a CreateTrainingJob request needs.

    Attributes:
        role_arn: the role the job runs as.
        image_uri: the training image.
        output_s3_uri: where the model artifacts go (S3OutputPath).
        kms_key_id: the key for the ML storage volume and the output.
        train_input: the ``train`` channel.
        instance_type, instance_count: the training cluster.
        volume_size_gib: the ML storage volume per instance.
        max_runtime_seconds: the limit on training time (1 s to 28 days).
        use_spot: managed spot training; needs a checkpoint URI and a max wait.
        max_wait_seconds: the limit on waiting for spot capacity plus training; at least
            ``max_runtime_seconds`` with spot, ``None`` without.
        checkpoint_s3_uri: where checkpoints are synced, so a spot job can resume.
        subnet_ids, security_group_ids: the VPC placement; both or neither.
        network_isolation: cut the container off from every network.
        inter_container_encryption: encrypt traffic between instances; ``None`` turns it on
            exactly when ``instance_count > 1``.
        hyperparameters: passed to the training script (values are sent as strings).
        validation_input: the optional ``validation`` channel.
        metric_definitions: metric name -> regex whose first group captures the value
            in the training log.
        tags: tags of the job.
        code_input: the S3 object of the training code (:func:`source_tarball`). A
            network-isolated container cannot fetch its script itself, so SageMaker
            delivers it as the ``code`` channel and the framework runs it from there.
            Default: none (the image carries its own entry point).
    """

    role_arn: str
    image_uri: str
    output_s3_uri: str
    kms_key_id: str
    train_input: FsxInput | S3Input
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    volume_size_gib: int = 10
    max_runtime_seconds: int = 3600
    use_spot: bool = True
    max_wait_seconds: int | None = 7200
    checkpoint_s3_uri: str | None = None
    subnet_ids: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    network_isolation: bool = True
    inter_container_encryption: bool | None = None
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    validation_input: FsxInput | S3Input | None = None
    metric_definitions: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_METRIC_DEFINITIONS)
    )
    tags: Mapping[str, str] = field(default_factory=dict)
    code_input: S3Input | None = None

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids) and bool(self.security_group_ids)

    @property
    def encrypts_inter_container_traffic(self) -> bool:
        if self.inter_container_encryption is not None:
            return self.inter_container_encryption
        return _is_whole(self.instance_count) and self.instance_count > 1


# --------------------------------------------------------------------------------------
# Validation


class TrainingSpecError(ValueError):
    """Raised once with every problem of a training or tuning job specification."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"invalid training job specification ({count} problem{'s' * (count != 1)}):"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


def is_token(value: Any) -> bool:
    """Whether ``value`` is a string holding a CDK token, resolved only at deploy time."""
    return isinstance(value, str) and _TOKEN_MARKER in value


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _s3_uri_problem(key: str, value: Any, example: str) -> Problem | None:
    if is_token(value) or (isinstance(value, str) and S3_URI.fullmatch(value)):
        return None
    return Problem(
        key=key,
        received=value,
        allowed="an s3://bucket/prefix URI",
        fix=f"use an S3 URI such as {example}",
    )


def _input_problems(key: str, channel: Any, in_vpc: bool) -> list[Problem]:
    if isinstance(channel, S3Input):
        problem = _s3_uri_problem(f"{key}.s3_uri", channel.s3_uri, "s3://bucket/data/train/")
        return [problem] if problem else []
    if not isinstance(channel, FsxInput):
        return [
            Problem(
                key=key,
                received=channel,
                allowed="FsxInput(file_system_id, directory_path) or S3Input(s3_uri)",
                fix="describe the channel with one of those classes",
            )
        ]
    problems = []
    if not _is_text(channel.file_system_id):
        problems.append(
            Problem(
                key=f"{key}.file_system_id",
                received=channel.file_system_id,
                allowed="an FSx for Lustre file system id",
                fix="pass the file system id, e.g. fs-0123456789abcdef0",
            )
        )
    path = channel.directory_path
    if not is_token(path) and not (isinstance(path, str) and path.startswith("/")):
        problems.append(
            Problem(
                key=f"{key}.directory_path",
                received=path,
                allowed="an absolute path starting with the mount name, e.g. /abcdef12/data",
                fix="prefix the path with '/' and the file system's mount name",
            )
        )
    if not in_vpc:
        problems.append(
            Problem(
                key=key,
                received=f"FsxInput({channel.file_system_id!r}) without a VPC",
                allowed=(
                    "an FSx for Lustre channel only for a job in a VPC: SageMaker mounts "
                    "the file system through the job's network interfaces"
                ),
                fix=(
                    "set subnet_ids (the file system's subnet) and security_group_ids "
                    "(a group the Lustre ports 988 and 1018-1023 are open to)"
                ),
            )
        )
    return problems


def _metric_problems(metric_definitions: Any) -> list[Problem]:
    allowed = "a mapping of metric name to a regex with one capture group for the value"
    if not isinstance(metric_definitions, Mapping):
        return [Problem("metric_definitions", metric_definitions, allowed, "pass a dict")]
    problems = []
    for name, regex in metric_definitions.items():
        try:
            groups = re.compile(regex).groups if isinstance(regex, str) else 0
        except re.error:
            groups = 0
        if not _is_text(name) or groups < 1:
            problems.append(
                Problem(
                    key="metric_definitions",
                    received={name: regex},
                    allowed=allowed,
                    fix=r"capture the value, e.g. 'validation:logloss=([0-9\.]+)'",
                )
            )
    return problems


def _ids(value: Any) -> list[Any] | None:
    """The ids of a sequence; None for a lone string, which would otherwise split into letters."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return None
    return list(value)


def _spec_problems(spec: TrainingJobSpec) -> list[Problem]:
    problems: list[Problem] = []
    for key, what in (
        ("role_arn", "the ARN of the role the job runs as"),
        ("image_uri", "the training image URI"),
        ("kms_key_id", "a KMS key id or ARN for the volume and the output"),
    ):
        if not _is_text(getattr(spec, key)):
            problems.append(Problem(key, getattr(spec, key), what, f"set {key}"))

    instance_type = spec.instance_type
    if not is_token(instance_type) and not (
        isinstance(instance_type, str) and INSTANCE_TYPE.fullmatch(instance_type)
    ):
        problems.append(
            Problem(
                key="instance_type",
                received=instance_type,
                allowed="a SageMaker instance type such as 'ml.m5.large'",
                fix="use an ml.<family>.<size> instance type",
            )
        )
    if not _is_whole(spec.instance_count) or spec.instance_count < 1:
        problems.append(
            Problem(
                key="instance_count",
                received=spec.instance_count,
                allowed="a whole number of at least 1",
                fix="train on 1 instance, or more for distributed training",
            )
        )
    if not _is_whole(spec.volume_size_gib) or spec.volume_size_gib < 1:
        problems.append(
            Problem(
                key="volume_size_gib",
                received=spec.volume_size_gib,
                allowed="a whole number of GiB, at least 1",
                fix="size the volume for the File-mode copy of the data plus the artifacts",
            )
        )
    runtime_ok = (
        _is_whole(spec.max_runtime_seconds)
        and 1 <= spec.max_runtime_seconds <= MAX_RUNTIME_LIMIT_SECONDS
    )
    if not runtime_ok:
        problems.append(
            Problem(
                key="max_runtime_seconds",
                received=spec.max_runtime_seconds,
                allowed=f"a whole number from 1 to {MAX_RUNTIME_LIMIT_SECONDS} (28 days)",
                fix="set the longest the training may run",
            )
        )

    max_wait = spec.max_wait_seconds
    if spec.use_spot:
        if not _is_text(spec.checkpoint_s3_uri):
            problems.append(
                Problem(
                    key="checkpoint_s3_uri",
                    received=spec.checkpoint_s3_uri,
                    allowed="an s3:// URI whenever use_spot is true",
                    fix=(
                        "set checkpoint_s3_uri so an interrupted spot job resumes from its "
                        "last checkpoint instead of starting over, or set use_spot=False"
                    ),
                )
            )
        if max_wait is None or not _is_whole(max_wait):
            problems.append(
                Problem(
                    key="max_wait_seconds",
                    received=max_wait,
                    allowed="whole seconds, at least max_runtime_seconds, when use_spot is true",
                    fix=(
                        "set max_wait_seconds (time waiting for spot capacity plus training) "
                        "to at least max_runtime_seconds"
                    ),
                )
            )
        elif runtime_ok and max_wait < spec.max_runtime_seconds:
            problems.append(
                Problem(
                    key="max_wait_seconds",
                    received=max_wait,
                    allowed=(
                        f"at least max_runtime_seconds ({spec.max_runtime_seconds}): the API "
                        "requires MaxWaitTimeInSeconds >= MaxRuntimeInSeconds for spot jobs"
                    ),
                    fix=f"raise max_wait_seconds to {spec.max_runtime_seconds} or more",
                )
            )
    elif max_wait is not None:
        problems.append(
            Problem(
                key="max_wait_seconds",
                received=max_wait,
                allowed="None when use_spot is false (a max wait applies to spot jobs only)",
                fix="set max_wait_seconds=None, or use_spot=True",
            )
        )
    if spec.checkpoint_s3_uri is not None and _is_text(spec.checkpoint_s3_uri):
        problem = _s3_uri_problem(
            "checkpoint_s3_uri", spec.checkpoint_s3_uri, "s3://bucket/checkpoints/<job name>/"
        )
        problems += [problem] if problem else []
    problem = _s3_uri_problem("output_s3_uri", spec.output_s3_uri, "s3://bucket/output/")
    problems += [problem] if problem else []

    subnets, groups = _ids(spec.subnet_ids), _ids(spec.security_group_ids)
    for key, values, other in (
        ("subnet_ids", subnets, groups),
        ("security_group_ids", groups, subnets),
    ):
        if values is None:
            problems.append(
                Problem(key, getattr(spec, key), "a list of ids", f"pass {key} as a list")
            )
        elif not all(_is_text(value) for value in values):
            problems.append(Problem(key, values, "non-empty ids", f"remove empty {key}"))
        elif other and not values:
            problems.append(
                Problem(
                    key=key,
                    received=values,
                    allowed="at least one id when the other half of the VPC config is set",
                    fix="set both subnet_ids and security_group_ids, or neither",
                )
            )

    encryption = spec.inter_container_encryption
    if spec.encrypts_inter_container_traffic and not spec.in_vpc:
        problems.append(
            Problem(
                key="inter_container_encryption",
                received=(
                    encryption
                    if encryption is not None
                    else f"None (on by default for {spec.instance_count} instances)"
                ),
                allowed="inter-container traffic encryption only for a job in a VPC",
                fix="set subnet_ids and security_group_ids",
            )
        )
    if encryption is False and _is_whole(spec.instance_count) and spec.instance_count > 1:
        problems.append(
            Problem(
                key="inter_container_encryption",
                received=False,
                allowed=(
                    "True or None when instance_count > 1: rule MLS-JB4 requires traffic "
                    "between training instances to be encrypted"
                ),
                fix="set inter_container_encryption=True (or None), or train on one instance",
            )
        )

    problems += _input_problems("train_input", spec.train_input, spec.in_vpc)
    if spec.validation_input is not None:
        problems += _input_problems("validation_input", spec.validation_input, spec.in_vpc)
    problems += _metric_problems(spec.metric_definitions)
    for key in ("hyperparameters", "tags"):
        if not isinstance(getattr(spec, key), Mapping):
            problems.append(
                Problem(key, getattr(spec, key), "a mapping of str to str", f"pass {key} as a dict")
            )
    return problems


def _name_problems(key: str, name: Any, max_length: int) -> list[Problem]:
    if is_token(name) or (
        isinstance(name, str) and len(name) <= max_length and _JOB_NAME.fullmatch(name)
    ):
        return []
    return [
        Problem(
            key=key,
            received=name,
            allowed=(
                f"at most {max_length} letters, digits and hyphens, starting and ending "
                "with a letter or digit"
            ),
            fix=f"generate one with job_name(prefix, max_length={max_length})",
        )
    ]


def validate(spec: TrainingJobSpec) -> None:
    """Raises :class:`TrainingSpecError` listing every problem of ``spec``; None if valid."""
    problems = _spec_problems(spec)
    if problems:
        raise TrainingSpecError(problems)


# --------------------------------------------------------------------------------------
# Requests


def _channel(name: str, channel: FsxInput | S3Input) -> dict[str, Any]:
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
        "InputMode": "File",
    }


def _job_definition(spec: TrainingJobSpec) -> dict[str, Any]:
    """The parts CreateTrainingJob and a tuning job's TrainingJobDefinition share, in order."""
    algorithm: dict[str, Any] = {"TrainingImage": spec.image_uri, "TrainingInputMode": "File"}
    if spec.metric_definitions:
        algorithm["MetricDefinitions"] = [
            {"Name": name, "Regex": regex} for name, regex in spec.metric_definitions.items()
        ]
    channels = [_channel("train", spec.train_input)]
    if spec.validation_input is not None:
        channels.append(_channel("validation", spec.validation_input))
    if spec.code_input is not None:
        channels.append(_channel(CODE_CHANNEL, spec.code_input))
    resources: dict[str, Any] = {
        "InstanceType": spec.instance_type,
        "InstanceCount": spec.instance_count,
        "VolumeSizeInGB": spec.volume_size_gib,
    }
    # Local NVMe volumes are encrypted in hardware and the API rejects a key for them.
    if not has_local_storage(spec.instance_type):
        resources["VolumeKmsKeyId"] = spec.kms_key_id
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": spec.max_runtime_seconds}
    if spec.use_spot:
        stopping["MaxWaitTimeInSeconds"] = spec.max_wait_seconds

    definition: dict[str, Any] = {
        "AlgorithmSpecification": algorithm,
        "RoleArn": spec.role_arn,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": spec.output_s3_uri, "KmsKeyId": spec.kms_key_id},
        "ResourceConfig": resources,
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


def source_tarball() -> bytes:
    """The training code as the ``sourcedir.tar.gz`` SageMaker's framework containers run.

    Deterministic (fixed order, times and owners), so the same code always gives the same
    bytes and the same CDK asset hash.
    """
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as archive,
    ):
        for path in sorted(TRAINING_CODE_DIR.glob("*.py")):
            info = tarfile.TarInfo(path.name)
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_source_tarball(directory: Path) -> Path:
    """Write :func:`source_tarball` as ``directory/sourcedir.tar.gz`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SOURCE_NAME
    path.write_bytes(source_tarball())
    return path


def training_job_request(spec: TrainingJobSpec, job_name: str) -> dict[str, Any]:
    """The CreateTrainingJob request for ``spec``; raises :class:`TrainingSpecError` first.

    VpcConfig, CheckpointConfig, HyperParameters and Tags appear only when set.
    """
    problems = _name_problems("job_name", job_name, TRAINING_JOB_NAME_MAX_LENGTH)
    problems += _spec_problems(spec)
    if problems:
        raise TrainingSpecError(problems)
    request: dict[str, Any] = {"TrainingJobName": job_name, **_job_definition(spec)}
    hyperparameters = _hyperparameters(spec)
    if hyperparameters:
        request["HyperParameters"] = hyperparameters
    if spec.tags:
        request["Tags"] = _tags(spec)
    return request


def _tuning_problems(
    learning_rate_range: Any,
    max_jobs: Any,
    max_parallel_jobs: Any,
    objective_metric: Any,
    metric_definitions: Any,
) -> list[Problem]:
    problems = []
    try:
        low, high = (float(bound) for bound in learning_rate_range)
        range_ok = math.isfinite(low) and math.isfinite(high) and 0 < low < high
    except (TypeError, ValueError):
        range_ok = False
    if not range_ok:
        problems.append(
            Problem(
                key="learning_rate_range",
                received=learning_rate_range,
                allowed=(
                    "(low, high) with 0 < low < high: logarithmic scaling needs a positive "
                    "lower bound"
                ),
                fix="use e.g. (0.0001, 1.0), which a logarithmic search samples evenly",
            )
        )
    if not _is_whole(max_jobs) or max_jobs < 1:
        problems.append(
            Problem("max_jobs", max_jobs, "a whole number of at least 1", "set max_jobs >= 1")
        )
    elif not _is_whole(max_parallel_jobs) or not 1 <= max_parallel_jobs <= max_jobs:
        problems.append(
            Problem(
                key="max_parallel_jobs",
                received=max_parallel_jobs,
                allowed=f"a whole number from 1 to max_jobs ({max_jobs})",
                fix=(
                    "run few jobs at a time: Bayesian search learns from finished jobs, so "
                    "fewer parallel jobs usually find better values"
                ),
            )
        )
    if isinstance(metric_definitions, Mapping) and objective_metric not in metric_definitions:
        problems.append(
            Problem(
                key="objective_metric",
                received=objective_metric,
                allowed="one of the metric definitions: " + ", ".join(metric_definitions),
                fix="tune on a metric the training log reports, or add its definition",
            )
        )
    return problems


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
    problems = _name_problems("tuning_job_name", tuning_job_name, TUNING_JOB_NAME_MAX_LENGTH)
    problems += _spec_problems(spec)
    problems += _tuning_problems(
        learning_rate_range,
        max_jobs,
        max_parallel_jobs,
        objective_metric,
        spec.metric_definitions,
    )
    if problems:
        raise TrainingSpecError(problems)
    low, high = (float(bound) for bound in learning_rate_range)
    definition: dict[str, Any] = {
        "StaticHyperParameters": _hyperparameters(spec, without=TUNED_HYPERPARAMETER),
        **_job_definition(spec),
    }
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": tuning_job_name,
        "HyperParameterTuningJobConfig": {
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
        },
        "TrainingJobDefinition": definition,
    }
    if spec.tags:
        request["Tags"] = _tags(spec)
    return request


# --------------------------------------------------------------------------------------
# Names


def job_name(
    prefix: str, now: datetime | None = None, *, max_length: int = TRAINING_JOB_NAME_MAX_LENGTH
) -> str:
    """``<prefix>-<UTC yyyymmdd-HHMMSS-mmm>``: a valid job name, unique to the millisecond.

    Characters a job name cannot hold become hyphens and the prefix is shortened to fit
    ``max_length`` (63 for training jobs, 32 for tuning jobs). A naive ``now`` is taken as UTC.
    """
    moment = datetime.now(UTC) if now is None else now
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    stamp = moment.strftime("%Y%m%d-%H%M%S-") + f"{moment.microsecond // 1000:03d}"
    if max_length < len(stamp):
        raise ValueError(f"max_length must be at least {len(stamp)}, got {max_length}")
    room = max(max_length - len(stamp) - 1, 0)
    cleaned = _NOT_IN_JOB_NAME.sub("-", prefix).strip("-")[:room].rstrip("-")
    return f"{cleaned}-{stamp}" if cleaned else stamp
