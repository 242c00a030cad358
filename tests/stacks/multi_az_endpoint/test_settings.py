"""multi-az-endpoint settings: the scaling bounds check runs beside other problems."""

from __future__ import annotations

from ml_refarch.config import read_config
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
