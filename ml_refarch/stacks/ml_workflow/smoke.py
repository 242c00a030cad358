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

    python -m ml_refarch smoke ml-workflow [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.ml_workflow.outputs import Outputs

PATTERN_TAG = ("ml-refarch:pattern", "ml-workflow")
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
    in_service, _ = endpoint_smoke.wait_in_service(sagemaker, name, deadline, poll_seconds, log)
    checks = [in_service]
    if in_service.passed:
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
    name = outputs[Outputs.ENDPOINT_NAME]
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=("train", "tune"), default="train")
    parser.add_argument(
        "--teardown", action="store_true", help="delete what the workflow deployed, and exit"
    )


def plan(args: argparse.Namespace) -> str:
    action = (
        "delete the endpoint and the pattern's models and endpoint configurations"
        if args.teardown
        else f"start the workflow with {{'mode': '{args.mode}'}}, follow it, wait for the "
        "endpoint and invoke it with one CSV row"
    )
    return f"dry run: would read stack {args.stack_name} and {action}"


def run(run: Run) -> int | list[smoke.Check]:
    log = run.log
    args, outputs = run.args, run.outputs
    sfn, sagemaker, runtime = (
        run.client(name) for name in ("stepfunctions", "sagemaker", "sagemaker-runtime")
    )
    if args.teardown:
        return teardown(sagemaker, outputs, log)
    deadline = run.deadline()
    execution = sfn.start_execution(
        stateMachineArn=outputs[Outputs.STATE_MACHINE_ARN], input=json.dumps({"mode": args.mode})
    )
    log(f"started {execution['executionArn']} ({args.mode})")
    status, detail = follow_execution(
        sfn, execution["executionArn"], deadline, args.poll_seconds, log
    )
    checks = [smoke.Check("workflow succeeded", status == "SUCCEEDED", f"{status}: {detail}")]
    if status == "SUCCEEDED":
        checks += endpoint_checks(
            sagemaker, runtime, outputs[Outputs.ENDPOINT_NAME], deadline, args.poll_seconds, log
        )
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.STATE_MACHINE_ARN,
        Outputs.ENDPOINT_NAME,
        Outputs.BUCKET_NAME,
        Outputs.DATA_URI,
    ),
    clients=("stepfunctions", "sagemaker", "sagemaker-runtime"),
    timeout_seconds=7200.0,
)
