"""The rule model: resources as plain data, rule metadata, and the registry.

Property names are matched case-insensitively. Resolved CDK properties mix casings
(``kmsKeyId`` from L1 props, ``KmsKeyId`` inside tokens that L2s render), templates use
CloudFormation's, and API requests inside state machines use the API's; lower-casing every
key makes ``resource.get("ResourceConfig.VolumeKmsKeyId")`` work on all of them.
Values that CloudFormation only knows at deploy time (``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
a Step Functions ``Key.$`` path, ...) are *unresolved*: a rule may test that they are present,
never what they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_refarch.cfn import referenced_ids

COMPLIANT = "compliant"
NON_COMPLIANT = "non-compliant"
NOT_APPLICABLE = "not-applicable"

#: What a rule returns: one verdict, or the ids of its findings (empty list = compliant).
Verdict = str | list[str]

_MISSING = object()


class Unresolved:
    """A value known only at deploy time; equal to nothing, present all the same."""

    def __init__(self, raw: Any):
        self.raw = raw

    def __repr__(self) -> str:
        return f"Unresolved({self.raw!r})"


def raw(value: Any) -> Any:
    """The value as written in the template (an intrinsic stays a dict), for comparisons."""
    return value.raw if isinstance(value, Unresolved) else value


def lower_keys(value: Any) -> Any:
    """``value`` with every mapping key lower-cased, recursively."""
    if isinstance(value, Mapping):
        return {str(key).lower(): lower_keys(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [lower_keys(item) for item in value]
    return value


def is_intrinsic(value: Any) -> bool:
    """A CloudFormation intrinsic (``{"Ref": ...}``, ``{"Fn::...": ...}``), any key casing."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key,) = value
    key = str(key).lower()
    return key == "ref" or key.startswith("fn::") or key == "condition"


