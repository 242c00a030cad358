"""ml_refarch/stacks/document_ai/smoke.py and sample_document.py against fake AWS clients."""

from __future__ import annotations

import io
import json
import re

import botocore.exceptions

from ml_refarch.stacks.document_ai import PATTERN, sample_document
from ml_refarch.stacks.document_ai.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)
OUTPUTS = {
    Outputs.BUCKET_NAME: "docs",
    Outputs.REVIEW_TABLE_NAME: "reviews",
    Outputs.CONFIDENCE_THRESHOLD: "90",
}
NOT_YET = botocore.exceptions.ClientError(
    {"Error": {"Code": "NoSuchKey", "Message": "no"}}, "GetObject"
)


def _result(name="Ana Carolina", confidence=99.0) -> dict:
    cells = [
        [{"text": text, "confidence": confidence} for text in row] for row in sample_document.TABLE
    ]
    return {
        "keyValues": [{"key": "Name", "value": name, "confidence": confidence}],
        "tables": [{"table": "table-1", "rows": cells}],
    }


def session(*, results=None, review_item=None):
    """S3 answers 'not yet' once, then ``results``; DynamoDB has ``review_item``."""
    pending = [NOT_YET, {"Body": io.BytesIO(json.dumps(results or _result()).encode())}]

    def listed(**request):
        prefix = request["Prefix"]
        return {"Contents": [{"Key": prefix + n} for n in ("result.json", "key-values.csv",
                                                           "table-1.csv")]}  # fmt: skip

    s3 = Fake(put_object={}, get_object=pending, list_objects_v2=listed, delete_object={})
    item = {"Item": review_item} if review_item else {}
    dynamodb = Fake(get_item=item, delete_item={})
    return Session(cloudformation=fakes.stack(OUTPUTS), s3=s3, dynamodb=dynamodb)


def test_a_confident_document_passes_without_a_review_item_and_is_cleaned_up(capsys):
    aws = session()
    assert main([], session=aws, sleep=lambda s: None) == 0
    s3 = aws.clients["s3"]
    (upload,) = [c[1] for c in s3.calls if c[0] == "put_object"]
    assert re.fullmatch(r"incoming/smoke-[0-9a-f]{8}\.pdf", upload["Key"])
    assert upload["Body"] == sample_document.pdf()
    deleted = {c[1]["Key"] for c in s3.calls if c[0] == "delete_object"}
    assert upload["Key"] in deleted and len(deleted) == 4
    assert "PASS" in capsys.readouterr().out


def test_a_low_confidence_field_needs_its_review_item():
    assert main([], session=session(results=_result(confidence=50.0)), sleep=lambda s: None) == 1
    item = {"documentId": {"S": "x"}, "status": {"S": "PENDING"}}
    aws = session(results=_result(confidence=50.0), review_item=item)
    assert main([], session=aws, sleep=lambda s: None) == 0


def test_a_wrong_value_fails():
    assert main([], session=session(results=_result(name="Ana")), sleep=lambda s: None) == 1


def test_no_results_before_the_deadline_fails_and_still_deletes_the_upload():
    aws = session()
    aws.clients["s3"].responses["get_object"] = [NOT_YET] * 100
    code = main(
        ["--timeout-seconds", "30", "--poll-seconds", "15"], session=aws, sleep=lambda s: None
    )
    assert code == 1
    assert any(c[0] == "delete_object" for c in aws.clients["s3"].calls)


def test_the_dry_run_calls_no_aws(capsys):
    assert main(["--dry-run"], session=fakes.NoAws()) == 0
    assert "sample PDF" in capsys.readouterr().out


def test_the_sample_pdf_has_its_text_and_a_cross_reference_table_that_points_at_objects():
    document = sample_document.pdf()
    assert document.startswith(b"%PDF-1.4") and document.endswith(b"%%EOF\n")
    start = int(document.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    table = document[start:].split(b"trailer")[0].split(b"\n")[3:-1]
    for number, line in enumerate(table, start=1):
        offset = int(line.split()[0])
        assert document[offset:].startswith(b"%d 0 obj" % number)
    for key, value in sample_document.FORM:
        assert b"(" + key.encode() + b")" in document and value.encode() in document
