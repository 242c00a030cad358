"""ml_refarch/stacks/model_registry/smoke.py against fake AWS clients."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from ml_refarch.stacks.model_registry import PATTERN
from ml_refarch.stacks.model_registry.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Pages, Session, runner_for

main = runner_for(PATTERN)

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlrefarch-modelregistry-models/1"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:recommend"
OUTPUTS = {
    Outputs.MODEL_PACKAGE_GROUP_NAME: "mlrefarch-modelregistry-models",
    Outputs.MODEL_PACKAGE_ARN: PACKAGE,
    Outputs.STATE_MACHINE_ARN: MACHINE,
    Outputs.RESULTS_BUCKET_NAME: "results",
}
RECORDED = (Path(__file__).parent / "fixtures" / "describe-default-job.json").read_text()
RESULT = {"bucket": "results", "key": "recommendations/recommend-1.json", "jobName": "recommend-1"}


def package(status="PendingManualApproval", **changes):
    return {
        "ModelPackageGroupName": "mlrefarch-modelregistry-models",
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": status,
        "Domain": "MACHINE_LEARNING",
        "Task": "CLASSIFICATION",
        "ModelMetrics": {"ModelQuality": {"Statistics": {"S3Uri": "s3://assets/metrics.json"}}},
        **changes,
    }


def session(
    *,
    described=None,
    started_by="approval",
    statuses=("RUNNING", "SUCCEEDED"),
    result=RECORDED,
):
    execution_input = json.dumps({"modelPackageArn": PACKAGE, "startedBy": started_by})
    describe = [
        {"status": "RUNNING", "input": execution_input},  # the approval run, as found
        *({"status": s, "output": json.dumps(RESULT), "cause": "job FAILED"} for s in statuses),
    ]
    stepfunctions = Fake(
        list_executions={"executions": [{"executionArn": "arn:execution:approval"}]},
        describe_execution=describe,
        start_execution={"executionArn": "arn:execution:started"},
    )
    stepfunctions.last_repeats = True

    def read(**kwargs):
        assert kwargs == {"Bucket": "results", "Key": RESULT["key"]}
        return {"Body": io.BytesIO(result.encode())}

    return Session(
        cloudformation=fakes.stack(OUTPUTS),
        sagemaker=Fake(describe_model_package=described or package(), update_model_package={}),
        stepfunctions=stepfunctions,
        s3=Fake(get_object=read),
    )


def failing(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("FAIL")]


def test_a_run_approves_the_version_follows_the_run_the_approval_starts_and_summarises(capsys):
    aws = session()
    assert main([], session=aws, sleep=lambda s: None) == 0
    assert aws.clients["sagemaker"].calls[1] == (
        "update_model_package",
        {"ModelPackageArn": PACKAGE, "ModelApprovalStatus": "Approved"},
    )
    # The smoke test starts nothing itself: the approval rule did.
    assert "start_execution" not in [c[0] for c in aws.clients["stepfunctions"].calls]
    out = capsys.readouterr().out
    assert "pick: ml.c5.large x 1" in out
    assert failing(out) == []


def test_an_approval_that_starts_no_run_fails(capsys):
    aws = session(started_by="someone-else")
    code = main(
        ["--timeout-seconds", "600", "--poll-seconds", "60"], session=aws, sleep=lambda s: None
    )
    assert code == 1
    assert any(
        "the approval started the workflow" in line for line in failing(capsys.readouterr().out)
    )


def test_an_approved_version_and_an_advanced_job_are_started_directly(capsys):
    for argv, described, job_type in (
        ([], package(status="Approved"), "Default"),
        (["--job-type", "advanced"], package(), "Advanced"),
    ):
        aws = session(described=described, statuses=("SUCCEEDED",))
        # The first describe answers the start; the canned "approval" input is not read.
        aws.clients["stepfunctions"].responses["describe_execution"].pop(0)
        assert main(argv, session=aws, sleep=lambda s: None) == 0
        (start,) = [c[1] for c in aws.clients["stepfunctions"].calls if c[0] == "start_execution"]
        assert json.loads(start["input"]) == {
            "modelPackageArn": PACKAGE,
            "jobType": job_type,
            "startedBy": "smoke",
        }
        assert "update_model_package" not in [c[0] for c in aws.clients["sagemaker"].calls]
    capsys.readouterr()


def test_a_failed_run_and_a_version_without_metrics_each_fail(capsys):
    assert main([], session=session(statuses=("FAILED",)), sleep=lambda s: None) == 1
    assert any("workflow succeeded" in line for line in failing(capsys.readouterr().out))
    bare = package(ModelMetrics={})
    assert main([], session=session(described=bare), sleep=lambda s: None) == 1
    assert any("model quality metrics" in line for line in failing(capsys.readouterr().out))


def test_a_result_without_recommendations_or_not_a_job_description_fails(capsys):
    empty = json.dumps({**json.loads(RECORDED), "InferenceRecommendations": []})
    assert main([], session=session(result=empty), sleep=lambda s: None) == 1
    assert any("job made recommendations" in line for line in failing(capsys.readouterr().out))
    assert main([], session=session(result="[]"), sleep=lambda s: None) == 1
    assert any("result is a job description" in line for line in failing(capsys.readouterr().out))


def test_read_latest_summarises_the_newest_saved_result(capsys):
    older = {"Key": "recommendations/old.json", "LastModified": datetime(2026, 1, 1, tzinfo=UTC)}
    newer = {"Key": RESULT["key"], "LastModified": datetime(2026, 2, 1, tzinfo=UTC)}
    aws = session()
    aws.clients["s3"].responses["get_paginator"] = lambda operation_name: Pages(
        [{"Contents": [older]}, {"Contents": [newer]}]
    )
    assert main(["--read-latest"], session=aws, sleep=lambda s: None) == 0
    assert aws.clients["sagemaker"].calls == []
    assert "pick: ml.c5.large" in capsys.readouterr().out
    aws.clients["s3"].responses["get_paginator"] = lambda operation_name: Pages([{}])
    assert main(["--read-latest"], session=aws, sleep=lambda s: None) == 1
    assert any("a saved result exists" in line for line in failing(capsys.readouterr().out))


def test_a_dry_run_touches_no_aws(capsys):
    assert main(["--dry-run"], session=fakes.NoAws()) == 0
    assert "approve it, follow the run the approval starts" in capsys.readouterr().out
