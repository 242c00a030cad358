"""Smoke test of a deployed ``MlRefArch-DocumentAi`` stack: upload, wait, read the results.

Uploads the sample PDF (:mod:`.sample_document`) under ``incoming/`` with this run's id,
waits until the parser has written ``result.json`` for it, then checks that the form's key
"Name" reads "Ana Carolina", that a table holds the sample's rows, that the CSV files are
there, and that the document has a review item exactly when a field is below the stack's
confidence threshold. The upload, its results and its review item are deleted at the end.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke document-ai [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

import botocore.exceptions

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.document_ai import sample_document
from ml_refarch.stacks.document_ai.outputs import Outputs

RESULT_FILE = "result.json"
INCOMING_PREFIX = "incoming/"
RESULTS_PREFIX = "results/"


def document_key(run_id: str) -> str:
    return f"{INCOMING_PREFIX}smoke-{run_id}.pdf"


def wait_for_result(s3: Any, bucket: str, key: str, run: Run) -> dict[str, Any] | None:
    """``result.json`` once the parser has written it, ``None`` if the time runs out."""
    deadline = run.deadline()
    while True:
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return json.loads(body)
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
        if deadline.expired:
            return None
        deadline.wait(run.args.poll_seconds)


def result_checks(result: dict[str, Any], threshold: float) -> tuple[list[smoke.Check], bool]:
    """Checks of the parsed output, and whether a field is below ``threshold``."""
    pairs = {pair["key"]: pair["value"] for pair in result.get("keyValues", [])}
    tables = [
        [[cell["text"] if cell else "" for cell in row] for row in table["rows"]]
        for table in result.get("tables", [])
    ]
    expected_rows = [list(row) for row in sample_document.TABLE]
    found_rows = any(all(row in table for row in expected_rows[1:]) for table in tables)
    confidences = [pair["confidence"] for pair in result.get("keyValues", [])] + [
        cell["confidence"]
        for table in result.get("tables", [])
        for row in table["rows"]
        for cell in row
        if cell
    ]
    low = any(confidence < threshold for confidence in confidences)
    return [
        smoke.equals_check("form key Name", "value", pairs.get("Name"), "Ana Carolina"),
        smoke.Check("a table holds the sample's rows", found_rows, f"tables {tables}"),
    ], low


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, upload a {len(sample_document.pdf())}"
        "-byte sample PDF under incoming/, wait for its results, check the form, the table, "
        "the CSV files and the review item, and delete what it made"
    )


def run(run: Run) -> list[smoke.Check]:
    log, outputs = run.log, run.outputs
    s3, dynamodb = run.client("s3"), run.client("dynamodb")
    bucket, table = outputs[Outputs.BUCKET_NAME], outputs[Outputs.REVIEW_TABLE_NAME]
    threshold = float(outputs[Outputs.CONFIDENCE_THRESHOLD])
    key = document_key(uuid.uuid4().hex[:8])
    prefix = f"{RESULTS_PREFIX}{key}/"
    s3.put_object(Bucket=bucket, Key=key, Body=sample_document.pdf(), ContentType="application/pdf")
    log(f"uploaded s3://{bucket}/{key}")
    try:
        result = wait_for_result(s3, bucket, prefix + RESULT_FILE, run)
        checks = [smoke.Check("results written", result is not None, f"s3://{bucket}/{prefix}")]
        if result is None:
            return checks
        parsed, low = result_checks(result, threshold)
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        names = sorted(o["Key"].removeprefix(prefix) for o in listed)
        item = dynamodb.get_item(TableName=table, Key={"documentId": {"S": key}}).get("Item")
        return checks + parsed + [
            smoke.Check("CSV of the pairs and a table", {"key-values.csv", "table-1.csv"}
                        <= set(names), f"files {names}"),
            smoke.Check("a review item exactly when a field is below the threshold",
                        (item is not None) == low,
                        f"below {threshold:g}: {low}; review item: {item is not None}"),
        ]  # fmt: skip
    finally:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        for found in [{"Key": key}, *({"Key": o["Key"]} for o in listed)]:
            s3.delete_object(Bucket=bucket, Key=found["Key"])
        dynamodb.delete_item(TableName=table, Key={"documentId": {"S": key}})
        log(f"deleted the upload, {len(listed)} result files and the review item")


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.BUCKET_NAME,
        Outputs.REVIEW_TABLE_NAME,
        Outputs.CONFIDENCE_THRESHOLD,
    ),
    clients=("s3", "dynamodb"),
    timeout_seconds=900.0,
    poll_seconds=15.0,
)
