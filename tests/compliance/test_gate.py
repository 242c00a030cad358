"""The compliance gate: every pack passes every stack, with only justified acknowledgments."""

from __future__ import annotations

import types
from collections import Counter

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from ml_refarch.app import register_packs
from ml_refarch.compliance import acknowledge as acknowledge_module
from ml_refarch.compliance.packs import PACKS, make_packs
from ml_refarch.compliance.report import read_assembly
from tests.support import VARIANTS, project_context, synthesize

#: Filled by the tests below and printed at the end of the run (see conftest).
ACKNOWLEDGMENT_COUNTS: dict[tuple[str, str], Counter] = {}


def findings(stacks: dict[str, cdk.Stack]) -> list[tuple[str, str, str]]:
    """(construct path, rule id, description) of every unacknowledged finding."""
    found = []
    for stack in stacks.values():
        for pack in make_packs().values():
            for violation in pack.validate_scope(stack).violations:
                for resource in violation.violating_resources:
                    found.append(
                        (resource.construct_path, violation.rule_name, violation.description)
                    )
    return found


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pack_passes_every_stack(synthesized, variant):
    result = synthesized(variant)
    unacknowledged = findings(result.stacks)
    assert not unacknowledged, "\n".join(f"{p}: {r}: {d}" for p, r, d in unacknowledged)
    for report in read_assembly(result.outdir):
        ACKNOWLEDGMENT_COUNTS[(variant, report.stack_name)] = report.acknowledgments_by_pack


@pytest.mark.parametrize("variant", VARIANTS)
def test_acknowledgments_are_specific_and_on_a_resource(synthesized, variant):
    for report in read_assembly(synthesized(variant).outdir):
        assert report.acknowledgments, f"{report.stack_name}: expected acknowledgment metadata"
        for ack in report.acknowledgments:
            assert ack.pack in PACKS, ack
            # The narrowest construct: never the app or a whole stack.
            assert ack.construct_path.count("/") >= 2, ack
            assert len(ack.reason) >= 60, f"reason too thin to justify {ack.rule_id}: {ack}"


class _CdkWithoutAcknowledgments(types.SimpleNamespace):
    """aws_cdk with Validations.acknowledge turned into a no-op."""

    def __getattr__(self, name):
        return getattr(cdk, name)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_acknowledgment_matches_a_real_finding(synthesized, tmp_path, monkeypatch, variant):
    """Without acknowledgments the packs find exactly what was acknowledged: none is stale."""
    acknowledged = {
        (ack.construct_path.lstrip("/"), ack.rule_id)
        for report in read_assembly(synthesized(variant).outdir)
        for ack in report.acknowledgments
    }
    no_op = types.SimpleNamespace(acknowledge=lambda *rules: None)
    fake = _CdkWithoutAcknowledgments(Validations=types.SimpleNamespace(of=lambda _: no_op))
    monkeypatch.setattr(acknowledge_module, "cdk", fake)
    raw = findings(synthesize(tmp_path / "raw", compliance_gate=False, **VARIANTS[variant]).stacks)

    def covered(path: str, rule: str) -> bool:
        return any(
            rule == ack_rule and (path == ack_path or path.startswith(ack_path + "/"))
            for ack_path, ack_rule in acknowledged
        )

    uncovered = sorted({(p, r) for p, r, _ in raw if not covered(p, r)})
    assert not uncovered, f"findings that are neither fixed nor acknowledged: {uncovered}"
    stale = sorted(
        (ack_path, ack_rule)
        for ack_path, ack_rule in acknowledged
        if not any(
            r == ack_rule and (p == ack_path or p.startswith(ack_path + "/")) for p, r, _ in raw
        )
    )
    assert not stale, f"acknowledgments that match no finding: {stale}"


def test_the_gate_fails_synth_on_an_unacknowledged_finding(tmp_path):
    app = cdk.App(context=project_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "Insecure")
    s3.Bucket(stack, "PlainBucket")
    register_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "AwsSolutions-S1" in report and "PCI.DSS.321-S3DefaultEncryptionKMS" in report
