"""ml_refarch/stacks/inference_pipeline/smoke.py against fake AWS clients."""

from __future__ import annotations

import io
import json

import botocore.exceptions
import pytest

from ml_refarch.stacks.inference_pipeline import PATTERN
from ml_refarch.stacks.inference_pipeline import smoke as smoke_pipeline
from ml_refarch.stacks.inference_pipeline.artifacts import load_pipeline_manifest
from ml_refarch.stacks.inference_pipeline.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

MANIFEST = load_pipeline_manifest()
SAMPLES = MANIFEST["samples"]
BUCKET = "pipeline-data"
OUTPUTS = {
    Outputs.ENDPOINT_NAME: "pipeline-endpoint",
    Outputs.BUCKET_NAME: BUCKET,
    Outputs.STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:transform",
}
RUN = "20261125"
KEY = f"input/smoke-{RUN}.csv"
JOB_OUTPUT = f"s3://{BUCKET}/output/transform-abc/"


def labelled(labels=None, scores=None) -> str:
    labels = labels or SAMPLES["predicted"]
    scores = scores or SAMPLES["scores"]
    return "".join(f"{label},{score:.6f}\n" for label, score in zip(labels, scores, strict=True))


def model_error(status=400, message="invalid rows: row 1 has 3 values, expected 9"):
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": "ModelError", "Message": "Received client error (400)"},
            "OriginalStatusCode": status,
            "OriginalMessage": json.dumps({"error": message, "status": status}),
        },
        "InvokeEndpoint",
    )


def session(
    *,
    answer: str | None = None,
    bad_row=None,
    executions=None,
    statuses=("RUNNING", "SUCCEEDED"),
    joined: str | None = None,
):
    cloudformation = fakes.stack(OUTPUTS)
    runtime = Fake(
        invoke_endpoint=[
            {"Body": io.BytesIO((answer if answer is not None else labelled()).encode())},
            bad_row if bad_row is not None else model_error(),
        ]
    )
    ids = [f"{RUN}-{i}" for i in range(len(SAMPLES["rows"]))]
    if joined is None:
        joined = "".join(
            f"{i},{label},{score:.6f}\n"
            for i, label, score in zip(ids, SAMPLES["predicted"], SAMPLES["scores"], strict=True)
        )
    s3 = Fake(put_object={}, get_object=lambda **_: {"Body": io.BytesIO(joined.encode())})
    runs = {
        "arn:other": {"input": json.dumps({"inputKey": "input/"}), "status": "SUCCEEDED"},
    }
    states = list(statuses)

    def describe_execution(executionArn):
        if executionArn in runs:
            return runs[executionArn]
        status = states.pop(0) if len(states) > 1 else states[0]
        return {
            "input": json.dumps({"inputKey": KEY}),
            "status": status,
            "output": json.dumps({"transform": {"output": JOB_OUTPUT}}),
            "cause": "transform failed",
        }

    listed = executions or [
        {"executions": []},
        {"executions": [{"executionArn": "arn:mine"}, {"executionArn": "arn:other"}]},
    ]
    stepfunctions = Fake(list_executions=listed, describe_execution=describe_execution)
    return Session(
        cloudformation=cloudformation,
        s3=s3,
        stepfunctions=stepfunctions,
        **{"sagemaker-runtime": runtime},
    )


def run(aws, *argv) -> int:
    return main(list(argv), session=aws, sleep=lambda s: None, run_id=RUN)


def test_a_working_pipeline_passes_every_check(capsys):
    aws = session()
    assert run(aws) == 0
    out = capsys.readouterr().out
    assert "PASS: all 5 checks passed" in out
    (put,) = aws.clients["s3"].calls[:1]
    assert put[1]["Key"] == KEY
    first = put[1]["Body"].decode().splitlines()[0]
    assert first == f"{RUN}-0,{SAMPLES['rows'][0]}"
    (get,) = [c for c in aws.clients["s3"].calls if c[0] == "get_object"]
    assert get[1]["Key"] == f"output/transform-abc/smoke-{RUN}.csv.out"
    good, bad = aws.clients["sagemaker-runtime"].calls
    assert good[1]["ContentType"] == "text/csv" and bad[1]["Body"] == b"1.0,2.0,basic\n"


@pytest.mark.parametrize(
    ("options", "failing"),
    [
        ({"answer": labelled(labels=["stay"] * 5)}, "endpoint labels the sample records"),
        ({"answer": "0.9\n0.1\n"}, "endpoint labels the sample records"),
        ({"bad_row": model_error(status=500)}, "a bad record gets a 400"),
        ({"bad_row": model_error(message="something else")}, "a bad record gets a 400"),
        ({"statuses": ("RUNNING", "FAILED")}, "batch transform run succeeded"),
        ({"joined": "x,churn,0.9\n"}, "batch transform joins id, label and score"),
        ({"joined": "only,two\n"}, "batch transform joins id, label and score"),
    ],
)
def test_each_failure_is_reported(capsys, options, failing):
    assert run(session(**options)) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and failing in line for line in out.splitlines())


def test_a_bad_record_that_succeeds_is_a_failure(capsys):
    aws = session()
    aws.clients["sagemaker-runtime"].responses["invoke_endpoint"][1] = {"Body": io.BytesIO(b"")}
    assert run(aws, "--skip-batch") == 1
    assert "FAIL a bad record gets a 400 with the reason: no error" in capsys.readouterr().out


def test_an_upload_that_starts_nothing_fails_after_the_timeout(capsys):
    aws = session(executions=[{"executions": []}] * 100)
    assert run(aws, "--timeout-seconds", "60", "--poll-seconds", "30") == 1
    assert "FAIL upload starts a run: no execution for" in capsys.readouterr().out


def test_skip_batch_touches_no_bucket(capsys):
    aws = session()
    assert run(aws, "--skip-batch") == 0
    assert aws.clients["s3"].calls == []


def test_missing_outputs_are_a_setup_error(capsys):
    aws = session()
    aws.clients["cloudformation"] = fakes.stack({})
    assert run(aws) == 2
    assert Outputs.ENDPOINT_NAME in capsys.readouterr().err


def test_dry_run_calls_nothing(capsys):
    assert main(["--dry-run"]) == 0
    assert "upload id,f1..f8,plan rows" in capsys.readouterr().out


@pytest.mark.parametrize("body", ["churn", "0.5", ",0.5", "churn,high"])
def test_parse_labelled_rejects_rows_without_label_and_score(body):
    with pytest.raises(ValueError, match="label,score"):
        smoke_pipeline.parse_labelled(body)


def test_output_key_follows_batch_transforms_naming():
    assert (
        smoke_pipeline.output_key(f"s3://{BUCKET}/output/job/", BUCKET, "input/a/b.csv")
        == "output/job/b.csv.out"
    )
    with pytest.raises(ValueError, match="not in bucket"):
        smoke_pipeline.output_key("s3://elsewhere/output/job/", BUCKET, "input/b.csv")
