"""Shared fixtures: the app is synthesized once per variant per test session.

Each variant is synthesized as ``cdk synth`` would, with every rule pack registered, so a
finding without an acknowledgment fails the session's first synth loudly.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import VARIANTS, BackgroundLinters, Synthesized, synthesize

LINTER_TESTS = "tests/compliance/test_linters.py"


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


def pytest_collection_modifyitems(session, config, items):
    """Run the linter tests last: their tools run in the background meanwhile."""
    items[:] = [i for i in items if not i.nodeid.startswith(LINTER_TESTS)] + [
        i for i in items if i.nodeid.startswith(LINTER_TESTS)
    ]


@pytest.fixture(scope="session")
def linters(all_variants, tmp_path_factory):
    """cfn-lint and checkov over every template meant for AWS, started once."""
    runner = BackgroundLinters(
        sorted(
            result.template_path(stack)
            for name, result in all_variants.items()
            if VARIANTS[name].for_aws
            for stack in result.templates
        ),
        tmp_path_factory.mktemp("linters"),
    )
    yield runner
    runner.stop()


@pytest.fixture(scope="session", autouse=True)
def _start_linters_early(request):
    """When the linter tests are selected, synthesize and start the linters up front, so
    the two tools work on the second core while the rest of the suite runs on the first."""
    if any(item.nodeid.startswith(LINTER_TESTS) for item in request.session.items):
        request.getfixturevalue("linters")


def pytest_terminal_summary(terminalreporter):
    _acknowledgment_summary(terminalreporter)
    _rehearsal_summary(terminalreporter)


def _acknowledgment_summary(terminalreporter):
    """Print the acknowledged controls per variant and stack, and findings per pack, that the
    gate tests saw."""
    from ml_refarch.compliance.packs import PACKS

    try:
        from tests.compliance.test_gate import ACKNOWLEDGMENT_COUNTS
    except ImportError:
        return
    if not ACKNOWLEDGMENT_COUNTS:
        return
    terminalreporter.section("acknowledged controls and findings per stack and pack")
    for (variant, stack), (controls, counts) in sorted(ACKNOWLEDGMENT_COUNTS.items()):
        per_pack = ", ".join(f"{pack} {counts.get(pack, 0)}" for pack in PACKS)
        terminalreporter.write_line(
            f"{variant:<12} {stack:<28} controls {controls:>3}, findings "
            f"{sum(counts.values()):>3} ({per_pack})"
        )


def _rehearsal_summary(terminalreporter):
    """Print what the deploy rehearsal verified and which resource types moto skipped."""
    try:
        from tests.rehearsal.test_deploy_local import REHEARSAL_REPORT
    except ImportError:
        return
    if REHEARSAL_REPORT:
        terminalreporter.section("deploy rehearsal on moto (local synth)")
        for line in REHEARSAL_REPORT:
            terminalreporter.write_line(line)
