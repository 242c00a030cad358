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
