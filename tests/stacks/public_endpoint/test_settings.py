"""public-endpoint settings: auth, throttling, WAF and the endpoint bounds."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.public_endpoint import PATTERN
from tests.settings_support import problems_of

PE = "public-endpoint."


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("auth", "cognito"),
        ("auth", ""),
        ("max_rows_per_request", 0),
        ("max_rows_per_request", "1001"),
        ("throttle_rate_per_second", 0),
        ("throttle_rate_per_second", "fast"),
        ("throttle_burst", 5001),
        ("quota_requests_per_day", 0),
        ("cloudwatch_role", "delete"),
        ("waf_requests_per_5_minutes", 9),
        ("instance_count", 1),
        ("min_instance_count", 1),
        ("instance_type", "m5.large"),
    ],
)
def test_each_setting_rejects_bad_values(key, value):
    problem = problems_of({PE + key: value})[PE + key]
    assert problem.received == value and problem.allowed and problem.fix


def test_a_burst_below_the_rate_is_rejected():
    problem = problems_of({PE + "throttle_rate_per_second": 50, PE + "throttle_burst": 20})[
        PE + "throttle_burst"
    ]
    assert "throttle_rate_per_second (50)" in problem.allowed


def test_scaling_bounds_must_agree():
    problems = problems_of({PE + "min_instance_count": 5, PE + "max_instance_count": 3})
    assert PE + "max_instance_count" in problems


def test_all_problems_are_reported_together():
    problems = problems_of({PE + "auth": "none", PE + "cloudwatch_role": "maybe"})
    assert {PE + "auth", PE + "cloudwatch_role"} <= set(problems)


def test_command_line_strings_are_coerced():
    context = {PE + "auth": " API-KEY ", PE + "throttle_burst": "40"}
    config = read_config(context).settings_for(PATTERN)
    assert (config.auth, config.throttle_burst) == ("api-key", 40)
