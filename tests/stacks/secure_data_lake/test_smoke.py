"""ml_refarch/stacks/secure_data_lake/smoke.py on moto's S3, with a fake Glue that runs the
committed job logic (job/redact_pii.py) on the uploaded CSV and writes Parquet."""

from __future__ import annotations

import csv
import io

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_refarch.stacks.secure_data_lake import PATTERN
from ml_refarch.stacks.secure_data_lake.job.redact_pii import (
    DEFAULT_ENTITY_TYPES,
    DETECTION_COLUMN,
    redact_rows,
)
from ml_refarch.stacks.secure_data_lake.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, NoAws, Session, runner_for
from tests.stacks.secure_data_lake.fake_entity_detector import FakeEntityDetector

main = runner_for(PATTERN)
OUTPUTS = {
    Outputs.RAW_BUCKET_NAME: "raw-bucket",
    Outputs.CURATED_BUCKET_NAME: "curated-bucket",
    Outputs.RAW_PREFIX: "raw/",
    Outputs.CURATED_PREFIX: "curated/",
    Outputs.JOB_NAME: "redact-job",
    Outputs.REDACTION_ACTION: "REDACT",
    Outputs.REDACT_TEXT: "****",
}


@pytest.fixture
def s3(monkeypatch):
    for client in fakes.moto_clients(monkeypatch, boto3.Session(), "us-east-1", "s3"):
        for bucket in ("raw-bucket", "curated-bucket"):
            client["s3"].create_bucket(Bucket=bucket)
        yield client["s3"]


def glue_running_the_job(s3, *, redact: bool = True, states=("RUNNING", "SUCCEEDED")):
    """A Glue client whose job run redacts every raw CSV into one Parquet object: the job's
    code applying what a stand-in for Glue's EntityDetector reports."""

    def start_job_run(**_):
        rows = []
        for item in s3.list_objects_v2(Bucket="raw-bucket", Prefix="raw/")["Contents"]:
            body = s3.get_object(Bucket="raw-bucket", Key=item["Key"])["Body"].read().decode()
            rows += list(csv.DictReader(io.StringIO(body)))
        if redact:
            detector, types = FakeEntityDetector(), DEFAULT_ENTITY_TYPES
            classified = detector.classify_columns(rows, types, 1.0, 0.5)
            detected = detector.detect(rows, types, DETECTION_COLUMN)
            rows = redact_rows(detected, classified, "REDACT", "****")
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), buffer)
        s3.put_object(Bucket="curated-bucket", Key="curated/part-0.parquet", Body=buffer.getvalue())
        return {"JobRunId": "jr_1"}

    return Fake(
        start_job_run=start_job_run,
        get_job_run=[{"JobRun": {"JobRunState": s, "ErrorMessage": "boom"}} for s in states],
    )


def session(s3, glue):
    return Session(cloudformation=fakes.stack(OUTPUTS), s3=s3, glue=glue)


def failed_checks(output: str) -> list[str]:
    """The lines of failed checks (the summary line starts with ``FAIL:``)."""
    return [line for line in output.splitlines() if line.startswith("FAIL ")]


def test_a_job_that_redacts_passes_every_check(s3, capsys):
    glue = glue_running_the_job(s3)
    assert (
        main(["--rows", "5", "--seed", "3"], session=session(s3, glue), sleep=lambda _: None) == 0
    )
    out = capsys.readouterr().out
    assert not failed_checks(out)
    assert [name for name, _ in glue.calls] == ["start_job_run", "get_job_run", "get_job_run"]
    (raw,) = s3.list_objects_v2(Bucket="raw-bucket")["Contents"]
    assert raw["Key"].startswith("raw/run") and raw["Key"].endswith(".csv")


def test_a_job_that_leaks_pii_fails(s3, capsys):
    glue = glue_running_the_job(s3, redact=False)
    assert main(["--rows", "3"], session=session(s3, glue), sleep=lambda _: None) == 1
    failed = failed_checks(capsys.readouterr().out)
    assert any("no sample PII value survives" in line for line in failed)
    assert any("PII columns are redacted whole" in line for line in failed)


def test_a_failed_run_is_reported_with_its_error(s3, capsys):
    glue = glue_running_the_job(s3, states=("RUNNING", "FAILED"))
    assert main([], session=session(s3, glue), sleep=lambda _: None) == 1
    failed = failed_checks(capsys.readouterr().out)
    assert failed[0] == "FAIL job run succeeded: FAILED boom"
    assert not any("reached curated" in line for line in failed)


def test_a_run_that_outlasts_the_timeout_fails(s3, capsys):
    glue = glue_running_the_job(s3, states=("RUNNING",) * 50)
    code = main(
        ["--timeout-seconds", "60", "--poll-seconds", "30"],
        session=session(s3, glue),
        sleep=lambda _: None,
    )
    assert code == 1
    assert "TIMEOUT" in capsys.readouterr().out


def test_a_dry_run_shows_the_csv_without_aws(capsys):
    assert main(["--dry-run", "--rows", "2", "--seed", "1"], session=NoAws()) == 0
    out = capsys.readouterr().out
    assert "customer_id,full_name,email,phone,ssn,notes" in out
    assert "@example.com" in out
