"""multi-az-endpoint settings: the scaling bounds check runs beside other problems."""

from __future__ import annotations

import pytest

from ml_refarch.config import ConfigError, defaults, read_config
from ml_refarch.endpoint_settings import MULTI_AZ_REASON
from ml_refarch.stacks.multi_az_endpoint import PATTERN
from tests.settings_support import problems_of

P = "multi-az-endpoint."


def test_a_minimum_above_the_default_instance_count_is_reported_with_a_bad_key_elsewhere():
    problems = problems_of({P + "min_instance_count": "3", "profile": "staging"})
    assert set(problems) == {"profile", P + "instance_count"}
    bounds = problems[P + "instance_count"]
    assert bounds.received == 2
    assert "min_instance_count (3)" in bounds.allowed


def test_the_bounds_check_waits_for_the_pattern_own_values_to_parse():
    # A bad minimum is one problem: the check does not also report bounds it cannot know.
    problems = problems_of({P + "min_instance_count": "three"})
    assert set(problems) == {P + "min_instance_count"}


def test_consistent_bounds_pass():
    settings = read_config({P + "min_instance_count": 3, P + "instance_count": 3})
    assert settings.settings_for(PATTERN).min_instance_count == 3


def problems(**overrides) -> dict[str, str]:
    with pytest.raises(ConfigError) as raised:
        read_config({**defaults(), **{P + key: value for key, value in overrides.items()}})
    return {problem.key: str(problem) for problem in raised.value.problems}


@pytest.mark.parametrize("key", ["instance_count", "min_instance_count"])
@pytest.mark.parametrize("value", ["1", 0, "one"])
def test_fewer_than_two_instances_is_refused_with_the_notes_reason(key, value):
    found = problems(**{key: value})
    assert set(found) == {P + key}
    assert MULTI_AZ_REASON in found[P + key]
    assert "more than one instance" in found[P + key]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("instance_type", "m5.large"),
        ("instance_count", "101"),
        ("max_instance_count", "1"),
        ("target_invocations_per_instance", "0"),
        ("scale_in_cooldown_seconds", "-1"),
        ("scale_out_cooldown_seconds", "3601"),
        ("latency_alarm_ms", "0"),
        ("latency_alarm_ms", "60001"),
    ],
)
def test_each_setting_refuses_values_out_of_range(key, value):
    assert set(problems(**{key: value})) == {P + key}


def test_a_maximum_below_the_minimum_is_refused():
    found = problems(min_instance_count="4", max_instance_count="3", instance_count="4")
    assert set(found) == {P + "max_instance_count"}
    assert "at least multi-az-endpoint.min_instance_count (4)" in found[P + "max_instance_count"]


@pytest.mark.parametrize("count", ["2", "5"])
def test_the_starting_count_must_lie_within_the_scaling_bounds(count):
    found = problems(instance_count=count, min_instance_count="3", max_instance_count="4")
    assert set(found) == {P + "instance_count"}


def test_every_problem_is_reported_at_once():
    found = problems(instance_count="1", latency_alarm_ms="0", instance_type="big")
    assert set(found) == {P + "instance_count", P + "latency_alarm_ms", P + "instance_type"}
