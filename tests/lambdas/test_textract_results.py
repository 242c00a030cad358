"""Tests of the Textract results parser and review routing (lambdas/textract_results/handler.py)
on the committed response samples (tests/lambdas/data/textract, see its README)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.load import load_by_path

ROOT = Path(__file__).resolve().parents[2]
results = load_by_path(
    "textract_results_handler", ROOT / "lambdas" / "textract_results" / "handler.py"
)
SAMPLES = Path(__file__).resolve().parent / "data" / "textract"
_NAMESPACE = uuid.UUID("6f1c2a44-0000-4000-8000-000000000000")


def _id(name: str) -> str:
    """The id the samples give the block called ``name``."""
    return str(uuid.uuid5(_NAMESPACE, name))


def _sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


TABLE_PAGES = ("table-response-1.json", "table-response-2.json")


def test_key_values_are_read_with_their_lowest_confidence():
    result = results.parse([_sample("form-response.json")])
    pairs = {pair["key"]: pair for pair in result["keyValues"]}
    assert result["pages"] == 1
    assert {key: pair["value"] for key, pair in pairs.items()} == {
        "Name": "Ana Carolina",
        "Phone": "555-0100",
        "Married": "SELECTED",
    }
    # The value's word (62.17) is below both KEY_VALUE_SET blocks (71.9).
    assert pairs["Phone"]["confidence"] == pytest.approx(62.17)
    assert pairs["Name"]["confidence"] == pytest.approx(95.2)
    assert pairs["Name"]["field"] == f"kv-{_id('k-name')}"


def test_a_table_over_two_pages_of_results_keeps_its_cells_in_place():
    result = results.parse([_sample(name) for name in TABLE_PAGES])
    (table,) = result["tables"]
    texts = [[cell["text"] for cell in row] for row in table["rows"]]
    assert texts == [["Item", "Qty", "Price"], ["Widget", "2", "9.50"], ["Total", "", "19.00"]]
    assert [cell["header"] for cell in table["rows"][0]] == [True, True, True]
    assert table["rows"][1][2]["confidence"] == pytest.approx(48.5)
    assert results.table_csv(table) == "Item,Qty,Price\nWidget,2,9.50\nTotal,,19.00\n"


def test_the_first_page_alone_names_blocks_it_lacks():
    with pytest.raises(results.ResultsError, match="missing block"):
        results.parse([_sample(TABLE_PAGES[0])])


def test_an_analysis_that_did_not_succeed_is_refused():
    failed = {**_sample("form-response.json"), "JobStatus": "FAILED"}
    with pytest.raises(results.ResultsError, match="FAILED"):
        results.parse([failed])


def test_low_confidence_fields_fall_below_the_threshold_only():
    result = results.parse([_sample("form-response.json"), *map(_sample, TABLE_PAGES)])
    assert [f["label"] for f in results.low_confidence(result, 80)] == [
        "Phone",
        "row 2, column 3",
    ]
    assert results.low_confidence(result, 40) == []
    assert len(results.low_confidence(result, 99.9)) > 2


def test_answers_replace_values_mark_them_reviewed_and_leave_review():
    result = results.parse([_sample("form-response.json"), *map(_sample, TABLE_PAGES)])
    phone = f"kv-{_id('k-phone')}"
    price = f"cell-{_id('c-2-3')}"
    results.apply_answers(result, {phone: "555-0199", price: "9.75"})
    assert results.low_confidence(result, 80) == []
    rows = list(csv.DictReader(io.StringIO(results.key_values_csv(result))))
    assert {row["key"]: (row["value"], row["reviewed"]) for row in rows}["Phone"] == (
        "555-0199",
        "true",
    )
    assert "Widget,2,9.75" in results.table_csv(result["tables"][0])


def test_an_answer_for_an_unknown_field_is_refused_with_the_fields():
    result = results.parse([_sample("form-response.json")])
    with pytest.raises(results.ResultsError, match=r"no such field.*kv-nope"):
        results.apply_answers(result, {"kv-nope": "x"})


class _Pages:
    """GetDocumentAnalysis answering the table sample page by page."""

    def __init__(self):
        self.requests = []

    def get_document_analysis(self, **request):
        self.requests.append(request)
        return _sample(TABLE_PAGES[1] if request.get("NextToken") else TABLE_PAGES[0])


def test_the_handler_writes_results_and_queues_low_confidence_documents(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        dynamodb = boto3.client("dynamodb")
        sqs = boto3.client("sqs")
        s3.create_bucket(Bucket="docs")
        dynamodb.create_table(
            TableName="reviews",
            KeySchema=[{"AttributeName": "documentId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "documentId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue = sqs.create_queue(QueueName="reviews")["QueueUrl"]
        monkeypatch.setenv("RESULTS_PREFIX", "results/")
        monkeypatch.setenv("CONFIDENCE_THRESHOLD", "80")
        monkeypatch.setenv("REVIEW_TABLE", "reviews")
        monkeypatch.setenv("REVIEW_QUEUE_URL", queue)
        textract = _Pages()
        summary = results.handler(
            {"jobId": "job-1", "bucket": "docs", "documentKey": "incoming/invoice.pdf"},
            clients=(textract, s3, dynamodb, sqs),
        )
        assert [r.get("NextToken") for r in textract.requests] == [None, "eyJwYWdlIjogMn0="]
        assert summary["lowConfidenceFields"] == 1
        keys = sorted(
            o["Key"] for o in s3.list_objects_v2(Bucket="docs", Prefix="results/")["Contents"]
        )
        prefix = "results/incoming/invoice.pdf/"
        assert keys == [prefix + n for n in ("key-values.csv", "result.json", "table-1.csv")]
        item = dynamodb.get_item(
            TableName="reviews", Key={"documentId": {"S": "incoming/invoice.pdf"}}
        )["Item"]
        assert item["status"]["S"] == "PENDING"
        assert json.loads(item["fields"]["S"])[0]["value"] == "9.50"
        (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
        assert json.loads(message["Body"])["prefix"] == prefix


def test_a_confident_document_is_not_queued(monkeypatch):
    written = []

    class _S3:
        def put_object(self, **request):
            written.append(request["Key"])

    class _Refuse:
        def __getattr__(self, name):
            raise AssertionError(f"no review expected, got {name}")

    monkeypatch.setenv("RESULTS_PREFIX", "results/")
    monkeypatch.setenv("CONFIDENCE_THRESHOLD", "40")
    summary = results.handler(
        {"jobId": "j", "bucket": "b", "documentKey": "incoming/a.png"},
        clients=(_Pages(), _S3(), _Refuse(), _Refuse()),
    )
    assert summary["lowConfidenceFields"] == 0
    assert len(written) == 3
