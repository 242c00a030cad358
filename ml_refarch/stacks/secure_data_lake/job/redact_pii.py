"""Glue job of the secure-data-lake pattern: raw CSV in, PII redacted, Parquet out.

Runs as a Glue Spark job (``glueetl``, Glue 4.0 or newer). It reads every CSV file under
``--RAW_PATH``, finds personal data at two levels, as Glue's "Detect PII" transform does
(https://docs.aws.amazon.com/glue/latest/dg/detect-PII.html):

- column level ("Detect fields containing PII"): a column where at least
  ``--COLUMN_THRESHOLD_PERCENT`` of the non-empty cells are one entity type is redacted
  whole, every cell;
- cell level ("Detect PII in each cell"): in the other columns each match is replaced
  inside its cell, the rest of the text kept.

The entity type names (``EMAIL``, ``USA_SSN``, ...) are Glue's managed data type names
(https://docs.aws.amazon.com/glue/latest/dg/sensitive-data-managed-data-types.html); the
detectors are plain regular expressions in this file (credit card numbers also pass the
Luhn check), so the same logic runs in the tests on plain Python rows; only ``main`` needs
Glue (its job bookmark reads each raw file once) and Spark. ``--ACTION`` is ``REDACT``
(replace with ``--REDACT_TEXT``) or ``SHA256_HASH`` (replace with the value's SHA-256, so
equal values still join).

The output goes to ``--CURATED_PATH`` as Parquet, every column a string; the Glue table of
the stack describes it. Everything but ``main`` is plain Python, importable without Spark.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterable, Mapping, Sequence

#: Glue managed data type name -> the pattern this job detects it with.
DETECTORS: dict[str, re.Pattern[str]] = {
    "EMAIL": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    "USA_SSN": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "CREDIT_CARD": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    "PHONE_NUMBER": re.compile(r"(?<![\w-])\+?\d{0,3}[ .-]?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"),
    "IP_ADDRESS": re.compile(
        r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"
    ),
    "MAC_ADDRESS": re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b"),
}
ACTIONS = ("REDACT", "SHA256_HASH")
#: The job's own arguments (``--NAME`` in the job's DefaultArguments).
ARGUMENTS = (
    "RAW_PATH",
    "CURATED_PATH",
    "ENTITY_TYPES",
    "ACTION",
    "REDACT_TEXT",
    "COLUMN_THRESHOLD_PERCENT",
    "SAMPLE_ROWS",
)


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def matches(entity_type: str, text: str) -> list[tuple[int, int]]:
    """(start, end) of each ``entity_type`` found in ``text``."""
    found = []
    for match in DETECTORS[entity_type].finditer(text):
        if entity_type == "CREDIT_CARD" and not _luhn(re.sub(r"\D", "", match.group())):
            continue
        found.append(match.span())
    return found


def replacement(value: str, action: str, redact_text: str) -> str:
    if action == "SHA256_HASH":
        return hashlib.sha256(value.encode()).hexdigest()
    return redact_text


def redact_cell(text: str, entity_types: Sequence[str], action: str, redact_text: str) -> str:
    """``text`` with every match of ``entity_types`` replaced (cell level)."""
    spans = sorted(span for entity in entity_types for span in matches(entity, text))
    kept, position = [], 0
    for start, end in spans:
        if start < position:
            continue  # overlaps a match replaced already
        kept += [text[position:start], replacement(text[start:end], action, redact_text)]
        position = end
    return "".join(kept) + text[position:]


def is_entire(entity_type: str, text: str) -> bool:
    """Whether the whole cell (trimmed) is one ``entity_type``."""
    text = text.strip()
    return any(start == 0 and end == len(text) for start, end in matches(entity_type, text))


def pii_columns(
    rows: Iterable[Mapping[str, str | None]],
    columns: Sequence[str],
    entity_types: Sequence[str],
    threshold_percent: float,
) -> dict[str, str]:
    """{column: entity type} for each column whose non-empty cells are at least
    ``threshold_percent`` % one entity type (column level)."""
    filled = dict.fromkeys(columns, 0)
    hits = {column: dict.fromkeys(entity_types, 0) for column in columns}
    for row in rows:
        for column in columns:
            value = row.get(column)
            if not value or not value.strip():
                continue
            filled[column] += 1
            for entity in entity_types:
                hits[column][entity] += is_entire(entity, value)
    found = {}
    for column in columns:
        if not filled[column]:
            continue
        entity, count = max(hits[column].items(), key=lambda item: item[1], default=("", 0))
        if count and 100 * count / filled[column] >= threshold_percent:
            found[column] = entity
    return found


def redact_row(
    row: Mapping[str, str | None],
    whole_columns: Mapping[str, str],
    entity_types: Sequence[str],
    action: str,
    redact_text: str,
) -> dict[str, str | None]:
    """One row with PII columns replaced whole and PII inside other cells replaced."""
    out: dict[str, str | None] = {}
    for column, value in row.items():
        if value is None or value == "":
            out[column] = value
        elif column in whole_columns:
            out[column] = replacement(value, action, redact_text)
        else:
            out[column] = redact_cell(value, entity_types, action, redact_text)
    return out


def redact_rows(
    rows: Sequence[Mapping[str, str | None]],
    entity_types: Sequence[str],
    action: str,
    redact_text: str,
    threshold_percent: float,
) -> tuple[list[dict[str, str | None]], dict[str, str]]:
    """(redacted rows, the columns redacted whole) for an in-memory table."""
    columns = list(rows[0]) if rows else []
    whole = pii_columns(rows, columns, entity_types, threshold_percent)
    return [redact_row(row, whole, entity_types, action, redact_text) for row in rows], whole


def parse_entity_types(text: str) -> list[str]:
    """The ``--ENTITY_TYPES`` argument: comma-separated names this job knows."""
    names = [name.strip().upper() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in DETECTORS]
    if unknown or not names:
        raise ValueError(f"unknown entity types {unknown}; known: {', '.join(DETECTORS)}")
    return names


def main(argv: Sequence[str]) -> None:  # pragma: no cover - runs in Glue
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext
    from pyspark.sql.functions import col

    args = getResolvedOptions(list(argv), ["JOB_NAME", *ARGUMENTS])
    entity_types = parse_entity_types(args["ENTITY_TYPES"])
    action, redact_text = args["ACTION"], args["REDACT_TEXT"]
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    # Read through Glue so the job bookmark (transformation_ctx) skips files read before.
    raw = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [args["RAW_PATH"]], "recurse": True},
        format="csv",
        format_options={"withHeader": True},
        transformation_ctx="raw_csv",
    ).toDF()
    columns = raw.columns
    if columns:
        frame = raw.select([col(name).cast("string").alias(name) for name in columns])
        # Column level on a sample, as Glue's "Detect fields containing PII" samples rows.
        sample = [row.asDict() for row in frame.limit(int(args["SAMPLE_ROWS"])).collect()]
        threshold = float(args["COLUMN_THRESHOLD_PERCENT"])
        whole = pii_columns(sample, columns, entity_types, threshold)
        print(f"columns redacted whole: {whole}")

        def redact(row):
            cleaned = redact_row(row.asDict(), whole, entity_types, action, redact_text)
            return tuple(cleaned[name] for name in columns)

        redacted = spark.createDataFrame(frame.rdd.map(redact), frame.schema)
        redacted.write.mode("append").parquet(args["CURATED_PATH"])
    job.commit()


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv)
