"""SageMaker CreateTrainingJob and CreateHyperParameterTuningJob requests, built and validated.

Notes sections:

- "Sagemaker": managed spot training saves cost, and checkpoints to S3 let an interrupted spot
  job resume instead of starting again from scratch.
- "Data input": File mode copies the channel to the instance; FastFile and Pipe stream from
  S3 only, so FSx for Lustre channels are always File mode and S3 channels take the spec's
  ``input_mode``.
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

The modules: :mod:`.spec` (the job and its channels), :mod:`.validation` (every problem of a
spec or a tuning job), :mod:`.requests` (the boto3 requests), :mod:`.names` (job names) and
:mod:`.source` (the training code as SageMaker delivers it). Import from this package.

This package is pure Python: it imports neither aws_cdk nor boto3.
"""

from ml_refarch.training.names import (
    TRAINING_JOB_NAME_MAX_LENGTH,
    TUNING_JOB_NAME_MAX_LENGTH,
    job_name,
)
from ml_refarch.training.requests import (
    CHANNEL_CONTENT_TYPE,
    CHECKPOINT_LOCAL_PATH,
    TUNED_HYPERPARAMETER,
    training_job_request,
    tuning_job_request,
)
from ml_refarch.training.source import (
    CODE_CHANNEL,
    ENTRY_POINT,
    SOURCE_NAME,
    TRAINING_CODE_DIR,
    source_tarball,
    write_source_tarball,
)
from ml_refarch.training.spec import (
    DEFAULT_METRIC_DEFINITIONS,
    INPUT_MODES,
    FsxInput,
    S3Input,
    TrainingJobSpec,
    is_token,
)
from ml_refarch.training.validation import TrainingSpecError, validate

__all__ = [
    "CHANNEL_CONTENT_TYPE",
    "CHECKPOINT_LOCAL_PATH",
    "CODE_CHANNEL",
    "DEFAULT_METRIC_DEFINITIONS",
    "ENTRY_POINT",
    "INPUT_MODES",
    "SOURCE_NAME",
    "TRAINING_CODE_DIR",
    "TRAINING_JOB_NAME_MAX_LENGTH",
    "TUNED_HYPERPARAMETER",
    "TUNING_JOB_NAME_MAX_LENGTH",
    "FsxInput",
    "S3Input",
    "TrainingJobSpec",
    "TrainingSpecError",
    "is_token",
    "job_name",
    "source_tarball",
    "training_job_request",
    "tuning_job_request",
    "validate",
    "write_source_tarball",
]
