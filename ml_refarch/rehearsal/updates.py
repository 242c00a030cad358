"""Update safety: can CloudFormation update one template of a stack into another?

When an update changes a *create-only* property, CloudFormation replaces the resource: it
creates the new one first and deletes the old one afterwards. A resource that keeps the
same custom physical name cannot be created while the old one still holds that name, so
the update fails (UPDATE_FAILED). CloudFormation's "Name type" page says it: "If you specify
a name, you cannot perform updates that require replacement of this resource ... If you
must replace the resource, specify a new name."
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html)

:func:`update_findings` compares two templates of one stack (say, its sandbox and its
production synth) resource by resource, for each logical id both hold with the same type:

- **create-only properties** come from the CloudFormation resource provider schemas that
  cfn-lint ships (``createOnlyProperties`` and ``conditionalCreateOnlyProperties``, read for
  us-east-1 through cfn-lint's schema manager), never from a list kept here. Paths may be
  nested (``/properties/TableInput/Name``) and go through lists (``/.../*/Key``).
- **physical name properties** (:func:`name_paths`) are the create-only properties that
  identify the resource: those in the schema's ``primaryIdentifier``, and those named
  ``Name`` or ``<end of the type name>Name`` (``ModelName`` for ``AWS::SageMaker::Model``,
  ``GroupName`` for ``AWS::EC2::SecurityGroup``, ``TableInput/Name`` for a Glue table), since
  many schemas identify a resource by its read-only ARN instead of by its name.
- the name is **fixed** when every name property holds the same value in both templates and
  at least one of them is written without a reference to a resource of the template (a
  literal, or text built from pseudo parameters such as ``AWS::Region`` or from template
  parameters). A name CloudFormation generates (property absent) or one derived from
  another resource (``Ref``/``Fn::GetAtt``) is not fixed.

A finding is a resource whose name is fixed while another of its create-only properties
differs between the templates. Fix it with a generated name, or with a name that carries a
digest of every create-only property, so that a replacement gets a new name.

One update SageMaker itself refuses is a finding too (kind ``update refused``): an endpoint
updated in place (its name kept) while a variant that Application Auto Scaling scales
changes its instance type or disappears. "Update endpoints that use auto scaling"
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html): "If the
update would change the instance type for any model that is a target for auto scaling, the
update fails", and removing such a variant needs the target deregistered first. Fix it by
renaming the endpoint with those variants, so that CloudFormation replaces it.

Types cfn-lint has no schema for are findings too (kind ``unknown type``) when their
properties differ: what they would replace cannot be told. cfn-lint maps ``Custom::*``
types to ``AWS::CloudFormation::CustomResource``, whose only create-only property is its
``ServiceToken``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ml_refarch.cfn import is_intrinsic, properties_of, references, resources

#: The region whose schemas are read: every type the project uses exists there.
SCHEMA_REGION = "us-east-1"

REPLACEMENT_BLOCKED = "replacement blocked"
UNKNOWN_TYPE = "unknown type"
UPDATE_REFUSED = "update refused"

#: A property path as segments below ``/properties``; ``*`` stands for every list item.
Path = tuple[str, ...]

_ABSENT = "<absent>"


@dataclass(frozen=True)
class ResourceSchema:
    """What update safety needs of one type's provider schema."""

    type_name: str
    create_only: tuple[Path, ...]
    primary_identifier: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A resource CloudFormation cannot update from one template to the other.

    Attributes:
        logical_id, resource_type: the resource.
        kind: :data:`REPLACEMENT_BLOCKED` or :data:`UNKNOWN_TYPE`.
        names: its fixed physical name properties and their values (``/``-joined paths).
        changed: the create-only properties (or, for an unknown type, the properties) that
            differ.
    """

    logical_id: str
    resource_type: str
    kind: str
    names: tuple[tuple[str, Any], ...] = ()
    changed: tuple[str, ...] = ()

    def __str__(self) -> str:
        changed = ", ".join(self.changed)
        if self.kind == UNKNOWN_TYPE:
            return (
                f"{self.logical_id} ({self.resource_type}): unknown type, cfn-lint has no "
                f"schema for it; properties changed: {changed}"
            )
        if self.kind == UPDATE_REFUSED:
            return (
                f"{self.logical_id} ({self.resource_type}): updated in place while {changed}; "
                "SageMaker refuses to update an endpoint so (endpoint-scaling-update.html)"
            )
        names = ", ".join(f"{path}={json.dumps(value)}" for path, value in self.names)
        return (
            f"{self.logical_id} ({self.resource_type}): fixed name {names} while create-only "
            f"{changed} changes; CloudFormation cannot replace it (UPDATE_FAILED)"
        )


SchemaLookup = Callable[[str], "ResourceSchema | None"]


def _paths(pointers: Any) -> tuple[Path, ...]:
    """``("A", "B")`` for each ``/properties/A/B`` pointer (others are ignored)."""
    found = []
    for pointer in pointers or ():
        parts = str(pointer).split("/")
        if len(parts) > 2 and parts[:2] == ["", "properties"]:
            found.append(tuple(parts[2:]))
    return tuple(found)


@cache
def provider_schema(resource_type: str) -> ResourceSchema | None:
    """The type's create-only properties and identifier from cfn-lint's schemas (``None``
    when cfn-lint has no schema for the type)."""
    try:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
        from cfnlint.schema._exceptions import ResourceNotFoundError
    except ImportError as error:  # pragma: no cover - cfn-lint is in requirements-dev.txt
        raise RuntimeError(
            "update safety reads the resource schemas cfn-lint ships: install cfn-lint "
            "(pinned in requirements-dev.txt)"
        ) from error
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, resource_type).schema
    except ResourceNotFoundError:
        return None
    return ResourceSchema(
        type_name=resource_type,
        create_only=_paths(
            [
                *schema.get("createOnlyProperties", ()),
                *schema.get("conditionalCreateOnlyProperties", ()),
            ]
        ),
        primary_identifier=_paths(schema.get("primaryIdentifier", ())),
    )


def _words(name: str) -> list[str]:
    return re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+", name)


def is_name_of(path: Path, resource_type: str) -> bool:
    """``Name``, or ``<X>Name`` where the type's last segment ends with the words of X."""
    last = path[-1]
    if last == "Name":
        return True
    if not last.endswith("Name") or "*" in path:
        return False
    type_words = _words(resource_type.rsplit("::", 1)[-1])
    prefix = _words(last[: -len("Name")])
    return bool(prefix) and type_words[-len(prefix) :] == prefix


