"""The compliance gate: every pack passes every stack, with only justified acknowledgments.

The packs run twice over each stack: inside the app (as ``cdk synth`` runs them) and over
the synthesized template through CloudFormation include (as ``python -m ml_refarch check``
runs them). The second sees resources the first skips, such as CDK's own custom-resource
handlers, which are plain ``CfnResource`` objects inside the app.
"""

from __future__ import annotations

import json
from collections import Counter

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from ml_refarch.app import register_packs
from ml_refarch.compliance import control_tower
from ml_refarch.compliance.checker import run_packs
from ml_refarch.compliance.packs import PACKS
from ml_refarch.compliance.report import read_assembly
from tests.support import VARIANTS, project_context

#: (acknowledged controls, findings per pack) by (variant, stack): filled by the tests below
#: and printed at the end of the run (see conftest).
ACKNOWLEDGMENT_COUNTS: dict[tuple[str, str], tuple[int, Counter]] = {}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pack_passes_every_stack_in_the_app(synthesized, variant):
    """The variant was synthesized with every pack registered, as ``cdk synth`` runs them.

    Synth raises on any unacknowledged finding (the last test below proves it), so getting
    here means the packs passed; the report CDK writes says so, and the acknowledgment
    metadata every stack carries shows the packs really ran over it.
    """
    result = synthesized(variant)
    report = json.loads((result.outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert plugin["conclusion"] == "success" and not plugin["violations"], plugin
    for stack_report in read_assembly(result.outdir):
        assert stack_report.acknowledgments, f"{stack_report.stack_name}: the packs did not run"
        ACKNOWLEDGMENT_COUNTS[(variant, stack_report.stack_name)] = (
            stack_report.acknowledged_controls,
            stack_report.acknowledgments_by_pack,
        )


@pytest.fixture(scope="module")
def findings_without_acknowledgments(synthesized, tmp_path_factory):
    """``findings_without_acknowledgments("sandbox")``: (stack, logical id, rule id) of every
    pack finding on that variant's templates, acknowledged or not; computed once a variant.

    The templates are checked through CloudFormation include with their acknowledgment
    metadata removed, so the packs report everything they find; the Control Tower pack
    runs cfn-guard over the same bare templates.
    """
    cache: dict[str, set[tuple[str, str, str]]] = {}

    def get(variant: str) -> set[tuple[str, str, str]]:
        if variant not in cache:
            result = synthesized(variant)
            bare_dir = tmp_path_factory.mktemp(f"bare.{variant}")
            found = set()
            bodies = {}
            for stack, template in result.templates.items():
                bare = json.loads(json.dumps(template))
                for body in bare["Resources"].values():
                    (body.get("Metadata") or {}).pop("cdk_nag", None)
                    (body.get("Metadata") or {}).pop(control_tower.METADATA_KEY, None)
                path = bare_dir / f"{stack}.template.json"
                path.write_text(json.dumps(bare))
                bodies[stack] = bare
                found |= {(stack, f.resource, f.rule_id) for f in run_packs(stack, path)}
            command, missing = control_tower.engine_command()
            assert command, missing
            outcome = control_tower.evaluate(command, bodies)
            found |= {(f.template, f.resource, f.rule.rule_id) for f in outcome.findings}
            cache[variant] = found
        return cache[variant]

    return get


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pack_passes_every_template(synthesized, findings_without_acknowledgments, variant):
    """Every finding on the templates is acknowledged in their metadata."""
    unacknowledged = findings_without_acknowledgments(variant) - acknowledged_in_templates(
        synthesized(variant)
    )
    assert not unacknowledged, "\n".join(map(str, sorted(unacknowledged)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_acknowledgments_are_specific_and_on_a_resource(synthesized, variant):
    for report in read_assembly(synthesized(variant).outdir):
        assert report.acknowledgments, f"{report.stack_name}: expected acknowledgment metadata"
        for ack in report.acknowledgments:
            assert ack.pack in PACKS, ack
            # The narrowest construct: never the app or a whole stack.
            assert ack.construct_path.count("/") >= 2, ack
            assert len(ack.reason) >= 60, f"reason too thin to justify {ack.rule_id}: {ack}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_control_tower_acknowledgments_are_listed_for_cfn_guard(synthesized, variant):
    """Each Control Tower acknowledgment is in the resource's Metadata.guard.SuppressedRules
    (what cfn-guard's rule sets and ``check`` read) and recorded with its reason."""
    for stack, template in synthesized(variant).templates.items():
        for logical_id, body in template["Resources"].items():
            metadata = body.get("Metadata", {})
            recorded = {
                rule["id"].removeprefix(f"{control_tower.RULE_PREFIX}-")
                for rule in (metadata.get("cdk_nag") or {}).get("rules_to_suppress", [])
                if rule["id"].startswith(f"{control_tower.RULE_PREFIX}-")
            }
            listed = set(metadata.get("guard", {}).get("SuppressedRules", []))
            assert listed == recorded, (stack, logical_id)


def acknowledged_in_templates(result) -> set[tuple[str, str, str]]:
    """(stack, logical id, rule id) of every acknowledgment written into the templates."""
    found = set()
    for stack, template in result.templates.items():
        for logical_id, body in template["Resources"].items():
            rules = (body.get("Metadata", {}).get("cdk_nag") or {}).get("rules_to_suppress", [])
            # CDK acknowledges findings of its own template validator here too; they are
            # not rule-pack findings.
            found |= {
                (stack, logical_id, rule["id"])
                for rule in rules
                if not rule["id"].startswith("CloudFormation-Validate::")
            }
    return found


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_acknowledgment_matches_a_real_finding(
    synthesized, findings_without_acknowledgments, variant
):
    """Without acknowledgments the packs find at least what was acknowledged: none is stale."""
    stale = acknowledged_in_templates(synthesized(variant)) - findings_without_acknowledgments(
        variant
    )
    assert not stale, f"acknowledged, but no finding: {sorted(stale)}"


def test_the_gate_fails_synth_on_an_unacknowledged_finding(tmp_path):
    app = cdk.App(context=project_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "Insecure")
    s3.Bucket(stack, "PlainBucket")
    register_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert {"AwsSolutions-S1", "PCI.DSS.321-S3DefaultEncryptionKMS"} <= rules
