"""Tests for ml_refarch/training.py (request builders) and ml_refarch/train.py (the command).

No AWS: requests are checked against botocore's SageMaker service model, and the command
runs on boto3 sessions whose SageMaker and CloudFormation clients are botocore Stubbers (the
SageMaker Python SDK creates its clients from the session, so the Stubber sees exactly what
the SDK sends).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import validate_parameters
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_refarch import train
from ml_refarch.config import Problem
from ml_refarch.training import (
    DEFAULT_METRIC_DEFINITIONS,
    FsxInput,
    S3Input,
    TrainingJobSpec,
    TrainingSpecError,
    job_name,
    source_tarball,
    training_job_request,
    tuning_job_request,
    validate,
)

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
METRICS = [
    {"Name": "validation:logloss", "Regex": r"validation:logloss=([0-9\.]+)"},
    {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9\.]+)"},
]
LOG_LINE = "epoch=3 train:logloss=0.41234 validation:logloss=0.43210 validation:accuracy=0.8125"
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
    return boto3.session.Session().client("sagemaker", region_name=REGION)._service_model


def assert_matches_api(operation: str, request: dict[str, Any]) -> None:
    """Raises botocore's ParamValidationError unless ``request`` fits the operation's input."""
    input_shape = sagemaker_service_model().operation_model(operation).input_shape
    validate_parameters(request, input_shape)


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch, tmp_path) -> None:
    """No profile, config file or credentials from the machine running the tests."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


# --- training requests ---------------------------------------------------------------------------


EXPECTED_FSX_SPOT_REQUEST = {
    "TrainingJobName": NAME,
    "AlgorithmSpecification": {
        "TrainingImage": IMAGE_URI,
        "TrainingInputMode": "File",
        "MetricDefinitions": METRICS,
    },
    "RoleArn": ROLE_ARN,
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {
                "FileSystemDataSource": {
                    "FileSystemId": FILE_SYSTEM_ID,
                    "FileSystemType": "FSxLustre",
                    "FileSystemAccessMode": "ro",
                    "DirectoryPath": DIRECTORY_PATH,
                }
            },
            "ContentType": "text/csv",
            "InputMode": "File",
        }
    ],
    "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output/", "KmsKeyId": KEY_ARN},
    "ResourceConfig": {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 1,
        "VolumeSizeInGB": 10,
        "VolumeKmsKeyId": KEY_ARN,
    },
    "VpcConfig": {"SecurityGroupIds": [SECURITY_GROUP_ID], "Subnets": [SUBNET_ID]},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
    "EnableNetworkIsolation": True,
    "EnableInterContainerTrafficEncryption": False,
    "EnableManagedSpotTraining": True,
    "CheckpointConfig": {
        "S3Uri": f"s3://{BUCKET}/checkpoints/{NAME}/",
        "LocalPath": "/opt/ml/checkpoints",
    },
    "HyperParameters": {"epochs": "10", "learning_rate": "0.1"},
    "Tags": [{"Key": "ml-refarch:pattern", "Value": "fsx-training"}],
}


def test_fsx_spot_training_request_is_exact_and_fits_the_api():
    request = training_job_request(fsx_spec(), NAME)
    assert request == EXPECTED_FSX_SPOT_REQUEST
    assert list(request) == list(EXPECTED_FSX_SPOT_REQUEST)  # deterministic key order
    assert json.dumps(request) == json.dumps(training_job_request(fsx_spec(), NAME))
    assert_matches_api("CreateTrainingJob", request)


