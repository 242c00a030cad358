"""Tests of the DynamoDB-export-to-CSV converter (lambdas/dynamodb_export_to_csv/handler.py)
on the committed export sample (:mod:`tests.lambdas.dynamodb_export_sample`)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.lambdas import dynamodb_export_sample as sample
from tests.load import load_by_path

HANDLER_PATH = (
    Path(__file__).resolve().parents[2] / "lambdas" / "dynamodb_export_to_csv" / "handler.py"
)
converter = load_by_path("dynamodb_export_to_csv_handler", HANDLER_PATH)
KEYS = ("customer_id", "signup_day")


def _committed(key: str) -> bytes:
    return (sample.SAMPLE_ROOT / key).read_bytes()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_committed_sample_is_what_the_generator_writes():
    for key, body in sample.sample_files().items():
        assert _committed(key) == body, key


def test_the_sample_uses_every_attribute_type():
    item = sample.ITEMS_1[0]
    assert {kind for value in item.values() for kind in value} == set(converter.ALL_TYPES)


@pytest.fixture(scope="module")
def converted():
    return converter.convert_export(_committed, sample.SUMMARY_KEY)


def test_every_good_item_becomes_a_row_and_every_bad_line_is_counted(converted):
    conversion, declared = converted
    assert len(conversion.rows) == sample.GOOD_ITEMS
    assert conversion.malformed_lines == sample.MALFORMED_LINES
    assert declared == conversion.lines_read == sample.GOOD_ITEMS + sample.MALFORMED_LINES


def test_each_malformed_line_is_quoted_with_its_file_line_and_reason(converted):
    conversion, _ = converted
    problems = conversion.problems
    assert [p["line"] for p in problems] == [2, 3, 4, 5, 6, 7]
    assert all(p["file"].endswith(".json.gz") for p in problems)
    reasons = " | ".join(p["reason"] for p in problems)
    for expected in ("not JSON", '"Item"', "unknown attribute type 'X'", "not a number",
                     "not base64", "not one {type: value} pair"):  # fmt: skip
        assert expected in reasons


def test_the_csv_has_a_header_with_the_keys_first_then_the_other_attributes_sorted(converted):
    conversion, _ = converted
    header = next(csv.reader(io.StringIO(conversion.csv_text(KEYS))))
    assert header[:2] == list(KEYS)
    assert header[2:] == sorted(header[2:])
    assert set(header) == {name for item in sample.ITEMS_1 for name in item}


def test_each_type_is_written_as_its_cell(converted):
    conversion, _ = converted
    first = _rows(conversion.csv_text(KEYS))[0]
    assert first["customer_id"] == "c-001"
    assert first["balance"] == "1234.5678901234567890123"  # exact, not a float
    assert first["avatar"] == "iVBORw0KGgo="
    assert first["active"] == "true"
    assert first["referrer"] == ""
    assert json.loads(first["address"]) == {"city": "Lisbon", "zip": "1000"}
    assert json.loads(first["recent"]) == ["a", "2", False, None]
    assert json.loads(first["tags"]) == ["gold", "eu"]
    assert json.loads(first["scores"]) == ["1", "2.5", "-3"]
    assert json.loads(first["keys"]) == ["AAE=", "AgM="]
    assert first["name"] == 'Ana "Quoted", with comma'


def test_missing_attributes_are_empty_cells_and_text_survives_quoting(converted):
    conversion, _ = converted
    second = _rows(conversion.csv_text(KEYS))[1]
    assert second["name"] == "Bo\nnewline"
    assert second["active"] == "false"
    assert second["balance"] == ""


@pytest.mark.parametrize(
    "line",
    [
        '{"Item": {"a": {"NULL": false}}}',
        '{"Item": {"a": {"BOOL": "yes"}}}',
        '{"Item": {"a": {"SS": []}}}',
        '{"Item": {"a": {"NS": ["x"]}}}',
        '{"Item": {"a": {"M": []}}}',
        '{"Item": {"a": {"S": "x", "N": "1"}}}',
        '{"Item": {}}',
        "[1, 2]",
    ],
)
def test_a_malformed_value_anywhere_makes_the_line_malformed(line):
    with pytest.raises(converter.MalformedItem):
        converter.parse_line(line)


def test_an_export_id_comes_from_the_manifest_summary_key():
    assert converter.export_id(sample.SUMMARY_KEY) == sample.EXPORT_ID
    with pytest.raises(ValueError, match=r"manifest-summary\.json"):
        converter.export_id("exports/data/file.json.gz")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (sample.SUMMARY_KEY, sample.SUMMARY_KEY),
        (sample.SUMMARY_KEY.removeprefix("exports/"), sample.SUMMARY_KEY),
    ],
)
def test_a_manifest_key_without_the_export_prefix_is_read_under_it(key, expected):
    assert converter.summary_key_under("exports", key) == expected
    assert converter.summary_key_under("", key) == key


def test_the_handler_writes_the_csv_and_a_report_outside_the_training_prefix(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("OUTPUT_PREFIX", "training/")
    monkeypatch.setenv("REPORT_PREFIX", "reports/")
    monkeypatch.setenv("KEY_ATTRIBUTES", ",".join(KEYS))
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="export-bucket")
        for key, body in sample.sample_files().items():
            s3.put_object(Bucket="export-bucket", Key=key, Body=body)
        result = converter.handler(
            {
                "bucket": "export-bucket",
                "manifestSummaryKey": sample.SUMMARY_KEY.removeprefix("exports/"),
                "exportArn": sample.EXPORT_ARN,
                "exportPrefix": "exports",
            },
            s3=s3,
        )
        csv_key = f"training/{sample.EXPORT_ID}/items.csv"
        text = s3.get_object(Bucket="export-bucket", Key=csv_key)["Body"].read().decode()
        report_key = f"reports/{sample.EXPORT_ID}/conversion-report.json"
        written = json.loads(s3.get_object(Bucket="export-bucket", Key=report_key)["Body"].read())
        training = s3.list_objects_v2(Bucket="export-bucket", Prefix="training/")["Contents"]
    assert result["csvUri"] == f"s3://export-bucket/{csv_key}"
    assert (result["rows"], result["malformedLines"]) == (3, 6)
    assert result["allLinesAccountedFor"] and result["itemCountInManifest"] == 9
    assert written == result
    assert len(_rows(text)) == 3
    assert [o["Key"] for o in training] == [csv_key]
