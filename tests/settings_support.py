"""Helpers for settings tests: the problems a context raises, and the shape of one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

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


#: Values a user could plausibly type, plus arbitrary junk (for property tests).
ANY_CONTEXT_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.from_regex(r"[a-z_]{1,8}:(string|int|double|varchar|timestamp)(,[a-z_]{1,8}:int)?"),
    st.lists(st.dictionaries(st.sampled_from(["name", "type", "x"]), st.text(max_size=8))),
)
