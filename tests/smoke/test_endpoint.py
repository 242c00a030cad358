"""Endpoint helpers the endpoint patterns' smoke checks share (ml_refarch/smoke/endpoint.py)."""

from __future__ import annotations

import io

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from tests.smoke_fakes import Fake


def deadline(seconds: float = 100.0) -> smoke.Deadline:
    return smoke.Deadline(seconds, sleep=lambda _: None)


def test_wait_in_service_waits_through_every_transitional_status():
    statuses = [*endpoint_smoke.TRANSITIONAL_STATUSES, "InService"]
    sagemaker = Fake(describe_endpoint=[{"EndpointStatus": status} for status in statuses])
    logged: list[str] = []
    check, description = endpoint_smoke.wait_in_service(
        sagemaker, "ep", deadline(), 10, logged.append
    )
    assert check == smoke.Check("endpoint in service", True, "ep is InService")
    assert description == {"EndpointStatus": "InService"}
    assert logged == [f"endpoint ep is {status}" for status in statuses[:-1]]


def test_wait_in_service_stops_at_a_final_status_and_names_the_reason():
    sagemaker = Fake(
        describe_endpoint=[
            {"EndpointStatus": "Creating"},
            {"EndpointStatus": "Failed", "FailureReason": "no capacity"},
        ]
    )
    check, _ = endpoint_smoke.wait_in_service(sagemaker, "ep", deadline(), 10, print)
    assert check == smoke.Check("endpoint in service", False, "ep is Failed: no capacity")


def test_wait_in_service_gives_up_at_the_deadline():
    sagemaker = Fake(describe_endpoint=[{"EndpointStatus": "Creating"}])
    sagemaker.last_repeats = True
    check, _ = endpoint_smoke.wait_in_service(sagemaker, "ep", deadline(25), 10, print)
    assert check == smoke.Check("endpoint in service", False, "ep is Creating")
    assert len(sagemaker.calls) == 4  # at 0, 10, 20 and 25 s


def test_invoke_csv_sends_the_rows_to_a_target_model_and_reads_the_answer():
    runtime = Fake(
        invoke_endpoint=lambda **_: {
            "Body": io.BytesIO(b"0.25\n"),
            "InvokedProductionVariant": "AllTraffic",
        }
    )
    variant, text = endpoint_smoke.invoke_csv(runtime, "ep", "1,2\n", target_model="m.tar.gz")
    assert (variant, text) == ("AllTraffic", "0.25\n")
    assert runtime.calls == [
        (
            "invoke_endpoint",
            {
                "EndpointName": "ep",
                "ContentType": "text/csv",
                "Accept": "text/csv",
                "Body": b"1,2\n",
                "TargetModel": "m.tar.gz",
            },
        )
    ]


def test_scores_check_names_the_model_and_quotes_little_of_an_answer_that_is_not_scores():
    check = endpoint_smoke.scores_check("scores", [0.25, 0.75], "0.25\n0.75\n", model="m1")
    assert check == smoke.Check("scores", True, "expected [0.25, 0.75] (m1), received [0.25, 0.75]")
    assert not endpoint_smoke.scores_check("scores", [0.25, 0.75], "0.25\n0.5\n").passed
    check = endpoint_smoke.scores_check("scores", [0.25], "<html>" + "x" * 1000)
    assert not check.passed and "<html>" in check.detail
    assert len(check.detail) == endpoint_smoke.QUOTED_ANSWER_CHARACTERS