def test_s3_on_demand_training_request_is_exact_and_fits_the_api():
    spec = fsx_spec(
        train_input=S3Input(f"s3://{BUCKET}/data/train/"),
        validation_input=S3Input(f"s3://{BUCKET}/data/validation/"),
        use_spot=False,
        max_wait_seconds=None,
        checkpoint_s3_uri=None,
        subnet_ids=(),
        security_group_ids=(),
        network_isolation=False,
        instance_type="ml.c5.xlarge",
        volume_size_gib=30,
        max_runtime_seconds=600,
        hyperparameters={"epochs": 3},
        tags={},
    )
    request = training_job_request(spec, NAME)

    def s3_channel(name: str, uri: str) -> dict[str, Any]:
        return {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": uri,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
            "InputMode": "File",
        }

    assert request == {
        "TrainingJobName": NAME,
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE_URI,
            "TrainingInputMode": "File",
            "MetricDefinitions": METRICS,
        },
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [
            s3_channel("train", f"s3://{BUCKET}/data/train/"),
            s3_channel("validation", f"s3://{BUCKET}/data/validation/"),
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output/", "KmsKeyId": KEY_ARN},
        "ResourceConfig": {
            "InstanceType": "ml.c5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": KEY_ARN,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": False,
        "EnableManagedSpotTraining": False,
        "HyperParameters": {"epochs": "3"},
    }
    assert_matches_api("CreateTrainingJob", request)


@pytest.mark.parametrize(
    ("instance_type", "has_volume_key"),
    [("ml.g5.xlarge", False), ("ml.p4d.24xlarge", False), ("ml.m5.large", True)],
)
def test_volume_key_only_for_instances_without_local_storage(instance_type, has_volume_key):
    spec = fsx_spec(instance_type=instance_type)
    training = training_job_request(spec, NAME)["ResourceConfig"]
    tuning = tuning_job_request(spec, "tune-1")["TrainingJobDefinition"]["ResourceConfig"]
    for resources in (training, tuning):
        assert ("VolumeKmsKeyId" in resources) is has_volume_key
        assert resources["InstanceType"] == instance_type
    # The output key does not depend on the instance.
    assert training_job_request(spec, NAME)["OutputDataConfig"]["KmsKeyId"] == KEY_ARN


@pytest.mark.parametrize(
    ("instance_count", "setting", "encrypted"),
    [(1, None, False), (2, None, True), (4, None, True), (2, True, True), (1, True, True)],
)
def test_inter_container_encryption(instance_count, setting, encrypted):
    spec = fsx_spec(instance_count=instance_count, inter_container_encryption=setting)
    request = training_job_request(spec, NAME)
    assert request["EnableInterContainerTrafficEncryption"] is encrypted
    assert request["ResourceConfig"]["InstanceCount"] == instance_count


def test_default_metric_definitions_capture_the_training_log():
    values = {
        name: float(re.search(regex, LOG_LINE).group(1))
        for name, regex in DEFAULT_METRIC_DEFINITIONS.items()
    }
    assert values == {"validation:logloss": 0.4321, "validation:accuracy": 0.8125}


# --- validation ----------------------------------------------------------------------------------

S3_NO_VPC = {
    "train_input": S3Input(f"s3://{BUCKET}/data/"),
    "subnet_ids": (),
    "security_group_ids": (),
}

BAD_SPECS = [
    ("spot without checkpoint", {"checkpoint_s3_uri": None}, "checkpoint_s3_uri"),
    ("spot without max wait", {"max_wait_seconds": None}, "max_wait_seconds"),
    ("max wait below max runtime", {"max_wait_seconds": 60}, "max_wait_seconds"),
    ("max wait without spot", {"use_spot": False}, "max_wait_seconds"),
    (
        "encryption without VPC",
        {**S3_NO_VPC, "inter_container_encryption": True},
        "inter_container_encryption",
    ),
    (
        "default encryption of 2 instances without VPC",
        {**S3_NO_VPC, "instance_count": 2},
        "inter_container_encryption",
    ),
    (
        "2 instances with encryption off",
        {"instance_count": 2, "inter_container_encryption": False},
        "inter_container_encryption",
    ),
    ("FSx train input without VPC", {"subnet_ids": (), "security_group_ids": ()}, "train_input"),
    (
        "FSx validation input without VPC",
        {**S3_NO_VPC, "validation_input": FsxInput(FILE_SYSTEM_ID, "/abcdef12/validation")},
        "validation_input",
    ),
    ("no instances", {"instance_count": 0}, "instance_count"),
    ("boolean instance count", {"instance_count": True}, "instance_count"),
    ("zero runtime", {"max_runtime_seconds": 0}, "max_runtime_seconds"),
    ("runtime over 28 days", {"max_runtime_seconds": 2_419_201}, "max_runtime_seconds"),
    ("empty volume", {"volume_size_gib": 0}, "volume_size_gib"),
    ("output not s3", {"output_s3_uri": "https://bucket/output/"}, "output_s3_uri"),
    ("checkpoint not s3", {"checkpoint_s3_uri": "bucket/checkpoints/"}, "checkpoint_s3_uri"),
    ("S3 input not s3", {**S3_NO_VPC, "train_input": S3Input("/data/train")}, "train_input.s3_uri"),
    (
        "relative FSx path",
        {"train_input": FsxInput(FILE_SYSTEM_ID, "abcdef12/data")},
        "train_input.directory_path",
    ),
    (
        "empty file system id",
        {"train_input": FsxInput("", DIRECTORY_PATH)},
        "train_input.file_system_id",
    ),
    ("train input of another type", {"train_input": "s3://bucket/data/"}, "train_input"),
    ("subnets without groups", {**S3_NO_VPC, "subnet_ids": [SUBNET_ID]}, "security_group_ids"),
    ("groups without subnets", {**S3_NO_VPC, "security_group_ids": ["sg-1"]}, "subnet_ids"),
    ("subnets as one string", {"subnet_ids": SUBNET_ID}, "subnet_ids"),
    ("empty role", {"role_arn": ""}, "role_arn"),
    ("empty image", {"image_uri": " "}, "image_uri"),
    ("empty key", {"kms_key_id": ""}, "kms_key_id"),
    ("instance type without ml.", {"instance_type": "m5.large"}, "instance_type"),
    (
        "metric regex without group",
        {"metric_definitions": {"loss": "loss=.*"}},
        "metric_definitions",
    ),
    ("metric regex invalid", {"metric_definitions": {"loss": "loss=([0-9"}}, "metric_definitions"),
    ("hyperparameters not a mapping", {"hyperparameters": ["epochs=3"]}, "hyperparameters"),
]


@pytest.mark.parametrize(
    ("changes", "key"), [case[1:] for case in BAD_SPECS], ids=[case[0] for case in BAD_SPECS]
)
def test_each_rule_reports_one_problem_naming_its_key(changes, key):
    spec = fsx_spec(**changes)
    with pytest.raises(TrainingSpecError) as caught:
        validate(spec)
    assert [problem.key for problem in caught.value.problems] == [key]
    problem = caught.value.problems[0]
    assert isinstance(problem, Problem)
    assert problem.allowed and problem.fix
    assert f"{key}: received " in str(caught.value)
    with pytest.raises(TrainingSpecError):
        training_job_request(spec, NAME)


def test_valid_spec_passes():
    assert validate(fsx_spec()) is None


def test_pipe_mode_is_not_offered():
    fields = {field.name for field in dataclasses.fields(TrainingJobSpec)}
    assert not {"input_mode", "training_input_mode"} & fields
    assert "Pipe" not in json.dumps(training_job_request(fsx_spec(), NAME))


def test_every_problem_is_reported_at_once():
    spec = fsx_spec(
        use_spot=True,
        checkpoint_s3_uri=None,
        max_wait_seconds=60,
        instance_count=2,
        inter_container_encryption=False,
        subnet_ids=(),
        security_group_ids=(),
        volume_size_gib=0,
        output_s3_uri="output/",
        train_input=FsxInput(FILE_SYSTEM_ID, "data"),
    )
    with pytest.raises(TrainingSpecError) as caught:
        training_job_request(spec, "not a valid name")
    error = caught.value
    assert isinstance(error, ValueError)
    assert [problem.key for problem in error.problems] == [
        "job_name",
        "volume_size_gib",
        "checkpoint_s3_uri",
        "max_wait_seconds",
        "output_s3_uri",
        "inter_container_encryption",
        "train_input.directory_path",
        "train_input",
    ]
    message = str(error)
    assert message.startswith("invalid training job specification (8 problems):")
    assert message.count("\n  - ") == 8
    assert "received 60" in message and "MaxWaitTimeInSeconds >= MaxRuntimeInSeconds" in message


def test_cdk_tokens_are_accepted_without_format_checks():
    spec = TrainingJobSpec(
        role_arn=TOKEN,
        image_uri=TOKEN,
        output_s3_uri=f"s3://{TOKEN}/output/",
        kms_key_id=TOKEN,
        train_input=FsxInput(TOKEN, f"/{TOKEN}/data"),
        validation_input=FsxInput(TOKEN, TOKEN),
        instance_type=TOKEN,
        checkpoint_s3_uri=TOKEN,
        subnet_ids=[TOKEN],
        security_group_ids=[TOKEN],
    )
    validate(spec)
    request = training_job_request(spec, TOKEN)
    assert request["TrainingJobName"] == TOKEN
    assert request["InputDataConfig"][1]["DataSource"]["FileSystemDataSource"]["DirectoryPath"] == (
        TOKEN
    )
    # An unresolved instance type may have no local storage, so the volume keeps its key.
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == TOKEN
    validate(fsx_spec(train_input=S3Input(TOKEN)))


# --- tuning requests -----------------------------------------------------------------------------


def test_tuning_request_is_exact_and_fits_the_api():
    request = tuning_job_request(fsx_spec(), "mlrefarch-tune-1")
    definition = {
        key: value
        for key, value in EXPECTED_FSX_SPOT_REQUEST.items()
        if key not in {"TrainingJobName", "HyperParameters", "Tags"}
    }
    expected = {
        "HyperParameterTuningJobName": "mlrefarch-tune-1",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {
                "Type": "Minimize",
                "MetricName": "validation:logloss",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "learning_rate",
                        "MinValue": "0.0001",
                        "MaxValue": "1.0",
                        "ScalingType": "Logarithmic",
                    }
                ]
            },
            "TrainingJobEarlyStoppingType": "Auto",
        },
        "TrainingJobDefinition": {"StaticHyperParameters": {"epochs": "10"}, **definition},
        "Tags": [{"Key": "ml-refarch:pattern", "Value": "fsx-training"}],
    }
    assert request == expected
    assert list(request["TrainingJobDefinition"]) == list(expected["TrainingJobDefinition"])
    assert_matches_api("CreateHyperParameterTuningJob", request)


