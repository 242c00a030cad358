"""The estimates as a terminal report, as the README's Markdown table, and as warnings."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ml_refarch.cost.lines import StackCost, money
from ml_refarch.cost.prices import PriceTable

#: ``make synth`` warns about stacks that cost more than this a month idle.
IDLE_WARNING_THRESHOLD_USD = 50.0

#: No ``sandbox`` stack may cost more than this a month idle unless its pattern says why
#: (``Pattern.idle_cost_reason``) and its page repeats the reason and the cost.
IDLE_BUDGET_USD = 100.0


def idle_cost_phrase(cost: StackCost) -> str:
    """How a page states a stack's idle cost: ``about $149 a month idle``."""
    return f"about ${cost.monthly_usd:,.0f} a month idle"


def idle_budget_problems(
    cost: StackCost, *, reason: str, page_text: str, budget_usd: float = IDLE_BUDGET_USD
) -> list[str]:
    """What is wrong with a stack's idle cost against the budget: over it without a
    reason, or with a reason or cost its page does not state; a reason left on a stack
    within it. Empty when all is well."""
    # However the page wraps the sentence: across lines, inside a block quote.
    page = " ".join(re.sub(r"(?m)^[ \t]*>[ \t]?", "", page_text).split())
    over = cost.monthly_usd > budget_usd
    where = (
        f"{cost.stack_name} ({money(cost.monthly_usd)} a month idle, budget {money(budget_usd)})"
    )
    if not over:
        return [f"{where}: within the budget, drop its idle_cost_reason"] if reason else []
    if not reason:
        return [f"{where}: over the budget, and its pattern gives no idle_cost_reason"]
    problems = []
    if " ".join(reason.split()) not in page:
        problems.append(f"{where}: its page does not state the reason {reason!r}")
    if idle_cost_phrase(cost) not in page:
        problems.append(f"{where}: its page does not say {idle_cost_phrase(cost)!r}")
    return problems


def over_threshold(
    costs: Iterable[StackCost], threshold_usd: float = IDLE_WARNING_THRESHOLD_USD
) -> list[StackCost]:
    """The stacks whose idle cost exceeds ``threshold_usd`` a month, in the order given."""
    return [cost for cost in costs if cost.monthly_usd > threshold_usd]


def cost_lines(costs: Iterable[StackCost]) -> list[str]:
    """A readable terminal report: per stack, each idle cost, then what is left out."""
    costs = list(costs)
    out: list[str] = []
    for cost in costs:
        out.append(f"{cost.stack_name}: about {money(cost.monthly_usd)} a month idle")
        if not cost.lines:
            out.append("  nothing bills while idle")
        item_width = max((len(line.item) for line in cost.lines), default=0)
        unit_width = max((len(line.unit) for line in cost.lines), default=0)
        for line in cost.lines:
            out.append(
                f"  {line.item:<{item_width}}  {line.quantity:>6g} x {line.unit:<{unit_width}}"
                f"  {money(line.monthly_usd):>10}"
            )
            if line.note:
                out.append(f"      {line.note}")
        if cost.usage_based:
            out.append("  usage-based, not included:")
            out += [f"    - {item}" for item in cost.usage_based]
        out.append("")
    total = sum(cost.monthly_usd for cost in costs)
    out.append(f"Total idle: about {money(total)} a month for {len(costs)} stacks")
    return out


def cost_table_markdown(costs: Iterable[StackCost], profile: str, prices: PriceTable) -> str:
    """The idle costs as the Markdown table the README carries, header line included.

    Rows are sorted by stack name and every figure is rounded to cents, so the same
    templates and price table always give the same text.
    """
    hours = f"{prices.hours_per_month:g}"
    rows = [
        f"Idle cost per month for the `{profile}` profile, estimated from the synthesized "
        f"templates at {prices.region} list prices as of {prices.as_of} ({hours} hours a "
        "month); usage-based costs are named, not included.",
        "",
        "| Stack | Idle per month (USD) | What costs money idle | Usage-based, not included |",
        "| --- | ---: | --- | --- |",
    ]
    for cost in sorted(costs, key=lambda c: c.stack_name):
        idle = "; ".join(f"{line.item} ({money(line.monthly_usd)})" for line in cost.lines)
        usage = "; ".join(cost.usage_based)
        rows.append(
            f"| `{cost.stack_name}` | {cost.monthly_usd:,.2f} | {_cell(idle or 'nothing')} | "
            f"{_cell(usage or 'nothing')} |"
        )
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
