"""The summary script on recorded DescribeInferenceRecommendationsJob responses.

The recordings are checked member by member against the response shape in botocore's
SageMaker model, the service model the API reference is generated from, so a recording
with a field the API does not return, or a value of the wrong kind, fails here first.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from ml_refarch.stacks.model_registry.summary import (
    ResultError,
    format_summary,
    main,
    summarise,
)

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT = json.loads((FIXTURES / "describe-default-job.json").read_text())
ADVANCED = json.loads((FIXTURES / "describe-advanced-job.json").read_text())


def shape_problems(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Where ``value`` departs from botocore's ``shape`` (JSON as boto3 prints it)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        problems = [f"{path}.{k}: not in {shape.name}" for k in value if k not in shape.members]
        problems += [f"{path}.{k}: required" for k in shape.required_members if k not in value]
        for key, item in value.items():
            if key in shape.members:
                problems += shape_problems(item, shape.members[key], f"{path}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [
            p for i, v in enumerate(value) for p in shape_problems(v, shape.member, f"{path}[{i}]")
        ]
    expected = {
        "string": str,
        "timestamp": str,
        "integer": int,
        "long": int,
        "float": (int, float),
        "double": (int, float),
        "boolean": bool,
    }[kind]
    if not isinstance(value, expected) or (kind in ("integer", "long") and isinstance(value, bool)):
        return [f"{path}: {value!r} is not a {kind}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} not one of {shape.enum}"]
    return []


@pytest.fixture(scope="module")
def response_shape():
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("DescribeInferenceRecommendationsJob").output_shape


@pytest.mark.parametrize("recording", [DEFAULT, ADVANCED], ids=["default", "advanced"])
def test_the_recordings_are_shaped_as_the_api_returns_them(recording, response_shape):
    assert shape_problems(recording, response_shape) == []


def test_the_shape_check_finds_a_field_the_api_does_not_return(response_shape):
    wrong = {**DEFAULT, "Recommendations": []}
    wrong["InferenceRecommendations"] = [
        {**DEFAULT["InferenceRecommendations"][0], "Metrics": {"CostPerHour": "cheap"}}
    ]
    problems = shape_problems(wrong, response_shape)
    assert "$.Recommendations: not in DescribeInferenceRecommendationsJobResponse" in problems
    assert any("CostPerHour: 'cheap' is not a float" in p for p in problems)


def test_options_are_cheapest_per_inference_first_and_the_pick_is_the_cheapest():
    summary = summarise(DEFAULT)
    assert [o.instance for o in summary.options] == ["ml.c5.large", "ml.m5.large"]
    assert summary.best.instance == "ml.c5.large"
    assert summary.best.cost_per_inference == pytest.approx(9.5e-07, rel=1e-9)
    assert summary.latency_threshold_ms is None
    assert summary.options[0].environment == (("OMP_NUM_THREADS", "2"),)


def test_an_advanced_job_picks_the_cheapest_option_within_its_latency_threshold():
    summary = summarise(ADVANCED)
    assert summary.latency_threshold_ms == 100
    # ml.c5.large is cheaper per inference but answers in 140 ms at its peak.
    assert summary.options[0].instance == "ml.c5.large"
    assert summary.best.instance == "ml.c5.xlarge"


def test_no_option_within_the_threshold_is_said():
    slow = json.loads(json.dumps(ADVANCED))
    slow["StoppingConditions"]["ModelLatencyThresholds"][0]["ValueInMilliseconds"] = 10
    assert summarise(slow).best is None
    assert format_summary(summarise(slow)).endswith("pick: none meets the latency threshold")


def test_the_text_has_a_row_per_option_and_the_pick():
    text = format_summary(summarise(DEFAULT))
    lines = text.splitlines()
    assert lines[0] == f"job {DEFAULT['JobName']} (Default): COMPLETED"
    assert lines[1].split() == [
        "instance",
        "count",
        "$/hour",
        "$/inference",
        "max",
        "inv/min",
        "latency",
        "ms",
    ]
    assert lines[2].split() == ["ml.c5.large", "1", "0.1020", "0.00000095", "1789", "3"]
    assert lines[-1] == "pick: ml.c5.large x 1 at $0.00000095 per inference (OMP_NUM_THREADS=2)"


def test_a_failed_job_shows_its_reason_and_no_pick():
    failed = {"JobName": "j", "JobType": "Default", "Status": "FAILED", "FailureReason": "boom"}
    text = format_summary(summarise(failed))
    assert text.splitlines() == ["job j (Default): FAILED", "failure: boom", "no recommendations"]


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ([], "is a JSON object"),
        ({"JobName": "j"}, "no ['JobType', 'Status']"),
        ({**DEFAULT, "InferenceRecommendations": {}}, "must be a list"),
        (
            {**DEFAULT, "InferenceRecommendations": [{"Metrics": {}}]},
            "no EndpointConfiguration",
        ),
        (
            {
                **DEFAULT,
                "InferenceRecommendations": [
                    {"EndpointConfiguration": {}, "Metrics": {"CostPerHour": "x"}}
                ],
            },
            "expected a number",
        ),
    ],
)
def test_what_is_no_job_description_is_a_clear_error(response, message):
    with pytest.raises(ResultError, match=message.replace("[", r"\[").replace("]", r"\]")):
        summarise(response)


def test_the_command_reads_a_file_or_stdin_and_reports_bad_input_without_a_traceback(capsys):
    assert main([str(FIXTURES / "describe-default-job.json")]) == 0
    assert "pick: ml.c5.large" in capsys.readouterr().out
    assert main(["-"], stdin=io.StringIO(json.dumps(ADVANCED))) == 0
    assert "pick: ml.c5.xlarge" in capsys.readouterr().out
    assert main(["-"], stdin=io.StringIO("{not json")) == 2
    assert capsys.readouterr().err.startswith("error: -: ")
    assert main([str(FIXTURES / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