def test_tuning_request_options():
    request = tuning_job_request(
        fsx_spec(instance_count=2),
        "tune-2",
        learning_rate_range=(1e-5, 0.5),
        max_jobs=10,
        max_parallel_jobs=1,
        objective_metric="validation:accuracy",
    )
    config = request["HyperParameterTuningJobConfig"]
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 1}
    assert config["HyperParameterTuningJobObjective"]["MetricName"] == "validation:accuracy"
    (learning_rate,) = config["ParameterRanges"]["ContinuousParameterRanges"]
    assert (float(learning_rate["MinValue"]), float(learning_rate["MaxValue"])) == (1e-5, 0.5)
    assert request["TrainingJobDefinition"]["EnableInterContainerTrafficEncryption"] is True
    assert_matches_api("CreateHyperParameterTuningJob", request)


BAD_TUNING = [
    ("zero low bound", {"learning_rate_range": (0, 1.0)}, "learning_rate_range"),
    ("negative low bound", {"learning_rate_range": (-0.1, 1.0)}, "learning_rate_range"),
    ("reversed range", {"learning_rate_range": (0.1, 0.01)}, "learning_rate_range"),
    ("empty range", {"learning_rate_range": (0.1, 0.1)}, "learning_rate_range"),
    ("nan bound", {"learning_rate_range": (math.nan, 1.0)}, "learning_rate_range"),
    ("three bounds", {"learning_rate_range": (0.1, 0.2, 0.3)}, "learning_rate_range"),
    ("no jobs", {"max_jobs": 0}, "max_jobs"),
    ("no parallel jobs", {"max_parallel_jobs": 0}, "max_parallel_jobs"),
    ("more parallel than jobs", {"max_jobs": 4, "max_parallel_jobs": 5}, "max_parallel_jobs"),
    ("unknown objective", {"objective_metric": "validation:f1"}, "objective_metric"),
]


