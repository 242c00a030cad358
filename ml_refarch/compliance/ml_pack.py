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
        #: Every resource read so far, by its construct's jsii reference (a key that costs no
        #: call into Node).
        self._resources: dict[str, Resource] = {}

    @property
    def name(self) -> str:
        return PACK_NAME

    def _check_resource(self, node: cdk.CfnResource) -> None:
        resource = self._resources.get(_ref(node))
        resource_type = resource.type if resource else node.cfn_resource_type
        applicable = [r for r in RULES if resource_type in r.resource_types]
        if not applicable:
            return
        if resource is None:
            # The first resource of its stack (or one added since): read the whole stack,
            # as the rules look at a resource's neighbours.
            self._resources.update(_stack_resources(cdk.Stack.of(node)))
            resource = self._resources[_ref(node)]
        for rule in applicable:
            self._apply_rule(_AppliedRule(rule, node, resource))


def _ref(construct: cdk.CfnResource) -> str:
    """The id of the Node object behind ``construct``: the same for every Python proxy of it."""
    return construct.__jsii_ref__.ref  # type: ignore[attr-defined]


def _stack_resources(stack: cdk.Stack) -> dict[str, Resource]:
    """Every CloudFormation resource of ``stack`` (not of its nested stacks), by ``_ref``.

    Each call into Node costs a round trip, so the logical ids and properties of all the
    stack's resources are resolved in one call.
    """
    constructs = stack.node.find_all()
    nested = tuple(
        f"{c.node.path}/" for c in constructs if isinstance(c, cdk.Stack) and c is not stack
    )
    own = []
    for construct in constructs:
        if isinstance(construct, cdk.CfnResource):
            path = construct.node.path
            if not path.startswith(nested):
                own.append((construct, path))
    resolved = stack.resolve(
        {
            str(index): {"id": construct.logical_id, "properties": construct._cfn_properties}
            for index, (construct, _) in enumerate(own)
        }
    )
    resources: dict[str, Resource] = {}
    by_ref: dict[str, Resource] = {}
    for index, (construct, path) in enumerate(own):
        values = resolved[str(index)]
        logical_id = values["id"]
        resources[logical_id] = by_ref[_ref(construct)] = Resource(
            logical_id=logical_id,
            type=construct.cfn_resource_type,
            properties=lower_keys(values.get("properties") or {}),
            path=path,
            stack=resources,
        )
    return by_ref
