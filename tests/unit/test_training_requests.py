"""Tests for ml_refarch/training/ (request builders).

No AWS: requests are checked against botocore's SageMaker service model. The fsx-training
command that sends them is tested in tests/stacks/fsx_training/test_train.py.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_refarch.config import Problem
from ml_refarch.training import (
    DEFAULT_METRIC_DEFINITIONS,
    FsxInput,
    S3Input,
    TrainingJobSpec,
    TrainingSpecError,
    job_name,
    training_job_request,
    tuning_job_request,
    validate,
)
from tests.training_support import (
    BUCKET,
    DIRECTORY_PATH,
    FILE_SYSTEM_ID,
    IMAGE_URI,
    KEY_ARN,
    NAME,
    NOW,
    ROLE_ARN,
    SECURITY_GROUP_ID,
    SUBNET_ID,
    TOKEN,
    assert_matches_api,
    fsx_spec,
    isolate_from_aws,
)

METRICS = [
    {"Name": "validation:logloss", "Regex": r"validation:logloss=([0-9\.]+)"},
    {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9\.]+)"},
]
LOG_LINE = "epoch=3 train:logloss=0.41234 validation:logloss=0.43210 validation:accuracy=0.8125"


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch, tmp_path) -> None:
    isolate_from_aws(monkeypatch, tmp_path)


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


def test_file_mode_is_the_default_input_mode():
    request = training_job_request(fsx_spec(), NAME)
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert "Pipe" not in json.dumps(request) and "FastFile" not in json.dumps(request)


@pytest.mark.parametrize("mode", ["File", "FastFile", "Pipe"])
def test_s3_channels_take_the_input_mode_and_fsx_channels_stay_file(mode):
    spec = fsx_spec(input_mode=mode, validation_input=S3Input(f"s3://{BUCKET}/validation/"))
    request = training_job_request(spec, NAME)
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == mode
    modes = {c["ChannelName"]: c["InputMode"] for c in request["InputDataConfig"]}
    # A file system is mounted, never streamed.
    assert modes == {"train": "File", "validation": mode}


@pytest.mark.parametrize("mode", ["file", "Stream", "", None])
def test_an_unknown_input_mode_is_a_problem(mode):
    with pytest.raises(TrainingSpecError) as raised:
        validate(fsx_spec(input_mode=mode))
    (problem,) = raised.value.problems
    assert problem.key == "input_mode" and problem.received == mode
    assert "FastFile" in problem.allowed


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