def name_paths(schema: ResourceSchema) -> tuple[Path, ...]:
    """The create-only properties that name the resource (see the module docstring)."""
    return tuple(
        path
        for path in schema.create_only
        if path in schema.primary_identifier or is_name_of(path, schema.type_name)
    )


def value_at(properties: Any, path: Path) -> Any:
    """The value at ``path``; ``*`` maps over a list. An intrinsic function or a scalar met
    before the path ends is returned whole (its change is the path's change)."""
    if not path:
        return properties
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(properties, list):
            return [value_at(item, rest) for item in properties]
        return properties
    if isinstance(properties, Mapping) and not is_intrinsic(properties):
        return value_at(properties[head], rest) if head in properties else _ABSENT
    return properties if properties is not None else _ABSENT


def is_fixed(value: Any, resource_ids: set[str]) -> bool:
    """Written without a reference to a resource: a literal, or text made of pseudo
    parameters and template parameters, which an update does not change."""
    if value == _ABSENT:
        return False
    return not any(reference.logical_id in resource_ids for reference in references(value))


def _show(path: Path) -> str:
    return "/".join(path)


def compare_resource(
    logical_id: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    schema: ResourceSchema | None,
    resource_ids: set[str],
) -> Finding | None:
    """The finding for one resource of the same type in both templates, if any."""
    resource_type = str(before.get("Type"))
    old, new = properties_of(before), properties_of(after)
    if schema is None:
        changed = sorted(key for key in {*old, *new} if old.get(key) != new.get(key))
        if not changed:
            return None
        return Finding(logical_id, resource_type, UNKNOWN_TYPE, changed=tuple(changed))
    names = name_paths(schema)
    named = [(path, value_at(old, path), value_at(new, path)) for path in names]
    if not named or any(value_old != value_new for _, value_old, value_new in named):
        return None
    if not any(is_fixed(value, resource_ids) for _, value, _ in named):
        return None
    changed = [
        _show(path)
        for path in schema.create_only
        if path not in names and value_at(old, path) != value_at(new, path)
    ]
    if not changed:
        return None
    return Finding(
        logical_id,
        resource_type,
        REPLACEMENT_BLOCKED,
        names=tuple((_show(path), value) for path, value, _ in named),
        changed=tuple(changed),
    )


