"""The estimate: run every registered pricer over a template and gather what they yield.

Idle lines are sorted biggest first (the line to act on leads); usage-based items are
listed in :data:`~ml_refarch.cost.lines.USAGE_ORDER`, each named once.
"""

from __future__ import annotations

from collections.abc import Mapping

import ml_refarch.cost.pricers  # noqa: F401  (registers the pricers)
from ml_refarch.cfn import resources_by_type
from ml_refarch.cost.lines import CostLine, StackCost, Usage
from ml_refarch.cost.prices import PriceTable
from ml_refarch.cost.registry import PRICERS, TemplateContext


def estimate_stack(template: dict, prices: PriceTable, stack_name: str = "template") -> StackCost:
    """Idle monthly cost of one synthesized template, and the usage-based costs it omits.

    Raises:
        MissingPriceError: an instance type or FSx tier the price table does not list.
    """
    context = TemplateContext(prices, resources_by_type(template))
    lines: list[CostLine] = []
    usage: list[Usage] = []
    for registered in PRICERS:
        resources = context.of_type(*registered.resource_types)
        if not resources:
            continue
        for found in registered.price(resources, context):
            if isinstance(found, CostLine):
                lines.append(found)
            elif isinstance(found, Usage):
                usage.append(found)
            else:
                raise TypeError(
                    f"pricer {registered.name} yielded {found!r}, not a CostLine or Usage"
                )
    # Biggest first: the line to act on leads.
    lines.sort(key=lambda line: (-round(line.monthly_usd, 6), line.item))
    usage.sort(key=lambda item: item.rank)
    return StackCost(stack_name, lines, list(dict.fromkeys(item.text for item in usage)))


def estimate_assembly(templates: Mapping[str, dict], prices: PriceTable) -> list[StackCost]:
    """:func:`estimate_stack` for every template, sorted by stack name."""
    return [estimate_stack(templates[name], prices, name) for name in sorted(templates)]
