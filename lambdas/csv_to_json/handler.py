"""Amazon Data Firehose transformation Lambda: one CSV row per record -> one JSON line.

Firehose converts records to Parquet only from JSON, so a CSV producer's records pass
through this function first. It implements the Firehose data-transformation contract:
every input record yields exactly one output record with the same ``recordId``, in the
same order, with result ``Ok`` (data = one JSON object + "\\n") or ``ProcessingFailed``
(data = the original base64 payload, which Firehose writes under the error prefix).

The CSV column order and the Glue/Hive type of each column come from the ``COLUMNS_JSON``
environment variable, e.g.::

    [{"name": "event_id", "type": "string"}, {"name": "clicks", "type": "int"}]

Standard library only, so the function needs no layer or bundling step.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime
import io
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any

COLUMNS_ENV_VAR = "COLUMNS_JSON"

RESULT_OK = "Ok"
RESULT_PROCESSING_FAILED = "ProcessingFailed"

INTEGER_BITS = {"tinyint": 8, "smallint": 16, "int": 32, "bigint": 64}
ALLOWED_TYPES = frozenset(
    {"string", "boolean", "float", "double", "date", "timestamp", *INTEGER_BITS}
)

# Largest finite IEEE-754 single-precision value: anything larger would be written to
# Parquet as infinity.
FLOAT32_MAX = 3.4028234663852886e38

# Explicit patterns because Python's int()/float() also accept "1_000", "nan", "inf" and
# non-ASCII digits, none of which the Hive/Parquet side would read the same way.
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

# Caps the per-invocation failure list so one bad batch cannot produce an oversized log event.
MAX_LOGGED_FAILURES = 100


class ConfigError(ValueError):
    """COLUMNS_JSON is missing or invalid; no record could be processed."""


class RowError(ValueError):
    """A record cannot be converted. ``reason`` never contains record contents."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Column:
    name: str
    type: str


def parse_columns(text: str | None) -> list[Column]:
    """Parses and validates the COLUMNS_JSON value; raises ConfigError with a clear message."""
    if text is None or not text.strip():
        raise ConfigError(f"environment variable {COLUMNS_ENV_VAR} is missing or empty")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{COLUMNS_ENV_VAR} is not valid JSON: {error}") from None
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{COLUMNS_ENV_VAR} must be a non-empty JSON list of columns")

    columns: list[Column] = []
    seen_names: set[str] = set()
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigError(f"{COLUMNS_ENV_VAR}[{position}] must be an object with name/type")
        name = item.get("name")
        column_type = item.get("type")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{COLUMNS_ENV_VAR}[{position}].name must be a non-empty string")
        if not isinstance(column_type, str) or column_type.strip().lower() not in ALLOWED_TYPES:
            allowed = ", ".join(sorted(ALLOWED_TYPES))
            raise ConfigError(
                f"{COLUMNS_ENV_VAR}[{position}] ({name!r}) has unsupported type "
                f"{column_type!r}; allowed: {allowed}"
            )
        # Glue lower-cases column names, so names differing only by case would collide.
        if name.lower() in seen_names:
            raise ConfigError(f"{COLUMNS_ENV_VAR} has duplicate column name {name!r}")
        seen_names.add(name.lower())
        columns.append(Column(name=name, type=column_type.strip().lower()))
    return columns


def coerce_value(raw: str, column: Column) -> Any:
    """Converts one CSV field to the JSON value for its column type.

    An empty field is null for every type. For non-string types surrounding spaces are
    ignored, so "1, 2" parses like "1,2".
    """
    if column.type == "string":
        return raw if raw != "" else None

    value = raw.strip()
    if value == "":
        return None
    where = f"column {column.name!r} ({column.type})"

    if column.type in INTEGER_BITS:
        if not _INTEGER_RE.fullmatch(value):
            raise RowError(f"{where}: not an integer")
        number = int(value)
        bound = 1 << (INTEGER_BITS[column.type] - 1)
        if not -bound <= number < bound:
            raise RowError(f"{where}: integer out of range")
        return number

    if column.type in ("float", "double"):
        if not _DECIMAL_RE.fullmatch(value):
            raise RowError(f"{where}: not a finite decimal number")
        number = float(value)
        if not math.isfinite(number) or (column.type == "float" and abs(number) > FLOAT32_MAX):
            raise RowError(f"{where}: number out of range")
        return number

    if column.type == "boolean":
        try:
            return _BOOLEANS[value.lower()]
        except KeyError:
            raise RowError(f"{where}: not one of true/false/1/0") from None

    if column.type == "date":
        if not _DATE_RE.fullmatch(value):
            raise RowError(f"{where}: not in YYYY-MM-DD format")
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise RowError(f"{where}: not a valid calendar date") from None
        return value

    if column.type == "timestamp":
        if not _TIMESTAMP_RE.fullmatch(value):
            raise RowError(f"{where}: not an ISO 8601 timestamp")
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise RowError(f"{where}: not a valid timestamp") from None
        return hive_timestamp(moment)

    # parse_columns only admits ALLOWED_TYPES, so this means the two drifted apart.
    raise RowError(f"{where}: unsupported type")


