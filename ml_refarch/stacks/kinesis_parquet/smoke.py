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
import csv
import datetime
import io
import json
import random
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from ml_refarch.smoke.core import SetupError, SmokeFailure, require
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.kinesis_parquet.outputs import Outputs

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
INPUT_FORMATS = ("json", "csv")
DEFAULT_COLUMNS = [
    {"name": "event_id", "type": "string"},
    {"name": "user_id", "type": "string"},
    {"name": "session_id", "type": "string"},
    {"name": "page", "type": "string"},
    {"name": "event_type", "type": "string"},
    {"name": "event_time", "type": "timestamp"},
    {"name": "duration_ms", "type": "int"},
    {"name": "revenue", "type": "double"},
]
INTEGER_BITS = {"tinyint": 8, "smallint": 16, "int": 32, "bigint": 64}
ALLOWED_TYPES = frozenset(
    {"string", "boolean", "float", "double", "date", "timestamp", *INTEGER_BITS}
)

# Kinesis PutRecords limits: 500 entries and 5 MiB (data + partition keys) per request.
KINESIS_MAX_BATCH_RECORDS = 500
KINESIS_MAX_BATCH_BYTES = 5 * 1024 * 1024
PARQUET_MAGIC = b"PAR1"
# S3 LastModified has one-second resolution and the local clock may drift slightly.
LAST_MODIFIED_SLACK_SECONDS = 5
MAX_REPORTED_MISMATCHES = 20

# Values for generated string columns: commas, quotes and non-ASCII text make the CSV
# quoting and the UTF-8 path part of every smoke run.
STRING_SAMPLES = ("home", "Zoë", "東京", "café, menu", 'the "best" deal', "🚀 launch")

T = TypeVar("T")
Log = Callable[[str], None]


@dataclass(frozen=True)
class Column:
    name: str
    type: str


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


def parse_columns(text: str) -> list[Column]:
    """Parses a ColumnsJson value ([{"name": ..., "type": ...}, ...]); raises SetupError."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise SetupError(f"ColumnsJson is not valid JSON: {error}") from None
    if not isinstance(raw, list) or not raw:
        raise SetupError("ColumnsJson must be a non-empty JSON list of {name, type} objects")
    columns: list[Column] = []
    for position, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        column_type = item.get("type") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise SetupError(f"ColumnsJson[{position}] has no column name")
        if not isinstance(column_type, str) or column_type.lower() not in ALLOWED_TYPES:
            raise SetupError(
                f"ColumnsJson[{position}] ({name}) has unsupported type {column_type!r}"
            )
        columns.append(Column(name=name, type=column_type.lower()))
    lowered = [column.name.lower() for column in columns]
    if len(set(lowered)) != len(lowered):
        raise SetupError("ColumnsJson has duplicate column names (Glue names are case-insensitive)")
    return columns


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


def choose_marker_column(columns: Sequence[Column]) -> Column:
    """The first string column carries the run id, so this run's rows can be told apart."""
    for column in columns:
        if column.type == "string":
            return column
    raise SetupError("the columns have no string column to carry the run marker")


# --- record generation and encoding ------------------------------------------------------


def make_run_id(rng: random.Random) -> str:
    return f"smoke-{rng.getrandbits(48):012x}"


def _generate_value(column: Column, rng: random.Random) -> Any:
    if column.type == "string":
        return f"{column.name}-{rng.choice(STRING_SAMPLES)}-{rng.randrange(10_000)}"
    if column.type in INTEGER_BITS:
        # The full signed range, so a too-narrow Parquet/Glue type shows up as a mismatch.
        bound = 1 << (INTEGER_BITS[column.type] - 1)
        return rng.randrange(-bound, bound)
    if column.type == "boolean":
        return rng.random() < 0.5
    if column.type == "float":
        # Quarter steps below 2**20 are exact in float32, so the Parquet value equals it.
        return rng.randrange(-(2**22), 2**22) / 4
    if column.type == "double":
        return round(rng.uniform(0, 10_000), 2)
    if column.type == "date":
        day = datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randrange(3_650))
        return day.isoformat()
    if column.type == "timestamp":
        base = datetime.datetime(2024, 1, 1)
        moment = base + datetime.timedelta(milliseconds=rng.randrange(366 * 86_400_000))
        # The java.sql.Timestamp form, which Firehose's Hive JSON SerDe parses by default.
        return moment.isoformat(sep=" ", timespec="milliseconds")
    raise SetupError(f"unsupported column type {column.type!r}")


def generate_records(
    columns: Sequence[Column], count: int, run_id: str, rng: random.Random
) -> list[dict[str, Any]]:
    """Makes ``count`` records; the marker column holds ``{run_id}-{index:06d}``."""
    marker = choose_marker_column(columns)
    records = []
    for index in range(count):
        record = {column.name: _generate_value(column, rng) for column in columns}
        record[marker.name] = f"{run_id}-{index:06d}"
        records.append(record)
    return records


