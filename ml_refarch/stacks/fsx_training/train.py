"""Start a SageMaker training job on a deployed fsx-training stack.

Run as ``python -m ml_refarch.stacks.fsx_training.train``. Notes sections "Sagemaker"
(managed spot training, checkpoints so an interrupted job resumes), "Data input" (File mode
from FSx for Lustre), "Security" (KMS for the volume and the output, a VPC, network
isolation, inter-node encryption for more than one instance) and "Automatic model tuning"
(the metrics the job reports).

The command reads the outputs of the ``MlRefArch-FsxTraining`` stack (or ``--outputs-json``),
builds a :class:`ml_refarch.training.TrainingJobSpec` (the FSx channel, spot with the
checkpoint prefix ``CheckpointUri<job name>/``, network isolation, the stack's key and VPC)
and sends the CreateTrainingJob request that :func:`ml_refarch.training.training_job_request`
returns. ``--wait`` follows the job until it ends.

``--dry-run`` prints the request as JSON and makes no AWS call: outputs come from
``--outputs-json FILE`` (a JSON object of outputs, or ``cdk deploy --outputs-file`` output)
or, without it, from placeholders that are clearly fake.

Exit codes: 0 job started (with ``--wait``: completed) or dry run printed; 1 an AWS call
failed, or the job failed, stopped or outlived ``--timeout-seconds``; 2 invalid
specification or setup error (stack, outputs, region, credentials).

Usage::

    python -m ml_refarch.stacks.fsx_training.train --dry-run
    python -m ml_refarch.stacks.fsx_training.train --region eu-west-1 --epochs 20 --wait
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from ml_refarch.smoke.core import (
    Deadline,
    Log,
    SetupError,
    SmokeFailure,
    aws_error_message,
    make_clients,
    make_log,
    non_negative_float,
    require,
    run_guarded,
    split_ids,
    stack_outputs,
    whole_number,
)
from ml_refarch.stacks.fsx_training import PATTERN
from ml_refarch.training import (
    SOURCE_NAME,
    FsxInput,
    S3Input,
    TrainingJobSpec,
    TrainingSpecError,
    job_name,
    source_tarball,
    training_job_request,
)

DEFAULT_STACK_NAME = PATTERN.stack_name
PATTERN_ID = PATTERN.id
#: The outputs the request is built from (MountName and BucketName are not needed).
REQUIRED_OUTPUTS = (
    "FileSystemId",
    "DirectoryPath",
    "SubnetIds",
    "SecurityGroupId",
    "TrainingRoleArn",
    "KeyArn",
    "CheckpointUri",
    "OutputUri",
    "CodeUri",
    "ImageUri",
)
#: Dry-run outputs when no ``--outputs-json`` is given: zeroed ids, account 000000000000.
PLACEHOLDER_OUTPUTS: Mapping[str, str] = {
    "FileSystemId": "fs-00000000000000000",
    "MountName": "placeholder",
    "DirectoryPath": "/placeholder/data",
    "SubnetIds": "subnet-00000000000000000",
    "SecurityGroupId": "sg-00000000000000000",
    "TrainingRoleArn": "arn:aws:iam::000000000000:role/placeholder-training-role",
    "BucketName": "placeholder-bucket",
    "KeyArn": "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000",
    "CheckpointUri": "s3://placeholder-bucket/checkpoints/",
    "OutputUri": "s3://placeholder-bucket/output/",
    "CodeUri": "s3://placeholder-bucket/code/",
    "ImageUri": "000000000000.dkr.ecr.us-east-1.amazonaws.com/placeholder-training-image:latest",
}
TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
#: Without --timeout-seconds, --wait allows the job's own limit plus this much for starting
#: instances, downloading the image and uploading the artifacts.
WAIT_SLACK_SECONDS = 3600

SessionFactory = Callable[[str | None], Any]


def default_session(region: str | None) -> boto3.session.Session:
    return boto3.session.Session(region_name=region)


# --- arguments ----------------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ml_refarch.stacks.fsx_training.train",
        description="Start a SageMaker training job that reads from the stack's FSx for Lustre.",
    )
    parser.add_argument("--stack", default=DEFAULT_STACK_NAME, help="CloudFormation stack name")
    parser.add_argument("--region", help="AWS region (default: from the environment/profile)")
    parser.add_argument(
        "--outputs-json",
        metavar="FILE",
        type=Path,
        help="read the stack outputs from this JSON file instead of CloudFormation",
    )
    parser.add_argument("--instance-type", default="ml.m5.large")
    # Counts and limits are plain integers: the specification's validation reports bad values
    # together with every other problem.
    parser.add_argument("--instance-count", type=int, default=1)
    parser.add_argument("--max-runtime-seconds", type=int, default=3600)
    parser.add_argument(
        "--max-wait-seconds",
        type=int,
        help="spot capacity wait plus training time (default: twice --max-runtime-seconds)",
    )
    parser.add_argument(
        "--no-spot", action="store_true", help="on-demand instead of managed spot training"
    )
    parser.add_argument("--epochs", type=whole_number(1), default=10)
    parser.add_argument(
        "--learning-rate",
        type=_positive_float,
        default=0.01,
        help="SGD step size (the training script's default)",
    )
    parser.add_argument("--job-name-prefix", default="mlrefarch-fsx")
    parser.add_argument(
        "--wait", action="store_true", help="follow the job; exit 0 only if it completes"
    )
    parser.add_argument(
        "--poll-seconds", type=non_negative_float, default=30.0, help="seconds between polls"
    )
    parser.add_argument(
        "--timeout-seconds",
        type=non_negative_float,
        help=f"how long --wait follows the job (default: its limit + {WAIT_SLACK_SECONDS} s)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the request as JSON, without AWS calls"
    )
    return parser.parse_args(argv)


# --- outputs and specification ------------------------------------------------------------------


def read_outputs_file(path: Path, stack_name: str) -> dict[str, str]:
    """Outputs from ``{"Key": "value"}`` or ``cdk deploy --outputs-file``'s ``{stack: {...}}``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SetupError(f"cannot read outputs file {str(path)!r}: {error}") from None
    if isinstance(data, dict) and isinstance(data.get(stack_name), dict):
        data = data[stack_name]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise SetupError(
            f"outputs file {str(path)!r} must hold a JSON object of output names to strings"
        )
    return data