def hive_timestamp(moment: datetime.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.fff[fff]`` in UTC: milliseconds, or microseconds when needed.

    Firehose's OpenX JSON deserializer reads timestamps with ``java.sql.Timestamp.valueOf``,
    which accepts only this form: no ``T``, no zone. Zoned values are converted to UTC.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond % 1000 == 0:
        return f"{text}.{moment.microsecond // 1000:03d}"
    return f"{text}.{moment.microsecond:06d}"


def convert_row(line: str, columns: list[Column]) -> dict[str, Any]:
    """Parses one CSV row (one trailing newline allowed) into a dict keyed by column name."""
    if not line.strip():
        raise RowError("empty record")
    try:
        rows = list(csv.reader(io.StringIO(line, newline=""), strict=True))
    except csv.Error:
        raise RowError("malformed CSV (unbalanced or misplaced quotes)") from None
    if len(rows) != 1:
        raise RowError(f"expected exactly one CSV row, found {len(rows)}")
    fields = rows[0]
    if len(fields) != len(columns):
        raise RowError(f"expected {len(columns)} columns, found {len(fields)}")
    return {
        column.name: coerce_value(field, column)
        for column, field in zip(columns, fields, strict=True)
    }


def transform_data(data: Any, columns: list[Column]) -> str:
    """Turns a record's base64 CSV payload into a base64 JSON line; raises RowError."""
    if not isinstance(data, str):
        raise RowError("record data is missing or not a string")
    try:
        payload = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RowError("data is not valid base64") from None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise RowError("data is not valid UTF-8") from None
    row = convert_row(text, columns)
    # ensure_ascii=False keeps non-ASCII text as UTF-8 bytes rather than \u escapes.
    json_line = json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"
    return base64.b64encode(json_line.encode("utf-8")).decode("ascii")


_columns_cache: list[Column] | None = None


def get_columns() -> list[Column]:
    """Reads COLUMNS_JSON once per execution environment (cold start)."""
    global _columns_cache
    if _columns_cache is None:
        _columns_cache = parse_columns(os.environ.get(COLUMNS_ENV_VAR))
    return _columns_cache


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Firehose transformation entry point; never raises because of record contents."""
    columns = get_columns()
    records = event.get("records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise ValueError("event has no 'records' list; not a Firehose transformation event")

    output: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for record in records:
        record = record if isinstance(record, dict) else {}
        record_id = record.get("recordId")
        data = record.get("data")
        try:
            output.append(
                {
                    "recordId": record_id,
                    "result": RESULT_OK,
                    "data": transform_data(data, columns),
                }
            )
        # Broad on purpose: one bad record must never fail the whole batch.
        except Exception as error:
            reason = error.reason if isinstance(error, RowError) else type(error).__name__
            failures.append({"recordId": record_id, "reason": reason})
            output.append(
                {
                    "recordId": record_id,
                    "result": RESULT_PROCESSING_FAILED,
                    # The original payload, so the error prefix holds what the producer sent.
                    "data": data if isinstance(data, str) else "",
                }
            )

    _log_summary(event, len(output) - len(failures), failures)
    return {"records": output}


def _log_summary(event: Any, ok_count: int, failures: list[dict[str, Any]]) -> None:
    summary = {
        "message": "firehose transformation summary",
        "invocationId": event.get("invocationId") if isinstance(event, dict) else None,
        "Ok": ok_count,
        "ProcessingFailed": len(failures),
        "failures": failures[:MAX_LOGGED_FAILURES],
        "failuresTruncated": len(failures) > MAX_LOGGED_FAILURES,
    }
    print(json.dumps(summary), flush=True)
