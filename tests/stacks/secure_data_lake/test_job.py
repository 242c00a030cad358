"""The Glue job (job/redact_pii.py) applying Glue's detection results, without Spark.

The rows are shaped as Glue's ``EntityDetector.detect`` returns them (the original columns
plus ``DetectedEntities``: column -> entities with ``entityType``, ``actionUsed``, ``start``,
``end``, as aws-glue-api-sensitive-data-example.html documents) and the column classification
as ``classify_columns`` returns it (column -> entity types)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from ml_refarch.stacks.secure_data_lake.job import redact_pii
from ml_refarch.stacks.secure_data_lake.job.redact_pii import (
    DEFAULT_ENTITY_TYPES,
    MANAGED_ENTITY_TYPES,
    parse_entity_types,
    pii_columns,
    redact_rows,
    redact_spans,
)
from tests.stacks.secure_data_lake.fake_entity_detector import PATTERNS


def entity(kind: str, text: str, value: str) -> dict:
    start = text.index(value)
    return {"entityType": kind, "actionUsed": "DETECT", "start": start, "end": start + len(value)}


NOTES = [
    "call 555-123-4567 after 5pm",
    "SSN 123-45-6789 on file",
    "card 4111 1111 1111 1111, ip 192.168.0.12",
    "nothing here",
]
DETECTED = [
    {
        "id": "a1",
        "email": "ann@example.com",
        "notes": NOTES[0],
        "DetectedEntities": {
            "email": [entity("EMAIL", "ann@example.com", "ann@example.com")],
            "notes": [entity("PHONE_NUMBER", NOTES[0], "555-123-4567")],
        },
    },
    {
        "id": "a2",
        "email": "bob@example.org",
        "notes": NOTES[1],
        "DetectedEntities": {
            "email": [entity("EMAIL", "bob@example.org", "bob@example.org")],
            "notes": [entity("USA_SSN", NOTES[1], "123-45-6789")],
        },
    },
    {
        "id": "a3",
        "email": "",
        "notes": NOTES[2],
        "DetectedEntities": {
            "notes": [
                entity("IP_ADDRESS", NOTES[2], "192.168.0.12"),
                entity("CREDIT_CARD", NOTES[2], "4111 1111 1111 1111"),
            ]
        },
    },
    {"id": "a4", "email": "not an email", "notes": NOTES[3], "DetectedEntities": {}},
]
CLASSIFIED = {"id": [], "email": ["EMAIL"], "notes": []}


def test_columns_classify_columns_names_are_redacted_whole():
    redacted = redact_rows(DETECTED, CLASSIFIED, "REDACT", "****")
    # Every non-empty cell of a classified column, even one Glue found nothing in.
    assert [row["email"] for row in redacted] == ["****", "****", "", "****"]
    assert [row["id"] for row in redacted] == ["a1", "a2", "a3", "a4"]


def test_the_spans_detect_reports_are_replaced_inside_other_cells():
    redacted = redact_rows(DETECTED, CLASSIFIED, "REDACT", "****")
    assert [row["notes"] for row in redacted] == [
        "call **** after 5pm",
        "SSN **** on file",
        "card ****, ip ****",
        "nothing here",
    ]


def test_the_detection_column_is_not_written():
    (row,) = redact_rows(DETECTED[:1], CLASSIFIED, "REDACT", "****")
    assert list(row) == ["id", "email", "notes"]


def test_without_a_classification_only_the_spans_are_replaced():
    redacted = redact_rows(DETECTED, {}, "REDACT", "X")
    assert [row["email"] for row in redacted] == ["X", "X", "", "not an email"]


def test_hashing_keeps_equal_values_equal():
    digest = hashlib.sha256(b"123-45-6789").hexdigest()
    text = "a 123-45-6789 b 123-45-6789"
    found = [(2, 13), (16, 27)]
    assert redact_spans(text, found, "SHA256_HASH", "") == f"a {digest} b {digest}"


def test_overlapping_or_out_of_range_spans_are_skipped():
    assert redact_spans("abcdef", [(0, 3), (2, 5), (4, 99)], "REDACT", "X") == "Xdef"


def test_pii_columns_keeps_only_columns_with_entity_types():
    assert pii_columns({"a": ["EMAIL"], "b": [], "c": None}) == {"a": ["EMAIL"]}


def test_the_job_accepts_glue_managed_entity_types_only():
    assert parse_entity_types("email, usa_ssn,PERSON_NAME") == ["EMAIL", "USA_SSN", "PERSON_NAME"]
    with pytest.raises(ValueError, match="PERSON"):
        parse_entity_types("EMAIL,PERSON")
    with pytest.raises(ValueError):
        parse_entity_types(" , ")


def test_defaults_are_managed_types_the_test_double_knows():
    assert set(DEFAULT_ENTITY_TYPES) <= set(MANAGED_ENTITY_TYPES)
    assert set(DEFAULT_ENTITY_TYPES) <= set(PATTERNS)


def test_the_job_detects_with_glue_and_carries_no_detector_of_its_own():
    source = Path(redact_pii.__file__).read_text()
    assert "from awsglueml.transforms import EntityDetector" in source
    assert ".classify_columns(" in source and ".detect(" in source
    assert not re.search(r"^import re$|re\.compile", source, re.MULTILINE)
