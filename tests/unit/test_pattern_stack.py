"""PatternStack owns the stacks' constructor: a unit's stack defines only build()."""

from __future__ import annotations

import importlib

import pytest

from ml_refarch.catalog import PATTERNS
from ml_refarch.stacks.base import PatternStack


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda pattern: pattern.id)
def test_a_stack_takes_its_pattern_from_its_package_and_defines_only_build(pattern):
    stack_type = pattern.stack_type
    assert stack_type.pattern is importlib.import_module(pattern.package).PATTERN
    assert stack_type.pattern_id == pattern.id
    assert "build" in vars(stack_type)
    assert "__init__" not in vars(stack_type)


def test_a_stack_outside_a_pattern_unit_is_refused():
    with pytest.raises(AttributeError, match="PATTERN"):

        class Stray(PatternStack):
            def build(self, settings) -> None:
                pass
