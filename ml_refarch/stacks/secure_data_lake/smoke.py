"""Smoke test of a deployed ``MlRefArch-SecureDataLake`` stack: PII in, redacted Parquet out.

Uploads a small CSV with made-up personal data (emails, phone numbers, US social security
numbers, card numbers and IP addresses, some whole columns and some inside free text) to
the raw bucket, starts the Glue job, waits for the run to end, then reads the Parquet the
run wrote to the curated bucket and checks that every row arrived, that no sample PII value
survives anywhere, that the PII columns were redacted whole and that the text around PII in
the free-text column was kept.

Rows carry a run id in ``customer_id``, so the check finds its own rows among earlier runs'
output. Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the CSV it would
upload without AWS.

Usage::

    python -m ml_refarch smoke secure-data-lake [--stack-name NAME] [--rows 20] [--dry-run]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import random
import string
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow.parquet as pq

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.secure_data_lake.outputs import Outputs

COLUMNS = ("customer_id", "full_name", "email", "phone", "ssn", "notes")
#: Columns whose every value is PII: the job redacts them whole.
PII_COLUMNS = ("email", "phone", "ssn")
#: Words of the free-text column that are not PII and must survive redaction.
KEPT_WORDS = ("prefers", "card", "from")
RUN_STATES_RUNNING = ("STARTING", "RUNNING", "STOPPING", "WAITING")


def make_run_id(rng: random.Random) -> str:
    """Letters only, so no detector mistakes the marker for PII."""
    return "run" + "".join(rng.choice(string.ascii_lowercase) for _ in range(8))


def sample_rows(run_id: str, count: int, rng: random.Random) -> list[dict[str, str]]:
    """``count`` rows of made-up PII; ``customer_id`` is ``<run id>-<letters>``."""
    rows = []
    for index in range(count):
        suffix = "".join(string.ascii_lowercase[int(digit)] for digit in str(index))
        card = rng.choice(("4111 1111 1111 1111", "5500 0000 0000 0004"))
        rows.append(
            {
                "customer_id": f"{run_id}-{suffix}",
                "full_name": f"Customer {suffix.upper()}",
                "email": f"{run_id}.{suffix}@example.com",
                "phone": f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                "ssn": f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
                "notes": f"prefers card {card} from 10.{rng.randint(0, 255)}.0.{index % 250}",
            }
        )
    return rows


def to_csv(rows: Sequence[Mapping[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def pii_values(row: Mapping[str, str]) -> list[str]:
    """The PII values a sample row carries: its PII columns and what is inside its notes."""
    notes = row["notes"].split()
    return [row[column] for column in PII_COLUMNS] + [" ".join(notes[2:6]), notes[-1]]


def evaluate(
    sent: Sequence[Mapping[str, str]],
    found: Sequence[Mapping[str, Any]],
    action: str,
    redact_text: str,
) -> list[smoke.Check]:
    """The checks on the rows the run wrote (``found``) against the rows sent."""
    by_id = {row.get("customer_id"): row for row in found}
    missing = [row["customer_id"] for row in sent if row["customer_id"] not in by_id]
    checks = [
        smoke.Check(
            "every row reached curated",
            not missing,
            f"{len(sent) - len(missing)}/{len(sent)} rows"
            + (f"; missing {missing[:3]}" if missing else ""),
        )
    ]
    leaked = [
        f"{row['customer_id']}: {value!r}"
        for row in sent
        if row["customer_id"] in by_id
        for value in pii_values(row)
        if any(value in str(cell) for cell in by_id[row["customer_id"]].values())
    ]
    checks.append(
        smoke.Check("no sample PII value survives", not leaked, "; ".join(leaked[:5]) or "none")
    )
    whole = [
        f"{row['customer_id']}.{column}={by_id[row['customer_id']].get(column)!r}"
        for row in sent
        if row["customer_id"] in by_id
        for column in PII_COLUMNS
        if not _replaced(by_id[row["customer_id"]].get(column), row[column], action, redact_text)
    ]
    checks.append(
        smoke.Check("PII columns are redacted whole", not whole, "; ".join(whole[:5]) or "all")
    )
    lost = [
        row["customer_id"]
        for row in sent
        if row["customer_id"] in by_id
        and not all(word in str(by_id[row["customer_id"]].get("notes")) for word in KEPT_WORDS)
    ]
    checks.append(
        smoke.Check(
            "free text around PII is kept (cell-level redaction)",
            not lost,
            ", ".join(lost[:5]) or f"{', '.join(KEPT_WORDS)} kept",
        )
    )
    return checks


def _replaced(value: Any, original: str, action: str, redact_text: str) -> bool:
    if action == "SHA256_HASH":
        return isinstance(value, str) and len(value) == 64 and value != original
    return value == redact_text


def read_rows(s3: Any, bucket: str, prefix: str, run_id: str, since: datetime.datetime):
    """Rows of this run from Parquet objects under ``prefix`` written since ``since``."""
    rows: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, **token)
        for item in page.get("Contents", []):
            if not item["Key"].endswith(".parquet") or item["LastModified"] < since:
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            table = pq.read_table(io.BytesIO(body))
            rows += [
                row for row in table.to_pylist() if str(row.get("customer_id")).startswith(run_id)
            ]
        if not page.get("IsTruncated"):
            return rows
        token = {"ContinuationToken": page["NextContinuationToken"]}


def wait_for_run(glue: Any, job: str, run_id: str, deadline: smoke.Deadline, poll_seconds, log):
    """Poll the job run until it ends; (state, error message)."""
    while True:
        run = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
        state = run.get("JobRunState", "unknown")
        if state not in RUN_STATES_RUNNING:
            return state, run.get("ErrorMessage", "")
        if deadline.expired:
            return "TIMEOUT", f"still {state} after {deadline.timeout_seconds:g} s"
        log(f"job run {run_id} is {state}; waited {deadline.wait(poll_seconds):.0f} s")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows", type=smoke.whole_number(1, 10000), default=20, help="sample rows (default 20)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for the sample data")


def plan(args: argparse.Namespace) -> str:
    rng = random.Random(args.seed)
    sample = to_csv(sample_rows(make_run_id(rng), min(args.rows, 3), rng)).decode()
    return (
        f"{smoke.dry_run_intro(args)}, upload {args.rows} CSV rows with PII to the raw prefix, "
        f"start the Glue job, wait, and read the curated Parquet. First rows:\n{sample}"
    )


def run(run: Run) -> list[smoke.Check]:
    args, outputs, log = run.args, run.outputs, run.log
    s3, glue = run.client("s3"), run.client("glue")
    rng = random.Random(args.seed)
    run_id = make_run_id(rng)
    rows = sample_rows(run_id, args.rows, rng)
    started = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    raw_key = f"{outputs[Outputs.RAW_PREFIX]}{run_id}.csv"
    s3.put_object(Bucket=outputs[Outputs.RAW_BUCKET_NAME], Key=raw_key, Body=to_csv(rows))
    log(f"uploaded {len(rows)} rows to s3://{outputs[Outputs.RAW_BUCKET_NAME]}/{raw_key}")
    job = outputs[Outputs.JOB_NAME]
    job_run = glue.start_job_run(JobName=job)["JobRunId"]
    log(f"started {job} run {job_run}")
    state, error = wait_for_run(glue, job, job_run, run.deadline(), args.poll_seconds, log)
    checks = [smoke.Check("job run succeeded", state == "SUCCEEDED", f"{state} {error}".strip())]
    if state != "SUCCEEDED":
        return checks
    found = read_rows(
        s3,
        outputs[Outputs.CURATED_BUCKET_NAME],
        outputs[Outputs.CURATED_PREFIX],
        run_id,
        started - datetime.timedelta(seconds=5),
    )
    return checks + evaluate(
        rows, found, outputs[Outputs.REDACTION_ACTION], outputs[Outputs.REDACT_TEXT]
    )


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.RAW_BUCKET_NAME,
        Outputs.CURATED_BUCKET_NAME,
        Outputs.RAW_PREFIX,
        Outputs.CURATED_PREFIX,
        Outputs.JOB_NAME,
        Outputs.REDACTION_ACTION,
        Outputs.REDACT_TEXT,
    ),
    clients=("s3", "glue"),
    timeout_seconds=1800.0,
    poll_seconds=30.0,
)
