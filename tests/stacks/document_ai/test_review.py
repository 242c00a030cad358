"""The review CLI (ml_refarch/stacks/document_ai/review.py) against moto: the parser's review
item and results, listed, shown and answered; answers written back to the JSON and CSV."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from ml_refarch.stacks.document_ai import review
from ml_refarch.stacks.document_ai.outputs import Outputs
from tests import smoke_fakes as fakes

SAMPLES = Path(__file__).resolve().parents[2] / "lambdas" / "data" / "textract"
DOCUMENT = "incoming/invoice.pdf"


class _Pages:
    def get_document_analysis(self, **request):
        name = "table-response-2.json" if request.get("NextToken") else "table-response-1.json"
        return json.loads((SAMPLES / name).read_text())


@pytest.fixture
def aws(monkeypatch):
    clients = fakes.moto_clients(
        monkeypatch, boto3.Session(region_name="us-east-1"), "us-east-1", "s3", "dynamodb", "sqs"
    )
    found = next(clients)
    found["s3"].create_bucket(Bucket="docs")
    found["dynamodb"].create_table(
        TableName="reviews",
        KeySchema=[{"AttributeName": "documentId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "documentId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue = found["sqs"].create_queue(QueueName="reviews")["QueueUrl"]
    for name, value in {
        "RESULTS_PREFIX": "results/",
        "CONFIDENCE_THRESHOLD": "80",
        "REVIEW_TABLE": "reviews",
        "REVIEW_QUEUE_URL": queue,
    }.items():
        monkeypatch.setenv(name, value)
    parser = review.parser_module()
    parser.handler(
        {"jobId": "j", "bucket": "docs", "documentKey": DOCUMENT},
        clients=(_Pages(), found["s3"], found["dynamodb"], found["sqs"]),
    )
    found["cloudformation"] = fakes.stack({Outputs.REVIEW_TABLE_NAME: "reviews"})
    yield found
    next(clients, None)


def _cli(aws, *argv):
    lines = []
    args = review._arguments(list(argv))
    code = review.run(args, aws.__getitem__, out=lines.append)
    return code, lines


def _field(aws) -> str:
    _, lines = _cli(aws, "show", DOCUMENT)
    return lines[1].split("\t")[0]


def test_list_and_show_name_the_pending_document_and_its_field(aws):
    code, lines = _cli(aws, "list")
    assert code == 0 and lines[0].startswith(DOCUMENT + "\t1 fields")
    code, lines = _cli(aws, "show", DOCUMENT)
    assert code == 0 and "'9.50'" in lines[1] and "48.5%" in lines[1]


def test_an_answer_is_written_back_to_the_json_and_csv_and_closes_the_review(aws):
    field = _field(aws)
    code, lines = _cli(aws, "answer", DOCUMENT, f"{field}=9.75")
    assert code == 0, lines
    prefix = "results/incoming/invoice.pdf/"
    csv_text = aws["s3"].get_object(Bucket="docs", Key=prefix + "table-1.csv")["Body"].read()
    assert b"Widget,2,9.75" in csv_text
    result = json.loads(
        aws["s3"].get_object(Bucket="docs", Key=prefix + "result.json")["Body"].read()
    )
    cell = result["tables"][0]["rows"][1][2]
    assert (cell["text"], cell["reviewed"]) == ("9.75", True)
    assert _cli(aws, "list") == (0, [])
    # A closed review is not answered twice.
    code, lines = _cli(aws, "answer", DOCUMENT, f"{field}=1")
    assert code == 1 and "REVIEWED" in lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("answer", DOCUMENT, "cell-nope=1"), "no such field"),
        (("answer", DOCUMENT, "no-equals-sign"), "is not FIELD=VALUE"),
        (("show", "incoming/other.pdf"), "no review item"),
    ],
)
def test_bad_answers_and_unknown_documents_are_refused_clearly(aws, argv, message):
    code, lines = _cli(aws, *argv)
    assert code == 1 and message in lines[0]


def test_a_missing_stack_is_a_setup_error(aws):
    aws["cloudformation"] = fakes.Fake(describe_stacks=KeyError("no stack"))
    code, lines = _cli(aws, "list")
    assert code == 2 and "cannot read stack" in lines[0]


def test_results_gone_from_the_bucket_are_an_aws_error_not_a_traceback(aws):
    field = _field(aws)
    aws["s3"].delete_object(Bucket="docs", Key="results/incoming/invoice.pdf/result.json")
    code, lines = _cli(aws, "answer", DOCUMENT, f"{field}=9.75")
    assert code == 2 and "NoSuchKey" in lines[0]
