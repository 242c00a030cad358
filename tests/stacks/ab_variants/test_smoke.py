"""ml_refarch/stacks/ab_variants/smoke.py: weights, counting and requests, without AWS."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from ml_refarch.model_artifacts import load_manifest, sample_csv
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.stacks.ab_variants import PATTERN
from ml_refarch.stacks.ab_variants import smoke as smoke_ab
from ml_refarch.stacks.ab_variants.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, client, runner_for

main = runner_for(PATTERN)

ENDPOINT = "Endpoint-AbC123"
VARIANT_MODELS = "churn-v1=churn-v1,churn-v2=churn-v2"
SCORES = load_manifest()["samples"]["scores"]


def described(status: str, weights: dict[str, float]) -> dict:
    return {
        "EndpointStatus": status,
        "EndpointConfigName": "Config-1",
        "ProductionVariants": [
            {"VariantName": name, "CurrentWeight": weight, "CurrentInstanceCount": 2}
            for name, weight in weights.items()
        ],
    }


def body(scores) -> io.BytesIO:
    return io.BytesIO("".join(f"{score}\n" for score in scores).encode())


def session(
    *,
    descriptions=None,
    untargeted=("churn-v1", "churn-v1", "churn-v2"),
    wrong_model_for=None,
    variant_models=VARIANT_MODELS,
):
    outputs = {Outputs.ENDPOINT_NAME: ENDPOINT, Outputs.VARIANT_MODELS: variant_models}
    cloudformation = fakes.stack(outputs, status="UPDATE_COMPLETE")
    sagemaker = Fake(
        describe_endpoint=list(
            descriptions or [described("InService", {"churn-v1": 0.9, "churn-v2": 0.1})]
        ),
        update_endpoint_weights_and_capacities={"EndpointArn": "arn:endpoint"},
    )
    cycle = itertools.cycle(untargeted)

    def invoke(**request):
        variant = request.get("TargetVariant") or next(cycle)
        model = "churn-v2" if variant == wrong_model_for else variant
        return {"Body": body(SCORES[model]), "InvokedProductionVariant": variant}

    runtime = Fake(invoke_endpoint=invoke)
    cloudwatch = Fake(
        get_metric_data={
            "MetricDataResults": [
                {"Label": "churn-v1", "Values": [3.0, 4.0]},
                {"Label": "churn-v2", "Values": [1.0]},
            ]
        }
    )
    return Session(
        cloudformation=cloudformation,
        sagemaker=sagemaker,
        cloudwatch=cloudwatch,
        **{"sagemaker-runtime": runtime},
    )


def run(aws, *argv: str) -> int:
    return main(list(argv), session=aws, sleep=lambda seconds: None)


# --- weights -------------------------------------------------------------------------------


def test_weights_parse_into_variant_weights():
    assert endpoint_smoke.parse_weights(" churn-v1 = 0.5, churn-v2=0.5 ") == {
        "churn-v1": 0.5,
        "churn-v2": 0.5,
    }
    assert endpoint_smoke.parse_weights("churn-v1=1,churn-v2=0") == {"churn-v1": 1, "churn-v2": 0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("churn-v1", "variant=weight pairs"),
        ("churn-v1=0.5,=0.5", "variant=weight pairs"),
        ("churn-v1=0.5,churn-v1=0.5", "given twice"),
        ("churn-v1=half", "not a number"),
        ("churn-v1=-0.1,churn-v2=1", "0 or more"),
        ("churn-v1=nan,churn-v2=1", "finite"),
        ("churn-v1=inf", "finite"),
        ("churn-v1=0,churn-v2=0", "at least one weight must be above 0"),
    ],
)
def test_bad_weights_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        endpoint_smoke.parse_weights(text)


def test_bad_set_weights_stop_the_command_line_before_any_call(capsys):
    with pytest.raises(SystemExit):
        main(["--set-weights", "churn-v1=-1"])
    assert "0 or more" in capsys.readouterr().err


def test_the_weights_request_is_a_valid_update_request():
    weights = {"churn-v1": 0.5, "churn-v2": 0.5}
    request = endpoint_smoke.weights_request(ENDPOINT, weights, ["churn-v1", "churn-v2"])
    sagemaker = client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "update_endpoint_weights_and_capacities",
            {"EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{ENDPOINT}"},
            {
                "EndpointName": ENDPOINT,
                "DesiredWeightsAndCapacities": [
                    {"VariantName": "churn-v1", "DesiredWeight": 0.5},
                    {"VariantName": "churn-v2", "DesiredWeight": 0.5},
                ],
            },
        )
        sagemaker.update_endpoint_weights_and_capacities(**request)
        stub.assert_no_pending_responses()


def test_weights_for_variants_the_endpoint_lacks_are_refused():
    with pytest.raises(ValueError, match="no variant churn-v3 on the endpoint"):
        endpoint_smoke.weights_request(ENDPOINT, {"churn-v3": 1.0}, ["churn-v1", "churn-v2"])


def test_shares_are_weights_over_their_sum():
    assert endpoint_smoke.traffic_shares({"a": 0.9, "b": 0.1}) == pytest.approx(
        {"a": 0.9, "b": 0.1}
    )
    assert endpoint_smoke.traffic_shares({"a": 3, "b": 1}) == {"a": 0.75, "b": 0.25}


# --- requests and counting -------------------------------------------------------------------


def test_a_targeted_invocation_is_a_valid_runtime_request():
    runtime = client("sagemaker-runtime")
    sample = sample_csv()
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            {"Body": body(SCORES["churn-v2"]), "InvokedProductionVariant": "churn-v2"},
            {
                "EndpointName": ENDPOINT,
                "ContentType": "text/csv",
                "Accept": "text/csv",
                "Body": sample.encode(),
                "TargetVariant": "churn-v2",
            },
        )
        answer = endpoint_smoke.invoke_once(
            runtime,
            ENDPOINT,
            {"churn-v2": SCORES["churn-v2"]},
            body=sample,
            target_variant="churn-v2",
        )
    assert answer.matched and answer.variant == "churn-v2"


def test_answers_are_counted_per_variant():
    answers = [
        endpoint_smoke.Answer("churn-v1", True, ""),
        endpoint_smoke.Answer("churn-v2", True, ""),
        endpoint_smoke.Answer("churn-v1", True, ""),
    ]
    assert endpoint_smoke.count_variants(answers) == {"churn-v1": 2, "churn-v2": 1}


def test_the_split_reports_observed_and_predicted_shares():
    lines = smoke_ab.distribution_lines(
        {"churn-v1": 9, "churn-v2": 1}, {"churn-v1": 0.5, "churn-v2": 0.5}
    )
    assert lines == [
        "churn-v1: 9 of 10 requests (90%; weights predict 50%)",
        "churn-v2: 1 of 10 requests (10%; weights predict 50%)",
    ]
    assert not smoke_ab.distribution_check({"other": 1}, {"churn-v1": 1.0}).passed


def test_the_metrics_query_is_a_valid_cloudwatch_request_and_sums_per_variant():
    end = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    query = endpoint_smoke.invocations_query(
        ENDPOINT, ["churn-v1", "churn-v2"], end=end, minutes=15
    )
    cloudwatch = client("cloudwatch")
    response = {
        "MetricDataResults": [
            {"Id": "v0", "Label": "churn-v1", "Values": [2.0, 5.0], "StatusCode": "Complete"},
            {"Id": "v1", "Label": "churn-v2", "Values": [1.0], "StatusCode": "Complete"},
        ]
    }
    with Stubber(cloudwatch) as stub:
        stub.add_response("get_metric_data", response, query)
        result = cloudwatch.get_metric_data(**query)
    assert endpoint_smoke.invocations_by_variant(result) == {"churn-v1": 7, "churn-v2": 1}
    dimensions = query["MetricDataQueries"][1]["MetricStat"]["Metric"]["Dimensions"]
    assert {"Name": "VariantName", "Value": "churn-v2"} in dimensions
    assert query["StartTime"] == datetime(2026, 1, 1, 11, 45, tzinfo=UTC)


# --- the whole script ------------------------------------------------------------------------


def test_a_run_checks_each_variant_and_counts_who_answered(capsys):
    aws = session()
    assert run(aws, "--requests", "6", "--metrics") == 0
    out = capsys.readouterr().out
    assert "PASS variant churn-v1 serves churn-v1" in out
    assert "PASS variant churn-v2 serves churn-v2" in out
    assert "churn-v1: 4 of 6 requests (67%; weights predict 90%)" in out
    assert "churn-v2: 2 of 6 requests (33%; weights predict 10%)" in out
    assert "CloudWatch Invocations, last 15 min: churn-v1 7" in out
    invokes = [kwargs for _, kwargs in aws.clients["sagemaker-runtime"].calls]
    assert [kwargs.get("TargetVariant") for kwargs in invokes[:2]] == ["churn-v1", "churn-v2"]
    assert all(kwargs["ContentType"] == "text/csv" for kwargs in invokes)
    assert not any(
        name == "update_endpoint_weights_and_capacities"
        for name, _ in aws.clients["sagemaker"].calls
    )


def test_set_weights_shifts_traffic_and_waits_for_it(capsys):
    aws = session(
        descriptions=[
            described("InService", {"churn-v1": 0.9, "churn-v2": 0.1}),
            described("Updating", {"churn-v1": 0.9, "churn-v2": 0.1}),
            described("InService", {"churn-v1": 0.5, "churn-v2": 0.5}),
        ]
    )
    assert run(aws, "--set-weights", "churn-v1=0.5,churn-v2=0.5", "--requests", "2") == 0
    calls = aws.clients["sagemaker"].calls
    (update,) = [
        kwargs for name, kwargs in calls if name == "update_endpoint_weights_and_capacities"
    ]
    assert update["DesiredWeightsAndCapacities"] == [
        {"VariantName": "churn-v1", "DesiredWeight": 0.5},
        {"VariantName": "churn-v2", "DesiredWeight": 0.5},
    ]
    out = capsys.readouterr().out
    assert "PASS weights shifted: now churn-v1=0.5, churn-v2=0.5" in out
    assert "weights predict 50%" in out


def test_weights_that_do_not_take_effect_fail(capsys):
    stale = described("InService", {"churn-v1": 0.9, "churn-v2": 0.1})
    aws = session(descriptions=[stale, stale])
    assert run(aws, "--set-weights", "churn-v1=0.5,churn-v2=0.5") == 1
    assert "FAIL weights shifted" in capsys.readouterr().out


def test_set_weights_for_an_unknown_variant_is_a_setup_error(capsys):
    aws = session()
    assert run(aws, "--set-weights", "churn-v9=1") == 2
    assert "no variant churn-v9" in capsys.readouterr().err
    assert all(name == "describe_endpoint" for name, _ in aws.clients["sagemaker"].calls)


def test_a_variant_serving_the_wrong_model_fails(capsys):
    assert run(session(wrong_model_for="churn-v1"), "--requests", "3") == 1
    out = capsys.readouterr().out
    assert "FAIL variant churn-v1 serves churn-v1" in out
    assert "FAIL scores match the manifest" in out


def test_an_endpoint_that_is_not_in_service_fails_without_invoking(capsys):
    aws = session(descriptions=[described("Failed", {"churn-v1": 1.0})])
    assert run(aws) == 1
    assert aws.clients["sagemaker-runtime"].calls == []
    assert "FAIL endpoint in service" in capsys.readouterr().out


def test_a_malformed_variant_models_output_is_a_setup_error(capsys):
    assert run(session(variant_models="churn-v1")) == 2
    assert Outputs.VARIANT_MODELS in capsys.readouterr().err


def test_dry_run_describes_the_shift(capsys):
    assert main(["--dry-run", "--set-weights", "churn-v1=1,churn-v2=0"]) == 0
    assert "shift the weights to churn-v1=1, churn-v2=0" in capsys.readouterr().out
