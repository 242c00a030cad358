"""ml_refarch/stacks/serverless_inference/smoke.py against fake AWS clients and a fake clock."""

from __future__ import annotations

import io

from ml_refarch.model_artifacts import load_manifest, sample_csv
from ml_refarch.stacks.serverless_inference import PATTERN
from ml_refarch.stacks.serverless_inference import smoke as smoke_sv
from ml_refarch.stacks.serverless_inference.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

MANIFEST = load_manifest()
SCORES = MANIFEST["samples"]["scores"]
OUTPUTS = {
    Outputs.ENDPOINT_NAME: "serverless",
    Outputs.MODEL_NAME: "churn-v1",
    Outputs.VARIANT_NAME: "Serverless",
}
SERVERLESS_VARIANT = {
    "VariantName": "Serverless",
    "CurrentServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
}


class Clock:
    """Each invocation advances time by the next duration: the first call is slow."""

    def __init__(self, durations):
        self.now = 0.0
        self.durations = list(durations)
        self.reads = 0

    def __call__(self) -> float:
        # Read twice per call: before (no advance) and after (advance by its duration).
        self.reads += 1
        if self.reads % 2 == 0:
            self.now += self.durations.pop(0)
        return self.now


def answering(scores):
    text = "\n".join(str(s) for s in scores).encode()
    return lambda **_: {"Body": io.BytesIO(text)}


def session(*, scores=None, variants=(SERVERLESS_VARIANT,), statuses=("Creating", "InService")):
    cloudformation = fakes.stack(OUTPUTS, status="UPDATE_COMPLETE")
    sagemaker = Fake(
        describe_endpoint=[
            {"EndpointStatus": status, "ProductionVariants": list(variants)} for status in statuses
        ]
    )
    runtime = Fake(invoke_endpoint=answering(SCORES["churn-v1"] if scores is None else scores))
    return Session(
        cloudformation=cloudformation, sagemaker=sagemaker, **{"sagemaker-runtime": runtime}
    )


def run(argv, fake, capsys, clock=None):
    code = main(
        argv, session=fake, sleep=lambda _: None, clock=clock or Clock([2.5, 0.04, 0.05, 0.03])
    )
    return code, capsys.readouterr().out


def test_a_few_calls_match_the_manifest_and_latency_is_reported(capsys):
    fake = session()
    code, out = run([], fake, capsys)
    assert code == 0, out
    calls = [kwargs for _, kwargs in fake.clients["sagemaker-runtime"].calls]
    assert len(calls) == 4
    assert all(call["ContentType"] == "text/csv" for call in calls)
    assert calls[0]["Body"] == sample_csv(MANIFEST).encode()
    assert "first call 2500 ms" in out
    assert "warm median 40 ms over 3 calls" in out
    assert "PASS one serverless variant, no instances: Serverless: 2048 MB" in out
    assert "PASS scores match the manifest: 4 of 4 calls matched" in out


def test_calls_sets_how_many_invocations(capsys):
    fake = session()
    code, out = run(["--calls", "2"], fake, capsys, clock=Clock([1.0, 0.1]))
    assert code == 0, out
    assert len(fake.clients["sagemaker-runtime"].calls) == 2
    assert "warm median 100 ms over 1 calls" in out


def test_scores_of_another_model_fail(capsys):
    code, out = run([], session(scores=SCORES["churn-v2"]), capsys)
    assert code == 1
    assert "FAIL scores match the manifest: 0 of 4 calls matched" in out


def test_an_answer_that_is_not_scores_fails(capsys):
    fake = session()
    fake.clients["sagemaker-runtime"].responses["invoke_endpoint"] = lambda **_: {
        "Body": io.BytesIO(b"error: bad input")
    }
    code, out = run([], fake, capsys)
    assert code == 1
    assert "expected numbers" in out


def test_an_instance_variant_fails_the_serverless_check(capsys):
    instances = {"VariantName": "AllTraffic", "CurrentInstanceCount": 2}
    code, out = run([], session(variants=(instances,)), capsys)
    assert code == 1
    assert "FAIL one serverless variant, no instances: AllTraffic: no serverless config" in out


def test_an_endpoint_that_never_comes_into_service_fails(capsys):
    code, out = run([], session(statuses=("Failed",)), capsys)
    assert code == 1
    assert "FAIL endpoint in service: serverless is Failed" in out


def test_latency_summary_with_a_single_call():
    call = smoke_sv.Call(1.234, True, "")
    assert smoke_sv.latency_summary([call]).startswith("first call 1234 ms")
    assert smoke_sv.latency_summary([]) == "no calls"


def test_a_model_the_manifest_lacks_is_a_setup_error(capsys):
    fake = session()
    fake.clients["cloudformation"].responses["describe_stacks"]["Stacks"][0]["Outputs"][1] = {
        "OutputKey": Outputs.MODEL_NAME,
        "OutputValue": "churn-v9",
    }
    code = main([], session=fake, sleep=lambda _: None)
    assert code == 2
    assert "churn-v9" in capsys.readouterr().err


def test_dry_run_makes_no_aws_call(capsys):
    assert main(["--dry-run"], session=object()) == 0
    assert "cold-start" in capsys.readouterr().out
