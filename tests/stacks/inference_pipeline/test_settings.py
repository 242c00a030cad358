"""inference-pipeline settings: the transform, its schedule and the endpoint bounds."""

from __future__ import annotations

import pytest

from ml_refarch.config import ConfigError, read_config
from ml_refarch.stacks.inference_pipeline import PATTERN

IP = "inference-pipeline."


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (IP + "schedule", "daily"),
        (IP + "schedule", "rate(0 days)"),
        (IP + "schedule", "rate(1 days)"),  # EventBridge wants the singular for 1
        (IP + "schedule", "rate(2 day)"),
        (IP + "schedule", "rate(5 weeks)"),
        (IP + "schedule", "cron(0 3 * * * *)"),  # no '?' in day-of-month or day-of-week
        (IP + "schedule", "cron(0 3 ? * ? *)"),  # '?' in both
        (IP + "schedule", "cron(0 3 * * ?)"),  # five fields
        (IP + "schedule", "cron(0 3 * * ? *); rm"),
        (IP + "schedule", 42),
        (IP + "batch_strategy", "all"),
        (IP + "max_payload_mib", "0"),
        (IP + "max_payload_mib", "101"),
        (IP + "max_concurrent_transforms", "0"),
        (IP + "transform_instance_count", "0"),
        (IP + "transform_instance_type", "m5.large"),
        (IP + "instance_count", "1"),  # the notes: two or more for AZ spreading
        (IP + "min_instance_count", "1"),
        (IP + "instance_type", "ml.m5"),
    ],
)
def test_bad_values_are_refused_with_key_value_allowed_and_fix(key, value):
    with pytest.raises(ConfigError) as raised:
        read_config({key: value})
    (problem,) = [p for p in raised.value.problems if p.key == key]
    assert problem.received == value and problem.allowed
    assert f"-c {key}=" in problem.fix


@pytest.mark.parametrize(
    "value",
    ["none", "rate(1 day)", "rate(12 hours)", "cron(0 3 * * ? *)", "cron(15 2 ? * MON-FRI *)"],
)
def test_schedule_accepts_eventbridge_expressions_and_none(value):
    settings = read_config({IP + "schedule": value}).settings_for(PATTERN)
    assert settings.schedule_expression == (None if value == "none" else value)


def test_payload_times_concurrency_above_100_mb_is_refused():
    with pytest.raises(ConfigError) as raised:
        read_config({IP + "max_payload_mib": "30", IP + "max_concurrent_transforms": "4"})
    (problem,) = raised.value.problems
    assert problem.key == IP + "max_concurrent_transforms"
    assert "at most 3" in problem.allowed and "100 MB" in problem.allowed


def test_endpoint_bounds_are_checked_like_the_other_endpoints():
    with pytest.raises(ConfigError) as raised:
        read_config({IP + "instance_count": "5", IP + "max_instance_count": "4"})
    assert [p.key for p in raised.value.problems] == [IP + "instance_count"]