@pytest.mark.parametrize(
    ("options", "key"), [case[1:] for case in BAD_TUNING], ids=[case[0] for case in BAD_TUNING]
)
def test_bad_tuning_options_are_rejected(options, key):
    with pytest.raises(TrainingSpecError) as caught:
        tuning_job_request(fsx_spec(), "tune-1", **options)
    assert [problem.key for problem in caught.value.problems] == [key]


def test_tuning_job_name_is_limited_to_32_characters():
    with pytest.raises(TrainingSpecError) as caught:
        tuning_job_request(fsx_spec(checkpoint_s3_uri=None), "t" * 33)
    assert [problem.key for problem in caught.value.problems] == [
        "tuning_job_name",
        "checkpoint_s3_uri",
    ]
    assert tuning_job_request(fsx_spec(), job_name("tune", NOW, max_length=32))


# --- job names -----------------------------------------------------------------------------------

VALID_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")


def test_job_name_is_prefix_and_utc_timestamp():
    assert job_name("mlrefarch-fsx", NOW) == NAME
    assert job_name("mlrefarch-fsx", datetime(2024, 1, 2, 3, 4, 5, 678_000)) == NAME
    plus_two = timezone(timedelta(hours=2))
    assert job_name("mlrefarch-fsx", NOW.astimezone(plus_two)) == NAME
    assert job_name("my_job.v2 ", NOW) == "my-job-v2-20240102-030405-678"
    assert job_name("--", NOW) == "20240102-030405-678"
    assert job_name("x" * 80, NOW) == "x" * 43 + "-20240102-030405-678"
    assert job_name("tune", NOW, max_length=32) == "tune-20240102-030405-678"
    assert job_name("mlrefarch", NOW) != job_name("mlrefarch", NOW + timedelta(milliseconds=1))
    assert VALID_NAME.fullmatch(job_name("mlrefarch"))
    with pytest.raises(ValueError):
        job_name("x", NOW, max_length=10)


