"""Smoke test of a deployed ``MlRefArch-MlWorkflow`` stack, and its teardown.

Starts the workflow (``--mode train`` or ``--mode tune``), follows the execution until it
ends, then waits for the endpoint it deployed and sends it one CSV row. The data must be in
the bucket first (``DataUri`` output: ``train/`` and ``validation/``, as written by
``scripts/make_training_data.py``).

The endpoint, its configurations and models are created by the workflow, not by the
stack, so ``cdk destroy`` does not remove them: run ``--teardown`` first. It deletes the
endpoint and every model and endpoint configuration tagged with this pattern.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python scripts/smoke_ml_workflow.py [--mode train|tune]
    python scripts/smoke_ml_workflow.py --teardown
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

# The script runs as a file and the package is not installed: import it from this checkout.
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from ml_refarch import smoke  # noqa: E402

DEFAULT_STACK_NAME = "MlRefArch-MlWorkflow"
PATTERN_TAG = ("ml-refarch:pattern", "ml-workflow")
REQUIRED_OUTPUTS = ("StateMachineArn", "EndpointName", "BucketName", "DataUri")
#: One row of the tiny dataset's features (eight numbers), as the endpoint expects CSV.
SAMPLE_ROW = "0.5,-1.2,0.3,0.8,-0.4,1.1,0.0,-0.7"


def follow_execution(sfn: Any, execution_arn: str, deadline: smoke.Deadline, poll_seconds, log):
    """Poll until the execution ends; returns (status, output or error text)."""
    description = smoke.follow_execution(sfn, execution_arn, deadline, poll_seconds, log)
    status = description["status"]
    if status in smoke.FINAL_EXECUTION_STATUSES:
        return status, description.get("output") or description.get("cause") or ""
    return "TIMEOUT", f"still {status} after the timeout"


def endpoint_checks(
    sagemaker: Any, runtime: Any, name: str, deadline: smoke.Deadline, poll_seconds, log
) -> list[smoke.Check]:
    while True:
        status = sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"]
        if status not in ("Creating", "Updating", "SystemUpdating") or deadline.expired:
            break
        log(f"endpoint {name} is {status}")
        deadline.wait(poll_seconds)
    checks = [smoke.Check("endpoint in service", status == "InService", f"{name} is {status}")]
    if status == "InService":
        response = runtime.invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Body=SAMPLE_ROW.encode()
        )
        body = response["Body"].read().decode().strip()
        prediction = body.strip("[]").split(",")[0].strip()
        checks.append(
            smoke.Check(
                "endpoint predicts a class",
                prediction in ("0", "1", "0.0", "1.0"),
                f"{SAMPLE_ROW} -> {body}",
            )
        )
    return checks


def teardown(sagemaker: Any, outputs: Mapping[str, str], log) -> int:
    """Delete the endpoint and the pattern's models and endpoint configurations."""
    name = outputs["EndpointName"]
    try:
        sagemaker.delete_endpoint(EndpointName=name)
        log(f"deleted endpoint {name}")
    except sagemaker.exceptions.ClientError as error:
        log(f"endpoint {name}: {smoke.aws_error_message(error)}")
    deleted = 0
    for kind, lister, key, deleter, arn_key in (
        ("endpoint config", "list_endpoint_configs", "EndpointConfigs", "delete_endpoint_config",
         "EndpointConfigArn"),
        ("model", "list_models", "Models", "delete_model", "ModelArn"),
    ):  # fmt: skip
        for page in sagemaker.get_paginator(lister).paginate():
            for item in page[key]:
                tags = sagemaker.list_tags(ResourceArn=item[arn_key])["Tags"]
                if {"Key": PATTERN_TAG[0], "Value": PATTERN_TAG[1]} not in tags:
                    continue
                name_key = "EndpointConfigName" if kind == "endpoint config" else "ModelName"
                getattr(sagemaker, deleter)(**{name_key: item[name_key]})
                log(f"deleted {kind} {item[name_key]}")
                deleted += 1
    print(f"teardown: removed the endpoint and {deleted} model(s)/configuration(s)")
    return 0


def parse_args(argv: Sequence[str] | None):
    parser = smoke.base_parser(__doc__.split("\n\n")[0], DEFAULT_STACK_NAME)
    parser.set_defaults(timeout_seconds=7200.0)
    parser.add_argument("--mode", choices=("train", "tune"), default="train")
    parser.add_argument(
        "--teardown", action="store_true", help="delete what the workflow deployed, and exit"
    )
    return parser.parse_args(argv)


def _run(args, session: Any, sleep) -> int:
    log = smoke.make_log()
    outputs, (sfn, sagemaker, runtime) = smoke.connect(
        lambda: session or boto3.Session(region_name=args.region),
        args.stack,
        REQUIRED_OUTPUTS,
        "stepfunctions",
        "sagemaker",
        "sagemaker-runtime",
    )
    if args.teardown:
        return teardown(sagemaker, outputs, log)
    deadline = smoke.Deadline(args.timeout_seconds, sleep=sleep)
    execution = sfn.start_execution(
        stateMachineArn=outputs["StateMachineArn"], input=json.dumps({"mode": args.mode})
    )
    log(f"started {execution['executionArn']} ({args.mode})")
    status, detail = follow_execution(
        sfn, execution["executionArn"], deadline, args.poll_seconds, log
    )
    checks = [smoke.Check("workflow succeeded", status == "SUCCEEDED", f"{status}: {detail}")]
    if status == "SUCCEEDED":
        checks += endpoint_checks(
            sagemaker, runtime, outputs["EndpointName"], deadline, args.poll_seconds, log
        )
    return smoke.report(checks, log=print)


def main(argv: Sequence[str] | None = None, *, session: Any = None, sleep=None) -> int:
    """Runs the smoke test or the teardown; ``session`` and ``sleep`` are for tests."""
    args = parse_args(argv)
    if args.dry_run:
        action = (
            "delete the endpoint and the pattern's models and endpoint configurations"
            if args.teardown
            else f"start the workflow with {{'mode': '{args.mode}'}}, follow it, wait for the "
            "endpoint and invoke it with one CSV row"
        )
        print(f"dry run: would read stack {args.stack} and {action}")
        return 0
    return smoke.run_guarded(lambda: _run(args, session, sleep or time.sleep))


if __name__ == "__main__":
    sys.exit(main())
