"""Helpers for settings tests: the problems a context raises, and the shape of one."""

from __future__ import annotations

from typing import Any

import pytest

from ml_refarch.config import ConfigError, Problem, read_config


def problems_of(context: dict[str, Any]) -> dict[str, Problem]:
    """The problems ``read_config(context)`` raises, by key (it must raise)."""
    with pytest.raises(ConfigError) as raised:
        read_config(context)
    return {problem.key: problem for problem in raised.value.problems}


def assert_rejected_with_key_value_allowed_and_fix(key: str, value: Any) -> Problem:
    """``value`` for ``key`` is one problem naming the key, the value, what is allowed and a
    ``-c key=...`` fix."""
    problem = problems_of({key: value})[key]
    assert problem.received == value
    assert problem.allowed
    assert f"-c {key}=" in problem.fix
    message = str(problem)
    assert key in message and repr(value) in message
    return problem
