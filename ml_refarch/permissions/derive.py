"""Scenarios read off the template: what services do at run time with what a stack declares.

A deriver is registered for a resource type with :func:`derives` and returns the
scenarios one resource of that type implies, each with the AWS page that says the service
makes those calls (a Lambda function's role writes its logs; a state machine's role calls
the APIs of its task states; CloudWatch Logs uses the key a log group is encrypted with).
They find what nobody thought to write down: a new pattern gets them without writing any.

Derivers live in the modules of :mod:`ml_refarch.permissions.derived`, one per service
family; :func:`derived_scenarios` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.scenarios import Scenario

_DERIVERS: dict[str, list[Callable[[Resource], list[Scenario]]]] = {}


@dataclass(frozen=True)
class Resource:
    """One resource handed to a deriver, with the template around it."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    template: Mapping[str, Any]

    def role_of(self, value: Any) -> str | None:
        """The logical id of the template's role that ``value`` (a ``Ref`` or
        ``Fn::GetAtt [role, Arn]``) points at, else ``None``."""
        return self.resource_of(value, "AWS::IAM::Role")

    def resource_of(self, value: Any, resource_type: str) -> str | None:
        """The logical id of the template's resource of ``resource_type`` that ``value``
        refers to (by ``Ref``, ``Fn::GetAtt``, or inside a ``Fn::Join``/``Fn::Sub``)."""
        resources = cfn.resources(self.template)
        for logical_id in sorted(cfn.referenced_ids(cfn.raw(value), with_sub=True)):
            if resources.get(logical_id, {}).get("Type") == resource_type:
                return logical_id
        return None

    def get(self, path: str) -> Any:
        """A property by dotted path, as written (intrinsic functions left in)."""
        return cfn.raw(cfn.get(self.properties, path))

    def of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        return cfn.resources_of_type(self.template, resource_type)

    def properties_of(self, logical_id: str) -> Mapping[str, Any]:
        """The properties of another resource of the template."""
        return cfn.properties_of(cfn.resources(self.template).get(logical_id, {}))

    def text(self, value: Any) -> str | None:
        """``value`` as scenario text: a string, with ``Ref`` / ``Fn::GetAtt`` as
        ``${Id}`` / ``${Id.Attr}`` and ``Fn::Sub`` / ``Fn::Join`` text kept; ``None`` for
        anything else (``Fn::FindInMap``, an ``Fn::Sub`` with its own variables, ...)."""
        return placeholder_text(value)

    def scenario(self, name: str, principal: str, doc: str, calls: Any, **extra: Any) -> Scenario:
        """A scenario named after this resource, sourced ``derived (TYPE)``."""
        return Scenario(
            name=f"{self.logical_id}: {name}",
            principal=principal,
            calls=tuple(calls),
            doc=doc,
            source=f"derived ({self.type})",
            **extra,
        )


def placeholder_text(value: Any) -> str | None:
    """See :meth:`Resource.text`."""
    value = cfn.raw(value)
    if isinstance(value, str):
        return value
    if not cfn.is_intrinsic(value):
        return None
    ((function, argument),) = value.items()
    if function == "Ref" and isinstance(argument, str):
        return "${" + argument + "}"
    if function == "Fn::GetAtt":
        target = cfn.getatt_target(argument)
        return "${" + ".".join(part for part in target if part) + "}" if target else None
    if function == "Fn::Sub":
        return argument if isinstance(argument, str) else None
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        parts = [placeholder_text(part) for part in cfn.as_list(argument[1])]
        if isinstance(argument[0], str) and all(part is not None for part in parts):
            return argument[0].join(parts)  # type: ignore[arg-type]
    return None


def derives(*types: str) -> Callable:
    """Register a deriver ``(resource) -> list[Scenario]`` for these resource types."""

    def register(function: Callable[[Resource], list[Scenario]]) -> Callable:
        for resource_type in types:
            _DERIVERS.setdefault(resource_type, []).append(function)
        return function

    return register


def _load() -> None:
    package = importlib.import_module("ml_refarch.permissions.derived")
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def registered_types() -> list[str]:
    _load()
    return sorted(_DERIVERS)


def _resources(template: Mapping[str, Any]) -> Iterator[Resource]:
    for logical_id, resource in cfn.resources(template).items():
        resource_type = resource.get("Type", "")
        yield Resource(logical_id, resource_type, cfn.properties_of(resource), template)


def derived_scenarios(template: Mapping[str, Any]) -> list[Scenario]:
    """Every scenario the template's resources imply."""
    _load()
    found: list[Scenario] = []
    for resource in _resources(template):
        for deriver in _DERIVERS.get(resource.type, []):
            found += deriver(resource)
    return found
