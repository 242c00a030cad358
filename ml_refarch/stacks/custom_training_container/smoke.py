"""Smoke test of a deployed ``MlRefArch-CustomTrainingContainer`` stack.

Starts the workflow, which builds the image with CodeBuild (a no-op when the image's tag
is in the repository already) and then runs a short training job with it, and follows the
execution until it ends. The check passes when the execution SUCCEEDED, the image's tag is
in the repository, and the model artifact the job reported is in the bucket. The data must
be in the bucket first (``DataUri`` output: ``train/`` and ``validation/``, as written by
``scripts/make_training_data.py``).

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke custom-training-container [--stack-name NAME] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.custom_training_container.outputs import Outputs


def image_check(ecr: Any, image_uri: str) -> smoke.Check:
    """The image's tag is in its repository (the build pushed it, now or before)."""
    repository_uri, tag = image_uri.rsplit(":", 1)
    repository = repository_uri.split("/", 1)[1]
    try:
        images = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ClientError as error:
        return smoke.Check("image pushed", False, smoke.aws_error_message(error))
    found = images.get("imageDetails") or []
    detail = f"{image_uri}: {len(found)} image(s)"
    return smoke.Check("image pushed", bool(found), detail)


def input_mode_check(sagemaker: Any, job_name: str | None, expected: str) -> smoke.Check:
    """The job ran in the input mode the stack was deployed with (``InputMode`` output)."""
    if not job_name:
        return smoke.Check("job input mode", False, "the workflow reported no training job")
    job = sagemaker.describe_training_job(TrainingJobName=job_name)
    mode = job["AlgorithmSpecification"]["TrainingInputMode"]
    channels = {c["ChannelName"]: c.get("InputMode", mode) for c in job["InputDataConfig"]}
    detail = f"{job_name}: {mode}, channels {channels}"
    return smoke.Check("job input mode", {mode, *channels.values()} == {expected}, detail)


def artifact_check(s3: Any, artifact_uri: str | None, output_uri: str) -> smoke.Check:
    """The model artifact the job reported exists, under the stack's output prefix."""
    if not artifact_uri or not artifact_uri.startswith(output_uri):
        return smoke.Check(
            "model artifact written", False, f"{artifact_uri!r} is not under {output_uri}"
        )
    bucket, _, key = artifact_uri.removeprefix("s3://").partition("/")
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        return smoke.Check("model artifact written", False, smoke.aws_error_message(error))
    size = head.get("ContentLength", 0)
    return smoke.Check("model artifact written", size > 0, f"{artifact_uri}: {size} bytes")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options besides the common ones."""


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, start the workflow (build the image, "
        "then train with it), follow it, and check the image and the model artifact"
    )


def run(run: Run) -> list[smoke.Check]:
    outputs, log = run.outputs, run.log
    sfn, ecr, s3, sagemaker = (
        run.client(name) for name in ("stepfunctions", "ecr", "s3", "sagemaker")
    )
    deadline = run.deadline()
    execution = sfn.start_execution(stateMachineArn=outputs[Outputs.STATE_MACHINE_ARN])
    log(f"started {execution['executionArn']}")
    description = smoke.follow_execution(
        sfn, execution["executionArn"], deadline, run.args.poll_seconds, log
    )
    status = description["status"]
    detail = description.get("output") or description.get("cause") or ""
    checks = [smoke.Check("workflow succeeded", status == "SUCCEEDED", f"{status}: {detail}")]
    if status != "SUCCEEDED":
        return checks
    trained = json.loads(description["output"]).get("trained") or {}
    checks.append(input_mode_check(sagemaker, trained.get("job"), outputs[Outputs.INPUT_MODE]))
    checks.append(image_check(ecr, outputs[Outputs.IMAGE_URI]))
    checks.append(artifact_check(s3, trained.get("artifacts"), outputs[Outputs.OUTPUT_URI]))
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.STATE_MACHINE_ARN,
        Outputs.IMAGE_URI,
        Outputs.OUTPUT_URI,
        Outputs.DATA_URI,
        Outputs.INPUT_MODE,
    ),
    clients=("stepfunctions", "ecr", "s3", "sagemaker"),
    timeout_seconds=5400.0,
)
