"""ml_refarch/stacks/ml_workflow/smoke.py against fake AWS clients."""

from __future__ import annotations

import io
import json

import pytest

from ml_refarch.stacks.ml_workflow import PATTERN
from ml_refarch.stacks.ml_workflow.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Pages, Session, runner_for

main = runner_for(PATTERN)

OUTPUTS = {
    Outputs.STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:workflow",
    Outputs.ENDPOINT_NAME: "mlrefarch-mlworkflow-endpoint",
    Outputs.BUCKET_NAME: "training-bucket",
    Outputs.DATA_URI: "s3://training-bucket/data/",
}
TAG = {"Key": "ml-refarch:pattern", "Value": "ml-workflow"}


def session(*, statuses=("RUNNING", "SUCCEEDED"), endpoint=("Creating", "InService"), body=b"[1]"):
    cloudformation = fakes.stack(OUTPUTS)
    stepfunctions = Fake(
        start_execution={"executionArn": "arn:aws:states:::execution:workflow:run-1"},
        describe_execution=[
            {"status": status, "output": "{}", "cause": "training failed"} for status in statuses
        ],
    )
    sagemaker = Fake(describe_endpoint=[{"EndpointStatus": s} for s in endpoint])
    runtime = Fake(invoke_endpoint=lambda **_: {"Body": io.BytesIO(body)})
    return Session(
        cloudformation=cloudformation,
        stepfunctions=stepfunctions,
        sagemaker=sagemaker,
        **{"sagemaker-runtime": runtime},
    )


def test_a_successful_run_deploys_an_endpoint_that_predicts(capsys):
    aws = session()
    assert main(["--mode", "tune"], session=aws, sleep=lambda s: None) == 0
    (name, kwargs) = aws.clients["stepfunctions"].calls[0]
    assert name == "start_execution" and json.loads(kwargs["input"]) == {"mode": "tune"}
    (invoke,) = aws.clients["sagemaker-runtime"].calls
    assert invoke[1]["ContentType"] == "text/csv"
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "failing"),
    [
        ({"statuses": ("RUNNING", "FAILED")}, "workflow succeeded"),
        ({"endpoint": ("Failed",)}, "endpoint in service"),
        ({"body": b"not a class"}, "endpoint predicts a class"),
    ],
)
def test_each_failure_is_reported(capsys, options, failing):
    assert main([], session=session(**options), sleep=lambda s: None) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and failing in line for line in out.splitlines())


def test_a_run_that_outlasts_the_timeout_fails(capsys):
    aws = session(statuses=("RUNNING",) * 100)
    code = main(
        ["--timeout-seconds", "60", "--poll-seconds", "30"], session=aws, sleep=lambda s: None
    )
    assert code == 1
    assert "TIMEOUT" in capsys.readouterr().out


def test_teardown_deletes_the_endpoint_and_only_this_patterns_models(capsys):
    tags = {
        "arn:config-mine": [TAG],
        "arn:config-other": [{"Key": "team", "Value": "x"}],
        "arn:model-mine": [TAG],
    }
    sagemaker = Fake(
        delete_endpoint={},
        delete_endpoint_config={},
        delete_model={},
        list_tags=lambda ResourceArn: {"Tags": tags[ResourceArn]},
    )

    def config(name):
        return {"EndpointConfigName": name, "EndpointConfigArn": f"arn:{name}"}

    pages = {
        "list_endpoint_configs": Pages(
            [{"EndpointConfigs": [config("config-mine"), config("config-other")]}]
        ),
        "list_models": Pages(
            [{"Models": [{"ModelName": "model-mine", "ModelArn": "arn:model-mine"}]}]
        ),
    }
    sagemaker.get_paginator = lambda name: pages[name]
    aws = session()
    aws.clients["sagemaker"] = sagemaker
    assert main(["--teardown"], session=aws) == 0
    deleted = [(name, kwargs) for name, kwargs in sagemaker.calls if name.startswith("delete")]
    assert deleted == [
        ("delete_endpoint", {"EndpointName": OUTPUTS[Outputs.ENDPOINT_NAME]}),
        ("delete_endpoint_config", {"EndpointConfigName": "config-mine"}),
        ("delete_model", {"ModelName": "model-mine"}),
    ]
    assert "removed the endpoint and 2" in capsys.readouterr().out


def test_dry_run_needs_no_aws(capsys):
    assert main(["--dry-run"], session=None) == 0
    assert "would read stack MlRefArch-MlWorkflow" in capsys.readouterr().out
