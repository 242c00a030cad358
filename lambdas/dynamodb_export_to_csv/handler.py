"""Turn a DynamoDB table export (DynamoDB JSON) into one CSV file with a header.

A full export writes ``<prefix>/AWSDynamoDB/<export id>/manifest-summary.json``, which names
``manifest-files.json``: one JSON line per data file (``dataFileS3Key``, ``itemCount``). Each
data file is gzip-compressed JSON lines, one item per line as ``{"Item": {<name>: {<type>:
<value>}}}`` ("DynamoDB table export output format",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html).

The CSV has one column per top-level attribute seen in any item: the key attributes first
(``KEY_ATTRIBUTES``), the others sorted. Scalars are written as text (numbers exactly as
DynamoDB keeps them, binary as the export's base64, booleans as ``true``/``false``, NULL and
missing attributes as empty cells); maps, lists and sets as JSON. A line that cannot be read
as an item is never dropped silently: it is counted, the first ones are quoted with their
file, line number and reason, and the count is in the result and in the report written
beside the CSV's prefix.

Event: ``{"bucket": ..., "manifestSummaryKey": ..., "exportArn": ..., "exportPrefix": ...}``
(``DescribeExport``'s ``ExportManifest``; a key that does not start with ``exportPrefix``
is read under it). Environment:
``OUTPUT_PREFIX`` (the CSV goes to ``<prefix><export id>/items.csv``), ``REPORT_PREFIX`` (the
report to ``<prefix><export id>/conversion-report.json``, outside the training prefix so a
training channel does not read it), ``KEY_ATTRIBUTES`` (comma-separated).
"""

from __future__ import annotations

import base64
import binascii
import csv
import gzip
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

#: How many malformed lines the report quotes (all are counted).
MAX_QUOTED_PROBLEMS = 20
#: The longest excerpt of a malformed line the report quotes.
EXCERPT_CHARS = 200

SCALAR_TYPES = ("S", "N", "B", "BOOL", "NULL")
SET_TYPES = ("SS", "NS", "BS")
ALL_TYPES = (*SCALAR_TYPES, "M", "L", *SET_TYPES)


class MalformedItem(ValueError):
    """A line that is not one item in DynamoDB JSON."""


def _number(text: Any) -> str:
    if not isinstance(text, str):
        raise MalformedItem(f"N value {text!r} is not a string")
    try:
        Decimal(text)
    except InvalidOperation:
        raise MalformedItem(f"N value {text!r} is not a number") from None
    return text


def _binary(text: Any) -> str:
    if not isinstance(text, str):
        raise MalformedItem(f"B value {text!r} is not a base64 string")
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:
        raise MalformedItem(f"B value {text[:40]!r} is not base64") from None
    return text


def plain(value: Any) -> Any:
    """One DynamoDB JSON attribute value (``{"N": "1"}``) as a plain JSON value."""
    if not isinstance(value, dict) or len(value) != 1:
        raise MalformedItem(f"attribute value {value!r} is not one {{type: value}} pair")
    ((kind, inner),) = value.items()
    if kind == "S":
        if not isinstance(inner, str):
            raise MalformedItem(f"S value {inner!r} is not a string")
        return inner
    if kind == "N":
        return _number(inner)
    if kind == "B":
        return _binary(inner)
    if kind == "BOOL":
        if not isinstance(inner, bool):
            raise MalformedItem(f"BOOL value {inner!r} is not true or false")
        return inner
    if kind == "NULL":
        if inner is not True:
            raise MalformedItem(f"NULL value {inner!r} is not true")
        return None
    if kind == "M":
        if not isinstance(inner, dict):
            raise MalformedItem("M value is not an object")
        return {name: plain(member) for name, member in inner.items()}
    if kind == "L":
        if not isinstance(inner, list):
            raise MalformedItem("L value is not a list")
        return [plain(member) for member in inner]
    if kind in SET_TYPES:
        if not isinstance(inner, list) or not inner:
            raise MalformedItem(f"{kind} value is not a non-empty list")
        check = {"SS": lambda v: plain({"S": v}), "NS": _number, "BS": _binary}[kind]
        return [check(member) for member in inner]
    raise MalformedItem(f"unknown attribute type {kind!r} (DynamoDB has {', '.join(ALL_TYPES)})")


