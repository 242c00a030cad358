"""The Glue job's redaction logic (job/redact_pii.py) on sample rows, without Spark."""

from __future__ import annotations

import hashlib

import pytest

from ml_refarch.stacks.secure_data_lake.job.redact_pii import (
    DETECTORS,
    matches,
    parse_entity_types,
    pii_columns,
    redact_cell,
    redact_rows,
)

ALL = list(DETECTORS)
ROWS = [
    {"id": "a1", "email": "ann@example.com", "notes": "call 555-123-4567 after 5pm"},
    {"id": "a2", "email": "bob@example.org", "notes": "SSN 123-45-6789 on file"},
    {"id": "a3", "email": "", "notes": "card 4111 1111 1111 1111, ip 192.168.0.12"},
    {"id": "a4", "email": "not an email", "notes": "mac 00:1A:2B:3C:4D:5E ok"},
]


@pytest.mark.parametrize(
    ("entity", "text", "found"),
    [
        ("EMAIL", "write to ann@example.com now", ["ann@example.com"]),
        ("USA_SSN", "ssn 123-45-6789", ["123-45-6789"]),
        ("CREDIT_CARD", "4111 1111 1111 1111", ["4111 1111 1111 1111"]),
        ("CREDIT_CARD", "4111 1111 1111 1112", []),  # fails the Luhn check
        ("PHONE_NUMBER", "(555) 123-4567", ["(555) 123-4567"]),
        ("IP_ADDRESS", "from 10.0.0.255", ["10.0.0.255"]),
        ("IP_ADDRESS", "version 300.1.1.1", []),
        ("MAC_ADDRESS", "nic 00-1A-2B-3C-4D-5E", ["00-1A-2B-3C-4D-5E"]),
    ],
)
def test_each_detector_finds_its_entity_and_nothing_else(entity, text, found):
    assert [text[start:end] for start, end in matches(entity, text)] == found


def test_a_column_mostly_of_one_entity_is_redacted_whole():
    # email: 2 of 3 non-empty cells are emails (67 %); notes: no cell is wholly PII.
    assert pii_columns(ROWS, ["id", "email", "notes"], ALL, 50) == {"email": "EMAIL"}
    assert pii_columns(ROWS, ["id", "email", "notes"], ALL, 70) == {}


def test_cells_keep_their_text_around_the_pii():
    redacted, whole = redact_rows(ROWS, ALL, "REDACT", "****", 50)
    assert whole == {"email": "EMAIL"}
    assert [row["email"] for row in redacted] == ["****", "****", "", "****"]
    assert [row["notes"] for row in redacted] == [
        "call **** after 5pm",
        "SSN **** on file",
        "card ****, ip ****",
        "mac **** ok",
    ]
    assert [row["id"] for row in redacted] == ["a1", "a2", "a3", "a4"]


def test_only_the_chosen_entity_types_are_redacted():
    assert redact_cell("ann@example.com 123-45-6789", ["USA_SSN"], "REDACT", "X") == (
        "ann@example.com X"
    )


def test_hashing_keeps_equal_values_equal():
    digest = hashlib.sha256(b"123-45-6789").hexdigest()
    text = "a 123-45-6789 b 123-45-6789"
    assert redact_cell(text, ["USA_SSN"], "SHA256_HASH", "") == f"a {digest} b {digest}"


def test_the_job_rejects_entity_types_it_does_not_know():
    assert parse_entity_types("email, usa_ssn") == ["EMAIL", "USA_SSN"]
    with pytest.raises(ValueError, match="PERSON_NAME"):
        parse_entity_types("EMAIL,PERSON_NAME")
