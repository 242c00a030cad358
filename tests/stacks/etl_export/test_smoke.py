"""ml_refarch/stacks/etl_export/smoke.py against fake AWS clients."""

from __future__ import annotations

import io
import json

from ml_refarch.stacks.etl_export import PATTERN
from ml_refarch.stacks.etl_export.outputs import Outputs
from ml_refarch.stacks.etl_export.smoke import SAMPLE_ATTRIBUTES
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

OUTPUTS = {
    Outputs.TABLE_NAME: "table",
    Outputs.STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:export",
    Outputs.BUCKET_NAME: "bucket",
}
CSV_URI = "s3://bucket/training/01-abc/items.csv"


def session(*, statuses=("RUNNING", "SUCCEEDED"), malformed=0, rows=None, header="customer_id"):
    """A session whose CSV holds the items put (or ``rows``)."""
    table = Fake(
        describe_table={
            "Table": {"KeySchema": [{"AttributeName": "customer_id", "KeyType": "HASH"}]}
        },
        put_item={},
        delete_item={},
    )
    conversion = {"csvUri": CSV_URI, "malformedLines": malformed, "reportUri": "s3://r"}

    def read(**kwargs):
        assert kwargs == {"Bucket": "bucket", "Key": "training/01-abc/items.csv"}
        keys = rows if rows is not None else [c[1]["Item"]["customer_id"]["S"] for c in put(table)]
        text = "\n".join([f"{header},name", *[f"{k},x" for k in keys]]) + "\n"
        return {"Body": io.BytesIO(text.encode())}

    stepfunctions = Fake(
        start_execution={"executionArn": "arn:execution"},
        describe_execution=[
            {
                "status": s,
                "output": json.dumps({"conversion": conversion}),
                "cause": "export failed",
            }
            for s in statuses
        ],
    )
    return Session(
        cloudformation=fakes.stack(OUTPUTS),
        dynamodb=table,
        stepfunctions=stepfunctions,
        s3=Fake(get_object=read),
    )


def put(table: Fake) -> list:
    return [call for call in table.calls if call[0] == "put_item"]


def test_a_run_puts_items_exports_and_finds_each_in_the_csv_then_deletes_them(capsys):
    aws = session()
    assert main([], session=aws, sleep=lambda s: None) == 0
    table = aws.clients["dynamodb"]
    items = [call[1]["Item"] for call in put(table)]
    assert len(items) == len(SAMPLE_ATTRIBUTES)
    kinds = {kind for item in items for value in item.values() for kind in value}
    assert kinds == {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}
    deleted = [call[1]["Key"] for call in table.calls if call[0] == "delete_item"]
    assert deleted == [{"customer_id": item["customer_id"]} for item in items]
    assert "PASS" in capsys.readouterr().out


def test_a_failed_workflow_fails_and_still_deletes_the_items(capsys):
    aws = session(statuses=("RUNNING", "FAILED"))
    assert main([], session=aws, sleep=lambda s: None) == 1
    out = capsys.readouterr().out
    assert any(
        line.startswith("FAIL") and "workflow succeeded" in line for line in out.splitlines()
    )
    assert len([c for c in aws.clients["dynamodb"].calls if c[0] == "delete_item"]) == 3


def test_missing_rows_malformed_lines_and_a_wrong_header_each_fail(capsys):
    for options, failing in (
        ({"rows": ["someone-else"]}, "every item put is a CSV row"),
        ({"malformed": 2}, "no malformed lines"),
        ({"header": "id"}, "CSV header starts with the partition key"),
    ):
        assert main([], session=session(**options), sleep=lambda s: None) == 1
        out = capsys.readouterr().out
        assert any(line.startswith("FAIL") and failing in line for line in out.splitlines())


def test_an_export_that_outlasts_the_timeout_fails(capsys):
    aws = session(statuses=("RUNNING",) * 100)
    code = main(
        ["--timeout-seconds", "60", "--poll-seconds", "30"], session=aws, sleep=lambda s: None
    )
    assert code == 1
    assert "TIMEOUT" in capsys.readouterr().out


def test_a_dry_run_touches_no_aws(capsys):
    assert main(["--dry-run"], session=None) == 0
    assert "put 3 items" in capsys.readouterr().out
