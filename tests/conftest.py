"""Shared fixtures: the app is synthesized once per variant per test session.

Each variant is synthesized as ``cdk synth`` would, with every rule pack registered, so a
finding without an acknowledgment fails the session's first synth loudly.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import VARIANTS, Synthesized, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Callable[[str], Synthesized]:
    """``synthesized("production")``: that variant, synthesized on first use only."""
    cache: dict[str, Synthesized] = {}

    def get(variant: str) -> Synthesized:
        if variant not in cache:
            cache[variant] = synthesize(
                tmp_path_factory.mktemp(f"cdk.out.{variant}"), VARIANTS[variant]
            )
        return cache[variant]

    return get


@pytest.fixture(scope="session")
def all_variants(synthesized) -> dict[str, Synthesized]:
    return {variant: synthesized(variant) for variant in VARIANTS}


def pytest_terminal_summary(terminalreporter):
    """Print the acknowledgment counts per variant, stack and pack that the gate tests saw."""
    from ml_refarch.compliance.packs import PACKS

    try:
        from tests.compliance.test_gate import ACKNOWLEDGMENT_COUNTS
    except ImportError:
        return
    if not ACKNOWLEDGMENT_COUNTS:
        return
    terminalreporter.section("acknowledged findings per stack and pack")
    for (variant, stack), counts in sorted(ACKNOWLEDGMENT_COUNTS.items()):
        per_pack = ", ".join(f"{pack} {counts.get(pack, 0)}" for pack in PACKS)
        terminalreporter.write_line(
            f"{variant:<12} {stack:<28} total {sum(counts.values()):>3}  ({per_pack})"
        )