def cell(value: Any) -> str:
    """A plain value as a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def parse_line(line: str) -> dict[str, Any]:
    """One export line as ``{attribute: plain value}``."""
    try:
        document = json.loads(line)
    except ValueError as error:
        raise MalformedItem(f"not JSON ({error.msg})") from None
    if not isinstance(document, dict) or not isinstance(document.get("Item"), dict):
        raise MalformedItem('not an object with an "Item" map')
    if not document["Item"]:
        raise MalformedItem("the item has no attributes")
    return {name: plain(value) for name, value in document["Item"].items()}


@dataclass
class Conversion:
    """Items read from an export's data files, and the lines that were not items."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    malformed_lines: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    lines_read: int = 0

    def add_lines(self, source: str, lines: Iterable[str]) -> None:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            self.lines_read += 1
            try:
                self.rows.append(parse_line(line))
            except MalformedItem as problem:
                self.malformed_lines += 1
                if len(self.problems) < MAX_QUOTED_PROBLEMS:
                    self.problems.append(
                        {
                            "file": source,
                            "line": number,
                            "reason": str(problem),
                            "excerpt": line.strip()[:EXCERPT_CHARS],
                        }
                    )

    def columns(self, key_attributes: Iterable[str] = ()) -> list[str]:
        seen = {name for row in self.rows for name in row}
        keys = [name for name in key_attributes if name]
        return keys + sorted(seen - set(keys))

    def csv_text(self, key_attributes: Iterable[str] = ()) -> str:
        columns = self.columns(key_attributes)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in self.rows:
            writer.writerow([cell(row.get(name)) for name in columns])
        return buffer.getvalue()


def gzip_lines(body: bytes) -> Iterator[str]:
    """The text lines of a gzip-compressed data file."""
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        for raw in stream:
            yield raw.decode("utf-8", errors="replace")


def data_files(manifest_files_text: str) -> list[tuple[str, int | None]]:
    """(S3 key, item count) of each data file ``manifest-files.json`` lists."""
    found = []
    for line in manifest_files_text.splitlines():
        if line.strip():
            entry = json.loads(line)
            found.append((entry["dataFileS3Key"], entry.get("itemCount")))
    return found


def export_id(manifest_summary_key: str) -> str:
    """``<prefix>/AWSDynamoDB/<export id>/manifest-summary.json`` -> ``<export id>``."""
    parts = manifest_summary_key.split("/")
    if len(parts) < 2 or parts[-1] != "manifest-summary.json":
        raise ValueError(f"{manifest_summary_key!r} is not an export's manifest-summary.json")
    return parts[-2]


def summary_key_under(prefix: str, key: str) -> str:
    """``key`` under the export's ``prefix`` (``exports``), unless it already is."""
    prefix = prefix.strip("/")
    if not prefix or key.startswith(prefix + "/"):
        return key
    return f"{prefix}/{key.lstrip('/')}"


def convert_export(read, manifest_summary_key: str) -> tuple[Conversion, int | None]:
    """Read an export through ``read(key) -> bytes``; returns the conversion and the item
    count the manifest declares (``None`` if a file does not say)."""
    summary = json.loads(read(manifest_summary_key))
    conversion = Conversion()
    declared: int | None = 0
    for key, count in data_files(read(summary["manifestFilesS3Key"]).decode("utf-8")):
        conversion.add_lines(key, gzip_lines(read(key)))
        declared = None if declared is None or count is None else declared + count
    return conversion, declared


def report(conversion: Conversion, declared: int | None, **where: str) -> dict[str, Any]:
    """What the conversion did, as the handler returns it and writes beside the CSV."""
    return {
        **where,
        "rows": len(conversion.rows),
        "linesRead": conversion.lines_read,
        "malformedLines": conversion.malformed_lines,
        "itemCountInManifest": declared,
        "allLinesAccountedFor": conversion.lines_read
        == len(conversion.rows) + conversion.malformed_lines,
        "malformedExamples": conversion.problems,
    }


def handler(event: dict[str, Any], _context: Any = None, s3: Any = None) -> dict[str, Any]:
    if s3 is None:
        import boto3  # the Lambda runtime has it; the logic above needs only the stdlib

        s3 = boto3.client("s3")
    bucket = event["bucket"]
    summary_key = summary_key_under(event.get("exportPrefix", ""), event["manifestSummaryKey"])
    export = export_id(summary_key)

    def read(key: str) -> bytes:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    conversion, declared = convert_export(read, summary_key)
    keys = os.environ.get("KEY_ATTRIBUTES", "").split(",")
    csv_key = f"{os.environ['OUTPUT_PREFIX']}{export}/items.csv"
    report_key = f"{os.environ['REPORT_PREFIX']}{export}/conversion-report.json"
    result = report(
        conversion,
        declared,
        exportArn=event.get("exportArn", ""),
        csvUri=f"s3://{bucket}/{csv_key}",
        reportUri=f"s3://{bucket}/{report_key}",
        columns=",".join(conversion.columns(keys)),
    )
    s3.put_object(
        Bucket=bucket,
        Key=csv_key,
        Body=conversion.csv_text(keys).encode("utf-8"),
        ContentType="text/csv",
    )
    s3.put_object(
        Bucket=bucket,
        Key=report_key,
        Body=json.dumps(result, indent=2).encode("utf-8"),
        ContentType="application/json",
    )
    print(json.dumps({k: v for k, v in result.items() if k != "malformedExamples"}))
    return result
