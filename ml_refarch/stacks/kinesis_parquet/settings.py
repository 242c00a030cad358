"""Settings of the ``kinesis-parquet`` pattern: the stream's size and the delivery's format.

The notes' numbers are the rules: one shard takes 1 MiB/s or 1000 records/s, a stream
keeps records 24 h to 365 days, Firehose buffers 60-900 s, and Parquet conversion needs a
buffer of at least 64 MiB.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ml_refarch.settings import (
    Field,
    Invalid,
    Problem,
    SettingsSpec,
    choice,
    integer,
    number,
    parser,
)


@dataclass(frozen=True)
class Column:
    """A column of a Glue table: a lower-case name and a Hive type."""

    name: str
    type: str


#: Hive/Glue column types that Firehose's Parquet conversion and the CSV transform handle.
COLUMN_TYPES = (
    "string",
    "boolean",
    "tinyint",
    "smallint",
    "int",
    "bigint",
    "float",
    "double",
    "date",
    "timestamp",
)

CLICKSTREAM_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "string"),
    Column("user_id", "string"),
    Column("session_id", "string"),
    Column("page", "string"),
    Column("event_type", "string"),
    Column("event_time", "timestamp"),
    Column("duration_ms", "int"),
    Column("revenue", "double"),
)

#: Throughput of one provisioned shard, per the Kinesis Data Streams write limits.
SHARD_WRITE_MIB_PER_SECOND = 1
SHARD_WRITE_RECORDS_PER_SECOND = 1000
#: Default per-stream shard quota in the largest regions; above it AWS needs a quota raise.
MAX_SHARDS = 500


def shards_for(records_per_second: int, record_size_kib: float) -> int:
    """Shards a provisioned stream needs for the given write rate.

    One shard takes 1 MiB/s or 1000 records/s, whichever is reached first, so
    ``shards = max(ceil(MiB/s), ceil(records/s / 1000))``. 1000 records/s of 8 KiB is
    7.8 MiB/s, which needs 8 shards.
    """
    mib_per_second = records_per_second * record_size_kib / 1024
    return max(
        1,
        math.ceil(mib_per_second / SHARD_WRITE_MIB_PER_SECOND),
        math.ceil(records_per_second / SHARD_WRITE_RECORDS_PER_SECOND),
    )


@dataclass(frozen=True)
class KinesisParquetSettings:
    """Settings of the ``kinesis-parquet`` pattern.

    Attributes:
        stream_mode: ``provisioned`` (shards sized from the write rate) or ``on-demand``.
        records_per_second: expected peak write rate, used to size provisioned shards.
        record_size_kib: average record size, used to size provisioned shards.
        retention_hours: how long the stream keeps records (24 h to 8760 h).
        buffer_interval_seconds: how long Firehose buffers before writing (60 s to 900 s).
        buffer_size_mib: how much Firehose buffers before writing (64 MiB to 128 MiB; Parquet
            conversion needs at least 64 MiB).
        input_format: ``json``, converted directly, or ``csv``, which adds a transform Lambda
            that turns each CSV row into JSON first.
        columns: the Glue table's columns, which the Parquet files follow.
    """

    stream_mode: str
    records_per_second: int
    record_size_kib: float
    retention_hours: int
    buffer_interval_seconds: int
    buffer_size_mib: int
    input_format: str
    columns: tuple[Column, ...]

    @property
    def shard_count(self) -> int | None:
        """Shards for provisioned mode; ``None`` in on-demand mode."""
        if self.stream_mode != "provisioned":
            return None
        return shards_for(self.records_per_second, self.record_size_kib)


_COLUMN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,254}")
_COLUMNS_ALLOWED = (
    "a comma-separated list of name:type (or a JSON list of {name, type}) with unique "
    "lower-case names matching [a-z_][a-z0-9_]* and types from " + ", ".join(COLUMN_TYPES)
)


def _column_pairs(value: Any) -> list[tuple[Any, Any, str]]:
    """(name, type, how the column was written) for each column of the raw value."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError as error:
                raise Invalid(_COLUMNS_ALLOWED, f"not a JSON list ({error})") from None
        else:
            pairs = []
            for position, item in enumerate(text.split(","), start=1):
                name, sep, type_ = item.partition(":")
                if not sep:
                    raise Invalid(
                        _COLUMNS_ALLOWED,
                        f"column {position} {item.strip()!r}: no ':' between name and type",
                    )
                pairs.append((name.strip(), type_.strip().lower(), item.strip()))
            return pairs
    if not isinstance(value, (list, tuple)):
        raise Invalid(_COLUMNS_ALLOWED, f"not a list of columns (a {type(value).__name__} value)")
    pairs = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, Mapping) and set(item) == {"name", "type"}:
            pairs.append((item["name"], item["type"], json.dumps(item, default=str)))
        elif isinstance(item, Column):
            pairs.append((item.name, item.type, f"{item.name}:{item.type}"))
        else:
            raise Invalid(
                _COLUMNS_ALLOWED,
                f"column {position} {item!r}: not an object with exactly 'name' and 'type'",
            )
    return pairs


