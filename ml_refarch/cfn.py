"""Reading CloudFormation templates: references, intrinsics and resources by type.

The bottom layer: compliance rules, cost, diagrams and the rehearsal read templates through
this module. It imports nothing from the rest of the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any


def referenced_ids(value: Any) -> set[str]:
    """Logical ids referenced anywhere in ``value`` by ``Ref`` or ``Fn::GetAtt``."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, Mapping):
            for key, inner in item.items():
                lowered = str(key).lower()
                if lowered == "ref" and isinstance(inner, str):
                    found.add(inner)
                elif lowered == "fn::getatt":
                    target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                    if isinstance(target, str):
                        found.add(target)
                else:
                    walk(inner)
        elif isinstance(item, (list, tuple)):
            for inner in item:
                walk(inner)

    walk(value)
    return found


# ---------------------------------------------------------------------------------------
# References with the property that holds them (Ref, Fn::GetAtt, Fn::Sub, DependsOn)
# ---------------------------------------------------------------------------------------

#: ``${Name}`` or ``${Name.Attribute}`` in an ``Fn::Sub`` string; ``${!Literal}`` is text.
_SUB_NAME = re.compile(r"\$\{(?!!)([A-Za-z0-9]+)(?:\.[^}]*)?\}")


def property_references(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(name, innermost property key) of every ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub``
    reference in ``value``, in document order.

    The key is the nearest enclosing property name (intrinsic function names do not count),
    ``key`` for a reference at the top. Names are whatever the template refers to: logical
    ids, parameters and pseudo-parameters (``AWS::Region``) alike; callers keep the ones
    they know. A name that an ``Fn::Sub`` variable map defines is not a reference, but the
    references inside that map's values are.
    """
    if isinstance(value, dict):
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                if isinstance(argument, str):
                    yield argument, key
                return
            if name == "Fn::GetAtt":
                target = argument[0] if isinstance(argument, list) else str(argument)
                yield target.split(".")[0], key
                return
            if name == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                for match in _SUB_NAME.finditer(text):
                    if match.group(1) not in variables:
                        yield match.group(1), key
                yield from property_references(variables, key)
                return
        for name, item in value.items():
            yield from property_references(item, key if name.startswith("Fn::") else name)
    elif isinstance(value, list):
        for item in value:
            yield from property_references(item, key)


def resource_references(resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, property key) of what a resource refers to: its ``Properties``
    (:func:`property_references`), then each ``DependsOn`` entry with the key ``DependsOn``."""
    found = list(property_references(resource.get("Properties", {})))
    depends_on = resource.get("DependsOn", [])
    for target in [depends_on] if isinstance(depends_on, str) else depends_on:
        found.append((target, "DependsOn"))
    return found


# --------------------------------------------------------------------------------------
# Resources, literals and intrinsics (first used by the cost estimate)

#: What stands for a deploy-time value inside the text :func:`joined_strings` returns.
UNRESOLVED_TEXT = "__unresolved__"


def resources_by_type(template: Mapping[str, Any]) -> dict[str, list[tuple[str, dict]]]:
    """The template's resources as ``(logical_id, resource)`` pairs by type, ids sorted."""
    resources = template.get("Resources") or {}
    by_type: dict[str, list[tuple[str, dict]]] = {}
    for logical_id in sorted(resources):
        resource = resources[logical_id]
        if isinstance(resource, dict):
            by_type.setdefault(str(resource.get("Type")), []).append((logical_id, resource))
    return by_type


def properties_of(resource: Mapping[str, Any]) -> dict:
    """A resource's ``Properties``, or an empty dict when it has none (or not a mapping)."""
    properties = resource.get("Properties")
    return properties if isinstance(properties, dict) else {}


def reference_target(value: Any) -> str | None:
    """The logical id ``value`` is a ``Ref`` or ``Fn::GetAtt`` to, else ``None``.

    Only a value that *is* the reference counts; one that contains references (an
    ``Fn::Join`` with a ``Ref`` inside) is not a reference to a resource.
    """
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    ((key, target),) = value.items()
    if str(key).lower() not in ("ref", "fn::getatt") or not target:
        return None
    ids = referenced_ids(value)
    return next(iter(ids)) if len(ids) == 1 else None


def integer_literal(value: Any) -> int | None:
    """An integer literal (CloudFormation also accepts digits in a string), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def joined_strings(value: Any) -> str | None:
    """A string property's text, with the string parts of an ``Fn::Join`` joined.

    CDK renders a state machine definition as ``Fn::Join`` of JSON text and tokens; the
    tokens sit inside JSON strings, so :data:`UNRESOLVED_TEXT` in their place keeps the text
    parseable. ``Fn::Sub`` gives its template text. Anything else is ``None``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        join = value.get("Fn::Join")
        if isinstance(join, list) and len(join) == 2 and isinstance(join[1], list):
            separator = join[0] if isinstance(join[0], str) else ""
            return separator.join(p if isinstance(p, str) else UNRESOLVED_TEXT for p in join[1])
        sub = value.get("Fn::Sub")
        if isinstance(sub, str):
            return sub
        if isinstance(sub, list) and sub and isinstance(sub[0], str):
            return sub[0]
    return None


def walk_mappings(value: Any) -> Iterator[dict]:
    """Every dict in ``value``, ``value`` itself first, depth first through dicts and lists."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from walk_mappings(child)
    elif isinstance(value, list):
        for child in value:
            yield from walk_mappings(child)
