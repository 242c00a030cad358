"""Every problem of a training or tuning job specification, reported at once.

Each ``*_problems`` function checks one concern and returns its problems (an empty list when
there are none); :func:`spec_problems` runs them in a fixed order, so the report reads the
same every time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ml_refarch.aws_facts import INSTANCE_TYPE, MAX_RUNTIME_LIMIT_SECONDS, S3_URI
from ml_refarch.settings import Problem, ProblemsError
from ml_refarch.training.spec import (
    INPUT_MODES,
    FsxInput,
    S3Input,
    TrainingJobSpec,
    is_text,
    is_token,
    is_whole,
)


class TrainingSpecError(ProblemsError):
    """Raised once with every problem of a training or tuning job specification."""

    subject = "training job specification"


def validate(spec: TrainingJobSpec) -> None:
    """Raises :class:`TrainingSpecError` listing every problem of ``spec``; None if valid."""
    problems = spec_problems(spec)
    if problems:
        raise TrainingSpecError(problems)


def spec_problems(spec: TrainingJobSpec) -> list[Problem]:
    """Every problem of ``spec``, concern by concern."""
    return [
        *_required_text_problems(spec),
        *_cluster_problems(spec),
        *_spot_problems(spec),
        *_s3_location_problems(spec),
        *_vpc_problems(spec),
        *_encryption_problems(spec),
        *_input_problems("train_input", spec.train_input, spec.in_vpc),
        *(
            _input_problems("validation_input", spec.validation_input, spec.in_vpc)
            if spec.validation_input is not None
            else []
        ),
        *_input_mode_problems(spec),
        *_metric_problems(spec.metric_definitions),
        *_mapping_problems(spec),
    ]


def _input_mode_problems(spec: TrainingJobSpec) -> list[Problem]:
    if spec.input_mode in INPUT_MODES:
        return []
    return [
        Problem(
            key="input_mode",
            received=spec.input_mode,
            allowed=" or ".join(INPUT_MODES),
            fix="pick one of SageMaker's training input modes",
        )
    ]


# --------------------------------------------------------------------------------------
# The job's settings


def _required_text_problems(spec: TrainingJobSpec) -> list[Problem]:
    problems = []
    for key, what in (
        ("role_arn", "the ARN of the role the job runs as"),
        ("image_uri", "the training image URI"),
        ("kms_key_id", "a KMS key id or ARN for the volume and the output"),
    ):
        if not is_text(getattr(spec, key)):
            problems.append(Problem(key, getattr(spec, key), what, f"set {key}"))
    return problems


def _runtime_ok(spec: TrainingJobSpec) -> bool:
    return (
        is_whole(spec.max_runtime_seconds)
        and 1 <= spec.max_runtime_seconds <= MAX_RUNTIME_LIMIT_SECONDS
    )


def _cluster_problems(spec: TrainingJobSpec) -> list[Problem]:
    """The instances, their volume and the runtime limit."""
    instance_type = spec.instance_type
    checks = (
        (
            "instance_type",
            is_token(instance_type)
            or (isinstance(instance_type, str) and bool(INSTANCE_TYPE.fullmatch(instance_type))),
            "a SageMaker instance type such as 'ml.m5.large'",
            "use an ml.<family>.<size> instance type",
        ),
        (
            "instance_count",
            is_whole(spec.instance_count) and spec.instance_count >= 1,
            "a whole number of at least 1",
            "train on 1 instance, or more for distributed training",
        ),
        (
            "volume_size_gib",
            is_whole(spec.volume_size_gib) and spec.volume_size_gib >= 1,
            "a whole number of GiB, at least 1",
            "size the volume for the File-mode copy of the data plus the artifacts",
        ),
        (
            "max_runtime_seconds",
            _runtime_ok(spec),
            f"a whole number from 1 to {MAX_RUNTIME_LIMIT_SECONDS} (28 days)",
            "set the longest the training may run",
        ),
    )
    return [
        Problem(key, getattr(spec, key), allowed, fix) for key, ok, allowed, fix in checks if not ok
    ]


def _spot_problems(spec: TrainingJobSpec) -> list[Problem]:
    """A spot job needs a checkpoint URI and a max wait no shorter than its runtime; a job
    without spot has no max wait."""
    max_wait = spec.max_wait_seconds
    if not spec.use_spot:
        if max_wait is None:
            return []
        return [
            Problem(
                key="max_wait_seconds",
                received=max_wait,
                allowed="None when use_spot is false (a max wait applies to spot jobs only)",
                fix="set max_wait_seconds=None, or use_spot=True",
            )
        ]
    problems = []
    if not is_text(spec.checkpoint_s3_uri):
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
    if max_wait is None or not is_whole(max_wait):
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
    elif _runtime_ok(spec) and max_wait < spec.max_runtime_seconds:
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
    return problems


def _s3_uri_problems(key: str, value: Any, example: str) -> list[Problem]:
    if is_token(value) or (isinstance(value, str) and S3_URI.fullmatch(value)):
        return []
    return [
        Problem(
            key=key,
            received=value,
            allowed="an s3://bucket/prefix URI",
            fix=f"use an S3 URI such as {example}",
        )
    ]


def _s3_location_problems(spec: TrainingJobSpec) -> list[Problem]:
    """The checkpoint URI, when set, and the output URI are S3 URIs."""
    problems = []
    if spec.checkpoint_s3_uri is not None and is_text(spec.checkpoint_s3_uri):
        problems += _s3_uri_problems(
            "checkpoint_s3_uri", spec.checkpoint_s3_uri, "s3://bucket/checkpoints/<job name>/"
        )
    problems += _s3_uri_problems("output_s3_uri", spec.output_s3_uri, "s3://bucket/output/")
    return problems


def _ids(value: Any) -> list[Any] | None:
    """The ids of a sequence; None for a lone string, which would otherwise split into letters."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return None
    return list(value)


