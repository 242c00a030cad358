"""Smoke test of a deployed ``MlRefArch-EtlExport`` stack: put items, export, read the CSV.

Puts a few items (one with every attribute type) whose keys carry this run's id, starts the
workflow, follows it until it ends, then reads the CSV it wrote: the header has the table's
partition key, every item put is a row, and the conversion met no malformed lines. The
items are deleted at the end. An export takes minutes (DynamoDB exports from the
point-in-time recovery window), so the default timeout is an hour.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke etl-export [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import uuid
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.etl_export.outputs import Outputs

#: Items to put, besides their key; the first uses every DynamoDB attribute type.
SAMPLE_ATTRIBUTES: tuple[dict[str, Any], ...] = (
    {
        "name": {"S": "smoke, with comma"},
        "balance": {"N": "12.5"},
        "avatar": {"B": b"\x00\x01"},
        "active": {"BOOL": True},
        "referrer": {"NULL": True},
        "address": {"M": {"city": {"S": "Lisbon"}}},
        "recent": {"L": [{"S": "a"}, {"N": "2"}]},
        "tags": {"SS": ["gold", "eu"]},
        "scores": {"NS": ["1", "2"]},
        "keys": {"BS": [b"\x01", b"\x02"]},
    },
    {"name": {"S": "second"}, "active": {"BOOL": False}},
    {"name": {"S": "third"}},
)


def item_keys(run_id: str) -> list[str]:
    return [f"smoke-{run_id}-{index}" for index in range(len(SAMPLE_ATTRIBUTES))]


def partition_key(dynamodb: Any, table: str) -> str:
    schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    return next(entry["AttributeName"] for entry in schema if entry["KeyType"] == "HASH")


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise smoke.SmokeFailure(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def csv_checks(s3: Any, conversion: dict[str, Any], key_name: str, keys: list[str]):
    """The CSV has the key column, a row for each item put, and no malformed lines."""
    bucket, key = split_s3_uri(conversion["csvUri"])
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    header = next(csv.reader(io.StringIO(text)), [])
    found = {row.get(key_name) for row in rows}
    missing = [k for k in keys if k not in found]
    return [
        smoke.Check("CSV header starts with the partition key", header[:1] == [key_name],
                    f"header {header[:5]}"),
        smoke.Check("every item put is a CSV row", not missing,
                    f"{len(rows)} rows; missing {missing}" if missing else f"{len(rows)} rows"),
        smoke.Check("no malformed lines", conversion.get("malformedLines") == 0,
                    f"malformedLines={conversion.get('malformedLines')}, "
                    f"report {conversion.get('reportUri')}"),
    ]  # fmt: skip


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, put {len(SAMPLE_ATTRIBUTES)} items "
        "into its table, start the export workflow, follow it, read the CSV it wrote and "
        "delete the items"
    )


def run(run: Run) -> list[smoke.Check]:
    log, outputs = run.log, run.outputs
    dynamodb, sfn, s3 = (run.client(name) for name in ("dynamodb", "stepfunctions", "s3"))
    table = outputs[Outputs.TABLE_NAME]
    key_name = partition_key(dynamodb, table)
    keys = item_keys(uuid.uuid4().hex[:8])
    for key, attributes in zip(keys, SAMPLE_ATTRIBUTES, strict=True):
        dynamodb.put_item(TableName=table, Item={key_name: {"S": key}, **attributes})
    log(f"put {len(keys)} items into {table}")
    try:
        execution = sfn.start_execution(
            stateMachineArn=outputs[Outputs.STATE_MACHINE_ARN],
            input=json.dumps({"startedBy": "smoke"}),
        )
        log(f"started {execution['executionArn']}")
        description = smoke.follow_execution(
            sfn, execution["executionArn"], run.deadline(), run.args.poll_seconds, log
        )
        status = description["status"]
        if status not in smoke.FINAL_EXECUTION_STATUSES:
            status = "TIMEOUT"
        detail = description.get("cause") or description.get("error") or ""
        checks = [smoke.Check("workflow succeeded", status == "SUCCEEDED", f"{status} {detail}")]
        if status == "SUCCEEDED":
            conversion = json.loads(description.get("output") or "{}").get("conversion", {})
            checks += csv_checks(s3, conversion, key_name, keys)
        return checks
    finally:
        for key in keys:
            dynamodb.delete_item(TableName=table, Key={key_name: {"S": key}})
        log(f"deleted the {len(keys)} items")


SMOKE = SmokeTest(
    required_outputs=(Outputs.TABLE_NAME, Outputs.STATE_MACHINE_ARN, Outputs.BUCKET_NAME),
    clients=("dynamodb", "stepfunctions", "s3"),
    timeout_seconds=3600.0,
)
