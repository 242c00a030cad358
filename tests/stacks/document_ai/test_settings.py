"""document-ai settings: the review threshold, the polling bound, bad values."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.document_ai import PATTERN
from ml_refarch.stacks.document_ai.settings import RESULTS_KEPT_SECONDS
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix, problems_of

DA = "document-ai."


def test_the_default_reviews_fields_below_90_and_polls_every_15_seconds():
    settings = read_config({}).settings_for(PATTERN)
    assert settings.confidence_threshold == pytest.approx(90.0)
    assert (settings.poll_interval_seconds, settings.max_polls) == (15, 120)


def test_a_threshold_arrives_as_text_and_becomes_a_number():
    settings = read_config({DA + "confidence_threshold": "72.5"}).settings_for(PATTERN)
    assert settings.confidence_threshold == pytest.approx(72.5)


@pytest.mark.parametrize("value", ["0", "-5", "100.5", "high", "nan", True])
def test_a_threshold_outside_textracts_confidences_is_refused(value):
    problem = assert_rejected_with_key_value_allowed_and_fix(DA + "confidence_threshold", value)
    assert "0 to 100" in problem.allowed


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("poll_interval_seconds", "4"),
        ("max_polls", "0"),
        ("parser_memory_mib", "64"),
        ("parser_timeout_seconds", "901"),
    ],
)
def test_values_outside_their_limits_are_refused(key, value):
    assert_rejected_with_key_value_allowed_and_fix(DA + key, value)


def test_polling_longer_than_textract_keeps_results_is_refused():
    problems = problems_of({DA + "poll_interval_seconds": "3600", DA + "max_polls": "500"})
    problem = problems[DA + "max_polls"]
    assert str(RESULTS_KEPT_SECONDS) in problem.allowed and "7 days" in problem.allowed
    settings = read_config(
        {DA + "poll_interval_seconds": "3600", DA + "max_polls": "168"}
    ).settings_for(PATTERN)
    assert settings.polling_seconds == RESULTS_KEPT_SECONDS
