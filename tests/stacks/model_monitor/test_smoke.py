"""ml_refarch/stacks/model_monitor/smoke.py against fake AWS clients."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta

import botocore.exceptions
import pytest

from ml_refarch import model_artifacts
from ml_refarch.smoke import core as smoke
from ml_refarch.stacks.model_monitor import PATTERN
from ml_refarch.stacks.model_monitor import smoke as smoke_monitor
from ml_refarch.stacks.model_monitor.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Session, runner_for

main = runner_for(PATTERN)

OUTPUTS = {
    Outputs.ENDPOINT_NAME: "Endpoint-abc",
    Outputs.VARIANT_NAME: "AllTraffic",
    Outputs.CAPTURE_URI: "s3://monitor-bucket/data-capture",
    Outputs.CONSTRAINTS_URI: "s3://monitor-bucket/baseline/results/constraints.json",
    Outputs.STATISTICS_URI: "s3://monitor-bucket/baseline/results/statistics.json",
    Outputs.SCHEDULE_NAME: "MlRefArch-ModelMonitor-data-quality",
}
START = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
MANIFEST = model_artifacts.load_manifest()
SENT = model_artifacts.sample_csv(MANIFEST)
ANSWER = "\n".join(str(s) for s in MANIFEST["samples"]["scores"]["churn-v1"]) + "\n"
PREFIX = "data-capture/Endpoint-abc/AllTraffic/"


class Fake(fakes.Fake):
    last_repeats = True  # a poll keeps seeing the last state it was given


class Pages:
    def __init__(self, listings: list[list[dict]]):
        self.listings = listings

    def paginate(self, **_):
        contents = self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]
        return [{"Contents": contents}]


class FakeS3(Fake):
    exceptions = botocore.exceptions

    def __init__(self, listings, files=None, missing=()):
        super().__init__(
            get_object=lambda Bucket, Key: {"Body": io.BytesIO(files[Key].encode())},
            head_object=self._head,
        )
        self.listings = Pages(listings)
        self.missing = set(missing)

    def _head(self, Bucket, Key):
        if Key in self.missing:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject"
            )
        return {}

    def get_paginator(self, name):
        assert name == "list_objects_v2"
        return self.listings


def capture_line(sent=SENT, answer=ANSWER, encoding="CSV") -> str:
    def part(text):
        data = base64.b64encode(text.encode()).decode() if encoding == "BASE64" else text
        return {
            "observedContentType": "text/csv",
            "mode": "INPUT",
            "data": data,
            "encoding": encoding,
        }

    return json.dumps(
        {
            "captureData": {"endpointInput": part(sent), "endpointOutput": part(answer)},
            "eventMetadata": {"eventId": "1"},
        }
    )


def listing(key, minutes_after_start=2):
    return {"Key": key, "LastModified": START + timedelta(minutes=minutes_after_start)}


def run_captures(s3, timeout=60.0):
    slept = []
    checks = smoke_monitor.capture_checks(
        s3,
        OUTPUTS,
        since=START,
        sent=SENT,
        answer=ANSWER,
        deadline=smoke.Deadline(timeout, sleep=slept.append),
        poll_seconds=20.0,
        log=lambda _: None,
    )
    return [(c.name, c.passed) for c in checks], slept


# --- invoking --------------------------------------------------------------------------------


def test_invoke_check_compares_the_scores_with_the_manifest():
    runtime = Fake(invoke_endpoint=lambda **_: {"Body": io.BytesIO(ANSWER.encode())})
    check, answer = smoke_monitor.invoke_check(runtime, "Endpoint-abc")
    assert check.passed and answer == ANSWER
    ((_, kwargs),) = runtime.calls
    assert kwargs["Body"] == SENT.encode() and kwargs["ContentType"] == "text/csv"


@pytest.mark.parametrize("body", ["0.5\n0.5\n0.5\n0.5\n0.5\n", "error: model not loaded"])
def test_invoke_check_fails_on_other_scores_or_no_scores(body):
    runtime = Fake(invoke_endpoint=lambda **_: {"Body": io.BytesIO(body.encode())})
    check, _ = smoke_monitor.invoke_check(runtime, "Endpoint-abc")
    assert not check.passed


# --- captures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["CSV", "BASE64"])
def test_a_captured_record_matches_the_request_in_either_encoding(encoding):
    (record,) = smoke_monitor.captured_records(capture_line(encoding=encoding) + "\nnot json\n")
    assert smoke_monitor.record_matches(record, SENT, ANSWER)
    (other,) = smoke_monitor.captured_records(capture_line(sent="1,2,3\n"))
    assert not smoke_monitor.record_matches(other, SENT, ANSWER)


def test_captures_pass_once_a_new_file_holds_the_request():
    key = PREFIX + "2026/11/25/12/file.jsonl"
    old = PREFIX + "2026/11/25/11/old.jsonl"
    s3 = FakeS3(
        [[listing(old, -30)], [listing(old, -30), listing(key)]],
        files={key: capture_line()},
    )
    results, slept = run_captures(s3)
    assert results == [
        ("capture files appear", True),
        ("a capture holds the request and response", True),
    ]
    assert slept == [20.0]
    assert not any(k == "get_object" and kw["Key"] == old for k, kw in s3.calls)


def test_captures_fail_when_nothing_arrives_in_time():
    results, slept = run_captures(FakeS3([[]]), timeout=50.0)
    assert results == [
        ("capture files appear", False),
        ("a capture holds the request and response", False),
    ]
    assert sum(slept) == 50.0


def test_captures_of_other_requests_do_not_count():
    key = PREFIX + "2026/11/25/12/other.jsonl"
    s3 = FakeS3([[listing(key)]], files={key: capture_line(sent="9,9,9\n")})
    results, _ = run_captures(s3, timeout=20.0)
    assert results == [
        ("capture files appear", True),
        ("a capture holds the request and response", False),
    ]


# --- baseline and schedule ---------------------------------------------------------------------


def test_missing_baseline_files_fail_with_the_script_to_run():
    s3 = FakeS3([[]], missing={"baseline/results/statistics.json"})
    checks = smoke_monitor.baseline_checks(s3, OUTPUTS)
    assert [c.passed for c in checks] == [True, False]
    assert "python -m ml_refarch.stacks.model_monitor.baseline" in checks[1].detail


def schedule(status="Scheduled", last=None):
    described = {
        "MonitoringScheduleStatus": status,
        "MonitoringScheduleConfig": {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}},
    }
    if last is not None:
        described["LastMonitoringExecutionSummary"] = last
    return Fake(describe_monitoring_schedule=described)


@pytest.mark.parametrize(
    ("status", "last", "passed", "reported"),
    [
        ("Scheduled", None, [True, True], "no execution yet"),
        ("Scheduled", {"MonitoringExecutionStatus": "Completed"}, [True, True], "Completed"),
        (
            "Scheduled",
            {"MonitoringExecutionStatus": "CompletedWithViolations"},
            [True, True],
            Outputs.REPORTS_URI,
        ),
        (
            "Scheduled",
            {"MonitoringExecutionStatus": "Failed", "FailureReason": "baseline not found"},
            [True, False],
            "baseline not found",
        ),
        ("Stopped", None, [False, True], "Stopped"),
    ],
)
def test_schedule_checks_report_the_last_execution(status, last, passed, reported):
    checks = smoke_monitor.schedule_checks(schedule(status, last), OUTPUTS[Outputs.SCHEDULE_NAME])
    assert [c.passed for c in checks] == passed
    assert reported in " ".join(c.detail for c in checks)


# --- the whole run -----------------------------------------------------------------------------


def test_main_passes_against_a_healthy_deployment(capsys):
    key = PREFIX + "2026/11/25/12/file.jsonl"
    session = Session(
        cloudformation=fakes.stack(OUTPUTS),
        sagemaker=schedule(last={"MonitoringExecutionStatus": "Completed"}),
        s3=FakeS3([[], [listing(key)]], files={key: capture_line()}),
        scheduler=Fake(),
        cloudwatch=Fake(),
        **{
            "sagemaker-runtime": Fake(
                invoke_endpoint=lambda **_: {"Body": io.BytesIO(ANSWER.encode())}
            )
        },
    )
    code = main(["--poll-seconds", "1"], session=session, sleep=lambda _: None, now=lambda: START)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "PASS: all 7 checks passed" in printed


def test_main_without_outputs_is_a_setup_error(capsys):
    session = Session(
        cloudformation=fakes.stack({}),
        sagemaker=Fake(),
        s3=FakeS3([[]]),
        scheduler=Fake(),
        cloudwatch=Fake(),
        **{"sagemaker-runtime": Fake()},
    )
    assert main([], session=session, sleep=lambda _: None) == 2
    assert Outputs.ENDPOINT_NAME in capsys.readouterr().err


def test_dry_run_needs_no_aws(capsys):
    assert main(["--dry-run"]) == 0
    assert "5 sample rows" in capsys.readouterr().out


# --- the processing-job engine -------------------------------------------------------------------

JOB_OUTPUTS = {
    **{
        k: v
        for k, v in OUTPUTS.items()
        if k not in (Outputs.CONSTRAINTS_URI, Outputs.STATISTICS_URI)
    },
    Outputs.CAPTURE_URI: "s3://monitor-bucket/monitored/captures",
    Outputs.GROUND_TRUTH_URI: "s3://monitor-bucket/monitored/ground-truth",
    Outputs.REPORTS_URI: "s3://monitor-bucket/job-reports",
    Outputs.METRICS_NAMESPACE: "MlRefArch/EndpointMonitoring",
    Outputs.SCHEDULE_NAME: "MonitorSchedule-abc",
}
JOB_PREFIX = "monitored/captures/Endpoint-abc/AllTraffic/"
JOB_NAME = "mlrefarch-modelmonitor-monitor-smoke20261125120000"
SCHEDULE_INPUT = json.dumps(
    {
        "ProcessingJobName": "mlrefarch-modelmonitor-monitor-<aws.scheduler.execution-id>",
        "ProcessingOutputConfig": {
            "Outputs": [
                {"S3Output": {"S3Uri": "s3://monitor-bucket/job-reports/"
                 "mlrefarch-modelmonitor-monitor-<aws.scheduler.execution-id>"}}
            ]
        },
    }
)  # fmt: skip
REPORT = {
    "captured_rows": 5,
    "data_quality": {"violations": [{"feature": "feature_2"}]},
    "model_quality": {"labelled_rows": 5, "violations": []},
    "bias": {"violations": []},
}


class JobS3(FakeS3):
    def __init__(self, listings, files):
        super().__init__(listings, files)
        self.responses["put_object"] = lambda **kwargs: files.__setitem__(
            kwargs["Key"], kwargs["Body"].decode()
        )


def job_session(statuses, datapoints, report=REPORT):
    key = JOB_PREFIX + "2026/11/25/12/file.jsonl"
    files = {key: capture_line(), f"job-reports/{JOB_NAME}/report.json": json.dumps(report)}
    s3 = JobS3([[], [listing(key)]], files)
    sagemaker = Fake(
        create_processing_job={},
        describe_processing_job=[{"ProcessingJobStatus": status} for status in statuses],
    )
    return Session(
        cloudformation=fakes.stack(JOB_OUTPUTS),
        sagemaker=sagemaker,
        s3=s3,
        scheduler=Fake(get_schedule={"Target": {"Input": SCHEDULE_INPUT}}),
        cloudwatch=Fake(get_metric_statistics=[{"Datapoints": p} for p in datapoints]),
        **{
            "sagemaker-runtime": Fake(
                invoke_endpoint=lambda **_: {"Body": io.BytesIO(ANSWER.encode())}
            )
        },
    ), files


def test_main_runs_the_job_now_and_finds_its_report_and_metrics(capsys):
    session, files = job_session(["InProgress", "Completed"], [[], [{"Maximum": 5.0}]])
    code = main(["--poll-seconds", "1"], session=session, sleep=lambda _: None, now=lambda: START)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "PASS: all 8 checks passed" in printed
    sagemaker = session.clients["sagemaker"]
    ((_, request),) = [c for c in sagemaker.calls if c[0] == "create_processing_job"]
    assert request["ProcessingJobName"] == JOB_NAME
    assert request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].endswith(JOB_NAME)
    (truth_key,) = [k for k in files if k.startswith("monitored/ground-truth/smoke/")]
    truth = json.loads(files[truth_key])
    assert truth["eventMetadata"] == {"eventId": "1"}
    assert truth["groundTruthData"]["data"] == ",".join(
        str(v) for v in MANIFEST["samples"]["labels"]
    )


def test_a_failed_job_fails_the_smoke_check_with_its_reason(capsys):
    session, _ = job_session(["Failed"], [[]])
    session.clients["sagemaker"].responses["describe_processing_job"] = [
        {"ProcessingJobStatus": "Failed", "FailureReason": "AlgorithmError: no captured rows"}
    ]
    code = main(["--poll-seconds", "1"], session=session, sleep=lambda _: None, now=lambda: START)
    printed = capsys.readouterr().out
    assert code == 1
    assert "AlgorithmError: no captured rows" in printed


def test_metrics_that_never_arrive_fail_after_the_timeout(capsys):
    session, _ = job_session(["Completed"], [[]])
    code = main(
        ["--poll-seconds", "10", "--timeout-seconds", "30"],
        session=session,
        sleep=lambda _: None,
        now=lambda: START,
    )
    printed = capsys.readouterr().out
    assert code == 1
    assert "the publisher puts the run's metrics" in printed


def test_a_report_without_joined_ground_truth_fails_that_check():
    s3 = JobS3([[]], {f"job-reports/{JOB_NAME}/report.json": json.dumps(
        {**REPORT, "model_quality": {"labelled_rows": 0, "violations": []}})})  # fmt: skip
    checks = smoke_monitor.report_checks(s3, JOB_OUTPUTS, JOB_NAME)
    assert [c.passed for c in checks] == [True, False]
    assert "5 rows, 1 violations" in checks[0].detail