@settings(max_examples=100, deadline=None)
@given(
    prefix=st.from_regex(r"[A-Za-z0-9-]*", fullmatch=True),
    now=st.datetimes(timezones=st.just(UTC)),
    max_length=st.sampled_from([63, 32]),
)
def test_any_prefix_of_letters_digits_and_hyphens_gives_a_valid_name(prefix, now, max_length):
    name = job_name(prefix, now, max_length=max_length)
    assert len(name) <= max_length
    assert VALID_NAME.fullmatch(name)
    kept = prefix.strip("-")
    assert name.startswith(kept[: max(0, max_length - 20)].rstrip("-"))


@settings(max_examples=50, deadline=None)
@given(prefix=st.text(max_size=100))
def test_any_text_gives_a_valid_name(prefix):
    name = job_name(prefix, NOW)
    assert len(name) <= 63 and VALID_NAME.fullmatch(name)


def test_invalid_job_name_is_a_problem():
    for name in ("", "-leading", "trailing-", "under_score", "x" * 64):
        with pytest.raises(TrainingSpecError) as caught:
            training_job_request(fsx_spec(), name)
        assert [problem.key for problem in caught.value.problems] == ["job_name"]


# --- command: dry run ----------------------------------------------------------------------------

OUTPUTS = {
    "FileSystemId": FILE_SYSTEM_ID,
    "MountName": MOUNT_NAME,
    "DirectoryPath": DIRECTORY_PATH,
    "SubnetIds": SUBNET_ID,
    "SecurityGroupId": SECURITY_GROUP_ID,
    "TrainingRoleArn": ROLE_ARN,
    "BucketName": BUCKET,
    "KeyArn": KEY_ARN,
    "CheckpointUri": f"s3://{BUCKET}/checkpoints/",
    "OutputUri": f"s3://{BUCKET}/output/",
    "CodeUri": f"s3://{BUCKET}/code/",
    "ImageUri": IMAGE_URI,
}
CODE_URI = f"s3://{BUCKET}/code/{NAME}/sourcedir.tar.gz"


@pytest.fixture
def outputs_file(tmp_path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS), encoding="utf-8")
    return path


