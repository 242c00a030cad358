"""``MLSpecialtyChecks``: the MLSpecialty rules as a cdk-nag 3.x NagPack.

Add it to any CDK app next to the other packs::

    from aws_cdk import Validations
    from ml_refarch.compliance.ml_pack import MLSpecialtyChecks

    Validations.of(app).add_plugins(MLSpecialtyChecks(app))

Findings are reported as ``MLS-<rule>`` (``MLS-NB1``) or, for rules that can fail in several
places of one resource, ``MLS-<rule>[<where>]`` (``MLS-MZ1[Variant::AllTraffic]``), and are
acknowledged like any cdk-nag finding with ``Validations.of(construct).acknowledge(...)``.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

from ml_refarch.cfn import lower_keys
from ml_refarch.compliance.rules import COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, RULES
from ml_refarch.compliance.rules.model import PACK_PREFIX, Resource, Rule

PACK_NAME = "MLSpecialty"

_COMPLIANCE = {
    COMPLIANT: NagRuleCompliance.COMPLIANT,
    NON_COMPLIANT: NagRuleCompliance.NON_COMPLIANT,
    NOT_APPLICABLE: NagRuleCompliance.NOT_APPLICABLE,
}


@jsii.implements(IApplyRule)
class _AppliedRule:
    """One rule applied to one resource, in the shape cdk-nag's ``applyRule`` expects."""

    def __init__(self, rule: Rule, node: cdk.CfnResource, resource: Resource):
        self._rule = rule
        self._node = node
        self._resource = resource

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return f"{self._rule.explanation} (Study notes: {self._rule.notes_section}.)"

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR if self._rule.level == "error" else NagMessageLevel.WARN

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.suffix

    def rule(self, node: cdk.CfnResource):
        verdict = self._rule.evaluate(self._resource)
        if isinstance(verdict, list):
            return verdict if verdict else NagRuleCompliance.COMPLIANT
        return _COMPLIANCE[verdict]


class MLSpecialtyChecks(NagPack):
    """cdk-nag pack of the MLSpecialty rules (``docs/rules.md`` lists them)."""

    def __init__(self, scope=None, *, verbose=None, write_suppressions_to_cloud_formation=None):
        super().__init__(
            scope,
            verbose=verbose,
            write_suppressions_to_cloud_formation=write_suppressions_to_cloud_formation,
        )
        self._pack_name = PACK_PREFIX
        self._stacks: dict[str, dict[str, Resource]] = {}

    @property
    def name(self) -> str:
        return PACK_NAME

    def _check_resource(self, node: cdk.CfnResource) -> None:
        resource_type = node.cfn_resource_type
        applicable = [r for r in RULES if resource_type in r.resource_types]
        if not applicable:
            return
        resource = self._resource(node)
        for rule in applicable:
            self._apply_rule(_AppliedRule(rule, node, resource))

    def _resource(self, node: cdk.CfnResource) -> Resource:
        stack = cdk.Stack.of(node)
        logical_id = stack.resolve(node.logical_id)
        resources = self._stacks.get(stack.node.path)
        if resources is None or logical_id not in resources:
            resources = self._stacks[stack.node.path] = _stack_resources(stack)
        return resources[logical_id]


def _stack_resources(stack: cdk.Stack) -> dict[str, Resource]:
    resources: dict[str, Resource] = {}
    for construct in stack.node.find_all():
        if not isinstance(construct, cdk.CfnResource) or cdk.Stack.of(construct) is not stack:
            continue
        logical_id = stack.resolve(construct.logical_id)
        resources[logical_id] = Resource(
            logical_id=logical_id,
            type=construct.cfn_resource_type,
            properties=lower_keys(stack.resolve(construct._cfn_properties) or {}),
            path=construct.node.path,
            stack=resources,
        )
    return resources
