"""model-registry settings: approval status, instance types, traffic phases, stopping
conditions, polling, and the problems bad values give."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.settings import Invalid
from ml_refarch.stacks.model_registry import PATTERN
from ml_refarch.stacks.model_registry.settings import TrafficPhase, traffic_phases
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix, problems_of

MR = "model-registry."


def settings(**context):
    return read_config({MR + key: value for key, value in context.items()}).settings_for(PATTERN)


def test_the_defaults_register_for_manual_approval_and_cover_both_jobs():
    found = settings()
    assert found.approval_status == "PendingManualApproval"
    assert found.model == "churn-v1"
    assert found.default_instance_types == ("ml.c5.large", "ml.m5.large")
    assert found.advanced_instance_types == ("ml.c5.large",)
    assert found.traffic_phases == (TrafficPhase(1, 1, 120), TrafficPhase(3, 2, 300))
    assert (found.latency_percentile, found.latency_threshold_ms) == ("P95", 100)
    # The polling covers an advanced job's limit and a default job's 45 minutes.
    assert found.polling_seconds >= max(found.advanced_job_duration_seconds, 45 * 60)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("approved", "Approved"),
        (" Rejected ", "Rejected"),
        ("pendingmanualapproval", "PendingManualApproval"),
    ],
)
def test_approval_statuses_are_read_in_the_apis_spelling(value, expected):
    assert settings(approval_status=value).approval_status == expected


def test_instance_types_and_phases_are_read_from_comma_separated_text():
    found = settings(
        default_instance_types=" ml.c5.xlarge, ml.c5.xlarge ,ml.g4dn.xlarge",
        traffic_phases="2:0:600, 3:5:1200",
        advanced_job_duration_seconds=1800,
    )
    assert found.default_instance_types == ("ml.c5.xlarge", "ml.g4dn.xlarge")
    assert found.traffic_phases == (TrafficPhase(2, 0, 600), TrafficPhase(3, 5, 1200))
    assert found.traffic_seconds == 1800


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("approval_status", "maybe"),
        ("model", "churn-v9"),
        ("default_instance_types", ""),
        ("default_instance_types", "m5.large"),
        ("advanced_instance_types", ",".join(f"ml.c5.{n}xlarge" for n in range(2, 13))),
        ("traffic_phases", "1:1"),
        ("traffic_phases", "4:1:120"),  # at most 3 users to start with
        ("traffic_phases", "1:1:60"),  # a phase lasts 120 to 3,600 s
        ("traffic_phases", "1:1:3601"),
        ("advanced_job_duration_seconds", 18001),
        ("latency_percentile", "P50"),
        ("latency_threshold_ms", 0),
        ("max_invocations_per_minute", "lots"),
        ("max_tests", 0),
        ("poll_interval_seconds", 10),
        ("max_polls", 0),
    ],
)
def test_each_bad_value_is_a_clear_problem(key, value):
    assert_rejected_with_key_value_allowed_and_fix(MR + key, value)


def test_a_bad_phase_is_named_in_the_problem():
    problem = problems_of({MR + "traffic_phases": "1:1:120,5:1:120"})[MR + "traffic_phases"]
    assert "'5:1:120' starts with 5 users" in problem.allowed


def test_phases_longer_than_the_job_are_a_problem():
    problems = problems_of(
        {MR + "traffic_phases": "1:1:1800,2:1:1800", MR + "advanced_job_duration_seconds": 3000}
    )
    problem = problems[MR + "traffic_phases"]
    assert problem.received == 3600 and "3000 s" in problem.allowed
    assert (
        settings(
            traffic_phases="1:1:1800,2:1:1800", advanced_job_duration_seconds=3600
        ).traffic_seconds
        == 3600
    )


def test_more_parallel_tests_than_tests_is_a_problem():
    problem = problems_of({MR + "max_tests": 2, MR + "max_parallel_tests": 3})[
        MR + "max_parallel_tests"
    ]
    assert "at most model-registry.max_tests (2)" in problem.allowed


def test_polling_shorter_than_a_default_job_or_the_advanced_job_is_a_problem():
    # 30 x 60 s = 30 minutes: shorter than a default job's 45 (the advanced job: 10).
    short = {MR + "advanced_job_duration_seconds": 600, MR + "poll_interval_seconds": 60}
    problem = problems_of({**short, MR + "max_polls": 30})[MR + "max_polls"]
    assert "at least 2700 s" in problem.allowed
    assert read_config({**short, MR + "max_polls": 45}).settings_for(PATTERN).max_polls == 45
    # The advanced job's own limit counts when it is longer.
    problems = problems_of({MR + "advanced_job_duration_seconds": 18000, MR + "max_polls": 100})
    assert "18000 s" in problems[MR + "max_polls"].allowed
    assert settings(advanced_job_duration_seconds=18000, max_polls=150).polling_seconds == 18000


def test_parsed_phases_parse_to_themselves_and_keep_their_bounds():
    phases = settings().traffic_phases
    assert traffic_phases(list(phases)) == phases
    with pytest.raises(Invalid) as raised:
        traffic_phases([TrafficPhase(4, 1, 120)])
    assert "starts with 4 users" in raised.value.detail
