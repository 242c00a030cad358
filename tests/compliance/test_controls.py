"""Control families: one acknowledgment for a control that several packs report."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_s3 as s3

from ml_refarch.compliance import control_tower, controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.compliance.nag_catalog import CatalogError, checks_by_rule, pack_rules
from ml_refarch.compliance.packs import PACKS, make_packs
from ml_refarch.compliance.report import read_assembly
from tests.support import VARIANTS

REASON = "A reason specific enough to pass the length check of acknowledge()."


@pytest.fixture(scope="module")
def gate_checks() -> dict[str, str]:
    """The check each rule of the gate's cdk-nag packs applies, from cdk-nag's sources."""
    return checks_by_rule(info.rule_prefix for info in PACKS.values())


def test_the_catalog_reads_every_pack_of_the_installed_cdk_nag(gate_checks):
    packs = {rule_id.split("-", 1)[0] for rule_id in gate_checks}
    assert {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"} <= packs
    assert "Serverless" in packs
    # A pack's own short id and the framework ids name the same rule function.
    assert gate_checks["AwsSolutions-S1"] == "S3BucketLoggingEnabled"
    assert gate_checks["PCI.DSS.321-S3BucketLoggingEnabled"] == "S3BucketLoggingEnabled"
    assert "HIPAA.Security-NoSuchRule" not in gate_checks


def test_the_catalog_names_rules_as_cdk_nag_does():
    source = """
        this.packName = 'Demo';
        this.applyRule({ info: 'x', rule: s3_1.S3BucketLoggingEnabled, node: node });
        this.applyRule({
            ruleSuffixOverride: 'S1',
            rule: s3_1.S3BucketLoggingEnabled,
            node: node,
        });
    """
    assert [(r.rule_id, r.check) for r in pack_rules(source)] == [
        ("Demo-S3BucketLoggingEnabled", "S3BucketLoggingEnabled"),
        ("Demo-S1", "S3BucketLoggingEnabled"),
    ]
    with pytest.raises(CatalogError, match="without a rule function"):
        pack_rules("this.packName = 'Demo'; this.applyRule({ info: 'x', node: node });")


def test_every_family_is_a_real_control_of_every_pack_that_checks_it(gate_checks):
    assert controls.FAMILIES
    assert controls.unverified_members(controls.FAMILIES.values(), gate_checks) == []


def test_a_family_expands_to_every_packs_id_for_its_control(gate_checks):
    assert controls.ENDPOINT_CONFIG_KMS.rule_ids == (
        "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
        "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
        "PCI.DSS.321-SageMakerEndpointConfigurationKMSKeyConfigured",
    )
    assert controls.S3_ACCESS_LOGS.rule_ids[0] == "AwsSolutions-S1"
    assert controls.S3_ACCESS_LOGS.rule_ids[-1] == "ControlTower-s3_bucket_logging_enabled_check"
    for control in controls.FAMILIES.values():
        same_check = {rule_id for rule_id, check in gate_checks.items() if check == control.check}
        nag_members = {r for r in control.rule_ids if not r.startswith("ControlTower-")}
        assert nag_members == same_check, control


def test_an_unknown_family_member_fails(gate_checks):
    frameworks = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
    no_such_rule = controls.family("LambdaInsideVpc", *frameworks)  # wrong case: no rule
    wrong_short_id = controls.family(
        "S3BucketLoggingEnabled", "AwsSolutions", *frameworks, short_ids={"AwsSolutions": "S2"}
    )
    one_pack_short = controls.family("LambdaInsideVPC", "HIPAA.Security", "NIST.800.53.R5")
    problems = controls.unverified_members(
        [no_such_rule, wrong_short_id, one_pack_short], gate_checks
    )
    assert problems == [
        "LambdaInsideVpc: HIPAA.Security-LambdaInsideVpc is not a rule of cdk-nag's packs",
        "LambdaInsideVpc: NIST.800.53.R5-LambdaInsideVpc is not a rule of cdk-nag's packs",
        "LambdaInsideVpc: PCI.DSS.321-LambdaInsideVpc is not a rule of cdk-nag's packs",
        f"S3BucketLoggingEnabled: AwsSolutions-S2 applies {gate_checks['AwsSolutions-S2']}, "
        "another check",
        "S3BucketLoggingEnabled: leaves out ['AwsSolutions-S1'], which apply the same check",
        "LambdaInsideVPC: leaves out ['PCI.DSS.321-LambdaInsideVPC'], which apply the same check",
    ]


def test_a_family_names_only_packs_of_the_gate_and_two_rules_or_more():
    with pytest.raises(ValueError, match="no such pack"):
        controls.family("LambdaDLQ", "HIPAA.Security", "NIST.800.53.R4")
    with pytest.raises(ValueError, match="two or more"):
        controls.family("LambdaTracing", "Serverless")
    with pytest.raises(ValueError, match="packs not listed"):
        controls.family("LambdaDLQ", "HIPAA.Security", "Serverless", short_ids={"PCI.DSS.321": "X"})


def test_expanding_groups_by_pack_and_keeps_the_order_given_within_a_pack():
    findings = ("AwsSolutions-IAM5[Resource::b/*]", "AwsSolutions-COG4", "AwsSolutions-APIG4")
    assert controls.expand(controls.S3_REPLICATION, controls.S3_DEFAULT_KMS, *findings) == (
        *findings,
        "HIPAA.Security-S3BucketReplicationEnabled",
        "HIPAA.Security-S3DefaultEncryptionKMS",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "PCI.DSS.321-S3BucketReplicationEnabled",
        "PCI.DSS.321-S3DefaultEncryptionKMS",
        "ControlTower-s3_bucket_default_encryption_kms_check",
    )
    with pytest.raises(ValueError, match="twice"):
        controls.expand(controls.LAMBDA_DLQ, "Serverless-LambdaDLQ")
    with pytest.raises(TypeError):
        controls.expand(("HIPAA.Security-LambdaDLQ",))


def _violations(stack: cdk.Stack) -> set[str]:
    """The rule ids of every pack's findings on ``stack``, the Control Tower pack's too."""
    found = {
        violation.rule_name
        for pack in make_packs().values()
        for violation in pack.validate_scope(stack).violations
    }
    template = assertions.Template.from_stack(stack).to_json()
    command, missing = control_tower.engine_command()
    assert command, missing
    outcome = control_tower.evaluate(command, {"stack": template})
    return found | {finding.rule.rule_id for finding in outcome.findings}


def test_acknowledging_a_family_acknowledges_each_packs_finding():
    families = (controls.S3_ACCESS_LOGS, controls.S3_VERSIONING)
    members = {rule_id for family in families for rule_id in family.rule_ids}

    plain = cdk.Stack(cdk.App(), "Plain")
    s3.Bucket(plain, "Bucket")
    before = _violations(plain)
    assert members <= before  # every pack's finding of both controls is there

    acknowledged = cdk.Stack(cdk.App(), "Acknowledged")
    acknowledge(s3.Bucket(acknowledged, "Bucket"), REASON, *families)
    assert _violations(acknowledged) == before - members


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_control_several_packs_report_is_acknowledged_through_a_family(
    synthesized, gate_checks, variant
):
    """Otherwise summary would count that control once per pack."""
    by_check: dict[str, set[str]] = {}
    for rule_id, check in gate_checks.items():
        by_check.setdefault(check, set()).add(rule_id)
    for report in read_assembly(synthesized(variant).outdir):
        for ack in report.acknowledgments:
            check = gate_checks.get(ack.rule_id.split("[")[0])
            if check is not None and len(by_check[check]) > 1:
                assert controls.control_of(ack.rule_id) == check, (
                    f"{ack.rule_id}: add a family for {check} to ml_refarch/compliance/controls.py"
                )
