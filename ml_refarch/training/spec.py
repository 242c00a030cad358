"""What one training job is: its channels and :class:`TrainingJobSpec`, and the value tests
validation and the request builders share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: Metrics the training script prints on every epoch, e.g.
#: ``epoch=3 train:logloss=0.41234 validation:logloss=0.43210 validation:accuracy=0.8125``.
DEFAULT_METRIC_DEFINITIONS: Mapping[str, str] = MappingProxyType(
    {
        "validation:logloss": r"validation:logloss=([0-9\.]+)",
        "validation:accuracy": r"validation:accuracy=([0-9\.]+)",
    }
)

_TOKEN_MARKER = "${Token["

#: How SageMaker delivers S3 channels to the container (AlgorithmSpecification
#: ``TrainingInputMode``, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AlgorithmSpecification.html;
#: "Setting up training jobs to access datasets",
#: https://docs.aws.amazon.com/sagemaker/latest/dg/model-access-training-data.html): File
#: copies the data onto the ML storage volume before training starts; FastFile streams S3
#: objects on first read behind a file system view; Pipe streams them through a named pipe.
INPUT_MODES = ("File", "FastFile", "Pipe")


def is_token(value: Any) -> bool:
    """Whether ``value`` is a string holding a CDK token, resolved only at deploy time."""
    return isinstance(value, str) and _TOKEN_MARKER in value


def is_whole(value: Any) -> bool:
    """Whether ``value`` is an int (a bool is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_text(value: Any) -> bool:
    """Whether ``value`` is a string with more than blanks."""
    return isinstance(value, str) and bool(value.strip())


@dataclass(frozen=True)
class FsxInput:
    """A channel read from FSx for Lustre, in File mode (FSx channels cannot use Pipe mode).

    ``directory_path`` starts with the file system's mount name, e.g. ``/abcdef12/data``.
    """

    file_system_id: str
    directory_path: str


@dataclass(frozen=True)
class S3Input:
    """A channel read from an S3 prefix, in the job's input mode."""

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
        input_mode: how S3 channels reach the container (:data:`INPUT_MODES`); FSx for
            Lustre channels are always mounted in File mode. Default: File.
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
    input_mode: str = "File"

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids) and bool(self.security_group_ids)

    @property
    def is_distributed(self) -> bool:
        """More than one instance (False for an instance count that is not a whole number)."""
        return is_whole(self.instance_count) and self.instance_count > 1

    @property
    def encrypts_inter_container_traffic(self) -> bool:
        if self.inter_container_encryption is not None:
            return self.inter_container_encryption
        return self.is_distributed
