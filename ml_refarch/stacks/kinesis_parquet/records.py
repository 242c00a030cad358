"""The kinesis-parquet smoke test's records: columns, generated values, their JSON or CSV
encoding, Kinesis batches, and the comparison of what came back as Parquet with what was sent.

No AWS calls here: ``smoke.py`` sends the records and reads the Parquet files.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import random
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ml_refarch.smoke.core import SetupError

T = TypeVar("T")

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

# Values for generated string columns: commas, quotes and non-ASCII text make the CSV
# quoting and the UTF-8 path part of every smoke run.
STRING_SAMPLES = ("home", "Zoë", "東京", "café, menu", 'the "best" deal', "🚀 launch")


@dataclass(frozen=True)
class Column:
    name: str
    type: str


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


def entry_size(entry: dict[str, Any]) -> int:
    return len(entry["Data"]) + len(entry["PartitionKey"].encode())


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
