"""Settings of the ``custom-training-container`` pattern: the training job that uses the
custom image, and the CodeBuild project that builds it.

Limits and their pages:

- ``input_mode``: ``File``, ``FastFile`` or ``Pipe`` (AlgorithmSpecification
  ``TrainingInputMode``,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AlgorithmSpecification.html).
  File copies the data onto the ML storage volume first, which must hold it and the model;
  FastFile and Pipe stream from S3 ("Setting up training jobs to access datasets",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-access-training-data.html). The
  default is FastFile: it streams any file format with no code change, where Pipe needs a
  reader of its pipe.
- ``volume_size_gib``: at least 1 (ResourceConfig ``VolumeSizeInGB``,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ResourceConfig.html). With
  File mode it must hold ``dataset_size_gib`` plus the model; with a streaming mode the
  volume holds only the model, checkpoints and scratch, so this project caps it at
  :data:`STREAMING_VOLUME_MAX_GIB` (a larger one bills for space streaming never uses).
- ``build_compute_type``: CodeBuild's general-purpose EC2 sizes ("Build environment
  compute modes and types",
  https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-compute-types.html).
- ``build_timeout_minutes``: 5 to 2160 (CreateProject ``timeoutInMinutes``,
  https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml_refarch.settings import (
    Field,
    Invalid,
    Problem,
    SettingsSpec,
    instance_type,
    integer,
    parser,
)
from ml_refarch.training import INPUT_MODES

#: The largest ML storage volume a streaming job (FastFile, Pipe) gets here.
STREAMING_VOLUME_MAX_GIB = 50
#: What File mode needs on the volume besides the dataset: the model and checkpoints.
FILE_MODE_HEADROOM_GIB = 1
BUILD_COMPUTE_TYPES = ("BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE")


def spelled_as(*options: str):
    """One of ``options`` in any letter case, returned as the API spells it."""
    allowed = " or ".join(repr(option) for option in options)
    by_lower = {option.lower(): option for option in options}

    @parser(allowed)
    def parse(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in by_lower:
            return by_lower[value.strip().lower()]
        raise Invalid(allowed)

    return parse


@dataclass(frozen=True)
class CustomTrainingContainerSettings:
    """Settings of the ``custom-training-container`` pattern.

    Attributes:
        input_mode: how the job's S3 channels reach the container (File, FastFile, Pipe).
        instance_type: the training instance.
        volume_size_gib: the ML storage volume of the training instance.
        dataset_size_gib: how much data a File-mode job copies onto the volume.
        max_runtime_seconds: the training time limit.
        build_compute_type: the CodeBuild instance that builds the image.
        build_timeout_minutes: the build's time limit.
    """

    input_mode: str
    instance_type: str
    volume_size_gib: int
    dataset_size_gib: int
    max_runtime_seconds: int
    build_compute_type: str
    build_timeout_minutes: int


FIELDS = {
    "input_mode": Field(
        spelled_as(*INPUT_MODES), "FastFile", "Pipe", "How the training data reaches the container"
    ),
    "instance_type": Field(instance_type, "ml.m5.large", "ml.c5.xlarge", "Training instance"),
    "volume_size_gib": Field(
        integer(1, 16384, "SageMaker's ML storage volume is 1 GiB or more"),
        10,
        "30",
        "ML storage volume (File mode holds the data there; streaming modes do not)",
    ),
    "dataset_size_gib": Field(
        integer(0, 16383),
        1,
        "20",
        "Size of the training data, which File mode copies onto the volume",
    ),
    "max_runtime_seconds": Field(
        integer(60, 2419200, "SageMaker allows up to 28 days"), 1800, "3600", "Training limit"
    ),
    "build_compute_type": Field(
        spelled_as(*BUILD_COMPUTE_TYPES),
        "BUILD_GENERAL1_SMALL",
        "BUILD_GENERAL1_MEDIUM",
        "CodeBuild instance that builds the image",
    ),
    "build_timeout_minutes": Field(
        integer(5, 2160, "CodeBuild allows 5 to 2160 minutes"), 30, "60", "Build time limit"
    ),
}

NOTES = """\
File mode copies the data onto the volume, so the volume must hold `dataset_size_gib`
plus the model; FastFile and Pipe stream from S3, so their volume holds only the model
and is capped at 50 GiB."""


def check(settings: CustomTrainingContainerSettings, prefix: str) -> list[Problem]:
    """The volume fits the input mode: File holds the data, streaming modes do not."""
    volume = settings.volume_size_gib
    if settings.input_mode == "File":
        needed = settings.dataset_size_gib + FILE_MODE_HEADROOM_GIB
        if volume < needed:
            return [
                Problem(
                    key=prefix + "volume_size_gib",
                    received=volume,
                    allowed=(
                        f"at least {needed} GiB with File mode: the volume holds the "
                        f"{settings.dataset_size_gib} GiB of data and the model"
                    ),
                    fix=f"raise it, or stream the data with -c {prefix}input_mode=FastFile",
                )
            ]
    elif volume > STREAMING_VOLUME_MAX_GIB:
        return [
            Problem(
                key=prefix + "volume_size_gib",
                received=volume,
                allowed=(
                    f"at most {STREAMING_VOLUME_MAX_GIB} GiB with {settings.input_mode} mode: "
                    "the data is streamed, the volume holds only the model and checkpoints"
                ),
                fix=f"lower it, or copy the data with -c {prefix}input_mode=File",
            )
        ]
    return []


SETTINGS = SettingsSpec(
    cls=CustomTrainingContainerSettings, fields=FIELDS, check=check, notes=NOTES
)
