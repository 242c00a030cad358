"""Smoke test of a deployed ``MlRefArch-FsxTraining`` stack.

Checks that the Lustre file system and its data repository association are available and
linked to the training bucket's ``data/`` prefix, and that the prefix holds training data.
With ``--train`` it then starts a short managed-spot training job from the FSx channel
through the unit's train command (:mod:`.train`), waits for it, and checks the model
artifact.

Exit codes: 0 every check passed, 1 a check failed, 2 setup error (stack or outputs
missing, no credentials). ``--dry-run`` prints the checks without AWS.

Usage::

    python -m ml_refarch smoke fsx-training [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.fsx_training import train
from ml_refarch.stacks.fsx_training.outputs import Outputs

SMOKE_JOB_PREFIX = "smoke"
SMOKE_EPOCHS = "3"


def file_system_checks(fsx: Any, outputs: Mapping[str, str]) -> list[smoke.Check]:
    """The file system is available Lustre, and a data repository links /data to data/."""
    file_system_id = outputs[Outputs.FILE_SYSTEM_ID]
    (file_system,) = fsx.describe_file_systems(FileSystemIds=[file_system_id])["FileSystems"]
    deployment = file_system.get("LustreConfiguration", {}).get("DeploymentType", "")
    checks = [
        smoke.Check(
            "file system available",
            file_system.get("Lifecycle") == "AVAILABLE",
            f"{file_system_id} is {file_system.get('Lifecycle')}",
        ),
        smoke.Check(
            "Lustre deployment type",
            file_system.get("FileSystemType") == "LUSTRE"
            and deployment in ("SCRATCH_2", "PERSISTENT_2"),
            f"{file_system.get('FileSystemType')} {deployment}",
        ),
    ]
    if deployment == "PERSISTENT_2":
        checks.append(
            smoke.Check(
                "persistent file system uses a KMS key",
                bool(file_system.get("KmsKeyId")),
                str(file_system.get("KmsKeyId", "no key")),
            )
        )
    associations = fsx.describe_data_repository_associations(
        Filters=[{"Name": "file-system-id", "Values": [file_system_id]}]
    )["Associations"]
    linked = [
        a
        for a in associations
        if a.get("FileSystemPath") == "/data"
        and a.get("DataRepositoryPath", "").rstrip("/") == outputs[Outputs.DATA_URI].rstrip("/")
    ]
    checks.append(
        smoke.Check(
            "data repository association",
            bool(linked) and linked[0].get("Lifecycle") == "AVAILABLE",
            (
                f"/data <- {outputs[Outputs.DATA_URI]} is {linked[0].get('Lifecycle')}"
                if linked
                else f"no association of /data with {outputs[Outputs.DATA_URI]}"
            ),
        )
    )
    return checks


def data_check(s3: Any, outputs: Mapping[str, str]) -> smoke.Check:
    prefix = outputs[Outputs.DATA_URI].removeprefix(f"s3://{outputs[Outputs.BUCKET_NAME]}/")
    listing = s3.list_objects_v2(Bucket=outputs[Outputs.BUCKET_NAME], Prefix=prefix, MaxKeys=10)
    keys = [item["Key"] for item in listing.get("Contents", [])]
    return smoke.Check(
        "training data present",
        bool(keys),
        f"{len(keys)}+ object(s) under {outputs[Outputs.DATA_URI]}"
        if keys
        else (
            f"nothing under {outputs[Outputs.DATA_URI]}: run scripts/make_training_data.py and "
            f"aws s3 sync <out>/train {outputs[Outputs.DATA_URI]}train/"
        ),
    )


def artifact_check(s3: Any, outputs: Mapping[str, str], job_prefix: str) -> smoke.Check:
    """The newest smoke job left a model.tar.gz under the output prefix."""
    prefix = outputs[Outputs.OUTPUT_URI].removeprefix(f"s3://{outputs[Outputs.BUCKET_NAME]}/")
    paginator = s3.get_paginator("list_objects_v2")
    artifacts = [
        item
        for page in paginator.paginate(
            Bucket=outputs[Outputs.BUCKET_NAME], Prefix=prefix + job_prefix
        )
        for item in page.get("Contents", [])
        if item["Key"].endswith("/output/model.tar.gz")
    ]
    if not artifacts:
        return smoke.Check("model artifact", False, f"no model.tar.gz under {prefix}{job_prefix}")
    newest = max(artifacts, key=lambda item: item["LastModified"])
    return smoke.Check(
        "model artifact", True, f"s3://{outputs[Outputs.BUCKET_NAME]}/{newest['Key']}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--train", action="store_true", help="also run a short spot training job from FSx"
    )


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would check stack {args.stack_name}: the Lustre file system is AVAILABLE, "
        "its data repository association links /data to the DataUri output, and DataUri "
        "holds objects"
        + (
            "; then run ml_refarch.stacks.fsx_training.train --wait and look for model.tar.gz"
            if args.train
            else ""
        )
    )


def run(run: Run) -> list[smoke.Check]:
    """The checks; the hook ``run_training`` (default: the train command's ``main``) is for
    tests."""
    run_training = run.hooks.get("run_training", train.main)
    log = run.log
    args, outputs = run.args, run.outputs
    fsx, s3 = run.client("fsx"), run.client("s3")
    log(f"stack {args.stack_name}: file system {outputs[Outputs.FILE_SYSTEM_ID]}")
    checks = file_system_checks(fsx, outputs)
    checks.append(data_check(s3, outputs))
    if args.train and all(check.passed for check in checks):
        train_args = [
            "--stack",
            args.stack_name,
            "--job-name-prefix",
            SMOKE_JOB_PREFIX,
            "--epochs",
            SMOKE_EPOCHS,
            "--wait",
        ]
        if args.region:
            train_args += ["--region", args.region]
        log(f"starting a training job: python -m {train.__name__} {' '.join(train_args)}")
        code = run_training(train_args)
        checks.append(smoke.Check("training job completed", code == 0, f"exit code {code}"))
        if code == 0:
            checks.append(artifact_check(s3, outputs, SMOKE_JOB_PREFIX))
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.FILE_SYSTEM_ID,
        Outputs.BUCKET_NAME,
        Outputs.DATA_URI,
        Outputs.OUTPUT_URI,
    ),
    clients=("fsx", "s3"),
)
