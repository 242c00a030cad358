"""lex-chatbot settings: defaults, Lex V2's idle session TTL range, booleans, bad values."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.lex_chatbot import PATTERN
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix, problems_of

LC = "lex-chatbot."


def test_the_defaults_are_a_five_minute_session_not_child_directed_text_logs_only():
    settings = read_config({}).settings_for(PATTERN)
    assert settings.idle_session_ttl_seconds == 300
    assert settings.child_directed is False
    assert settings.audio_logs is False
    assert settings.nlu_confidence_threshold == pytest.approx(0.4, rel=1e-9)
    assert settings.max_toppings == 5


@pytest.mark.parametrize("seconds", ["60", "86400", 3600])
def test_the_idle_session_ttl_range_ends_are_accepted(seconds):
    settings = read_config({LC + "idle_session_ttl_seconds": seconds}).settings_for(PATTERN)
    assert settings.idle_session_ttl_seconds == int(seconds)


def test_child_directed_and_audio_logs_read_as_booleans():
    settings = read_config({LC + "child_directed": "true", LC + "audio_logs": "yes"}).settings_for(
        PATTERN
    )
    assert (settings.child_directed, settings.audio_logs) == (True, True)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("idle_session_ttl_seconds", "59"),
        ("idle_session_ttl_seconds", "86401"),
        ("idle_session_ttl_seconds", "five minutes"),
        ("child_directed", "maybe"),
        ("audio_logs", "2"),
        ("nlu_confidence_threshold", "0"),
        ("nlu_confidence_threshold", "1.5"),
        ("max_toppings", "0"),
        ("max_toppings", "9"),
    ],
)
def test_a_bad_value_is_rejected_with_key_value_allowed_and_fix(key, value):
    problem = assert_rejected_with_key_value_allowed_and_fix(LC + key, value)
    assert problem.allowed


def test_every_problem_is_reported_at_once():
    problems = problems_of({LC + "idle_session_ttl_seconds": "10", LC + "max_toppings": "100"})
    assert set(problems) == {LC + "idle_session_ttl_seconds", LC + "max_toppings"}
    assert "60" in problems[LC + "idle_session_ttl_seconds"].allowed
