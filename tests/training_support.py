"""Shared fakes of the training tests: a deployed fsx-training stack's ids, a valid FSx spot
job, and a check of requests against botocore's SageMaker service model.

Used by tests/unit/test_training_requests.py (the request builders of ml_refarch/training/)
and tests/stacks/fsx_training/test_train.py (the unit's command that sends them).
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters

from ml_refarch.training import FsxInput, TrainingJobSpec

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/MlRefArch-FsxTraining-TrainingRole"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IMAGE_URI = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
FILE_SYSTEM_ID = "fs-0123456789abcdef0"
MOUNT_NAME = "abcdef12"
DIRECTORY_PATH = f"/{MOUNT_NAME}/data"
SUBNET_ID = "subnet-0aaa1111bbbb2222c"
SECURITY_GROUP_ID = "sg-0123456789abcdef0"
BUCKET = "mlrefarch-fsxtraining-bucket"
NAME = "mlrefarch-fsx-20240102-030405-678"
NOW = datetime(2024, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
TOKEN = "${Token[TOKEN.123]}"
TRAINING_JOB_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{NAME}"


def fsx_spec(**changes: Any) -> TrainingJobSpec:
    """A valid FSx spot job in a VPC; ``changes`` replace fields."""
    spec = TrainingJobSpec(
        role_arn=ROLE_ARN,
        image_uri=IMAGE_URI,
        output_s3_uri=f"s3://{BUCKET}/output/",
        kms_key_id=KEY_ARN,
        train_input=FsxInput(FILE_SYSTEM_ID, DIRECTORY_PATH),
        checkpoint_s3_uri=f"s3://{BUCKET}/checkpoints/{NAME}/",
        subnet_ids=[SUBNET_ID],
        security_group_ids=[SECURITY_GROUP_ID],
        hyperparameters={"epochs": "10", "learning_rate": "0.1"},
        tags={"ml-refarch:pattern": "fsx-training"},
    )
    return dataclasses.replace(spec, **changes)


@functools.cache
def sagemaker_service_model() -> Any:
    # Straight from botocore's data: no session or client, which some tests forbid.
    return botocore.session.get_session().get_service_model("sagemaker")


def assert_matches_api(operation: str, request: dict[str, Any]) -> None:
    """Raises botocore's ParamValidationError unless ``request`` fits the operation's input."""
    input_shape = sagemaker_service_model().operation_model(operation).input_shape
    validate_parameters(request, input_shape)


def isolate_from_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No profile, config file or credentials from the machine running the tests."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
