"""End-to-end smoke test for a deployed Kinesis -> Firehose -> Parquet-in-S3 stack.

Reads the stack's CloudFormation outputs, puts N generated records (matching the
configured columns, as JSON or CSV lines) into the Kinesis data stream, then polls the
bucket until Firehose has delivered all of them as Parquet, and checks the schema and the
values. Any object appearing under the error prefix during the run is a failure.

Every record carries a run id in its marker column (the first string column), so the
script finds its own rows among whatever else the stream carries. With ``--seed`` the run
id and all values are deterministic; a rerun with the same seed against the same stack
ignores the earlier run's rows only because it reads objects newer than its own start.

Exit codes: 0 success, 1 failure or timeout, 2 setup error (stack/outputs missing,
bad arguments). ``--dry-run`` needs no AWS access: it prints the records it would send.

Usage::

    python -m ml_refarch smoke kinesis-parquet --stack-name MlRefArch-KinesisParquet --records 50
    python -m ml_refarch smoke kinesis-parquet --dry-run --input-format csv --records 5
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ml_refarch.smoke.core import (
    Log,
    SetupError,
    SmokeFailure,
    dry_run_intro,
    require,
    whole_number,
)
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.kinesis_parquet.outputs import Outputs
from ml_refarch.stacks.kinesis_parquet.records import (
    DEFAULT_COLUMNS,
    INPUT_FORMATS,
    Column,
    batch_entries,
    check_schema,
    choose_marker_column,
    compare_rows,
    encode_record,
    entry_size,
    generate_records,
    make_run_id,
    match_rows,
    parse_columns,
)

REQUIRED_OUTPUTS = (
    Outputs.STREAM_NAME,
    Outputs.DELIVERY_STREAM_NAME,
    Outputs.BUCKET_NAME,
    Outputs.DATA_PREFIX,
    Outputs.ERROR_PREFIX,
    Outputs.GLUE_DATABASE_NAME,
    Outputs.GLUE_TABLE_NAME,
    Outputs.INPUT_FORMAT,
    Outputs.COLUMNS_JSON,
)
PARQUET_MAGIC = b"PAR1"
# S3 LastModified has one-second resolution and the local clock may drift slightly.
LAST_MODIFIED_SLACK_SECONDS = 5
MAX_REPORTED_MISMATCHES = 20


@dataclass(frozen=True)
class StackOutputs:
    stream_name: str
    delivery_stream_name: str
    bucket_name: str
    data_prefix: str
    error_prefix: str
    glue_database_name: str
    glue_table_name: str
    input_format: str
    columns: list[Column]


@dataclass
class PollResult:
    """What the S3 polling found; ``found`` maps marker value -> Parquet row."""

    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    unexpected_markers: list[str] = field(default_factory=list)
    duplicate_count: int = 0
    data_keys: list[str] = field(default_factory=list)
    schemas: dict[str, list[str]] = field(default_factory=dict)
    error_keys: list[str] = field(default_factory=list)
    unreadable_keys: list[str] = field(default_factory=list)
    polls: int = 0
    timed_out: bool = False


# --- configuration -----------------------------------------------------------------------


def listing_prefix(prefix: str) -> str:
    """The literal part of a Firehose prefix, before any !{...} expression."""
    return prefix.split("!{", 1)[0]


def parse_stack_outputs(outputs: Iterable[dict[str, str]]) -> StackOutputs:
    """Turns describe_stacks Outputs into StackOutputs; raises SetupError naming what is wrong."""
    return stack_outputs_from({item["OutputKey"]: item.get("OutputValue", "") for item in outputs})


def stack_outputs_from(values: Mapping[str, str]) -> StackOutputs:
    """StackOutputs from {OutputKey: OutputValue}; raises SetupError naming what is wrong."""
    require(values, *REQUIRED_OUTPUTS)
    input_format = values[Outputs.INPUT_FORMAT].strip().lower()
    if input_format not in INPUT_FORMATS:
        raise SetupError(f"InputFormat output must be json or csv, got {values['InputFormat']!r}")
    data_prefix = listing_prefix(values[Outputs.DATA_PREFIX])
    error_prefix = listing_prefix(values[Outputs.ERROR_PREFIX])
    # Overlapping prefixes would make data objects look like errors or the other way round.
    if not data_prefix or not error_prefix:
        raise SetupError("DataPrefix and ErrorPrefix must each start with a literal folder")
    if data_prefix.startswith(error_prefix) or error_prefix.startswith(data_prefix):
        raise SetupError(f"DataPrefix {data_prefix!r} and ErrorPrefix {error_prefix!r} overlap")
    return StackOutputs(
        stream_name=values[Outputs.STREAM_NAME],
        delivery_stream_name=values[Outputs.DELIVERY_STREAM_NAME],
        bucket_name=values[Outputs.BUCKET_NAME],
        data_prefix=data_prefix,
        error_prefix=error_prefix,
        glue_database_name=values[Outputs.GLUE_DATABASE_NAME],
        glue_table_name=values[Outputs.GLUE_TABLE_NAME],
        input_format=input_format,
        columns=parse_columns(values[Outputs.COLUMNS_JSON]),
    )


# --- AWS calls -----------------------------------------------------------------------------


def put_records(
    kinesis: Any,
    stream_name: str,
    entries: Sequence[dict[str, Any]],
    *,
    max_attempts: int = 8,
    base_delay_seconds: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Puts entries ({Data, PartitionKey}) with PutRecords, retrying only the failed ones.

    Returns counts (records, batches, retried); raises SmokeFailure if entries still fail
    after ``max_attempts`` tries.
    """
    stats = {"records": 0, "batches": 0, "retried": 0}
    for batch in batch_entries(entries, size=entry_size):
        pending = list(batch)
        for attempt in range(1, max_attempts + 1):
            response = kinesis.put_records(StreamName=stream_name, Records=pending)
            stats["batches"] += 1
            if not response.get("FailedRecordCount"):
                break
            # Results are positional, so failed entries are those whose result has ErrorCode.
            failed = [
                entry
                for entry, result in zip(pending, response["Records"], strict=True)
                if result.get("ErrorCode")
            ]
            if attempt == max_attempts:
                codes = sorted({r["ErrorCode"] for r in response["Records"] if r.get("ErrorCode")})
                raise SmokeFailure(
                    f"{len(failed)} records still failing after {max_attempts} attempts: "
                    f"{', '.join(codes)}"
                )
            stats["retried"] += len(failed)
            pending = failed
            sleep(min(base_delay_seconds * 2 ** (attempt - 1), 8.0))
        stats["records"] += len(batch)
    return stats