@parser(_COLUMNS_ALLOWED)
def columns(value: Any) -> tuple[Column, ...]:
    """The column list; a problem names the first wrong column and what is wrong with it."""
    found: list[Column] = []
    seen: set[str] = set()
    for position, (name, type_, written) in enumerate(_column_pairs(value), start=1):
        where = f"column {position} {written!r}"
        if not (isinstance(name, str) and _COLUMN_NAME.fullmatch(name)):
            raise Invalid(
                _COLUMNS_ALLOWED,
                f"{where}: name {name!r} is not lower case matching [a-z_][a-z0-9_]*",
            )
        if type_ not in COLUMN_TYPES:
            raise Invalid(
                _COLUMNS_ALLOWED,
                f"{where}: type {type_!r} is not one of {', '.join(COLUMN_TYPES)}",
            )
        if name in seen:
            raise Invalid(_COLUMNS_ALLOWED, f"{where}: name {name!r} appears twice")
        seen.add(name)
        found.append(Column(name, type_))
    if not found:
        raise Invalid(_COLUMNS_ALLOWED, "no columns")
    return tuple(found)


FIELDS = {
    "stream_mode": Field(
        choice("provisioned", "on-demand"),
        "provisioned",
        "on-demand",
        "Capacity mode of the stream",
    ),
    "records_per_second": Field(
        integer(1, MAX_SHARDS * SHARD_WRITE_RECORDS_PER_SECOND, "sizes provisioned shards"),
        100,
        "1000",
        "Peak write rate, sizes provisioned shards",
    ),
    "record_size_kib": Field(
        number(0, 1000, "Firehose accepts records up to 1000 KiB"),
        1,
        "8",
        "Average record size, sizes provisioned shards",
    ),
    "retention_hours": Field(
        integer(24, 8760, "Kinesis keeps records at least 24 h and at most 365 days"),
        24,
        "48",
        "How long the stream keeps records",
    ),
    "buffer_interval_seconds": Field(
        integer(60, 900, "Firehose buffers at most 900 s"), 300, "900", "Firehose buffering time"
    ),
    "buffer_size_mib": Field(
        integer(64, 128, "Parquet conversion needs a buffer of at least 64 MiB"),
        128,
        "64",
        "Firehose buffering size",
    ),
    "input_format": Field(
        choice("json", "csv"), "json", "csv", "`csv` adds the CSV-to-JSON transform Lambda"
    ),
    "columns": Field(
        columns,
        ",".join(f"{column.name}:{column.type}" for column in CLICKSTREAM_COLUMNS),
        "id:string,score:double",
        "Columns of the Glue table and the Parquet files (the default: a clickstream schema)",
    ),
}


def check(settings: KinesisParquetSettings, prefix: str) -> list[Problem]:
    """A provisioned write rate must fit the per-stream shard quota."""
    if settings.shard_count is None or settings.shard_count <= MAX_SHARDS:
        return []
    return [
        Problem(
            key=prefix + "records_per_second",
            received=f"{settings.records_per_second} x {settings.record_size_kib:g} KiB",
            allowed=(
                f"a write rate that needs at most {MAX_SHARDS} shards "
                f"(this one needs {settings.shard_count})"
            ),
            fix=f"lower the rate or record size, or use -c {prefix}stream_mode=on-demand",
        )
    ]


NOTES = f"""\
Provisioned shards are `max(ceil(MiB/s), ceil(records/s / 1000))`, because one shard takes
{SHARD_WRITE_MIB_PER_SECOND} MiB/s or {SHARD_WRITE_RECORDS_PER_SECOND} records/s. A rate that
needs more than {MAX_SHARDS} shards (the default per-stream quota in the largest regions) is
rejected; use `on-demand` or ask AWS for a quota raise.

Column names are lower case (`[a-z_][a-z0-9_]*`) and unique. A problem with the column list
names the first wrong column, by position, and what is wrong with it."""

SETTINGS = SettingsSpec(cls=KinesisParquetSettings, fields=FIELDS, check=check, notes=NOTES)
