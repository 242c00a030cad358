"""Every stack of every variant: each runtime scenario (derived from its template or written
in its unit's scenarios.toml) is decided as expected by the synthesized policies, and every
role of the stack acts in at least one scenario."""

from __future__ import annotations

import pytest

from ml_refarch.permissions.run import evaluate, report_lines, written_scenarios
from tests.support import VARIANT_STACKS


@pytest.mark.parametrize(("variant", "stack_name"), VARIANT_STACKS)
def test_every_runtime_scenario_is_decided_as_expected(synthesized, variant, stack_name):
    template = synthesized(variant).templates[stack_name]
    result = evaluate(stack_name, template, written_scenarios(stack_name))
    assert result.results, f"{stack_name} has no runtime scenario"
    assert result.ok, "\n".join(report_lines(result))