@pytest.fixture
def no_aws_calls(monkeypatch) -> None:
    """Any attempt to create a session or client fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an AWS session or client was created")

    monkeypatch.setattr(boto3, "client", refuse)
    monkeypatch.setattr(boto3, "Session", refuse)
    monkeypatch.setattr(boto3.session, "Session", refuse)
    monkeypatch.setattr(botocore.session.Session, "create_client", refuse)


def expected_cli_request(**changes: Any) -> dict[str, Any]:
    """What the command must send for OUTPUTS with its default options."""
    spec = fsx_spec(
        max_wait_seconds=7200,
        checkpoint_s3_uri=f"s3://{BUCKET}/checkpoints/{NAME}/",
        subnet_ids=(SUBNET_ID,),
        security_group_ids=(SECURITY_GROUP_ID,),
        hyperparameters={"epochs": "10", "learning_rate": "0.01"},
        code_input=S3Input(CODE_URI),
    )
    return training_job_request(dataclasses.replace(spec, **changes), NAME)


def test_dry_run_prints_the_request_without_aws_calls(outputs_file, no_aws_calls, capsys):
    code = train.main(["--dry-run", "--outputs-json", str(outputs_file)], now=NOW)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    request = json.loads(captured.out)
    assert request == expected_cli_request()
    assert list(request) == list(expected_cli_request())
    assert_matches_api("CreateTrainingJob", request)


def test_dry_run_options_reach_the_request(tmp_path, no_aws_calls, capsys):
    # The file format `cdk deploy --outputs-file` writes: outputs under the stack name.
    path = tmp_path / "cdk-outputs.json"
    path.write_text(json.dumps({train.DEFAULT_STACK_NAME: OUTPUTS}), encoding="utf-8")
    argv = [
        "--dry-run",
        "--outputs-json",
        str(path),
        "--instance-type",
        "ml.g5.xlarge",
        "--instance-count",
        "2",
        "--max-runtime-seconds",
        "1800",
        "--no-spot",
        "--epochs",
        "3",
        "--learning-rate",
        "0.05",
    ]
    assert train.main(argv, now=NOW) == 0
    request = json.loads(capsys.readouterr().out)
    assert request == expected_cli_request(
        instance_type="ml.g5.xlarge",
        instance_count=2,
        max_runtime_seconds=1800,
        use_spot=False,
        max_wait_seconds=None,
        hyperparameters={"epochs": "3", "learning_rate": "0.05"},
    )
    assert "VolumeKmsKeyId" not in request["ResourceConfig"]
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}


def test_dry_run_default_max_wait_is_twice_the_runtime(outputs_file, no_aws_calls, capsys):
    argv = ["--dry-run", "--outputs-json", str(outputs_file), "--max-runtime-seconds", "5000"]
    assert train.main(argv, now=NOW) == 0
    stopping = json.loads(capsys.readouterr().out)["StoppingCondition"]
    assert stopping == {"MaxRuntimeInSeconds": 5000, "MaxWaitTimeInSeconds": 10000}


def test_dry_run_without_outputs_uses_placeholders_and_says_so(no_aws_calls, capsys):
    assert train.main(["--dry-run"], now=NOW) == 0
    captured = capsys.readouterr()
    assert "PLACEHOLDER" in captured.err
    request = json.loads(captured.out)
    assert request["RoleArn"] == train.PLACEHOLDER_OUTPUTS["TrainingRoleArn"]
    assert_matches_api("CreateTrainingJob", request)


@pytest.mark.parametrize(
    ("argv", "texts"),
    [
        (
            ["--max-wait-seconds", "60", "--max-runtime-seconds", "3600"],
            ["max_wait_seconds: received 60", "MaxWaitTimeInSeconds >= MaxRuntimeInSeconds"],
        ),
        (["--no-spot", "--max-wait-seconds", "7200"], ["max_wait_seconds: received 7200"]),
        (
            ["--instance-count", "0", "--max-runtime-seconds", "0"],
            ["2 problems", "instance_count: received 0", "max_runtime_seconds: received 0"],
        ),
    ],
)
def test_invalid_options_exit_2_with_every_problem(outputs_file, no_aws_calls, capsys, argv, texts):
    code = train.main(["--dry-run", "--outputs-json", str(outputs_file), *argv], now=NOW)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    for text in texts:
        assert text in captured.err


def test_missing_outputs_exit_2(tmp_path, no_aws_calls, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"FileSystemId": FILE_SYSTEM_ID, "KeyArn": ""}), encoding="utf-8")
    assert train.main(["--dry-run", "--outputs-json", str(path)], now=NOW) == 2
    err = capsys.readouterr().err
    assert "stack outputs missing or empty" in err and "KeyArn" in err and "ImageUri" in err


def test_directory_path_must_match_the_mount_name(tmp_path, no_aws_calls, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({**OUTPUTS, "DirectoryPath": "/other/data"}), encoding="utf-8")
    assert train.main(["--dry-run", "--outputs-json", str(path)], now=NOW) == 2
    assert "does not start with /abcdef12" in capsys.readouterr().err


# --- command: starting and following a job -------------------------------------------------------


@functools.cache
def shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


class StubbedSessions:
    """A session factory whose sessions answer SageMaker and CloudFormation from Stubbers.

    Clients are created (and stubbed) when the SDK asks for them, after the command has
    registered its hooks on the session, as they would be against AWS.
    """

    def __init__(self) -> None:
        self.responses: dict[str, list[tuple[str, dict[str, Any], dict[str, Any] | None]]] = {}
        self.errors: dict[str, list[tuple[str, str, str]]] = {}
        self.stubbers: list[Stubber] = []
        self.regions: list[str | None] = []
        # Every started job first uploads its code, encrypted with the stack's key.
        self.add(
            "s3",
            "put_object",
            {},
            {
                "Bucket": BUCKET,
                "Key": f"code/{NAME}/sourcedir.tar.gz",
                "Body": source_tarball(),
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": KEY_ARN,
            },
        )

    def add(
        self, service: str, method: str, response: dict[str, Any], expected: Any = None
    ) -> None:
        self.responses.setdefault(service, []).append((method, response, expected))

    def add_error(self, service: str, method: str, code: str, message: str) -> None:
        self.errors.setdefault(service, []).append((method, code, message))

    def __call__(self, region: str | None) -> boto3.session.Session:
        self.regions.append(region)
        # A fresh session per run (the command registers hooks on it), sharing the parsed
        # service models: loading SageMaker's anew costs a tenth of a second each time.
        core = botocore.session.get_session()
        core.register_component("data_loader", shared_loader())
        session = boto3.session.Session(
            botocore_session=core,
            region_name=region or REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        create_client = session.client

        def client(service_name: str, *args: Any, **kwargs: Any) -> Any:
            real = create_client(service_name, *args, **kwargs)
            if service_name in self.responses or service_name in self.errors:
                stubber = Stubber(real)
                for method, response, expected in self.responses.get(service_name, []):
                    stubber.add_response(method, response, expected)
                for method, code, message in self.errors.get(service_name, []):
                    stubber.add_client_error(method, code, message)
                stubber.activate()
                self.stubbers.append(stubber)
            return real

        session.client = client  # type: ignore[method-assign]
        return session

    def assert_all_used(self) -> None:
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()


def describe_response(status: str, secondary: str, **extra: Any) -> dict[str, Any]:
    request = expected_cli_request()
    return {
        "TrainingJobName": NAME,
        "TrainingJobArn": TRAINING_JOB_ARN,
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/output/{NAME}/output/model.tar.gz"},
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": request["AlgorithmSpecification"],
        "ResourceConfig": request["ResourceConfig"],
        "StoppingCondition": request["StoppingCondition"],
        "CreationTime": NOW,
        "SecondaryStatusTransitions": [
            {"Status": secondary, "StartTime": NOW, "StatusMessage": f"now {secondary.lower()}"}
        ],
        **extra,
    }


def queue_job(sessions: StubbedSessions, *statuses: tuple[str, str, dict[str, Any]]) -> None:
    """CreateTrainingJob with exactly the expected request, then one describe per status."""
    sessions.add(
        "sagemaker",
        "create_training_job",
        {"TrainingJobArn": TRAINING_JOB_ARN},
        expected_cli_request(),
    )
    for status, secondary, extra in statuses:
        sessions.add(
            "sagemaker", "describe_training_job", describe_response(status, secondary, **extra)
        )


def run_cli(sessions: StubbedSessions, *argv: str) -> int:
    return train.main(
        [*argv, "--poll-seconds", "0"], session_factory=sessions, now=NOW, sleep=lambda _: None
    )


def test_start_sends_the_built_request_through_the_sdk(outputs_file, capsys):
    sessions = StubbedSessions()
    queue_job(sessions, ("InProgress", "Starting", {}))
    assert run_cli(sessions, "--outputs-json", str(outputs_file), "--region", REGION) == 0
    sessions.assert_all_used()
    assert sessions.regions == [REGION]
    out = capsys.readouterr().out
    assert f"started training job {NAME} ({TRAINING_JOB_ARN})" in out
    assert f"checkpoints: s3://{BUCKET}/checkpoints/{NAME}/" in out


def test_start_reads_the_stack_outputs(capsys):
    sessions = StubbedSessions()
    stack = {
        "StackName": train.DEFAULT_STACK_NAME,
        "CreationTime": NOW,
        "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in OUTPUTS.items()],
    }
    sessions.add(
        "cloudformation",
        "describe_stacks",
        {"Stacks": [stack]},
        {"StackName": train.DEFAULT_STACK_NAME},
    )
    queue_job(sessions, ("InProgress", "Starting", {}))
    assert run_cli(sessions) == 0, capsys.readouterr().err
    sessions.assert_all_used()


def test_wait_follows_the_job_to_completion(outputs_file, capsys):
    sessions = StubbedSessions()
    queue_job(
        sessions,
        ("InProgress", "Starting", {}),
        ("InProgress", "Starting", {}),
        ("InProgress", "Downloading", {}),
        ("InProgress", "Training", {}),
        ("InProgress", "Training", {}),
        ("Completed", "Completed", {}),
    )
    assert run_cli(sessions, "--outputs-json", str(outputs_file), "--wait") == 0
    sessions.assert_all_used()
    out = capsys.readouterr().out
    statuses = re.findall(r"status (\w+) / (\w+)", out)
    assert statuses == [
        ("InProgress", "Starting"),
        ("InProgress", "Downloading"),
        ("InProgress", "Training"),
        ("Completed", "Completed"),
    ]
    assert "now downloading" in out
    assert f"PASS: training job completed; model artifacts: s3://{BUCKET}/output/{NAME}/" in out


def test_wait_exits_1_with_the_failure_reason(outputs_file, capsys):
    sessions = StubbedSessions()
    reason = "AlgorithmError: ExecuteUserScriptError: exit code 1"
    queue_job(
        sessions,
        ("InProgress", "Training", {}),
        ("Failed", "Failed", {"FailureReason": reason}),
    )
    assert run_cli(sessions, "--outputs-json", str(outputs_file), "--wait") == 1
    sessions.assert_all_used()
    assert f"FAIL: training job failed: {reason}" in capsys.readouterr().out


def test_wait_exits_1_when_the_job_is_stopped(outputs_file, capsys):
    sessions = StubbedSessions()
    queue_job(sessions, ("Stopping", "Stopping", {}), ("Stopped", "Stopped", {}))
    assert run_cli(sessions, "--outputs-json", str(outputs_file), "--wait") == 1
    assert "FAIL: training job stopped" in capsys.readouterr().out


def test_wait_gives_up_after_the_timeout():
    lines: list[str] = []
    clock = iter(range(0, 10_000, 10))
    deadline = train.Deadline(25, sleep=lambda _: None, clock=lambda: next(clock))

    def describe() -> train.JobStatus:
        return train.JobStatus("InProgress", "Training")

    assert train.wait_for_job(describe, deadline=deadline, poll_seconds=5, log=lines.append) == 1
    assert lines[0] == "status InProgress / Training"
    assert lines[-1].startswith("FAIL: still InProgress after")


def test_aws_error_exits_1_with_one_line(outputs_file, capsys):
    sessions = StubbedSessions()
    sessions.add_error(
        "sagemaker",
        "create_training_job",
        "ResourceLimitExceeded",
        "The account-level service limit\n'ml.m5.large for spot training job usage' is 0",
    )
    assert run_cli(sessions, "--outputs-json", str(outputs_file)) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("FAIL: AWS call failed: ResourceLimitExceeded:")


def test_failed_describe_after_a_start_names_the_started_job(outputs_file, capsys):
    sessions = StubbedSessions()
    sessions.add(
        "sagemaker",
        "create_training_job",
        {"TrainingJobArn": TRAINING_JOB_ARN},
        expected_cli_request(),
    )
    sessions.add_error("sagemaker", "describe_training_job", "AccessDeniedException", "denied")
    assert run_cli(sessions, "--outputs-json", str(outputs_file)) == 1
    out = capsys.readouterr().out
    assert f"FAIL: started training job {NAME} ({TRAINING_JOB_ARN}) but cannot describe" in out


def test_a_request_changed_by_sdk_defaults_is_not_sent(outputs_file, monkeypatch, capsys):
    from sagemaker.core.resources import Base

    # What a SageMaker defaults file does: fill a field the request leaves unset.
    def add_defaults(config_schema: Any, resource_name: str, **kwargs: Any) -> dict[str, Any]:
        return {**kwargs, "debug_hook_config": {"s3_output_path": "s3://elsewhere/debug/"}}

    monkeypatch.setattr(
        Base, "get_updated_kwargs_with_configured_attributes", staticmethod(add_defaults)
    )
    sessions = StubbedSessions()
    sessions.add("sagemaker", "describe_training_job", describe_response("InProgress", "Starting"))
    assert run_cli(sessions, "--outputs-json", str(outputs_file)) == 2
    err = capsys.readouterr().err
    assert "different CreateTrainingJob request (fields DebugHookConfig" in err
    with pytest.raises(AssertionError):  # the describe was never reached either
        sessions.assert_all_used()


def test_invalid_options_start_nothing(outputs_file, capsys):
    sessions = StubbedSessions()  # no responses: any SageMaker call would fail the stub
    code = run_cli(
        sessions,
        "--outputs-json",
        str(outputs_file),
        "--max-wait-seconds",
        "60",
        "--max-runtime-seconds",
        "3600",
    )
    assert code == 2
    assert "max_wait_seconds: received 60" in capsys.readouterr().err


def test_missing_region_is_a_setup_error(outputs_file, capsys):
    def no_region(region: str | None) -> boto3.session.Session:
        return boto3.session.Session(region_name=region)

    assert train.main(["--outputs-json", str(outputs_file)], session_factory=no_region) == 2
    assert "no AWS region" in capsys.readouterr().err
