"""Reading a state machine's definition for :mod:`.workflows`: references kept as
``${...}`` placeholders the scenarios resolve, and representative values for what a workflow
names only at run time.

A name set at run time (``"Name.$": ...``) stands for the literal prefix of a
``States.Format`` followed by ``run``; otherwise for the name pattern the template's own
policies give that kind of resource, with ``*`` read as ``run``; otherwise ``run``. A policy
that scopes to other names then fails, as it would for a real run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource

_INTEGRATION = re.compile(
    r":states:::(?P<sdk>aws-sdk:)?(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)"
    r"(?:\.(?P<pattern>sync|waitForTaskToken))?"
)
_FORMAT_PREFIX = re.compile(r"States\.Format\('([^'{]*)\{\}")


def _render(part: Any) -> str:
    """A token of the definition as a ``${...}`` placeholder the scenarios resolve."""
    function = next(iter(part), "") if isinstance(part, Mapping) else ""
    if function == "Fn::GetAtt":
        found = cfn.getatt_target(part[function])
        if found:
            return "${" + ".".join(p for p in found if p) + "}"
    if function == "Ref" and isinstance(part[function], str):
        return "${" + part[function] + "}"
    if function == "Fn::Sub" and isinstance(part[function], str):
        return part[function]
    return "token"


def render_text(value: Any) -> str | None:
    """A string or ``Fn::Join`` as text with its references as ``${...}`` placeholders."""
    value = cfn.raw(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("Fn::Join"), list):
        separator, parts = value["Fn::Join"]
        return separator.join(p if isinstance(p, str) else _render(p) for p in parts)
    return _render(value) if isinstance(value, Mapping) else None


def definition(resource: Resource) -> Any:
    """The state machine's definition with references kept as ``${...}`` text."""
    inline = resource.properties.get("Definition")
    if isinstance(inline, Mapping) and not cfn.is_intrinsic(inline):
        return inline
    return cfn.parse_json_text(resource.properties.get("DefinitionString"), _render)


def tasks(machine: Any) -> Iterator[tuple[str, re.Match[str] | None, str, Mapping[str, Any]]]:
    """(state name, integration match, task resource text, request) of each Task state."""
    for name, state in cfn.states(machine):
        if not isinstance(state, Mapping) or cfn.field(state, "Type") != "Task":
            continue
        target = str(cfn.field(state, "Resource") or "")
        request = cfn.task_request(state)
        yield (
            name,
            _INTEGRATION.search(target),
            target,
            request if isinstance(request, Mapping) else {},
        )


class Names:
    """Representative values for what a workflow names only at run time."""

    def __init__(self, template: Mapping[str, Any]):
        self.patterns: list[str] = []
        self.conditions: dict[str, list[str]] = {}
        for policy in _policy_documents(template):
            for statement in cfn.as_list(cfn.field(policy, "Statement")):
                for entry in cfn.as_list(cfn.field(statement, "Resource")):
                    text = cfn.joined_text(entry, token="")
                    if text:
                        self.patterns.append(text)
                for block in (cfn.field(statement, "Condition") or {}).values():
                    for key, values in (block if isinstance(block, Mapping) else {}).items():
                        found = [v for v in cfn.as_list(values) if isinstance(v, str)]
                        self.conditions.setdefault(key.lower(), []).extend(found)

    def condition(self, key: str) -> str:
        """A value for condition ``key`` that the template's policies name (``*`` as
        ``run``), else ``run``."""
        for value in self.conditions.get(key.lower(), []):
            return value.replace("*", "run")
        return "run"

    def value(self, request: Mapping[str, Any], key: str, kind: str = "") -> str:
        """The request's ``key``: literal, or a representative when set at run time."""
        literal = request.get(key)
        if isinstance(literal, str):
            return literal
        dynamic = request.get(f"{key}.$")
        prefix = _FORMAT_PREFIX.search(dynamic) if isinstance(dynamic, str) else None
        if prefix:
            return f"{prefix.group(1)}run"
        marker = f":{kind}/"
        for pattern in self.patterns:
            if kind and marker in pattern:
                return pattern.split(marker, 1)[1].replace("*", "run")
        return "run"


def _policy_documents(template: Mapping[str, Any]) -> Iterator[Any]:
    for resource in cfn.resources(template).values():
        properties = cfn.properties_of(resource)
        if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield properties.get("PolicyDocument")
        elif resource.get("Type") == "AWS::IAM::Role":
            for policy in cfn.as_list(properties.get("Policies")):
                yield cfn.field(policy, "PolicyDocument")


def sagemaker_arn(kind: str, name: str) -> str:
    return f"arn:${{AWS::Partition}}:sagemaker:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/{name}"
