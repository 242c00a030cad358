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