def encode_json_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def encode_csv_line(record: dict[str, Any], columns: Sequence[Column]) -> bytes:
    """One CSV row in column order, terminated by "\\n"."""
    buffer = io.StringIO()
    # With a "\r\n" terminator the writer also quotes fields holding a bare "\r"; with "\n"
    # alone it would not, and the reader would split the row there.
    csv.writer(buffer, lineterminator="\r\n").writerow(
        [_csv_field(record.get(column.name)) for column in columns]
    )
    return (buffer.getvalue()[: -len("\r\n")] + "\n").encode()


def encode_record(record: dict[str, Any], columns: Sequence[Column], input_format: str) -> bytes:
    if input_format == "json":
        return encode_json_line(record)
    if input_format == "csv":
        return encode_csv_line(record, columns)
    raise SetupError(f"unsupported input format {input_format!r}")


def batch_entries(
    entries: Sequence[T],
    max_records: int = KINESIS_MAX_BATCH_RECORDS,
    max_bytes: int = KINESIS_MAX_BATCH_BYTES,
    size: Callable[[T], int] = lambda entry: 0,
) -> list[list[T]]:
    """Splits entries into request-sized batches by count and by total ``size``."""
    batches: list[list[T]] = []
    current: list[T] = []
    current_bytes = 0
    for entry in entries:
        entry_bytes = size(entry)
        if current and (len(current) >= max_records or current_bytes + entry_bytes > max_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(entry)
        current_bytes += entry_bytes
    if current:
        batches.append(current)
    return batches


def _entry_size(entry: dict[str, Any]) -> int:
    return len(entry["Data"]) + len(entry["PartitionKey"].encode())


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
    for batch in batch_entries(entries, size=_entry_size):
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


# --- matching and comparison ---------------------------------------------------------------


def _lower_keys(row: dict[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in row.items()}


def match_rows(
    rows: Iterable[dict[str, Any]], marker_name: str, run_id: str
) -> list[dict[str, Any]]:
    """Rows whose marker column holds a value of this run. Keys are lower-cased, as in Glue."""
    prefix = f"{run_id}-"
    matched = []
    for row in rows:
        lowered = _lower_keys(row)
        value = lowered.get(marker_name.lower())
        if isinstance(value, str) and value.startswith(prefix):
            matched.append(lowered)
    return matched


def _to_float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def normalize_value(value: Any, column_type: str) -> Any:
    """Puts a sent or a Parquet value in a comparable form for its column type."""
    if value is None:
        return None
    if column_type in INTEGER_BITS:
        return int(value)
    if column_type == "float":
        return _to_float32(float(value))
    if column_type == "double":
        return float(value)
    if column_type == "boolean":
        return bool(value)
    if column_type == "date":
        if isinstance(value, datetime.datetime):
            value = value.date()
        if isinstance(value, str):
            value = datetime.date.fromisoformat(value)
        return value.isoformat()
    if column_type == "timestamp":
        if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
            value = value.to_pydatetime()
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    return value


def compare_rows(
    sent: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]], columns: Sequence[Column]
) -> list[str]:
    """Mismatch descriptions for every found row whose values differ from what was sent."""
    mismatches = []
    for marker_value, row in sorted(found.items()):
        record = sent.get(marker_value)
        if record is None:
            mismatches.append(f"{marker_value}: row was not sent by this run")
            continue
        for column in columns:
            key = column.name.lower()
            if key not in row:
                mismatches.append(f"{marker_value}: column {column.name} missing from row")
                continue
            expected = normalize_value(record.get(column.name), column.type)
            try:
                actual = normalize_value(row[key], column.type)
            except (TypeError, ValueError, AttributeError):
                actual = row[key]
            if expected != actual:
                mismatches.append(
                    f"{marker_value}: {column.name} sent {expected!r}, Parquet has {actual!r}"
                )
    return mismatches


def check_schema(file_columns: Sequence[str], columns: Sequence[Column]) -> list[str]:
    """Configured column names absent from a Parquet file's schema (compared case-insensitively)."""
    present = {name.lower() for name in file_columns}
    return [column.name for column in columns if column.name.lower() not in present]


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


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=_positive_int, default=50, help="records to put")
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
        f"dry run: would read the outputs of stack {args.stack_name!r}"
        f" (region {args.region or 'from environment'})",
        f"columns: {', '.join(f'{c.name} {c.type}' for c in columns)}",
        f"run id {run_id} in column {marker.name}; {args.records} records as {input_format}:",
    ]
    for record in generate_records(columns, args.records, run_id, rng):
        lines.append(encode_record(record, columns, input_format).decode().rstrip("\n"))
    return "\n".join(lines)


def run(run: Run) -> int:
    """Puts the records, waits for their Parquet rows and prints PASS or each problem."""
    args, sleep = run.args, run.sleep
    rng = random.Random(args.seed)
    started_monotonic = time.monotonic()
    started_at = datetime.datetime.now(datetime.UTC)

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started_monotonic:6.1f}s] {message}", flush=True)

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

    problems, mismatches = evaluate(result, sent, outputs, args.timeout_seconds)
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


SMOKE = SmokeTest(
    description=__doc__.split("\n\n")[0],
    required_outputs=REQUIRED_OUTPUTS,
    clients=("kinesis", "s3"),
    plan=plan,
    run=run,
    add_arguments=add_arguments,
    check_arguments=check_arguments,
    timeout_seconds=600.0,
    poll_seconds=15.0,
)
