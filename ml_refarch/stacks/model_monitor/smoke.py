"""Smoke test of a deployed ``MlRefArch-ModelMonitor`` stack, either engine.

Both engines:

1. Sends the committed sample rows (``ml_refarch.model_artifacts.sample_csv()``) to the
   endpoint and compares its scores with the manifest's for ``churn-v1``.
2. Waits for the capture files of that request under the ``CaptureUri`` output
   (SageMaker writes them within minutes, per endpoint, variant and hour) and checks one
   holds the sample rows and the scores.

The ``processing-job`` engine (the stack has a ``MetricsNamespace`` output):

3. Writes ground truth for the captured request (the manifest's labels of the sample rows,
   keyed by the capture's inference or event id) under ``GroundTruthUri``.
4. Starts the monitoring job now, with the request the schedule sends (read from the
   schedule, its execution id replaced by ``smoke<time>``), and waits for it to complete.
5. Reads the run's ``report.json``: it must hold the captured rows, data quality, model
   quality (the ground truth joined) and bias sections.
6. Waits for the run's ``captured_rows`` metric in CloudWatch (the publisher puts it once
   the job has completed).

The ``model-monitor`` engine:

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


# --- the processing-job engine ---------------------------------------------------------------

#: Terminal statuses of a processing job.
JOB_DONE = ("Completed", "Failed", "Stopped")
#: The report's sections every run writes.
REPORT_SECTIONS = ("data_quality", "model_quality", "bias")
CONTEXT_ATTRIBUTE = "<aws.scheduler.execution-id>"


def matching_record(
    s3: Any, outputs: Mapping[str, str], since: datetime, sent: str, answer: str
) -> dict[str, Any] | None:
    """The captured record of the request, if a capture file after ``since`` holds it."""
    bucket, prefix = capture_prefix(outputs)
    for key in new_capture_keys(s3, bucket, prefix, since):
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        for record in captured_records(text):
            if record_matches(record, sent, answer):
                return record
    return None


def ground_truth_check(
    s3: Any, outputs: Mapping[str, str], record: Mapping[str, Any] | None, stamp: str
) -> smoke.Check:
    """Write the sample rows' labels for the captured request, keyed as the job joins them."""
    name = "ground truth written for the captured request"
    if record is None:
        return smoke.Check(name, False, "no captured record of the request to label")
    metadata = record.get("eventMetadata") or {}
    key_id = metadata.get("inferenceId") or metadata.get("eventId")
    labels = model_artifacts.load_manifest()["samples"]["labels"]
    line = {
        "groundTruthData": {"data": ",".join(str(int(v)) for v in labels), "encoding": "CSV"},
        "eventMetadata": {"eventId": key_id},
        "eventVersion": "0",
    }
    bucket, prefix = split_s3_uri(outputs[Outputs.GROUND_TRUTH_URI].rstrip("/") + "/x")
    key = f"{prefix.rsplit('/', 1)[0]}/smoke/{stamp}.jsonl"
    s3.put_object(Bucket=bucket, Key=key, Body=(json.dumps(line) + "\n").encode())
    return smoke.Check(name, True, f"s3://{bucket}/{key} (event {key_id})")


def job_request(scheduler: Any, schedule_name: str, execution_id: str) -> dict[str, Any]:
    """The CreateProcessingJob request the schedule sends, for one run named now."""
    target = scheduler.get_schedule(Name=schedule_name)["Target"]
    return json.loads(target["Input"].replace(CONTEXT_ATTRIBUTE, execution_id))


def run_job_checks(
    sagemaker: Any,
    request: Mapping[str, Any],
    *,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
) -> list[smoke.Check]:
    """Start the job and wait for it to end."""
    name = request["ProcessingJobName"]
    sagemaker.create_processing_job(**request)
    status, described = "?", {}
    while True:
        described = sagemaker.describe_processing_job(ProcessingJobName=name)
        status = described.get("ProcessingJobStatus", "?")
        if status in JOB_DONE or deadline.expired:
            break
        log(f"waiting for processing job {name}: {status}")
        deadline.wait(poll_seconds)
    detail = f"{name}: {status}"
    if described.get("FailureReason"):
        detail += f": {described['FailureReason']}"
    return [smoke.Check("the monitoring job completes", status == "Completed", detail)]


