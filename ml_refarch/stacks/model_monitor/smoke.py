"""Smoke test of a deployed ``MlRefArch-ModelMonitor`` stack.

1. Sends the committed sample rows (``ml_refarch.model_artifacts.sample_csv()``) to the
   endpoint and compares its scores with the manifest's for ``churn-v1``.
2. Waits for the capture files of that request under the ``CaptureUri`` output
   (SageMaker writes them within minutes, per endpoint, variant and hour) and checks one
   holds the sample rows and the scores.
3. Checks the baseline the schedule compares with is in place (run
   ``python -m ml_refarch.stacks.model_monitor.baseline`` first).
4. Describes the monitoring schedule: it must be ``Scheduled``, and its last execution,
   if any, must not have failed (the status is reported either way; the first run starts
   at the next scheduled hour).

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke model-monitor [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ml_refarch import model_artifacts
from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.model_monitor.outputs import Outputs

MODEL_NAME = model_artifacts.DEFAULT_MODEL
#: Execution statuses of a monitoring run that mean it ran, or is about to.
HEALTHY_EXECUTION_STATUSES = ("Pending", "InProgress", "Completed", "CompletedWithViolations")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); raises SetupError for anything else."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise smoke.SetupError(f"expected an s3://bucket/key URI, got {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def capture_prefix(outputs: Mapping[str, str]) -> tuple[str, str]:
    """(bucket, prefix) where SageMaker writes this endpoint variant's captures."""
    bucket, key = split_s3_uri(outputs[Outputs.CAPTURE_URI])
    return (
        bucket,
        f"{key.rstrip('/')}/{outputs[Outputs.ENDPOINT_NAME]}/{outputs[Outputs.VARIANT_NAME]}/",
    )


# --- 1. invoke ---------------------------------------------------------------------------------


def invoke_check(runtime: Any, endpoint_name: str) -> tuple[smoke.Check, str]:
    """Send the sample rows; (the check of the scores, the response body)."""
    manifest = model_artifacts.load_manifest()
    body = model_artifacts.sample_csv(manifest)
    _, answer = endpoint_smoke.invoke_csv(runtime, endpoint_name, body)
    expected = manifest["samples"]["scores"][MODEL_NAME]
    name = "endpoint scores the sample rows"
    return endpoint_smoke.scores_check(name, expected, answer, model=MODEL_NAME), answer


# --- 2. captures -------------------------------------------------------------------------------


def _capture_text(part: Mapping[str, Any]) -> str:
    data = part.get("data", "")
    if part.get("encoding") == "BASE64":
        return base64.b64decode(data).decode(errors="replace")
    return data