def get(value: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path of (case-insensitive) keys through ``value``.

    Returns ``default`` when a key is missing, an :class:`Unresolved` when the path runs into
    an intrinsic function or a Step Functions dynamic key (``Key.$``).
    """
    current = value
    for part in path.split("."):
        if is_intrinsic(current):
            return Unresolved(current)
        if not isinstance(current, Mapping):
            return default
        lowered = part.lower()
        found = current.get(lowered, _MISSING)
        if found is _MISSING:
            dynamic = current.get(lowered + ".$", _MISSING)
            if dynamic is not _MISSING:
                return Unresolved(dynamic)
            return default
        current = found
    if is_intrinsic(current):
        return Unresolved(current)
    return current


def present(value: Any) -> bool:
    """Set to something: a non-empty literal or a value resolved at deploy time."""
    if value is None:
        return False
    if isinstance(value, Unresolved):
        return True
    return value not in ("", [], {})


def number(value: Any) -> float | None:
    """A literal number (CloudFormation often carries numbers as strings), else ``None``."""
    if isinstance(value, bool) or value is None or isinstance(value, Unresolved):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def truthy(value: Any) -> bool | None:
    """``True``/``False`` for literal booleans (or "true"/"false"), ``None`` when unknown."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_list(value: Any) -> list:
    if value is None or isinstance(value, Unresolved):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def literal_text(value: Any) -> str:
    """The literal parts of a string that may be an ``Fn::Join``; tokens become ``*``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Unresolved):
        value = value.raw
    if isinstance(value, Mapping) and len(value) == 1:
        (key, inner) = next(iter(value.items()))
        if str(key).lower() == "fn::join" and isinstance(inner, list) and len(inner) == 2:
            separator = inner[0] if isinstance(inner[0], str) else ""
            return separator.join(literal_text(part) for part in as_list(inner[1]))
    return "*"


@dataclass(frozen=True)
class Resource:
    """One resource of a stack, with every other resource of that stack in reach."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    path: str = ""
    stack: Mapping[str, Resource] = field(default_factory=dict, repr=False, compare=False)

    def get(self, path: str, default: Any = None) -> Any:
        return get(self.properties, path, default)

    def others(self, *types: str) -> Iterator[Resource]:
        """The other resources of the stack, of the given types (all types when none)."""
        for resource in self.stack.values():
            if resource.logical_id != self.logical_id and (not types or resource.type in types):
                yield resource

    def references(self, other: Resource | str) -> bool:
        target = other if isinstance(other, str) else other.logical_id
        return target in referenced_ids(self.properties)

    def resolve_ref(self, value: Any) -> Resource | None:
        """The stack resource a ``Ref``/``GetAtt`` value points at, if it is in the stack."""
        raw = value.raw if isinstance(value, Unresolved) else value
        ids = referenced_ids(raw) if is_intrinsic(raw) else set()
        if len(ids) == 1:
            return self.stack.get(next(iter(ids)))
        return None


def resources_from_template(template: Mapping[str, Any]) -> dict[str, Resource]:
    """Every resource of a CloudFormation template, each able to see the others."""
    stack: dict[str, Resource] = {}
    for logical_id, body in template.get("Resources", {}).items():
        stack[logical_id] = Resource(
            logical_id=logical_id,
            type=body.get("Type", ""),
            properties=lower_keys(body.get("Properties", {})),
            path=logical_id,
            stack=stack,
        )
    return stack


@dataclass(frozen=True)
class Rule:
    """A rule's metadata and its check.

    Attributes:
        suffix: the part after ``MLS-``, e.g. ``NB1``.
        resource_types: CloudFormation types the rule looks at.
        level: ``error`` or ``warning``.
        info: one line: what is wrong when the rule fires.
        explanation: why it matters, and what to do instead.
        notes_section: the study-notes section the rule comes from.
        check: the pure function.
    """

    suffix: str
    resource_types: tuple[str, ...]
    level: str
    info: str
    explanation: str
    notes_section: str
    check: Callable[[Resource], Verdict]

    @property
    def id(self) -> str:
        return f"{PACK_PREFIX}-{self.suffix}"

    def evaluate(self, resource: Resource) -> Verdict:
        if resource.type not in self.resource_types:
            return NOT_APPLICABLE
        return self.check(resource)


PACK_PREFIX = "MLS"
RULES: list[Rule] = []


def rule(
    suffix: str,
    *,
    types: tuple[str, ...] | str,
    info: str,
    explanation: str,
    notes: str,
    level: str = "error",
) -> Callable[[Callable[[Resource], Verdict]], Callable[[Resource], Verdict]]:
    """Register the decorated function as rule ``MLS-<suffix>``."""
    if level not in ("error", "warning"):
        raise ValueError(f"level must be 'error' or 'warning', not {level!r}")

    def register(check: Callable[[Resource], Verdict]) -> Callable[[Resource], Verdict]:
        if any(existing.suffix == suffix for existing in RULES):
            raise ValueError(f"rule {PACK_PREFIX}-{suffix} is registered twice")
        RULES.append(
            Rule(
                suffix=suffix,
                resource_types=(types,) if isinstance(types, str) else tuple(types),
                level=level,
                info=info,
                explanation=explanation,
                notes_section=notes,
                check=check,
            )
        )
        return check

    return register


#: What a deploy-time value stands for inside a parsed JSON document.
PLACEHOLDER = "<token>"


class _Token:
    """A non-literal part of an ``Fn::Join``."""


_TOKEN = _Token()


def _pieces(value: Any) -> list[str | _Token] | None:
    """The definition text as literal strings and tokens; ``None`` when it is not text."""
    value = raw(value)
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    ((key, inner),) = value.items()
    key = str(key).lower()
    if key == "fn::sub":
        # Its ``${...}`` placeholders are handled like DefinitionSubstitutions below.
        text = inner[0] if isinstance(inner, list) and inner else inner
        return [text] if isinstance(text, str) else None
    if key != "fn::join" or not isinstance(inner, list) or len(inner) != 2:
        return None
    separator = inner[0] if isinstance(inner[0], str) else ""
    pieces: list[str | _Token] = []
    for index, part in enumerate(as_list(inner[1])):
        if index and separator:
            pieces.append(separator)
        pieces.append(part if isinstance(part, str) else _TOKEN)
    return pieces


def _json_text(pieces: list[str | _Token]) -> str:
    """The pieces as one JSON text, tokens and ``${...}`` placeholders made parseable.

    A token inside a JSON string (``"arn:" + partition + ":states:::..."``) must stay part of
    that string, while one outside a string (a number from a CfnParameter) needs quotes of its
    own; so the text is scanned for string boundaries rather than guessed from the character
    before the token. ``${...}`` outside a string is a DefinitionSubstitutions placeholder
    standing for a whole value.
    """
    out: list[str] = []
    in_string = False
    escaped = False
    for piece in pieces:
        if isinstance(piece, _Token):
            out.append(PLACEHOLDER if in_string else f'"{PLACEHOLDER}"')
            escaped = False
            continue
        index = 0
        while index < len(piece):
            char = piece[index]
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif piece.startswith("${", index):
                end = piece.find("}", index)
                if end != -1:
                    out.append(f'"{PLACEHOLDER}"')
                    index = end + 1
                    continue
            out.append(char)
            index += 1
    return "".join(out)


def parse_json_text(value: Any) -> Any:
    """The JSON document in ``value`` (a string, ``Fn::Join`` or ``Fn::Sub``), else ``None``.

    Tokens and ``${...}`` placeholders become the string :data:`PLACEHOLDER`: present, but
    unknown until deploy time.
    """
    pieces = _pieces(value)
    if pieces is None:
        return None
    try:
        return json.loads(_json_text(pieces))
    except (ValueError, RecursionError):
        return None