def update_findings(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    schema_of: SchemaLookup = provider_schema,
) -> list[Finding]:
    """What CloudFormation cannot update when ``before`` becomes ``after`` (same stack):
    each resource both templates hold under one logical id with one type, in id order."""
    old, new = resources(before), resources(after)
    resource_ids = {*old, *new}
    findings = []
    for logical_id in sorted(old.keys() & new.keys()):
        resource_type = old[logical_id].get("Type")
        if not isinstance(resource_type, str) or new[logical_id].get("Type") != resource_type:
            continue
        finding = compare_resource(
            logical_id, old[logical_id], new[logical_id], schema_of(resource_type), resource_ids
        )
        if finding is not None:
            findings.append(finding)
    return findings + scaled_endpoint_findings(before, after)


# ------------------------------------------------------------------------------------------
# Endpoints with auto scaling

ENDPOINT = "AWS::SageMaker::Endpoint"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
_VARIANT_OF_RESOURCE_ID = re.compile(r"/variant/([^/]+)$")


def _instance_types(template: Mapping[str, Any], endpoint: Mapping[str, Any]) -> dict:
    """Variant name -> instance type of the configuration ``endpoint`` is created with."""
    found = list(references(properties_of(endpoint).get("EndpointConfigName")))
    config = resources(template).get(found[0].logical_id if found else "", {})
    variants = properties_of(config).get("ProductionVariants", [])
    return {v.get("VariantName"): v.get("InstanceType") for v in variants if isinstance(v, Mapping)}


def _scaled_variants(template: Mapping[str, Any], endpoint_id: str) -> set[str]:
    """The variants of ``endpoint_id`` that a scalable target of the template scales."""
    scaled = set()
    for resource in resources(template).values():
        if resource.get("Type") != SCALABLE_TARGET:
            continue
        resource_id = properties_of(resource).get("ResourceId")
        if endpoint_id not in {r.logical_id for r in references(resource_id)}:
            continue
        # CDK writes endpoint/<name>/variant/<variant> as Fn::Join ["", [..., "/variant/V"]].
        parts = resource_id.get("Fn::Join", ["", []])[1] if isinstance(resource_id, dict) else []
        tail = parts[-1] if parts and isinstance(parts[-1], str) else ""
        found = _VARIANT_OF_RESOURCE_ID.search(tail)
        if found:
            scaled.add(found.group(1))
    return scaled


def scaled_endpoint_findings(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Finding]:
    """Endpoints updated in place whose auto-scaled variants change type or disappear."""
    old, new = resources(before), resources(after)
    findings = []
    for logical_id in sorted(old.keys() & new.keys()):
        if not old[logical_id].get("Type") == new[logical_id].get("Type") == ENDPOINT:
            continue
        name = "EndpointName"
        if properties_of(old[logical_id]).get(name) != properties_of(new[logical_id]).get(name):
            continue  # a new name: CloudFormation replaces the endpoint
        types_before = _instance_types(before, old[logical_id])
        types_after = _instance_types(after, new[logical_id])
        changed = []
        for variant in sorted(_scaled_variants(before, logical_id)):
            if variant not in types_after:
                changed.append(f"auto-scaled variant {variant} is removed")
            elif types_after[variant] != types_before.get(variant):
                changed.append(
                    f"auto-scaled variant {variant} changes InstanceType "
                    f"{types_before.get(variant)} -> {types_after[variant]}"
                )
        if changed:
            findings.append(Finding(logical_id, ENDPOINT, UPDATE_REFUSED, changed=tuple(changed)))
    return findings