def _vpc_problems(spec: TrainingJobSpec) -> list[Problem]:
    """Subnets and security groups are lists of ids, both set or neither."""
    problems = []
    subnets, groups = _ids(spec.subnet_ids), _ids(spec.security_group_ids)
    for key, values, other in (
        ("subnet_ids", subnets, groups),
        ("security_group_ids", groups, subnets),
    ):
        if values is None:
            problems.append(
                Problem(key, getattr(spec, key), "a list of ids", f"pass {key} as a list")
            )
        elif not all(is_text(value) for value in values):
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
    return problems


def _encryption_problems(spec: TrainingJobSpec) -> list[Problem]:
    """Inter-container encryption needs a VPC, and a distributed job must have it."""
    problems = []
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
    if encryption is False and spec.is_distributed:
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
    return problems


# --------------------------------------------------------------------------------------
# Channels, metrics and the mappings


def _input_problems(key: str, channel: Any, in_vpc: bool) -> list[Problem]:
    if isinstance(channel, S3Input):
        return _s3_uri_problems(f"{key}.s3_uri", channel.s3_uri, "s3://bucket/data/train/")
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
    if not is_text(channel.file_system_id):
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
        if not is_text(name) or groups < 1:
            problems.append(
                Problem(
                    key="metric_definitions",
                    received={name: regex},
                    allowed=allowed,
                    fix=r"capture the value, e.g. 'validation:logloss=([0-9\.]+)'",
                )
            )
    return problems


def _mapping_problems(spec: TrainingJobSpec) -> list[Problem]:
    return [
        Problem(key, getattr(spec, key), "a mapping of str to str", f"pass {key} as a dict")
        for key in ("hyperparameters", "tags")
        if not isinstance(getattr(spec, key), Mapping)
    ]


# --------------------------------------------------------------------------------------
# Tuning


def tuning_problems(
    learning_rate_range: Any,
    max_jobs: Any,
    max_parallel_jobs: Any,
    objective_metric: Any,
    metric_definitions: Any,
) -> list[Problem]:
    """The problems of a tuning job's own settings (the spec is checked on its own)."""
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
    if not is_whole(max_jobs) or max_jobs < 1:
        problems.append(
            Problem("max_jobs", max_jobs, "a whole number of at least 1", "set max_jobs >= 1")
        )
    elif not is_whole(max_parallel_jobs) or not 1 <= max_parallel_jobs <= max_jobs:
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
