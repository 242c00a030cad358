"""Pricers by resource type, and the template context they read other resources through.

A pricer is a function registered with :func:`pricer` for one or more CloudFormation
resource types. The engine calls it once per template with every resource of those types
(``(logical_id, resource)`` pairs, sorted by logical id: resources priced alike share a line,
``7 interface endpoints x 2 AZs``) and the :class:`TemplateContext`; it yields
:class:`~ml_refarch.cost.lines.CostLine` objects for idle costs and
:class:`~ml_refarch.cost.lines.Usage` items for costs of use. A type no pricer claims costs
nothing; a type may have several pricers, each run in the order registered. One module per
service area under :mod:`ml_refarch.cost.pricers` registers its pricers, as the compliance
rules do with :func:`ml_refarch.compliance.rules.rule`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ml_refarch.cfn import properties_of, ref_target, referenced_ids
from ml_refarch.cost.lines import CostLine, Usage, unit_price
from ml_refarch.cost.prices import PriceTable

#: ``(logical_id, resource)`` as it stands in the template.
Entry = tuple[str, dict]


@dataclass(frozen=True)
class TemplateContext:
    """One template's resources by type, with the price table: what pricers look across.

    Facts that need more than one resource (which resources use a role, which Lambda
    functions only serve custom resources) are asked here, so no pricer walks the whole
    template itself.
    """

    prices: PriceTable
    #: :func:`ml_refarch.cfn.resources_by_type`: type -> logical id -> resource.
    by_type: Mapping[str, Mapping[str, Any]]

    @property
    def hours(self) -> float:
        """Hours in a month, as the price table counts them."""
        return self.prices.hours_per_month

    def of_type(self, *types: str) -> list[Entry]:
        """The resources of ``types``, sorted by logical id."""
        found = [entry for type_ in types for entry in self.by_type.get(type_, {}).items()]
        return sorted(found, key=lambda entry: entry[0])

    def has(self, resource_type: str) -> bool:
        return resource_type in self.by_type

    def hourly(self, quantity: float, usd: float) -> float:
        """USD a month for ``quantity`` units billed ``usd`` an hour."""
        return quantity * usd * self.hours

    def per_hour(self, usd: float, unit: str) -> str:
        """``$0.01/endpoint-AZ-hour x 730 h``."""
        return f"{unit_price(usd)}/{unit} x {self.hours:g} h"

    def referring_types(self, logical_id: str, ignore: Collection[str] = ()) -> set[str]:
        """The types of the other resources whose properties reference ``logical_id``.

        Resources of the ``ignore`` types are not looked into.
        """
        return {
            resource_type
            for resource_type, entries in self.by_type.items()
            if resource_type not in ignore
            for other_id, other in entries.items()
            if other_id != logical_id and logical_id in referenced_ids(other.get("Properties"))
        }

    def custom_resource_handlers(self) -> set[str | None]:
        """The logical ids custom resources name as their ``ServiceToken``."""
        return {
            ref_target(properties_of(resource).get("ServiceToken"))
            for resource_type, entries in self.by_type.items()
            if resource_type.startswith("Custom::")
            or resource_type == "AWS::CloudFormation::CustomResource"
            for resource in entries.values()
        }


#: What a pricer yields: idle cost lines and usage-based items.
Priced = CostLine | Usage
PriceFunction = Callable[[list[Entry], TemplateContext], Iterable[Priced]]


@dataclass(frozen=True)
class Pricer:
    """A registered pricer: the resource types it prices and the function that does."""

    name: str
    resource_types: tuple[str, ...]
    price: PriceFunction


#: Every pricer, in the order registered (the order :mod:`ml_refarch.cost.pricers` imports).
PRICERS: list[Pricer] = []


def pricer(*resource_types: str) -> Callable[[PriceFunction], PriceFunction]:
    """Register the decorated function as the pricer of ``resource_types``.

    Raises:
        ValueError: no resource type given, or a pricer of the same name registered already.
    """
    if not resource_types:
        raise ValueError("a pricer needs at least one resource type")

    def register(price: PriceFunction) -> PriceFunction:
        name = f"{price.__module__}.{price.__qualname__}"
        if any(existing.name == name for existing in PRICERS):
            raise ValueError(f"pricer {name} is registered twice")
        PRICERS.append(Pricer(name, tuple(resource_types), price))
        return price

    return register


def pricers_for(resource_type: str) -> list[Pricer]:
    """The pricers of ``resource_type``, in the order they run (empty: it costs nothing)."""
    return [entry for entry in PRICERS if resource_type in entry.resource_types]