def _checked_outputs(outputs: Mapping[str, str]) -> Mapping[str, str]:
    require(outputs, *REQUIRED_OUTPUTS)
    mount_name, path = outputs.get("MountName"), outputs["DirectoryPath"]
    # SageMaker addresses a Lustre directory by its path under the mount name.
    if mount_name and not (path == f"/{mount_name}" or path.startswith(f"/{mount_name}/")):
        raise SetupError(f"DirectoryPath {path!r} does not start with /{mount_name}")
    return outputs


def checkpoint_uri(prefix: str, name: str) -> str:
    """``s3://bucket/checkpoints/`` + ``job`` -> ``s3://bucket/checkpoints/job/``."""
    return f"{prefix.rstrip('/')}/{name}/"


def code_uri(prefix: str, name: str) -> str:
    """Where the job's ``sourcedir.tar.gz`` goes: one object per job, next to nothing else."""
    return f"{prefix.rstrip('/')}/{name}/{SOURCE_NAME}"


def upload_code(session: Any, uri: str, key_arn: str, log: Log) -> None:
    """Put the training code where the job's ``code`` channel reads it, under the stack key."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    session.client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=source_tarball(),
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key_arn,
    )
    log(f"uploaded the training code to {uri}")


def build_spec(outputs: Mapping[str, str], args: argparse.Namespace, name: str) -> TrainingJobSpec:
    """The job the arguments describe, on the resources the stack outputs name."""
    use_spot = not args.no_spot
    max_wait_seconds = args.max_wait_seconds
    if max_wait_seconds is None and use_spot:
        max_wait_seconds = 2 * args.max_runtime_seconds
    return TrainingJobSpec(
        role_arn=outputs["TrainingRoleArn"],
        image_uri=outputs["ImageUri"],
        output_s3_uri=outputs["OutputUri"],
        kms_key_id=outputs["KeyArn"],
        train_input=FsxInput(outputs["FileSystemId"], outputs["DirectoryPath"]),
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        max_runtime_seconds=args.max_runtime_seconds,
        use_spot=use_spot,
        max_wait_seconds=max_wait_seconds,
        # One prefix per job, so a resumed job finds only its own checkpoints.
        checkpoint_s3_uri=checkpoint_uri(outputs["CheckpointUri"], name),
        subnet_ids=tuple(split_ids(outputs["SubnetIds"])),
        security_group_ids=(outputs["SecurityGroupId"],),
        network_isolation=True,
        hyperparameters={"epochs": str(args.epochs), "learning_rate": str(args.learning_rate)},
        tags={"ml-refarch:pattern": PATTERN_ID},
        code_input=S3Input(code_uri(outputs["CodeUri"], name)),
    )


# --- starting and following the job -------------------------------------------------------------


def start_training_job(session: Any, request: Mapping[str, Any], log: Log) -> Any:
    """Sends ``request`` unchanged with the SageMaker Python SDK; returns its TrainingJob.

    ``sagemaker.core.resources.TrainingJob.create`` (the SDK v3 resource layer) takes the
    CreateTrainingJob fields one by one and sends them as given. The SDK's higher-level
    ``ModelTrainer`` builds a request of its own (its job name, SDK code channels, paths in
    a default bucket it may create), so it cannot send this exact request.

    ``TrainingJob.create`` may fill fields left unset from a SageMaker defaults file; a hook
    on the session compares the parameters actually sent with ``request`` and refuses to
    start a job from anything else.
    """
    from sagemaker.core.resources import TrainingJob
    from sagemaker.core.utils.code_injection.codec import transform

    name = request["TrainingJobName"]
    started: dict[str, str] = {}

    def require_exact_request(params: dict[str, Any], **_: Any) -> None:
        if params != request:
            differing = sorted(
                key for key in set(params) | set(request) if params.get(key) != request.get(key)
            )
            raise SetupError(
                "the SageMaker SDK would send a different CreateTrainingJob request "
                f"(fields {', '.join(differing)}; a SageMaker defaults file?); job not started"
            )

    def record_start(parsed: dict[str, Any], **_: Any) -> None:
        if "TrainingJobArn" in parsed:
            started["arn"] = parsed["TrainingJobArn"]

    events = session.events
    events.register("provide-client-params.sagemaker.CreateTrainingJob", require_exact_request)
    events.register("after-call.sagemaker.CreateTrainingJob", record_start)
    try:
        job = TrainingJob.create(
            **transform(dict(request), "CreateTrainingJobRequest"),
            session=session,
            region=session.region_name,
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        if "arn" not in started:
            raise
        # The job exists; only describing it afterwards failed.
        raise SmokeFailure(
            f"started training job {name} ({started['arn']}) but cannot describe it: "
            + " ".join(aws_error_message(error).split())
        ) from None
    except ValueError as error:  # the SDK's own (pydantic) validation of the fields
        first_line = str(error).strip().splitlines()[0]
        raise SetupError(f"the SageMaker SDK refused the request: {first_line}") from None
    log(f"started training job {name} ({started.get('arn', 'no ARN returned')})")
    return job


@dataclass(frozen=True)
class JobStatus:
    """What DescribeTrainingJob says about a job, empty strings for what it leaves out."""

    status: str
    secondary_status: str = ""
    status_message: str = ""
    failure_reason: str = ""
    model_artifacts: str = ""


def _text(value: Any) -> str:
    # The SDK marks fields a response leaves out with an Unassigned object.
    return value if isinstance(value, str) else ""


def job_status(job: Any) -> JobStatus:
    """The status of an SDK TrainingJob resource, as last described."""
    secondary = _text(getattr(job, "secondary_status", None))
    transitions = getattr(job, "secondary_status_transitions", None)
    message = ""
    if isinstance(transitions, list):
        for transition in transitions:
            if _text(getattr(transition, "status", None)) == secondary:
                message = _text(getattr(transition, "status_message", None))
    artifacts = _text(getattr(getattr(job, "model_artifacts", None), "s3_model_artifacts", None))
    return JobStatus(
        status=_text(getattr(job, "training_job_status", None)),
        secondary_status=secondary,
        status_message=message,
        failure_reason=_text(getattr(job, "failure_reason", None)),
        model_artifacts=artifacts,
    )


def wait_for_job(
    describe: Callable[[], JobStatus], *, deadline: Deadline, poll_seconds: float, log: Log
) -> int:
    """Polls until the job ends, logging each change; 0 if it completed, else 1."""
    last: tuple[str, str] | None = None
    while True:
        current = describe()
        if (current.status, current.secondary_status) != last:
            last = (current.status, current.secondary_status)
            detail = f" - {current.status_message}" if current.status_message else ""
            log(f"status {current.status} / {current.secondary_status or '-'}{detail}")
        if current.status in TERMINAL_STATUSES:
            break
        if deadline.expired:
            log(
                f"FAIL: still {current.status} after {deadline.elapsed_seconds:.0f} s; the job "
                "keeps running (stop it in the console or with StopTrainingJob)"
            )
            return 1
        deadline.wait(poll_seconds)
    if current.status == "Completed":
        log(f"PASS: training job completed; model artifacts: {current.model_artifacts or '-'}")
        return 0
    reason = current.failure_reason or "no failure reason given"
    log(f"FAIL: training job {current.status.lower()}: {reason}")
    return 1


# --- command ------------------------------------------------------------------------------------


def _session(factory: SessionFactory, args: argparse.Namespace) -> Any:
    try:
        session = factory(args.region)
    except botocore.exceptions.BotoCoreError as error:
        raise SetupError(f"cannot create an AWS session: {error}") from None
    if not session.region_name:
        raise SetupError("no AWS region: pass --region or set AWS_REGION")
    return session


def _run(
    args: argparse.Namespace,
    *,
    session_factory: SessionFactory,
    now: datetime | None,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> int:
    name = job_name(args.job_name_prefix, now)
    if args.dry_run:
        if args.outputs_json is not None:
            outputs = read_outputs_file(args.outputs_json, args.stack)
        else:
            print(
                "dry run: no --outputs-json given, so the request uses PLACEHOLDER outputs "
                "(fake ids, account 000000000000), not the stack's",
                file=sys.stderr,
            )
            outputs = dict(PLACEHOLDER_OUTPUTS)
        spec = build_spec(_checked_outputs(outputs), args, name)
        request = training_job_request(spec, name)
        print(
            f"dry run: would upload the training code to {spec.code_input.s3_uri}", file=sys.stderr
        )
        print(json.dumps(request, indent=2))
        return 0

    session = _session(session_factory, args)
    if args.outputs_json is not None:
        outputs = read_outputs_file(args.outputs_json, args.stack)
    else:
        (cloudformation,) = make_clients(lambda: session, args.stack, "cloudformation")
        outputs = stack_outputs(cloudformation, args.stack)
    spec = build_spec(_checked_outputs(outputs), args, name)
    request = training_job_request(spec, name)
    log = make_log(clock)
    upload_code(session, spec.code_input.s3_uri, outputs["KeyArn"], log)
    job = start_training_job(session, request, log)
    log(f"checkpoints: {spec.checkpoint_s3_uri}; model artifacts under {spec.output_s3_uri}")
    if not args.wait:
        return 0
    timeout_seconds = args.timeout_seconds
    if timeout_seconds is None:
        timeout_seconds = (spec.max_wait_seconds or spec.max_runtime_seconds) + WAIT_SLACK_SECONDS

    # TrainingJob.create has just described the job, so the first poll needs no call.
    described = [False]

    def describe() -> JobStatus:
        if described[0]:
            job.refresh()
        described[0] = True
        return job_status(job)

    return wait_for_job(
        describe,
        deadline=Deadline(timeout_seconds, sleep=sleep, clock=clock),
        poll_seconds=args.poll_seconds,
        log=log,
    )


def main(
    argv: list[str] | None = None,
    *,
    session_factory: SessionFactory = default_session,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Runs the command; ``session_factory(region)``, ``now``, ``sleep`` and ``clock`` are
    replaceable so tests run without AWS and without waiting."""
    args = parse_args(argv)

    def body() -> int:
        try:
            return _run(args, session_factory=session_factory, now=now, sleep=sleep, clock=clock)
        except TrainingSpecError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            return 2
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            # AWS messages may span lines; the failure stays on one.
            message = " ".join(aws_error_message(error).split())
            print(f"FAIL: AWS call failed: {message}", flush=True)
            return 1

    return run_guarded(body)


if __name__ == "__main__":
    sys.exit(main())