def report_checks(s3: Any, outputs: Mapping[str, str], job_name: str) -> list[smoke.Check]:
    """The run's report: its rows, sections, and the ground truth joined."""
    bucket, prefix = split_s3_uri(outputs[Outputs.REPORTS_URI].rstrip("/") + "/x")
    key = f"{prefix.rsplit('/', 1)[0]}/{job_name}/report.json"
    try:
        report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.ClientError as error:
        return [smoke.Check("the run's report", False, smoke.aws_error_message(error))]
    rows = report.get("captured_rows", 0)
    missing = [section for section in REPORT_SECTIONS if section not in report]
    labelled = (report.get("model_quality") or {}).get("labelled_rows", 0)
    violations = sum(len((report.get(s) or {}).get("violations", [])) for s in REPORT_SECTIONS)
    return [
        smoke.Check(
            "the run's report",
            rows > 0 and not missing,
            f"s3://{bucket}/{key}: {rows} rows, {violations} violations"
            + (f"; missing {', '.join(missing)}" if missing else ""),
        ),
        smoke.Check("model quality joins the ground truth", labelled > 0, f"{labelled} rows"),
    ]


def metric_check(
    cloudwatch: Any,
    outputs: Mapping[str, str],
    *,
    since: datetime,
    now: Any,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
) -> smoke.Check:
    """Wait for the run's ``captured_rows`` data point (the publisher puts it)."""
    namespace = outputs[Outputs.METRICS_NAMESPACE]
    dimensions = [{"Name": "Endpoint", "Value": outputs[Outputs.ENDPOINT_NAME]}]
    while True:
        points = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName="captured_rows",
            Dimensions=dimensions,
            StartTime=since,
            EndTime=now(),
            Period=60,
            Statistics=["Maximum"],
        ).get("Datapoints", [])
        if points or deadline.expired:
            break
        log(f"waiting for the run's metrics in {namespace}")
        deadline.wait(poll_seconds)
    detail = f"{namespace} captured_rows: {len(points)} data points since {since:%H:%M} UTC"
    return smoke.Check("the publisher puts the run's metrics", bool(points), detail)


def processing_job_checks(run: Run, since: datetime, answer: str, now: Any) -> list[smoke.Check]:
    smoke.require(
        run.outputs, Outputs.GROUND_TRUTH_URI, Outputs.REPORTS_URI, Outputs.METRICS_NAMESPACE
    )
    s3, sagemaker = run.client("s3"), run.client("sagemaker")
    stamp = now().strftime("%Y%m%d%H%M%S")
    record = matching_record(s3, run.outputs, since, model_artifacts.sample_csv(), answer)
    checks = [ground_truth_check(s3, run.outputs, record, stamp)]
    request = job_request(
        run.client("scheduler"), run.outputs[Outputs.SCHEDULE_NAME], f"smoke{stamp}"
    )
    wait = {"poll_seconds": run.args.poll_seconds, "log": run.log}
    job = run_job_checks(sagemaker, request, deadline=run.deadline(), **wait)
    checks += job
    if not job[0].passed:
        return checks
    checks += report_checks(s3, run.outputs, request["ProcessingJobName"])
    cloudwatch = run.client("cloudwatch")
    checks.append(
        metric_check(cloudwatch, run.outputs, since=since, now=now, deadline=run.deadline(), **wait)
    )
    return checks


# --- running it --------------------------------------------------------------------------------


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, invoke its endpoint with "
        f"{len(model_artifacts.load_manifest()['samples']['rows'])} sample rows and compare "
        f"the {MODEL_NAME} scores, wait up to {args.timeout_seconds:g} s for their capture "
        "files; then, with the processing-job engine, write ground truth, start the "
        "monitoring job, read its report and wait for its metrics, or, with Model Monitor, "
        "check the baseline files and describe the monitoring schedule"
    )


def run(run: Run) -> list[smoke.Check]:
    """The checks; the hook ``now`` (default: the time in UTC) starts the capture window."""
    now = run.hooks.get("now") or (lambda: datetime.now(UTC))
    log = run.log
    args, outputs = run.args, run.outputs
    sagemaker, runtime, s3 = (run.client(name) for name in SMOKE.clients[:3])
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
    if Outputs.METRICS_NAMESPACE in outputs:
        return checks + processing_job_checks(run, since, answer, now)
    smoke.require(outputs, Outputs.CONSTRAINTS_URI, Outputs.STATISTICS_URI)
    checks += baseline_checks(s3, outputs)
    checks += schedule_checks(sagemaker, outputs[Outputs.SCHEDULE_NAME])
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.ENDPOINT_NAME,
        Outputs.VARIANT_NAME,
        Outputs.CAPTURE_URI,
        Outputs.SCHEDULE_NAME,
    ),
    clients=("sagemaker", "sagemaker-runtime", "s3", "scheduler", "cloudwatch"),
    # A processing job takes minutes to start and run.
    timeout_seconds=1200.0,
)
