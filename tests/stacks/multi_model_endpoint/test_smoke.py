"""ml_refarch/stacks/multi_model_endpoint/smoke.py against fake AWS clients."""

from __future__ import annotations

import io

import botocore.exceptions
import pytest

from ml_refarch.model_artifacts import load_manifest, sample_csv
from ml_refarch.stacks.multi_model_endpoint import PATTERN
from ml_refarch.stacks.multi_model_endpoint import smoke as smoke_mme
from ml_refarch.stacks.multi_model_endpoint.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.load import REPO_ROOT
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

MANIFEST = load_manifest()
SCORES = MANIFEST["samples"]["scores"]
OUTPUTS = {
    Outputs.ENDPOINT_NAME: "multi-model",
    Outputs.MODELS_BUCKET_NAME: "models-bucket",
    Outputs.MODELS_URI: "s3://models-bucket/models/",
    Outputs.COMMITTED_MODELS: "churn-v1.tar.gz,churn-v2.tar.gz",
}


def not_found(**_):
    raise botocore.exceptions.ClientError({"Error": {"Code": "404"}}, "HeadObject")


def answer_by_target(scores_by_target: dict[str, list[float]]):
    def invoke(**kwargs):
        text = "\n".join(str(s) for s in scores_by_target[kwargs["TargetModel"]])
        return {"Body": io.BytesIO(text.encode())}

    return invoke


def correct_answers():
    return answer_by_target(
        {"churn-v1.tar.gz": SCORES["churn-v1"], "churn-v2.tar.gz": SCORES["churn-v2"]}
    )


def session(*, head=None, invoke=None, statuses=("Creating", "InService"), outputs=OUTPUTS):
    cloudformation = fakes.stack(outputs)
    s3 = Fake(head_object=head or {}, put_object={})
    sagemaker = Fake(describe_endpoint=[{"EndpointStatus": s} for s in statuses])
    runtime = Fake(invoke_endpoint=invoke or correct_answers())
    return Session(
        cloudformation=cloudformation, s3=s3, sagemaker=sagemaker, **{"sagemaker-runtime": runtime}
    )


def run(argv, fake_session, capsys):
    code = main(argv, session=fake_session, sleep=lambda _: None)
    return code, capsys.readouterr().out


def test_every_committed_model_is_invoked_by_target_model_and_matches(capsys):
    fake = session()
    code, out = run([], fake, capsys)
    assert code == 0, out
    invocations = [kwargs for name, kwargs in fake.clients["sagemaker-runtime"].calls]
    assert [call["TargetModel"] for call in invocations] == ["churn-v1.tar.gz", "churn-v2.tar.gz"]
    for call in invocations:
        assert call["EndpointName"] == "multi-model"
        assert call["ContentType"] == "text/csv"
        assert call["Body"] == sample_csv(MANIFEST).encode()
    assert "PASS TargetModel routes to different models" in out
    heads = [kwargs["Key"] for _, kwargs in fake.clients["s3"].calls]
    assert heads == ["models/churn-v1.tar.gz", "models/churn-v2.tar.gz"]


def test_wrong_scores_fail_the_model_that_gave_them(capsys):
    invoke = answer_by_target(
        {"churn-v1.tar.gz": SCORES["churn-v1"], "churn-v2.tar.gz": [0.5] * len(SCORES["churn-v2"])}
    )
    code, out = run([], session(invoke=invoke), capsys)
    assert code == 1
    assert "PASS TargetModel churn-v1.tar.gz scores match" in out
    assert "FAIL TargetModel churn-v2.tar.gz scores match" in out


def test_an_endpoint_that_ignores_target_model_fails(capsys):
    # Both targets answered by churn-v1: v2's scores are wrong and routing is not shown.
    invoke = answer_by_target(
        {"churn-v1.tar.gz": SCORES["churn-v1"], "churn-v2.tar.gz": SCORES["churn-v1"]}
    )
    code, out = run([], session(invoke=invoke), capsys)
    assert code == 1
    assert "FAIL TargetModel routes to different models" in out


def test_a_missing_artifact_fails_and_names_the_fix(capsys):
    code, out = run([], session(head=not_found), capsys)
    assert code == 1
    assert "FAIL artifact churn-v1.tar.gz under models/" in out
    assert "--upload" in out


def test_upload_puts_the_committed_artifacts_first(capsys):
    fake = session(head=not_found)
    code, out = run(["--upload"], fake, capsys)
    assert code == 0, out
    puts = [kwargs for name, kwargs in fake.clients["s3"].calls if name == "put_object"]
    assert [put["Key"] for put in puts] == ["models/churn-v1.tar.gz", "models/churn-v2.tar.gz"]
    committed = (REPO_ROOT / "ml_refarch" / "assets" / "models" / "churn-v1.tar.gz").read_bytes()
    assert puts[0]["Body"] == committed and puts[0]["Bucket"] == "models-bucket"


def test_an_added_model_must_return_one_probability_per_row(capsys):
    rows = len(MANIFEST["samples"]["rows"])
    good = answer_by_target(
        {
            "churn-v1.tar.gz": SCORES["churn-v1"],
            "churn-v2.tar.gz": SCORES["churn-v2"],
            "mine.tar.gz": [0.25] * rows,
        }
    )
    code, out = run(["--target", "mine.tar.gz"], session(invoke=good), capsys)
    assert code == 0, out
    assert "PASS TargetModel mine.tar.gz returns one probability per row" in out
    bad = answer_by_target(
        {
            "churn-v1.tar.gz": SCORES["churn-v1"],
            "churn-v2.tar.gz": SCORES["churn-v2"],
            "mine.tar.gz": [3.0] * rows,
        }
    )
    code, out = run(["--target", "mine.tar.gz"], session(invoke=bad), capsys)
    assert code == 1
    assert "FAIL TargetModel mine.tar.gz returns one probability per row" in out


def test_an_invocation_error_is_a_failed_check(capsys):
    def invoke(**kwargs):
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "ModelError", "Message": "could not load"}}, "InvokeEndpoint"
        )

    code, out = run([], session(invoke=invoke), capsys)
    assert code == 1
    assert "FAIL TargetModel churn-v1.tar.gz: ModelError: could not load" in out


def test_an_endpoint_that_never_comes_into_service_fails(capsys):
    code, out = run([], session(statuses=("Failed",)), capsys)
    assert code == 1
    assert "FAIL endpoint in service: multi-model is Failed" in out


def test_missing_outputs_are_a_setup_error(capsys):
    outputs = {k: v for k, v in OUTPUTS.items() if k != Outputs.MODELS_URI}
    code = main([], session=session(outputs=outputs), sleep=lambda _: None)
    assert code == 2
    assert Outputs.MODELS_URI in capsys.readouterr().err


@pytest.mark.parametrize("uri", ["models-bucket/models/", "s3://models-bucket", "s3:///models/"])
def test_a_malformed_models_uri_is_a_setup_error(uri):
    with pytest.raises(smoke_mme.smoke.SetupError):
        smoke_mme.split_uri(uri)


def test_unknown_committed_models_are_a_setup_error():
    with pytest.raises(smoke_mme.smoke.SetupError, match=r"churn-v9\.tar\.gz"):
        smoke_mme.expected_by_artifact(["churn-v9.tar.gz"], MANIFEST)


def test_dry_run_makes_no_aws_call(capsys):
    assert main(["--dry-run", "--upload"], session=object()) == 0
    assert "dry run" in capsys.readouterr().out
