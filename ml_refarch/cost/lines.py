"""What an estimate is made of: idle cost lines, usage-based items, and their wording.

Pricers build :class:`CostLine` objects for what bills while idle and :class:`Usage` items for
what bills by use; :func:`~ml_refarch.cost.engine.estimate_stack` gathers them into a
:class:`StackCost`. The small formatters here (:func:`money`, :func:`unit_price`,
:func:`plural`, :func:`show`) keep every figure and quantity worded alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CostLine:
    """One idle cost of a stack.

    Attributes:
        item: what bills, with how many (``7 interface endpoints x 2 AZs``).
        quantity: the number of priced units (endpoint-AZs, shards, GiB, instances).
        unit: the unit price and, for hourly prices, the hours a month
            (``$0.01/endpoint-AZ-hour x 730 h``).
        monthly_usd: quantity x unit price (x hours), in USD a month.
        note: which resources, and anything the template left unresolved.
    """

    item: str
    quantity: float
    unit: str
    monthly_usd: float
    note: str = ""


@dataclass(frozen=True)
class StackCost:
    """A stack's idle cost lines and the usage-based costs they leave out."""

    stack_name: str
    lines: list[CostLine]
    usage_based: list[str] = field(default_factory=list)

    @property
    def monthly_usd(self) -> float:
        """The idle total in USD a month."""
        return sum(line.monthly_usd for line in self.lines)


#: The order usage-based items are listed in, by kind: storage and keys, streams, what runs
#: on demand, hosting, the network, then requests. Items of one kind keep the order their
#: pricer gave them.
USAGE_ORDER = (
    "s3",
    "logs",
    "kms",
    "dynamodb",
    "kinesis",
    "firehose",
    "redshift-serverless",
    "redshift-storage",
    "lambda",
    "glue",
    "emr-serverless",
    "feature-store",
    "athena",
    "state-machine",
    "training",
    "transform",
    "recommender",
    "monitoring",
    "batch",
    "ecr",
    "codebuild",
    "deployed-endpoint",
    "endpoint-data",
    "serverless",
    "studio",
    "interface-endpoint",
    "nat",
    "api-gateway",
    "lex",
    "waf",
    "sns",
    "codeartifact",
    "fsx-backup",
)


@dataclass(frozen=True)
class Usage:
    """A cost that bills by use, named (not counted) in a stack's estimate.

    Attributes:
        kind: one of :data:`USAGE_ORDER`, which places the item in the list.
        text: what bills, as the report shows it.
    """

    kind: str
    text: str

    def __post_init__(self) -> None:
        if self.kind not in USAGE_ORDER:
            raise ValueError(
                f"usage kind {self.kind!r} is not in USAGE_ORDER; add it where it belongs"
            )

    @property
    def rank(self) -> int:
        return USAGE_ORDER.index(self.kind)


@dataclass
class Group:
    """Resources priced alike, gathered into one cost line."""

    quantity: float = 0
    resources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Some quantity was left to deploy time and counted at its minimum.
    lower_bound: bool = False

    @property
    def at_least(self) -> str:
        return "at least " if self.lower_bound else ""

    def unresolved(self, note: str) -> None:
        self.notes.append(note)
        self.lower_bound = True

    def note(self, prefix: str = "") -> str:
        parts = [prefix] if prefix else []
        parts += self.notes
        return "; ".join(parts)


def unpriced(item: str, note: str, quantity: float = 0) -> CostLine:
    """A line for something that bills but could not be priced from the template."""
    return CostLine(item=item, quantity=quantity, unit="unpriced", monthly_usd=0.0, note=note)


def money(usd: float) -> str:
    return f"${usd:,.2f}"


def unit_price(usd: float) -> str:
    """$1.00, $0.14, $0.015: cents, or more digits when the price has them."""
    if round(usd, 2) == usd:
        return f"${usd:,.2f}"
    return "$" + f"{usd:.4f}".rstrip("0")


def plural(count: float, noun: str, plural: str | None = None) -> str:
    return f"{count:g} {noun if count == 1 else (plural or noun + 's')}"


def show(value: Any) -> str:
    """A template value as compact JSON, cut to 80 characters, for notes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 80 else text[:77] + "..."
