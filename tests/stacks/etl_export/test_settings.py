"""etl-export settings: Scheduler expressions in their three forms, limits, bad values."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.etl_export import PATTERN
from ml_refarch.stacks.etl_export.settings import MAX_EXECUTION_SECONDS
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix, problems_of

EE = "etl-export."


def test_the_default_is_a_weekly_export_polled_every_minute_for_two_hours():
    settings = read_config({}).settings_for(PATTERN)
    assert settings.schedule_expression == "rate(7 days)"
    assert (settings.poll_interval_seconds, settings.max_polls) == (60, 120)
    assert settings.partition_key == "customer_id"


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 day)",
        "rate(12 hours)",
        "rate(30 minutes)",
        "cron(0 3 ? * MON *)",
        "cron(15 10 1 * ? *)",
        "at(2027-02-28T09:30:00)",
        "  rate(7   days) ",
    ],
)
def test_each_scheduler_form_is_accepted(expression):
    settings = read_config({EE + "schedule_expression": expression}).settings_for(PATTERN)
    assert settings.schedule_expression == " ".join(expression.split())


@pytest.mark.parametrize(
    "expression",
    [
        "none",
        "rate(0 days)",
        "rate(1 days)",  # plural only above one
        "rate(2 day)",
        "rate(1 week)",
        "cron(0 3 * * * *)",  # '?' in neither day field
        "cron(0 3 ? * ?)",  # five fields
        "at(2027-02-30T09:30:00)",  # no such day
        "at(2027-02-28 09:30:00)",
        "at(2027-02-28T09:30)",
        "weekly",
        7,
    ],
)
def test_a_bad_expression_is_a_problem_quoting_the_forms(expression):
    problem = assert_rejected_with_key_value_allowed_and_fix(EE + "schedule_expression", expression)
    assert "rate(" in problem.allowed and "cron(" in problem.allowed and "at(" in problem.allowed


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("poll_interval_seconds", 5),
        ("max_polls", 0),
        ("converter_memory_mib", 64),
        ("converter_memory_mib", 20000),
        ("converter_timeout_seconds", 901),
        ("partition_key", ""),
        ("partition_key", "has space"),
    ],
)
def test_each_limit_is_a_clear_problem(key, value):
    assert_rejected_with_key_value_allowed_and_fix(EE + key, value)


def test_polling_longer_than_a_workflow_may_run_is_a_problem():
    problems = problems_of({EE + "poll_interval_seconds": 86400, EE + "max_polls": 366})
    problem = problems[EE + "max_polls"]
    assert str(MAX_EXECUTION_SECONDS) in problem.allowed and "one year" in problem.allowed
    within = read_config({EE + "poll_interval_seconds": 86400, EE + "max_polls": 364})
    assert within.settings_for(PATTERN).polling_seconds == 364 * 86400
