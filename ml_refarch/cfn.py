"""Reading CloudFormation templates: resources by type, intrinsics, references and values.

The bottom layer: compliance rules, cost, diagrams and the rehearsal read templates through
this module. It imports nothing from the rest of the project.

- **Resources**: :func:`resources`, :func:`resources_of_type`, :func:`resources_by_type`,
  :func:`properties_of`.
- **Intrinsics**: :func:`is_intrinsic`; values CloudFormation knows only at deploy time are
  :class:`Unresolved` when read through :func:`get`.
- **References**: :func:`references` (``Ref``, ``Fn::GetAtt`` and the names in an
  ``Fn::Sub`` string, with the property holding each), :func:`resource_references` (those
  of a resource, with its ``DependsOn``), :func:`referenced_ids`, :func:`ref_target`,
  :func:`sub_names`.
- **Values**: :func:`get` (a dotted, case-insensitive path), :func:`present`,
  :func:`number`, :func:`integer`, :func:`truthy`, :func:`as_list`, :func:`literal_text`
  (the literal parts of an ``Fn::Join``), :func:`joined_text` and :func:`parse_json_text`
  (a JSON document written as ``Fn::Join`` or ``Fn::Sub``, such as a state machine
  definition), :func:`walk_mappings`.
- **IAM roles**: :func:`trusted_services`.
- **Physical ids**: :func:`resolve_ids` puts a deployed stack's physical ids in place of
  references.

Function names and property keys are matched case-insensitively where noted: templates use
CloudFormation's casing, while CDK's resolved L1 properties (``kmsKeyId``) and API requests
inside state machines use others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_MISSING = object()

# --------------------------------------------------------------------------------------
# Resources


def resources(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The template's resources by logical id (none when it has no ``Resources`` section)."""
    found = template.get("Resources") if isinstance(template, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    return {logical_id: body for logical_id, body in found.items() if isinstance(body, Mapping)}


def properties_of(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """A resource's ``Properties``, or an empty dict when it has none (or not a mapping)."""
    properties = resource.get("Properties") if isinstance(resource, Mapping) else None
    return properties if isinstance(properties, Mapping) else {}


def resources_of_type(
    template: Mapping[str, Any], *resource_types: str
) -> dict[str, Mapping[str, Any]]:
    """The template's resources of any of ``resource_types``, by logical id."""
    return {
        logical_id: body
        for logical_id, body in resources(template).items()
        if body.get("Type") in resource_types
    }


def resources_by_type(template: Mapping[str, Any]) -> dict[str, dict[str, Mapping[str, Any]]]:
    """The template's resources grouped by type, each group in logical-id order."""
    grouped: dict[str, dict[str, Mapping[str, Any]]] = {}
    for logical_id, body in sorted(resources(template).items()):
        grouped.setdefault(str(body.get("Type", "")), {})[logical_id] = body
    return grouped


# --------------------------------------------------------------------------------------
# Intrinsic functions


class Unresolved:
    """A value known only at deploy time; equal to nothing, present all the same."""

    def __init__(self, raw: Any):
        self.raw = raw

    def __repr__(self) -> str:
        return f"Unresolved({self.raw!r})"


def raw(value: Any) -> Any:
    """The value as written in the template (an intrinsic stays a dict), for comparisons."""
    return value.raw if isinstance(value, Unresolved) else value


def is_intrinsic(value: Any) -> bool:
    """A CloudFormation intrinsic (``{"Ref": ...}``, ``{"Fn::...": ...}``, a condition
    reference ``{"Condition": ...}``), any key casing."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key,) = value
    key = str(key).lower()
    return key == "ref" or key.startswith("fn::") or key == "condition"


def _function(value: Any) -> tuple[str, Any] | None:
    """(lower-cased function name, argument) of a one-key intrinsic, else ``None``."""
    if not is_intrinsic(value):
        return None
    ((key, argument),) = value.items()
    return str(key).lower(), argument


# --------------------------------------------------------------------------------------
# References

#: ``${Name}`` or ``${Name.Attribute}`` in an ``Fn::Sub`` string; ``${!Literal}`` is text
#: and pseudo parameters (``${AWS::Region}``) name no resource.
_SUB_NAME = re.compile(r"\$\{(?!!)([A-Za-z0-9]+)(?:\.([^}]*))?\}")


@dataclass(frozen=True)
class Reference:
    """One reference to a logical id inside a template value.

    Attributes:
        logical_id: the resource (or parameter) referred to.
        function: ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub``.
        attribute: the attribute read (``Arn``), empty for a ``Ref`` or a plain ``${Name}``.
        key: the innermost property key the reference sits under (empty at the top).
    """

    logical_id: str
    function: str
    attribute: str = ""
    key: str = ""


def getatt_target(argument: Any) -> tuple[str, str] | None:
    """(logical id, attribute) of an ``Fn::GetAtt`` argument, list or ``"Id.Attr"`` form."""
    if isinstance(argument, str):
        logical_id, _, attribute = argument.partition(".")
        return logical_id, attribute
    if isinstance(argument, (list, tuple)) and argument and isinstance(argument[0], str):
        attribute = argument[1] if len(argument) > 1 and isinstance(argument[1], str) else ""
        return argument[0], attribute
    return None


def sub_names(text: str) -> list[tuple[str, str]]:
    """(name, attribute) of every ``${Name}`` / ``${Name.Attribute}`` in an ``Fn::Sub`` string."""
    return [(match.group(1), match.group(2) or "") for match in _SUB_NAME.finditer(text)]


def references(value: Any, key: str = "") -> Iterator[Reference]:
    """Every ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` name in ``value``, any key casing.

    ``Fn::Sub`` names defined by its own variable map are not references; the map's values
    are searched like any other value.
    """
    if isinstance(value, Mapping):
        for name, inner in value.items():
            lowered = str(name).lower()
            if lowered == "ref" and isinstance(inner, str):
                yield Reference(inner, "Ref", key=key)
            elif lowered == "fn::getatt":
                target = getatt_target(inner)
                if target is not None:
                    yield Reference(target[0], "Fn::GetAtt", target[1], key)
            elif lowered == "fn::sub":
                yield from _sub_references(inner, key)
            else:
                yield from references(inner, key if lowered.startswith("fn::") else str(name))
    elif isinstance(value, (list, tuple)):
        for inner in value:
            yield from references(inner, key)


def _sub_references(argument: Any, key: str) -> Iterator[Reference]:
    """The names in the text first, then the references in the rest (document order)."""
    text, variables, rest = argument, {}, []
    if isinstance(argument, (list, tuple)) and argument:
        text, rest = argument[0], list(argument[1:])
        variables = argument[1] if len(argument) > 1 and isinstance(argument[1], Mapping) else {}
    if isinstance(text, str):
        for name, attribute in sub_names(text):
            if name not in variables:
                yield Reference(name, "Fn::Sub", attribute, key)
    else:
        rest.insert(0, text)
    yield from references(rest, key)


def resource_references(resource: Mapping[str, Any]) -> list[Reference]:
    """What a resource refers to: the :func:`references` in its ``Properties``, then each
    ``DependsOn`` entry (function and key ``DependsOn``)."""
    found = list(references(properties_of(resource)))
    depends_on = resource.get("DependsOn", [])
    for target in [depends_on] if isinstance(depends_on, str) else as_list(depends_on):
        if isinstance(target, str):
            found.append(Reference(target, "DependsOn", key="DependsOn"))
    return found


def referenced_ids(value: Any, *, with_sub: bool = False) -> set[str]:
    """Logical ids referenced anywhere in ``value`` by ``Ref`` or ``Fn::GetAtt`` (and, with
    ``with_sub``, by name in an ``Fn::Sub`` string)."""
    return {
        reference.logical_id
        for reference in references(value)
        if with_sub or reference.function != "Fn::Sub"
    }


def ref_target(value: Any) -> str | None:
    """The logical id ``value`` itself is a ``Ref`` or ``Fn::GetAtt`` of, else ``None``."""
    function = _function(raw(value))
    if function is None:
        return None
    name, argument = function
    if name == "ref":
        return argument if isinstance(argument, str) else None
    if name == "fn::getatt":
        target = getatt_target(argument)
        return target[0] if target else None
    return None


def resolve_ids(
    value: Any, physical_ids: Mapping[str, str], *, id_attributes: frozenset[str] = frozenset()
) -> Any:
    """``value`` with each ``Ref`` replaced by the physical id of what it names.

    ``Fn::GetAtt [X, A]`` with ``A`` in ``id_attributes`` (attributes equal to the physical
    id, such as a security group's ``GroupId``) becomes X's physical id as well; every other
    intrinsic function becomes ``None``. A logical id not in ``physical_ids`` gives ``None``.
    """
    if isinstance(value, Mapping):
        if "Ref" in value:
            return physical_ids.get(value["Ref"])
        if "Fn::GetAtt" in value:
            target = getatt_target(value["Fn::GetAtt"])
            if target is None or target[1] not in id_attributes:
                return None
            return physical_ids.get(target[0])
        if any(str(key).startswith("Fn::") for key in value):
            return None
        return {
            key: resolve_ids(item, physical_ids, id_attributes=id_attributes)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [resolve_ids(item, physical_ids, id_attributes=id_attributes) for item in value]
    return value


# --------------------------------------------------------------------------------------
# Values


def lower_keys(value: Any) -> Any:
    """``value`` with every mapping key lower-cased, recursively."""
    if isinstance(value, Mapping):
        return {str(key).lower(): lower_keys(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [lower_keys(item) for item in value]
    return value


def _lookup(mapping: Mapping, key: str) -> Any:
    """``mapping[key]``, the key matched case-insensitively; ``_MISSING`` when absent."""
    found = mapping.get(key, _MISSING)
    if found is _MISSING:
        lowered = key.lower()
        found = mapping.get(lowered, _MISSING)
        if found is _MISSING:
            for candidate, item in mapping.items():
                if str(candidate).lower() == lowered:
                    return item
    return found


def get(value: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path of (case-insensitive) keys through ``value``.

    Returns ``default`` when a key is missing, an :class:`Unresolved` when the path runs into
    an intrinsic function or a Step Functions dynamic key (``Key.$``, a value the state
    machine fills in at run time).
    """
    current = value
    for part in path.split("."):
        if is_intrinsic(current):
            return Unresolved(current)
        if not isinstance(current, Mapping):
            return default
        found = _lookup(current, part)
        if found is _MISSING:
            dynamic = _lookup(current, part + ".$")
            return default if dynamic is _MISSING else Unresolved(dynamic)
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


def integer(value: Any) -> int | None:
    """A literal whole :func:`number` (``2``, ``"2"``, ``2.0``) as an ``int``, else ``None``;
    a string counts only when it is digits."""
    if isinstance(value, str) and not value.strip().isdigit():
        return None  # "1e3", "-1", "2.0" are not integer literals
    found = number(value)
    return int(found) if found is not None and found.is_integer() else None


def truthy(value: Any) -> bool | None:
    """``True``/``False`` for literal booleans (or "true"/"false"), ``None`` when unknown."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_list(value: Any) -> list:
    """A list value as a list, a single value as a list of one; nothing when unknown."""
    if value is None or isinstance(value, Unresolved):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def literal_text(value: Any, token: str = "*") -> str:
    """The literal parts of a string that may be an ``Fn::Join`` (nested ones too); every
    other value, and every other part, becomes ``token``."""
    if isinstance(value, str):
        return value
    function = _function(raw(value))
    if function is not None and function[0] == "fn::join":
        argument = function[1]
        if isinstance(argument, list) and len(argument) == 2:
            separator = argument[0] if isinstance(argument[0], str) else ""
            return separator.join(literal_text(part, token) for part in as_list(argument[1]))
    return token


# --------------------------------------------------------------------------------------
# Text written as Fn::Join or Fn::Sub, and the JSON documents in it

#: What a deploy-time value stands for inside a parsed JSON document.
PLACEHOLDER = "<token>"


@dataclass(frozen=True)
class _Token:
    """A non-literal part of an ``Fn::Join`` (the part as written)."""

    part: Any = None


def _pieces(value: Any) -> list[str | _Token] | None:
    """The text as literal strings and tokens; ``None`` when it is not text."""
    value = raw(value)
    if isinstance(value, str):
        return [value]
    function = _function(value)
    if function is None:
        return None
    name, inner = function
    if name == "fn::sub":
        # Its ``${...}`` placeholders stay in the text (see _json_text).
        text = inner[0] if isinstance(inner, list) and inner else inner
        return [text] if isinstance(text, str) else None
    if name != "fn::join" or not isinstance(inner, list) or len(inner) != 2:
        return None
    separator = inner[0] if isinstance(inner[0], str) else ""
    pieces: list[str | _Token] = []
    for index, part in enumerate(as_list(inner[1])):
        if index and separator:
            pieces.append(separator)
        pieces.append(part if isinstance(part, str) else _Token(part))
    return pieces


def joined_text(value: Any, token: str = PLACEHOLDER) -> str | None:
    """A string, ``Fn::Join`` (tokens become ``token``) or ``Fn::Sub`` text, else ``None``."""
    pieces = _pieces(value)
    if pieces is None:
        return None
    return "".join(token if isinstance(piece, _Token) else piece for piece in pieces)


def _json_text(pieces: list[str | _Token], render: Callable[[Any], str] | None = None) -> str:
    """The pieces as one JSON text, tokens and ``${...}`` placeholders made parseable.

    A token inside a JSON string (``"arn:" + partition + ":states:::..."``) must stay part of
    that string, while one outside a string (a number from a CfnParameter) needs quotes of its
    own; so the text is scanned for string boundaries rather than guessed from the character
    before the token. ``${...}`` outside a string is a DefinitionSubstitutions placeholder
    standing for a whole value. ``render`` turns a token's part into the text that stands
    for it (default :data:`PLACEHOLDER`).
    """
    out: list[str] = []
    in_string = False
    escaped = False
    for piece in pieces:
        if isinstance(piece, _Token):
            text = render(piece.part) if render else PLACEHOLDER
            out.append(text if in_string else json.dumps(text))
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


def parse_json_text(value: Any, render: Callable[[Any], str] | None = None) -> Any:
    """The JSON document in ``value`` (a string, ``Fn::Join`` or ``Fn::Sub``), else ``None``.

    Tokens and ``${...}`` placeholders become the string :data:`PLACEHOLDER`: present, but
    unknown until deploy time; with ``render``, a token of an ``Fn::Join`` becomes
    ``render(part)`` instead (text without quotes or backslashes), so that a reader can
    keep what it refers to.
    """
    pieces = _pieces(value)
    if pieces is None:
        return None
    try:
        return json.loads(_json_text(pieces, render))
    except (ValueError, RecursionError):
        return None


# --------------------------------------------------------------------------------------
# Step Functions state machine definitions (Amazon States Language)


def field(mapping: Any, name: str) -> Any:
    """``mapping[name]`` with the key matched case-insensitively (names keep their case)."""
    if not isinstance(mapping, Mapping):
        return None
    lowered = name.lower()
    for key, value in mapping.items():
        if str(key).lower() == lowered:
            return value
    return None


def states(machine: Any) -> Iterator[tuple[str, Any]]:
    """Every (name, state) of a state machine, nested Parallel branches and Maps included."""
    found = field(machine, "States")
    if not isinstance(found, Mapping):
        return
    for name, state in found.items():
        yield str(name), state
        for branch in as_list(field(state, "Branches")):
            yield from states(branch)
        for inner in ("Iterator", "ItemProcessor"):
            yield from states(field(state, inner))


def task_request(state: Mapping[str, Any]) -> Any:
    """A Task state's API request: its ``Parameters`` (JSONPath) or ``Arguments`` (JSONata);
    a request given whole at run time (``"Parameters.$"``) is :class:`Unresolved`."""
    for name in ("Parameters", "Arguments"):
        request = field(state, name)
        if request is None:
            request = field(state, name + ".$")
            if request is not None:
                return Unresolved(request)
            continue
        return request
    return None


# --------------------------------------------------------------------------------------
# Walking values


def walk_mappings(value: Any) -> Iterator[dict]:
    """Every dict in ``value``, ``value`` itself first, depth first through dicts and lists."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from walk_mappings(child)
    elif isinstance(value, list):
        for child in value:
            yield from walk_mappings(child)


# --------------------------------------------------------------------------------------
# IAM roles


def trusted_services(role: Mapping[str, Any]) -> set[str]:
    """The service principals (``sagemaker.amazonaws.com``) a role's trust policy names in
    its statements' ``Principal.Service``; literal strings only."""
    document = properties_of(role).get("AssumeRolePolicyDocument")
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    services: set[str] = set()
    for statement in as_list(statements):
        principal = statement.get("Principal") if isinstance(statement, Mapping) else None
        service = principal.get("Service") if isinstance(principal, Mapping) else None
        services.update(item for item in as_list(service) if isinstance(item, str))
    return services
