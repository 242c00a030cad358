"""Smoke test of a deployed ``MlRefArch-FsxTraining`` stack.

Checks that the Lustre file system and its data repository association are available and
linked to the training bucket's ``data/`` prefix, and that the prefix holds training data.
With ``--train`` it then starts a short managed-spot training job from the FSx channel
through ``python -m ml_refarch.train``, waits for it, and checks the model artifact.

Exit codes: 0 every check passed, 1 a check failed, 2 setup error (stack or outputs
missing, no credentials). ``--dry-run`` prints the checks without AWS.

Usage::

    python scripts/smoke_fsx_training.py [--stack MlRefArch-FsxTraining] [--train]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

# The script runs as a file and the package is not installed: import it from this checkout.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from ml_refarch import smoke  # noqa: E402
from ml_refarch.stacks.fsx_training import train  # noqa: E402

DEFAULT_STACK_NAME = "MlRefArch-FsxTraining"
REQUIRED_OUTPUTS = ("FileSystemId", "BucketName", "DataUri", "OutputUri")
SMOKE_JOB_PREFIX = "smoke"
SMOKE_EPOCHS = "3"


def file_system_checks(fsx: Any, outputs: Mapping[str, str]) -> list[smoke.Check]:
    """The file system is available Lustre, and a data repository links /data to data/."""
    file_system_id = outputs["FileSystemId"]
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
        and a.get("DataRepositoryPath", "").rstrip("/") == outputs["DataUri"].rstrip("/")
    ]
    checks.append(
        smoke.Check(
            "data repository association",
            bool(linked) and linked[0].get("Lifecycle") == "AVAILABLE",
            (
                f"/data <- {outputs['DataUri']} is {linked[0].get('Lifecycle')}"
                if linked
                else f"no association of /data with {outputs['DataUri']}"
            ),
        )
    )
    return checks


def data_check(s3: Any, outputs: Mapping[str, str]) -> smoke.Check:
    prefix = outputs["DataUri"].removeprefix(f"s3://{outputs['BucketName']}/")
    listing = s3.list_objects_v2(Bucket=outputs["BucketName"], Prefix=prefix, MaxKeys=10)
    keys = [item["Key"] for item in listing.get("Contents", [])]
    return smoke.Check(
        "training data present",
        bool(keys),
        f"{len(keys)}+ object(s) under {outputs['DataUri']}"
        if keys
        else (
            f"nothing under {outputs['DataUri']}: run scripts/make_training_data.py and "
            f"aws s3 sync <out>/train {outputs['DataUri']}train/"
        ),
    )


def artifact_check(s3: Any, outputs: Mapping[str, str], job_prefix: str) -> smoke.Check:
    """The newest smoke job left a model.tar.gz under the output prefix."""
    prefix = outputs["OutputUri"].removeprefix(f"s3://{outputs['BucketName']}/")
    paginator = s3.get_paginator("list_objects_v2")
    artifacts = [
        item
        for page in paginator.paginate(Bucket=outputs["BucketName"], Prefix=prefix + job_prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith("/output/model.tar.gz")
    ]
    if not artifacts:
        return smoke.Check("model artifact", False, f"no model.tar.gz under {prefix}{job_prefix}")
    newest = max(artifacts, key=lambda item: item["LastModified"])
    return smoke.Check("model artifact", True, f"s3://{outputs['BucketName']}/{newest['Key']}")


def parse_args(argv: Sequence[str] | None):
    parser = smoke.base_parser(__doc__.split("\n\n")[0], DEFAULT_STACK_NAME)
    parser.add_argument(
        "--train", action="store_true", help="also run a short spot training job from FSx"
    )
    return parser.parse_args(argv)


def _run(args, session: Any, run_training: Callable[[list[str]], int]) -> int:
    log = smoke.make_log()
    outputs, (fsx, s3) = smoke.connect(
        lambda: session or boto3.Session(region_name=args.region),
        args.stack,
        REQUIRED_OUTPUTS,
        "fsx",
        "s3",
    )
    log(f"stack {args.stack}: file system {outputs['FileSystemId']}")
    checks = file_system_checks(fsx, outputs)
    checks.append(data_check(s3, outputs))
    if args.train and all(check.passed for check in checks):
        train_args = [
            "--stack",
            args.stack,
            "--job-name-prefix",
            SMOKE_JOB_PREFIX,
            "--epochs",
            SMOKE_EPOCHS,
            "--wait",
        ]
        if args.region:
            train_args += ["--region", args.region]
        log(f"starting a training job: python -m ml_refarch.train {' '.join(train_args)}")
        code = run_training(train_args)
        checks.append(smoke.Check("training job completed", code == 0, f"exit code {code}"))
        if code == 0:
            checks.append(artifact_check(s3, outputs, SMOKE_JOB_PREFIX))
    return smoke.report(checks, log=print)


def main(
    argv: Sequence[str] | None = None,
    *,
    session: Any = None,
    run_training: Callable[[list[str]], int] = train.main,
) -> int:
    """Runs the smoke test; ``session`` and ``run_training`` are injectable for tests."""
    args = parse_args(argv)
    if args.dry_run:
        print(
            f"dry run: would check stack {args.stack}: the Lustre file system is AVAILABLE, "
            "its data repository association links /data to the DataUri output, and DataUri "
            "holds objects"
            + ("; then run ml_refarch.train --wait and look for model.tar.gz" if args.train else "")
        )
        return 0
    return smoke.run_guarded(lambda: _run(args, session, run_training))


if __name__ == "__main__":
    sys.exit(main())