def list_objects_since(
    s3: Any, bucket: str, prefix: str, since: datetime.datetime
) -> list[dict[str, Any]]:
    """Objects under ``prefix`` last modified at or after ``since`` (timezone-aware)."""
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["LastModified"] >= since:
                objects.append(item)
    return sorted(objects, key=lambda item: (item["LastModified"], item["Key"]))


def read_parquet_rows(body: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    """Column names and rows of a Parquet file; raises ValueError if it is not Parquet."""
    if body[:4] != PARQUET_MAGIC:
        raise ValueError("not a Parquet file (no PAR1 magic)")
    # Hive-based writers store timestamps as INT96; millisecond units keep them plain datetimes.
    table = pq.read_table(io.BytesIO(body), coerce_int96_timestamp_unit="ms")
    return table.column_names, table.to_pylist()


# --- polling --------------------------------------------------------------------------------


def wait_for_rows(
    s3: Any,
    outputs: StackOutputs,
    *,
    marker: Column,
    run_id: str,
    expected_markers: set[str],
    since: datetime.datetime,
    timeout_seconds: float,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    log: Log = print,
) -> PollResult:
    """Polls S3 until every expected row is in Parquet, an error object appears, or timeout.

    ``sleep`` is called between polls; tests pass a fake that plays Firehose's part.
    """
    result = PollResult()
    examined: set[str] = set()
    deadline = clock() + timeout_seconds
    while True:
        result.polls += 1
        new_objects = [
            item
            for item in list_objects_since(s3, outputs.bucket_name, outputs.data_prefix, since)
            if item["Key"] not in examined
        ]
        for item in new_objects:
            key = item["Key"]
            examined.add(key)
            body = s3.get_object(Bucket=outputs.bucket_name, Key=key)["Body"].read()
            try:
                file_columns, rows = read_parquet_rows(body)
            except (ValueError, pa.ArrowException, OSError) as error:
                result.unreadable_keys.append(key)
                log(f"skipped s3://{outputs.bucket_name}/{key}: {error}")
                continue
            mine = match_rows(rows, marker.name, run_id)
            log(
                f"read s3://{outputs.bucket_name}/{key}: {len(rows)} rows, "
                f"{len(mine)} from this run"
            )
            if not mine:
                continue
            result.data_keys.append(key)
            result.schemas[key] = file_columns
            for row in mine:
                value = row[marker.name.lower()]
                if value not in expected_markers:
                    result.unexpected_markers.append(value)
                elif value in result.found:
                    result.duplicate_count += 1  # Firehose delivers at least once
                else:
                    result.found[value] = row

        for item in list_objects_since(s3, outputs.bucket_name, outputs.error_prefix, since):
            if item["Key"] not in result.error_keys:
                result.error_keys.append(item["Key"])
                log(f"error object s3://{outputs.bucket_name}/{item['Key']}")
        if result.error_keys:
            return result
        if expected_markers <= result.found.keys():
            return result
        remaining_seconds = deadline - clock()
        if remaining_seconds <= 0:
            result.timed_out = True
            return result
        wait_seconds = min(poll_seconds, remaining_seconds)
        log(
            f"poll {result.polls}: {len(result.found)}/{len(expected_markers)} rows so far, "
            f"next poll in {wait_seconds:.1f} s"
        )
        sleep(wait_seconds)


def evaluate(
    result: PollResult,
    sent: dict[str, dict[str, Any]],
    outputs: StackOutputs,
    timeout_seconds: float,
) -> tuple[list[str], list[str]]:
    """The run's problems (empty means success) and the individual value mismatches."""
    problems: list[str] = []
    if result.error_keys:
        problems.append(
            f"{len(result.error_keys)} object(s) under error prefix {outputs.error_prefix}: "
            + ", ".join(result.error_keys[:5])
        )
    if result.timed_out:
        problems.append(
            f"timed out after {timeout_seconds:g} s with "
            f"{len(sent) - len(result.found)} rows missing"
        )
    for key, file_columns in result.schemas.items():
        missing = check_schema(file_columns, outputs.columns)
        if missing:
            problems.append(f"{key} lacks configured columns: {', '.join(missing)}")
    if result.unexpected_markers:
        problems.append(f"{len(result.unexpected_markers)} rows carry unknown run markers")
    mismatches = compare_rows(sent, result.found, outputs.columns)
    if mismatches:
        problems.append(f"{len(mismatches)} value mismatch(es)")
    return problems, mismatches


# --- command line -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=whole_number(1), default=50, help="records to put")
    parser.add_argument("--seed", type=int, help="makes the run id and values deterministic")
    parser.add_argument("--columns-json", help="column list for --dry-run (default: clickstream)")
    parser.add_argument("--input-format", choices=INPUT_FORMATS, help="format for --dry-run")


def check_arguments(args: argparse.Namespace) -> str | None:
    if not args.dry_run and (args.columns_json or args.input_format):
        return (
            "--columns-json and --input-format apply only to --dry-run; "
            "a real run reads them from the stack outputs"
        )
    return None


def plan(args: argparse.Namespace) -> str:
    """The records a run would send (``--columns-json``, ``--input-format``), one a line."""
    rng = random.Random(args.seed)
    columns = parse_columns(args.columns_json or json.dumps(DEFAULT_COLUMNS))
    input_format = args.input_format or "json"
    run_id = make_run_id(rng)
    marker = choose_marker_column(columns)
    lines = [
        dry_run_intro(args),
        f"columns: {', '.join(f'{c.name} {c.type}' for c in columns)}",
        f"run id {run_id} in column {marker.name}; {args.records} records as {input_format}:",
    ]
    for record in generate_records(columns, args.records, run_id, rng):
        lines.append(encode_record(record, columns, input_format).decode().rstrip("\n"))
    return "\n".join(lines)


def verdict(
    result: PollResult,
    sent: dict[str, dict[str, Any]],
    outputs: StackOutputs,
    timeout_seconds: float,
    elapsed_seconds: float,
    log: Log,
) -> int:
    """Logs what the rows showed and prints PASS or one FAIL line per problem; the exit code."""
    problems, mismatches = evaluate(result, sent, outputs, timeout_seconds)
    for mismatch in mismatches[:MAX_REPORTED_MISMATCHES]:
        log(f"mismatch {mismatch}")
    if result.duplicate_count:
        log(
            f"note: {result.duplicate_count} duplicate row(s), expected with at-least-once delivery"
        )
    if result.schemas and not any(
        check_schema(file_columns, outputs.columns) for file_columns in result.schemas.values()
    ):
        log("schema ok: every configured column is present")
    if result.found and not mismatches:
        log(f"values ok: {len(result.found)} rows equal what was sent")

    if problems:
        for problem in problems:
            print(f"FAIL: {problem}", flush=True)
        return 1
    print(
        f"PASS: {len(result.found)}/{len(sent)} rows delivered as Parquet in "
        f"{elapsed_seconds:.1f} s",
        flush=True,
    )
    return 0


def run(run: Run) -> int:
    """Puts the records, waits for their Parquet rows and prints PASS or each problem."""
    args, sleep, log = run.args, run.sleep, run.log
    rng = random.Random(args.seed)
    started_monotonic = time.monotonic()
    started_at = datetime.datetime.now(datetime.UTC)
    outputs = stack_outputs_from(run.outputs)
    marker = choose_marker_column(outputs.columns)
    log(
        f"stack {args.stack_name}: stream {outputs.stream_name} -> delivery stream "
        f"{outputs.delivery_stream_name} -> s3://{outputs.bucket_name}/{outputs.data_prefix} "
        f"(errors under {outputs.error_prefix}), table "
        f"{outputs.glue_database_name}.{outputs.glue_table_name}, input {outputs.input_format}, "
        f"{len(outputs.columns)} columns"
    )

    run_id = make_run_id(rng)
    records = generate_records(outputs.columns, args.records, run_id, rng)
    sent = {record[marker.name]: record for record in records}
    entries = [
        {
            "Data": encode_record(record, outputs.columns, outputs.input_format),
            "PartitionKey": record[marker.name],
        }
        for record in records
    ]
    stats = put_records(run.client("kinesis"), outputs.stream_name, entries, sleep=sleep)
    log(
        f"put {stats['records']} {outputs.input_format} records (run id {run_id}, marker column "
        f"{marker.name}) in {stats['batches']} request(s), {stats['retried']} retried"
    )

    since = started_at.replace(microsecond=0) - datetime.timedelta(
        seconds=LAST_MODIFIED_SLACK_SECONDS
    )
    result = wait_for_rows(
        run.client("s3"),
        outputs,
        marker=marker,
        run_id=run_id,
        expected_markers=set(sent),
        since=since,
        timeout_seconds=args.timeout_seconds,
        poll_seconds=args.poll_seconds,
        sleep=sleep,
        log=log,
    )
    elapsed_seconds = time.monotonic() - started_monotonic
    log(
        f"{len(result.data_keys)} Parquet object(s) with this run's rows; matched "
        f"{len(result.found)}/{len(sent)} rows after {result.polls} poll(s)"
    )

    return verdict(result, sent, outputs, args.timeout_seconds, elapsed_seconds, log)


SMOKE = SmokeTest(
    required_outputs=REQUIRED_OUTPUTS,
    clients=("kinesis", "s3"),
    timeout_seconds=600.0,
    poll_seconds=15.0,
)
