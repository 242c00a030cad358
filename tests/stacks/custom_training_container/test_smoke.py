"""ml_refarch/stacks/custom_training_container/smoke.py with Step Functions faked and ECR
and S3 from moto: the workflow's outcome, the pushed image and the model artifact."""

from __future__ import annotations

import json

import boto3
import pytest

from ml_refarch.stacks.custom_training_container import PATTERN
from ml_refarch.stacks.custom_training_container.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
REPOSITORY = "mlrefarch-training-images"
TAG = "v-0123456789abcdef"
BUCKET = "training-bucket"
ARTIFACT = f"s3://{BUCKET}/output/train-1/output/model.tar.gz"
OUTPUTS = {
    Outputs.STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:ctc",
    Outputs.IMAGE_URI: f"{REGISTRY}/{REPOSITORY}:{TAG}",
    Outputs.OUTPUT_URI: f"s3://{BUCKET}/output/",
    Outputs.DATA_URI: f"s3://{BUCKET}/data/",
    Outputs.INPUT_MODE: "Pipe",
}


@pytest.fixture
def aws(monkeypatch):
    for clients in fakes.moto_clients(monkeypatch, boto3.Session(), "us-east-1", "ecr", "s3"):
        clients["ecr"].create_repository(repositoryName=REPOSITORY)
        clients["s3"].create_bucket(Bucket=BUCKET)
        yield clients


def push_image(ecr, tag: str = TAG) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "a" * 64, "size": 1, "mediaType": "x"},
        "layers": [],
    }
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag=tag)


def training_job(mode: str = "Pipe", channel_mode: str | None = None) -> dict:
    channel = {"ChannelName": "train", "InputMode": channel_mode or mode}
    return {
        "AlgorithmSpecification": {"TrainingInputMode": mode},
        "InputDataConfig": [channel, {**channel, "ChannelName": "validation"}],
    }


def session(aws, *statuses: str, artifact: str = ARTIFACT, job: dict | None = None) -> Session:
    trained = {"job": "train-1", "artifacts": artifact}
    output = json.dumps({"built": {"build": "b:1"}, "trained": trained})
    return Session(
        cloudformation=fakes.stack(OUTPUTS),
        stepfunctions=Fake(
            start_execution={"executionArn": "arn:aws:states:::execution:ctc:run-1"},
            # A failed execution has a cause and no output.
            describe_execution=[
                {"status": s, "output": output}
                if s == "SUCCEEDED"
                else {"status": s, "cause": "BuildImage failed"}
                for s in statuses
            ],
        ),
        ecr=aws["ecr"],
        s3=aws["s3"],
        sagemaker=Fake(describe_training_job=job or training_job()),
    )


def failed(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAIL ")]


def test_a_run_that_pushed_the_image_and_wrote_the_model_passes(aws, capsys):
    push_image(aws["ecr"])
    aws["s3"].put_object(Bucket=BUCKET, Key=ARTIFACT.split("/", 3)[3], Body=b"model")
    fake = session(aws, "RUNNING", "SUCCEEDED")
    assert main([], session=fake, sleep=lambda s: None) == 0
    (name, kwargs), *_ = fake.clients["stepfunctions"].calls
    assert (name, kwargs["stateMachineArn"]) == (
        "start_execution",
        OUTPUTS[Outputs.STATE_MACHINE_ARN],
    )
    out = capsys.readouterr().out
    assert failed(out) == [] and "5 bytes" in out


def test_a_failed_workflow_fails_with_its_cause_and_checks_nothing_else(aws, capsys):
    assert main([], session=session(aws, "FAILED"), sleep=lambda s: None) == 1
    out = capsys.readouterr().out
    assert "BuildImage failed" in out and len(failed(out)) == 1


def test_a_missing_image_or_artifact_fails_its_check(aws, capsys):
    push_image(aws["ecr"], tag="v-other")
    assert main([], session=session(aws, "SUCCEEDED"), sleep=lambda s: None) == 1
    out = failed(capsys.readouterr().out)
    assert [line.split(":")[0] for line in out] == [
        "FAIL image pushed",
        "FAIL model artifact written",
    ]


@pytest.mark.parametrize(("mode", "channel_mode"), [("File", None), ("Pipe", "File")])
def test_a_job_in_another_input_mode_fails_the_mode_check(aws, capsys, mode, channel_mode):
    push_image(aws["ecr"])
    aws["s3"].put_object(Bucket=BUCKET, Key=ARTIFACT.split("/", 3)[3], Body=b"model")
    fake = session(aws, "SUCCEEDED", job=training_job(mode, channel_mode))
    assert main([], session=fake, sleep=lambda s: None) == 1
    (line,) = failed(capsys.readouterr().out)
    assert line.startswith("FAIL job input mode: train-1")
    assert fake.clients["sagemaker"].calls == [
        ("describe_training_job", {"TrainingJobName": "train-1"})
    ]


def test_an_artifact_outside_the_output_prefix_fails(aws, capsys):
    push_image(aws["ecr"])
    elsewhere = f"s3://{BUCKET}/other/model.tar.gz"
    aws["s3"].put_object(Bucket=BUCKET, Key="other/model.tar.gz", Body=b"model")
    assert (
        main([], session=session(aws, "SUCCEEDED", artifact=elsewhere), sleep=lambda s: None) == 1
    )
    assert "is not under s3://training-bucket/output/" in capsys.readouterr().out


def test_dry_run_needs_no_aws(capsys):
    assert main(["--dry-run"], session=fakes.NoAws()) == 0
    out = capsys.readouterr().out
    assert "would read stack MlRefArch-CustomTrainingContainer" in out and "build the image" in out
