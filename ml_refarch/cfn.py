"""Reading CloudFormation templates: references, intrinsics and resources by type.

The bottom layer: compliance rules, cost, diagrams and the rehearsal read templates through
this module. It imports nothing from the rest of the project.
"""

from __future__ import annotations

from collections.abc import Mapping
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
