"""fsx-training: ``python -m ml_refarch.stacks.fsx_training.train``, the command that starts a
training job on the deployed stack.

No AWS: the command runs on boto3 sessions whose SageMaker and CloudFormation clients are
botocore Stubbers (the SageMaker Python SDK creates its clients from the session, so the
Stubber sees exactly what the SDK sends), and its requests are checked against botocore's
SageMaker service model.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.stub import Stubber

from ml_refarch.stacks.fsx_training import train
from ml_refarch.training import S3Input, source_tarball, training_job_request
from tests.training_support import (
    BUCKET,
    DIRECTORY_PATH,
    FILE_SYSTEM_ID,
    IMAGE_URI,
    KEY_ARN,
    MOUNT_NAME,
    NAME,
    NOW,
    REGION,
    ROLE_ARN,
    SECURITY_GROUP_ID,
    SUBNET_ID,
    TRAINING_JOB_ARN,
    assert_matches_api,
    fsx_spec,
    isolate_from_aws,
)


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch, tmp_path) -> None:
    isolate_from_aws(monkeypatch, tmp_path)


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
