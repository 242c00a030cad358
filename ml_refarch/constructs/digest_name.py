"""Physical names that change whenever the resource must be replaced.

CloudFormation replaces a resource when a create-only property changes: it creates the new
one before deleting the old, so a custom name that stays the same makes the update fail
("Name type": "If you must replace the resource, specify a new name",
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html).

:class:`DigestName` names an L1 resource ``<prefix>-<digest>``, the digest covering every
other property as synthesized, tags included (the ``Tags.of`` aspects run before it). Use
it for types whose properties are all or nearly all create-only (SageMaker job definitions,
Studio lifecycle configurations): a change of any property renames the resource, which a
replacement needs anyway. Where a type has updatable properties and nothing needs its
name, let CloudFormation generate the name instead.

The name is known only once aspects run, so whatever else carries it registers with
:meth:`DigestName.use` (a property override on a consumer, an output's value). Raw overrides
(``add_property_override``) on the named resource itself are not part of the digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

import aws_cdk as cdk
import jsii
from constructs import IConstruct

#: Hex digits of the digest: 8 (32 bits) keep names short, and two configurations of one
#: resource in one stack are what must differ, not every name in an account.
DIGEST_LENGTH = 8


def _property_key(name_property: str) -> str:
    """The key an L1's own property bag uses for a CloudFormation property
    (``jobDefinitionName`` for ``JobDefinitionName``)."""
    return name_property[:1].lower() + name_property[1:]


@jsii.implements(cdk.IAspect)
class DigestName:
    """Names ``resource`` ``<prefix>-<digest of its other properties>`` at synthesis.

    Args:
        resource: the L1 resource to name.
        name_property: its physical name property as CloudFormation spells it
            (``JobDefinitionName``).
        prefix: the readable part of the name; keep it short enough for the type's limit
            with ``DIGEST_LENGTH + 1`` more characters.

    Attributes:
        name: the name, once synthesis has applied the aspect (``None`` before).
    """

    def __init__(self, resource: cdk.CfnResource, *, name_property: str, prefix: str) -> None:
        self.resource = resource
        self.name_property = name_property
        self.prefix = prefix
        self.name: str | None = None
        self._uses: list[Callable[[str], None]] = []
        # The default priority runs after the mutating Tags.of aspects, so tags are counted.
        cdk.Aspects.of(resource).add(self, priority=cdk.AspectPriority.DEFAULT)

    def use(self, apply: Callable[[str], None]) -> None:
        """Call ``apply(name)`` once the name is known (at synthesis)."""
        self._uses.append(apply)

    def digest_of_properties(self) -> str:
        """The digest of the resource's resolved properties other than its name."""
        key = _property_key(self.name_property)
        properties = {
            name: value for name, value in self.resource._cfn_properties.items() if name != key
        }
        resolved = cdk.Stack.of(self.resource).resolve(properties)
        canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]

    def visit(self, node: IConstruct) -> None:
        if node is not self.resource or self.name is not None:
            return
        self.name = f"{self.prefix}-{self.digest_of_properties()}"
        self.resource.add_property_override(self.name_property, self.name)
        for apply in self._uses:
            apply(self.name)


def stack_digest_name(scope: IConstruct, seed: object, *, max_length: int) -> str:
    """``<stack name>-<digest>`` for a resource whose name must change exactly when ``seed``
    (JSON-serialisable: the properties whose change the service cannot apply in place)
    does; the digest also covers the construct's path, so two such resources of one stack
    differ. Characters other than letters, digits and hyphens become hyphens."""
    text = json.dumps([scope.node.path, seed])
    digest = hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]
    prefix = re.sub(r"[^a-zA-Z0-9-]", "-", cdk.Stack.of(scope).stack_name)
    return f"{prefix[: max_length - DIGEST_LENGTH - 1]}-{digest}"
