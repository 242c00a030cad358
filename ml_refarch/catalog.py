"""The pattern catalog: every architecture pattern ml-refarch builds, found by discovery.

A pattern is one package under ``ml_refarch/stacks/`` (the package name is the pattern id
with ``_`` for ``-``) whose ``__init__`` defines ``PATTERN``, a :class:`Pattern`. Nothing
else lists the patterns: the app, config, cost, diagrams, rehearsal, smoke command and
docs all ask this module. The packages' ``__init__`` modules import nothing from aws_cdk,
so listing the catalog stays fast; a pattern's other modules are imported when asked for.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

#: The package whose sub-packages are the patterns.
STACKS_PACKAGE = "ml_refarch.stacks"


@dataclass(frozen=True)
class CostBand:
    """The idle monthly cost (USD) a pattern's stack is expected to fall in, per profile.

    ``tests/stacks/test_idle_cost.py`` checks each stack's estimate against its band, so a
    change that makes a stack cost more (or less) idle than its unit says fails there.
    """

    sandbox: tuple[float, float]
    production: tuple[float, float]

    def for_profile(self, profile: str) -> tuple[float, float]:
        return getattr(self, profile)


@dataclass(frozen=True)
class Pattern:
    """One catalog entry, defined as ``PATTERN`` in the pattern package's ``__init__``.

    Attributes:
        id: the pattern id used in docs and context keys (``streaming-ingest``).
        order: where the pattern stands in tables and listings (ascending; leave gaps).
        stack_name: the CloudFormation stack and CDK stack id (``MlRefArch-StreamingIngest``).
        title: a short title.
        notes_section: the study-notes section(s) the pattern implements.
        summary: one line on what the stack builds.
        stack_class: the name of the stack class in the package's ``stack`` module.
        idle_cost_reason: why the ``sandbox`` stack costs more than
            :data:`ml_refarch.cost.IDLE_BUDGET_USD` a month idle, in a sentence the
            pattern's page repeats word for word; empty for a stack within the budget
            (``tests/stacks/test_idle_cost.py`` holds every stack to one or the other).
        idle_cost_band: the idle cost the stack is expected to fall in, per profile, with
            a comment on what makes it up.
        replaces: the retired services of the notes whose successor the pattern builds, as
            ``ml_refarch/data/retired-services.toml`` names them.
    """

    id: str
    order: int
    stack_name: str
    title: str
    notes_section: str
    summary: str
    stack_class: str
    idle_cost_reason: str = ""
    idle_cost_band: CostBand | None = None
    replaces: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        """The pattern's package (``ml_refarch.stacks.streaming_ingest``)."""
        return f"{STACKS_PACKAGE}.{package_name(self.id)}"

    def module(self, name: str) -> ModuleType:
        """One module of the pattern's unit (``stack``, ``settings``, ``flows``, ...)."""
        return importlib.import_module(f"{self.package}.{name}")

    def has_module(self, name: str) -> bool:
        """Whether the pattern's unit has this module."""
        return importlib.util.find_spec(f"{self.package}.{name}") is not None

    @property
    def stack_type(self) -> Any:
        """The stack class (imports aws_cdk)."""
        return getattr(self.module("stack"), self.stack_class)

    @property
    def docs_page(self) -> str:
        return f"docs/patterns/{self.id}.md"

    def file(self, name: str) -> Path:
        """A data file of the pattern's unit (``scenarios.toml``), whether or not it exists."""
        return Path(importlib.util.find_spec(self.package).origin).parent / name


def package_name(pattern_id: str) -> str:
    """``streaming-ingest`` -> ``streaming_ingest``."""
    return pattern_id.replace("-", "_")


@cache
def discover() -> tuple[Pattern, ...]:
    """Every pattern package's ``PATTERN``, in catalog order.

    Raises:
        TypeError: a package under ``stacks/`` without a ``PATTERN``, or whose id does not
            match its package name, or two patterns with one order or stack name.
    """
    stacks = importlib.import_module(STACKS_PACKAGE)
    found: list[Pattern] = []
    for info in pkgutil.iter_modules(stacks.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{STACKS_PACKAGE}.{info.name}")
        pattern = getattr(module, "PATTERN", None)
        if not isinstance(pattern, Pattern):
            raise TypeError(f"{module.__name__} defines no PATTERN (a catalog.Pattern)")
        if package_name(pattern.id) != info.name:
            raise TypeError(
                f"{module.__name__}: pattern id {pattern.id!r} does not match the package "
                f"name (expected package {package_name(pattern.id)!r})"
            )
        found.append(pattern)
    for field in ("order", "stack_name"):
        values = [getattr(p, field) for p in found]
        duplicates = sorted({str(v) for v in values if values.count(v) > 1})
        if duplicates:
            raise TypeError(f"patterns share a {field}: {', '.join(duplicates)}")
    return tuple(sorted(found, key=lambda p: p.order))


def __getattr__(name: str) -> Any:
    # ``PATTERNS`` is discovered on first use: a pattern package imports this module for
    # :class:`Pattern`, so discovery cannot run while this module is being imported.
    if name == "PATTERNS":
        return discover()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def by_id(pattern_id: str) -> Pattern:
    """The pattern with this id.

    Raises:
        KeyError: naming the known ids.
    """
    for pattern in discover():
        if pattern.id == pattern_id:
            return pattern
    known = ", ".join(p.id for p in discover())
    raise KeyError(f"no pattern {pattern_id!r}; known patterns: {known}")


def markdown_table() -> str:
    """The catalog as the Markdown table the README carries."""
    rows = [
        "| Pattern | Stack | Title | Notes section | What it builds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for p in discover():
        rows.append(
            f"| [`{p.id}`]({p.docs_page}) | `{p.stack_name}` | {p.title} | "
            f"{p.notes_section} | {p.summary} |"
        )
    return "\n".join(rows)
