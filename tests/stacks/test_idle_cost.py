"""No sandbox stack costs more than the idle budget a month unless its pattern says why.

A pattern over :data:`~ml_refarch.cost.IDLE_BUDGET_USD` gives the reason as
``PATTERN.idle_cost_reason`` (in its unit's ``__init__``), and its page repeats the reason
word for word and states the cost as the estimate rounds it ("about $149 a month idle").
Each stack's estimate also falls in the band its unit declares
(``PATTERN.idle_cost_band``, per profile).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_refarch.catalog import PATTERNS
from ml_refarch.cost import (
    IDLE_BUDGET_USD,
    StackCost,
    estimate_assembly,
    estimate_stack,
    idle_budget_problems,
    idle_cost_phrase,
    load_prices,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox_costs(synthesized) -> dict[str, StackCost]:
    costs = estimate_assembly(synthesized("sandbox").templates, load_prices())
    return {cost.stack_name: cost for cost in costs}


@pytest.fixture(scope="module")
def production_costs(synthesized) -> dict[str, StackCost]:
    costs = estimate_assembly(synthesized("production").templates, load_prices())
    return {cost.stack_name: cost for cost in costs}


@pytest.mark.parametrize("profile", ["sandbox", "production"])
@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.id for p in PATTERNS])
def test_each_stack_idles_within_the_band_its_unit_declares(request, pattern, profile):
    assert pattern.idle_cost_band is not None, f"{pattern.id}: PATTERN gives no idle_cost_band"
    low, high = pattern.idle_cost_band.for_profile(profile)
    cost = request.getfixturevalue(f"{profile}_costs")[pattern.stack_name]
    assert low <= cost.monthly_usd <= high, (pattern.id, profile, cost.lines)


@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.id for p in PATTERNS])
def test_each_sandbox_stack_idles_within_the_budget_or_its_page_says_why(pattern, sandbox_costs):
    cost = sandbox_costs[pattern.stack_name]
    page = (ROOT / pattern.docs_page).read_text(encoding="utf-8")
    assert idle_budget_problems(cost, reason=pattern.idle_cost_reason, page_text=page) == []


def test_the_budget_is_a_hundred_dollars():
    assert IDLE_BUDGET_USD == 100.0


def _expensive_stack() -> StackCost:
    """Four ml.m5.2xlarge endpoint instances: about $1,346 a month idle."""
    config = {
        "Type": "AWS::SageMaker::EndpointConfig",
        "Properties": {
            "ProductionVariants": [
                {"VariantName": "A", "InstanceType": "ml.m5.2xlarge", "InitialInstanceCount": 4}
            ]
        },
    }
    endpoint = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
    }
    template = {"Resources": {"Config": config, "Endpoint": endpoint}}
    return estimate_stack(template, load_prices(), "Expensive")


REASON = "four large instances are the point of this example"


def test_an_expensive_stack_without_a_reason_fails():
    cost = _expensive_stack()
    assert cost.monthly_usd > 1000
    (problem,) = idle_budget_problems(cost, reason="", page_text="")
    assert "Expensive" in problem and "gives no idle_cost_reason" in problem


def test_a_reason_its_page_does_not_state_fails():
    cost = _expensive_stack()
    problems = idle_budget_problems(cost, reason=REASON, page_text="Costs a lot.")
    assert len(problems) == 2
    assert "does not state the reason" in problems[0]
    assert idle_cost_phrase(cost) in problems[1]


def test_a_page_with_the_reason_and_the_cost_passes_however_it_wraps():
    cost = _expensive_stack()
    assert idle_cost_phrase(cost) == "about $1,346 a month idle"
    page = (
        f"> It costs\n> {idle_cost_phrase(cost)}\n> because four large\n"
        ">\tinstances are the point of this example."
    )
    assert idle_budget_problems(cost, reason=REASON, page_text=page) == []


def test_a_reason_left_on_a_stack_within_the_budget_fails():
    cheap = StackCost("Cheap", [])
    (problem,) = idle_budget_problems(cheap, reason=REASON, page_text=REASON)
    assert "within the budget" in problem
