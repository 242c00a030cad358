"""ml_refarch/stacks/feature_store_spark/smoke.py against fake AWS clients."""

from __future__ import annotations

import json

from ml_refarch.stacks.feature_store_spark import PATTERN
from ml_refarch.stacks.feature_store_spark.job.prepare_features import FEATURES
from ml_refarch.stacks.feature_store_spark.outputs import Outputs
from ml_refarch.stacks.feature_store_spark.smoke import expected_order_counts, sample_files
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

OUTPUTS = {
    Outputs.LAKE_URI: "s3://bucket/lake/",
    Outputs.STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:features",
    Outputs.FEATURE_GROUP_NAME: "customer-features-0123abcd",
    Outputs.RECORD_IDENTIFIER: "customer_id",
}
MODEL = "s3://bucket/models/features-1/output/model.tar.gz"


def record(customer: str, count: int) -> list[dict]:
    values = {name: "0" for name, _ in FEATURES} | {"order_count": str(count)}
    return [{"FeatureName": "customer_id", "ValueAsString": customer}] + [
        {"FeatureName": name, "ValueAsString": value} for name, value in values.items()
    ]


def session(*, statuses=("RUNNING", "SUCCEEDED"), counts=None, missing=()):
    counts = expected_order_counts() if counts is None else counts

    def get_record(**kwargs):
        assert kwargs["FeatureGroupName"] == OUTPUTS[Outputs.FEATURE_GROUP_NAME]
        customer = kwargs["RecordIdentifierValueAsString"]
        return {} if customer in missing else {"Record": record(customer, counts[customer])}

    return Session(
        cloudformation=fakes.stack(OUTPUTS),
        s3=Fake(put_object={}),
        stepfunctions=Fake(
            start_execution={"executionArn": "arn:execution"},
            describe_execution=[
                {"status": s, "output": json.dumps({"trained": {"artifacts": MODEL}}), "cause": "x"}
                for s in statuses
            ],
        ),
        **{"sagemaker-featurestore-runtime": Fake(get_record=get_record)},
    )


def test_the_sample_is_the_committed_lake_and_its_counts():
    assert [key for key, _ in sample_files()] == ["orders/part-0000.csv", "customers/part-0000.csv"]
    counts = expected_order_counts()
    assert counts["c001"] == 3 and counts["c006"] == 0 and len(counts) == 6


def test_a_run_uploads_the_lake_runs_the_workflow_and_reads_every_record(capsys):
    aws = session()
    assert main([], session=aws, sleep=lambda s: None) == 0
    puts = [c[1] for c in aws.clients["s3"].calls if c[0] == "put_object"]
    assert [(p["Bucket"], p["Key"]) for p in puts] == [
        ("bucket", "lake/orders/part-0000.csv"),
        ("bucket", "lake/customers/part-0000.csv"),
    ]
    reads = [c for c in aws.clients["sagemaker-featurestore-runtime"].calls if c[0] == "get_record"]
    assert len(reads) == len(expected_order_counts())
    out = capsys.readouterr().out
    assert "PASS" in out and "FAIL" not in out


def test_a_wrong_count_or_a_missing_record_fails(capsys):
    wrong = expected_order_counts() | {"c001": 2}
    for aws, failing in (
        (session(counts=wrong), "GetRecord c001"),
        (session(missing=("c004",)), "GetRecord c004"),
    ):
        assert main([], session=aws, sleep=lambda s: None) == 1
        out = capsys.readouterr().out
        assert any(line.startswith("FAIL") and failing in line for line in out.splitlines())


def test_a_failed_workflow_fails(capsys):
    assert main([], session=session(statuses=("RUNNING", "FAILED")), sleep=lambda s: None) == 1
    out = capsys.readouterr().out
    assert any(
        line.startswith("FAIL") and "workflow succeeded" in line for line in out.splitlines()
    )


def test_a_dry_run_touches_no_aws(capsys):
    assert main(["--dry-run"], session=None) == 0
    assert "upload 2 sample lake files" in capsys.readouterr().out