def captured_records(text: str) -> list[dict[str, Any]]:
    """The records of a capture file (JSON Lines); lines that are not JSON are skipped."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("captureData"), dict):
            records.append(record)
    return records


def record_matches(record: Mapping[str, Any], sent: str, answer: str) -> bool:
    """Whether a captured record holds the rows sent and the scores returned."""
    data = record["captureData"]
    captured_input = _capture_text(data.get("endpointInput") or {})
    captured_output = _capture_text(data.get("endpointOutput") or {})
    try:
        same_scores = model_artifacts.scores_match(
            model_artifacts.parse_scores(answer), model_artifacts.parse_scores(captured_output)
        )
    except ValueError:
        same_scores = False
    return captured_input.strip() == sent.strip() and same_scores


def new_capture_keys(s3: Any, bucket: str, prefix: str, since: datetime) -> list[str]:
    """Capture files written at or after ``since``, oldest first."""
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["LastModified"] >= since and item["Key"].endswith(".jsonl"):
                found.append((item["LastModified"], item["Key"]))
    return [key for _, key in sorted(found)]


def capture_checks(
    s3: Any,
    outputs: Mapping[str, str],
    *,
    since: datetime,
    sent: str,
    answer: str,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
) -> list[smoke.Check]:
    """Wait for capture files after ``since``; check they appear and one holds the request."""
    bucket, prefix = capture_prefix(outputs)
    checked: set[str] = set()
    keys: list[str] = []
    while True:
        keys = new_capture_keys(s3, bucket, prefix, since)
        for key in keys:
            if key in checked:
                continue
            checked.add(key)
            text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            if any(record_matches(r, sent, answer) for r in captured_records(text)):
                return [
                    smoke.Check(
                        "capture files appear", True, f"{len(keys)} under s3://{bucket}/{prefix}"
                    ),
                    smoke.Check("a capture holds the request and response", True, key),
                ]
        if deadline.expired:
            break
        log(f"waiting for captures under s3://{bucket}/{prefix} ({len(keys)} new so far)")
        deadline.wait(poll_seconds)
    return [
        smoke.Check(
            "capture files appear", bool(keys), f"{len(keys)} new under s3://{bucket}/{prefix}"
        ),
        smoke.Check(
            "a capture holds the request and response",
            False,
            f"none of {len(keys)} new capture files holds the sample rows",
        ),
    ]


# --- 3. baseline and 4. schedule ---------------------------------------------------------------


def baseline_checks(s3: Any, outputs: Mapping[str, str]) -> list[smoke.Check]:
    checks = []
    for output in (Outputs.CONSTRAINTS_URI, Outputs.STATISTICS_URI):
        bucket, key = split_s3_uri(outputs[output])
        try:
            s3.head_object(Bucket=bucket, Key=key)
            checks.append(smoke.Check(f"baseline {key.rsplit('/', 1)[-1]}", True, outputs[output]))
        except s3.exceptions.ClientError as error:
            checks.append(
                smoke.Check(
                    f"baseline {key.rsplit('/', 1)[-1]}",
                    False,
                    f"{outputs[output]}: {smoke.aws_error_message(error)}; run "
                    "python -m ml_refarch.stacks.model_monitor.baseline",
                )
            )
    return checks


def schedule_checks(sagemaker: Any, schedule_name: str) -> list[smoke.Check]:
    """The schedule is active; its last execution, if any, did not fail."""
    schedule = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
    status = schedule["MonitoringScheduleStatus"]
    expression = (
        schedule.get("MonitoringScheduleConfig", {})
        .get("ScheduleConfig", {})
        .get("ScheduleExpression", "?")
    )
    checks = [
        smoke.Check(
            "monitoring schedule is active",
            status == "Scheduled",
            f"{schedule_name} is {status} ({expression})"
            + (f": {schedule['FailureReason']}" if schedule.get("FailureReason") else ""),
        )
    ]
    last = schedule.get("LastMonitoringExecutionSummary")
    if not last:
        checks.append(
            smoke.Check(
                "last monitoring execution",
                True,
                "no execution yet: the first starts at the next scheduled time",
            )
        )
        return checks
    execution_status = last.get("MonitoringExecutionStatus", "?")
    when = last.get("ScheduledTime")
    detail = f"{execution_status}, scheduled {when}" if when else execution_status
    if last.get("FailureReason"):
        detail += f": {last['FailureReason']}"
    if execution_status == "CompletedWithViolations":
        detail += " (see the report under the ReportsUri output; the drift alarm evaluates it)"
    checks.append(
        smoke.Check(
            "last monitoring execution", execution_status in HEALTHY_EXECUTION_STATUSES, detail
        )
    )
    return checks


# --- running it --------------------------------------------------------------------------------


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, invoke its endpoint with "
        f"{len(model_artifacts.load_manifest()['samples']['rows'])} sample rows and compare "
        f"the {MODEL_NAME} scores, wait up to {args.timeout_seconds:g} s for their capture "
        "files, check the baseline files and describe the monitoring schedule"
    )


def run(run: Run) -> list[smoke.Check]:
    """The checks; the hook ``now`` (default: the time in UTC) starts the capture window."""
    now = run.hooks.get("now") or (lambda: datetime.now(UTC))
    log = run.log
    args, outputs = run.args, run.outputs
    sagemaker, runtime, s3 = (run.client(name) for name in SMOKE.clients)
    # Object times have whole seconds: start the window at the second before the request.
    since = now().replace(microsecond=0)
    check, answer = invoke_check(runtime, outputs[Outputs.ENDPOINT_NAME])
    log(f"invoked {outputs[Outputs.ENDPOINT_NAME]}: {answer.strip()!r}")
    checks = [check]
    checks += capture_checks(
        s3,
        outputs,
        since=since,
        sent=model_artifacts.sample_csv(),
        answer=answer,
        deadline=run.deadline(),
        poll_seconds=args.poll_seconds,
        log=log,
    )
    checks += baseline_checks(s3, outputs)
    checks += schedule_checks(sagemaker, outputs[Outputs.SCHEDULE_NAME])
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.ENDPOINT_NAME,
        Outputs.VARIANT_NAME,
        Outputs.CAPTURE_URI,
        Outputs.CONSTRAINTS_URI,
        Outputs.STATISTICS_URI,
        Outputs.SCHEDULE_NAME,
    ),
    clients=("sagemaker", "sagemaker-runtime", "s3"),
    timeout_seconds=600.0,
)
