"""The Control Tower pack as a CDK validation plugin: the synth gate's seventh pack.

CDK hands the plugin the synthesized templates after synthesis; it runs cfn-guard over them
(``control_tower.evaluate``) and reports every finding that the resource does not
acknowledge in ``Metadata.guard.SuppressedRules``, so ``cdk synth`` fails on it like on a
cdk-nag finding. A badly shaped or unknown acknowledgment is a violation too, and a
cfn-guard that fails makes the plugin fail (CDK reports the plugin as failed).
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import jsii

from ml_refarch.compliance import control_tower


@jsii.implements(cdk.IPolicyValidationPlugin)
class ControlTowerChecks:
    """AWS Control Tower's proactive controls (cdklabs' bundled guard rules) over every
    template of the app."""

    @property
    def name(self) -> str:
        return control_tower.PACK_NAME

    @property
    def version(self) -> str:
        return control_tower.bundle_version()

    @property
    def rule_ids(self) -> list[str]:
        return sorted(rule.rule_id for rule in control_tower.catalog().values())

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        paths = {path: Path(path) for path in context.template_paths}
        bodies = {name: json.loads(path.read_text()) for name, path in paths.items()}
        command, missing = control_tower.engine_command()
        if command is None:
            raise RuntimeError(missing)
        try:
            outcome = control_tower.evaluate(command, bodies)
        except control_tower.GuardFailure as failure:
            raise RuntimeError(f"{failure.message}\n{failure.detail}".strip()) from None
        violations = [
            _violation(
                finding.rule.rule_id,
                control_tower.message(finding.rule),
                paths[finding.template],
                finding.resource,
                fix=f"Fix the resource, or acknowledge {finding.rule.rule_id} on it with a "
                f"reason (see {finding.rule.doc_url})",
            )
            for finding in outcome.findings
        ]
        violations += [
            _violation(
                f"{control_tower.RULE_PREFIX}-SuppressedRules",
                problem,
                paths[template],
                logical_id,
                fix="List cfn-guard rule names of the bundled Control Tower rules",
            )
            for template, logical_id, problem in (
                outcome.bad_suppressions + outcome.unknown_suppressions
            )
        ]
        return cdk.PolicyValidationPluginReport(success=not violations, violations=violations)


def _violation(
    rule_id: str, description: str, template: Path, logical_id: str, *, fix: str
) -> cdk.PolicyViolation:
    return cdk.PolicyViolation(
        rule_name=rule_id,
        description=description,
        fix=fix,
        severity="error",
        violating_resources=[
            cdk.PolicyViolatingResource(
                locations=[], resource_logical_id=logical_id, template_path=str(template)
            )
        ],
    )
