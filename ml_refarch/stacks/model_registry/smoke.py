"""Smoke test of a deployed ``MlRefArch-ModelRegistry`` stack: describe, approve, recommend.

Describes the registered version (it belongs to the stack's group, is ``Completed`` and
carries its model quality metrics, domain and task), approves it, and follows the
workflow run the approval rule starts; when the version was approved already (no state
change, so no event), it starts the workflow itself. The run's result is read from the
results bucket and summarised (:mod:`.summary`): the job completed with at least one
recommendation. ``--job-type advanced`` starts an advanced job directly; ``--read-latest``
only reads and summarises the newest saved result. A default job takes up to 45 minutes and
an advanced one about 2 hours, so the default timeout is three hours.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke model-registry [--job-type advanced] [--read-latest] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.model_registry.outputs import Outputs
from ml_refarch.stacks.model_registry.summary import ResultError, format_summary, summarise

APPROVED = "Approved"
#: How long to wait for the run the approval rule starts before calling the rule broken.
APPROVAL_START_SECONDS = 300.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--job-type", choices=("default", "advanced"), default="default")
    parser.add_argument(
        "--read-latest", action="store_true", help="only summarise the newest saved result"
    )


def plan(args: argparse.Namespace) -> str:
    if args.read_latest:
        action = "read the newest result under recommendations/ and summarise it"
    elif args.job_type == "advanced":
        action = "describe the registered version, start an advanced job, follow it, summarise"
    else:
        action = (
            "describe the registered version, approve it, follow the run the approval "
            "starts (a default job), read and summarise its result"
        )
    return f"dry run: would read stack {args.stack_name}, {action}"


def package_checks(description: Mapping[str, Any], group: str) -> list[smoke.Check]:
    """The version belongs to the group, is complete, carries metrics, domain and task."""
    statistics = (
        (description.get("ModelMetrics") or {}).get("ModelQuality", {}).get("Statistics", {})
    )
    return [
        smoke.equals_check(
            "version belongs to the group", "group", description.get("ModelPackageGroupName"), group
        ),
        smoke.equals_check(
            "version is complete", "status", description.get("ModelPackageStatus"), "Completed"
        ),
        smoke.Check(
            "version carries model quality metrics",
            str(statistics.get("S3Uri", "")).startswith("s3://"),
            str(statistics.get("S3Uri") or "no ModelQuality statistics"),
        ),
        smoke.Check(
            "version names its domain and task (Inference Recommender needs them)",
            bool(description.get("Domain")) and bool(description.get("Task")),
            f"{description.get('Domain')} / {description.get('Task')}",
        ),
    ]


def newest_result(s3: Any, bucket: str, prefix: str = "recommendations/") -> str | None:
    """The key of the newest object under ``prefix``, or ``None``."""
    newest = None
    for page in s3.get_paginator(operation_name="list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix
    ):
        for item in page.get("Contents", []):
            if newest is None or item["LastModified"] > newest["LastModified"]:
                newest = item
    return newest["Key"] if newest else None


def result_checks(s3: Any, bucket: str, key: str, log) -> list[smoke.Check]:
    """Read a saved result and summarise it: the job completed with recommendations."""
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    try:
        summary = summarise(json.loads(text))
    except (ValueError, ResultError) as error:
        return [smoke.Check("result is a job description", False, f"{key}: {error}")]
    log(format_summary(summary))
    found = len(summary.options) + len(summary.endpoint_performances)
    return [
        smoke.equals_check("job completed", "status", summary.status, "COMPLETED"),
        smoke.Check("job made recommendations", found > 0, f"{found} in {key}"),
    ]


def _started_by_approval(run: Run, sfn: Any, machine: str, package_arn: str) -> str | None:
    """The execution the approval rule started for ``package_arn``, or ``None``."""
    waited = smoke.Deadline(min(APPROVAL_START_SECONDS, run.args.timeout_seconds), sleep=run.sleep)
    log = run.log
    while True:
        for execution in sfn.list_executions(stateMachineArn=machine, maxResults=20)["executions"]:
            started = sfn.describe_execution(executionArn=execution["executionArn"])
            body = json.loads(started.get("input") or "{}")
            if body.get("startedBy") == "approval" and body.get("modelPackageArn") == package_arn:
                log(f"the approval started {execution['executionArn']}")
                return execution["executionArn"]
        if waited.expired:
            return None
        waited.wait(run.args.poll_seconds)


def _follow(run: Run, sfn: Any, execution_arn: str) -> tuple[list[smoke.Check], dict]:
    description = smoke.follow_execution(
        sfn, execution_arn, run.deadline(), run.args.poll_seconds, run.log
    )
    status = description["status"]
    if status not in smoke.FINAL_EXECUTION_STATUSES:
        status = "TIMEOUT"
    detail = description.get("cause") or description.get("error") or ""
    output = json.loads(description.get("output") or "{}") if status == "SUCCEEDED" else {}
    return [smoke.Check("workflow succeeded", status == "SUCCEEDED", f"{status} {detail}")], output


def run(run: Run) -> list[smoke.Check]:
    args, outputs, log = run.args, run.outputs, run.log
    s3 = run.client("s3")
    bucket = outputs[Outputs.RESULTS_BUCKET_NAME]
    if args.read_latest:
        key = newest_result(s3, bucket)
        if key is None:
            return [smoke.Check("a saved result exists", False, f"nothing in s3://{bucket}")]
        return result_checks(s3, bucket, key, log)
    sagemaker, sfn = run.client("sagemaker"), run.client("stepfunctions")
    package_arn, machine = outputs[Outputs.MODEL_PACKAGE_ARN], outputs[Outputs.STATE_MACHINE_ARN]
    description = sagemaker.describe_model_package(ModelPackageName=package_arn)
    checks = package_checks(description, outputs[Outputs.MODEL_PACKAGE_GROUP_NAME])
    execution_arn = None
    if args.job_type == "default" and description.get("ModelApprovalStatus") != APPROVED:
        sagemaker.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus=APPROVED)
        log(f"approved {package_arn}")
        execution_arn = _started_by_approval(run, sfn, machine, package_arn)
        checks.append(
            smoke.Check(
                "the approval started the workflow",
                execution_arn is not None,
                execution_arn or f"no run within {APPROVAL_START_SECONDS:.0f} s",
            )
        )
        if execution_arn is None:
            return checks
    if execution_arn is None:
        job_type = "Advanced" if args.job_type == "advanced" else "Default"
        started = sfn.start_execution(
            stateMachineArn=machine,
            input=json.dumps(
                {"modelPackageArn": package_arn, "jobType": job_type, "startedBy": "smoke"}
            ),
        )
        execution_arn = started["executionArn"]
        log(f"started {execution_arn} ({job_type} job)")
    followed, output = _follow(run, sfn, execution_arn)
    checks += followed
    if output.get("key"):
        checks += result_checks(s3, output.get("bucket", bucket), output["key"], log)
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.MODEL_PACKAGE_GROUP_NAME,
        Outputs.MODEL_PACKAGE_ARN,
        Outputs.STATE_MACHINE_ARN,
        Outputs.RESULTS_BUCKET_NAME,
    ),
    clients=("sagemaker", "stepfunctions", "s3"),
    timeout_seconds=3 * 3600.0,
    poll_seconds=60.0,
)
