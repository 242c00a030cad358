"""Runtime permission scenarios: who calls what at run time, and the page that says so.

A scenario is one thing that happens when a pattern runs ("the notebook reads training
data"): the principal that makes the calls (a role of the stack, or an AWS service acting
on a resource policy), the calls, and the AWS documentation page that says the service
makes them. Scenarios come from two places:

- derived from the template by :mod:`ml_refarch.permissions.derive` (a Lambda function's
  role writes its logs, a state machine's role calls what its tasks call, ...);
- written in a pattern unit's ``scenarios.toml`` for what no template says (a Studio user
  opens a space, a notebook reads the data bucket).

The file format (a list of ``[[scenario]]`` tables)::

    [[scenario]]
    name = "the notebook reads training data"
    principal = "NotebookRole"                # a role's logical id without CDK's suffix,
                                              # or "service:logs.us-east-1.amazonaws.com",
                                              # or a role ARN outside the template
    on_behalf_of = "the data scientist"       # optional: whose work it is
    doc = "https://docs.aws.amazon.com/..."   # the page that says the calls are made
    requires = ["ApiKey"]                     # optional: only when these resources exist

    [[scenario.call]]
    action = "s3:GetObject"
    resource = "${DataBucket.Arn}/train/part-0.csv"   # ${Name} / ${Name.Attribute}
    context = { "aws:SecureTransport" = true }        # optional request context
    absent = ["sagemaker:VolumeKmsKey"]               # optional keys the request lacks
    expect = "allow"                                  # or "deny"; default "allow"

``${Name}`` names a resource by its logical id, with or without the 8-character suffix
CDK adds; ``${AWS::Region}`` and the other pseudo parameters work too.

A construct that creates roles several patterns share keeps their scenarios in
``ml_refarch/constructs/scenarios/<name>.toml``; a unit's file takes them with a top-level
``include = ["<name>"]`` (an included file includes nothing itself).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ml_refarch.permissions.policy import ABSENT, ContextValue

Expect = Literal["allow", "deny"]

_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+")
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
#: Where the scenarios of shared constructs live, one ``<name>.toml`` each.
SHARED_DIR = Path(__file__).resolve().parents[1] / "constructs" / "scenarios"
_SCENARIO_KEYS = {"name", "principal", "on_behalf_of", "doc", "requires", "call"}
_CALL_KEYS = {"action", "resource", "context", "absent", "expect"}


class ScenarioError(Exception):
    """A scenario that cannot be read or does not fit the template; the message says where."""


@dataclass(frozen=True)
class Call:
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    expect: Expect = "allow"

    def request_context(self) -> dict[str, ContextValue]:
        return {**self.context, **{key: ABSENT for key in self.absent}}


@dataclass(frozen=True)
class Scenario:
    name: str
    principal: str
    calls: tuple[Call, ...]
    doc: str
    on_behalf_of: str = ""
    requires: tuple[str, ...] = ()
    #: Where it comes from: ``derived (AWS::Lambda::Function)`` or the file's path.
    source: str = ""

    @property
    def service(self) -> str:
        return self.principal.removeprefix("service:") if self.is_service else ""

    @property
    def is_service(self) -> bool:
        return self.principal.startswith("service:")


# --- reading a file ---------------------------------------------------------------------


def load(path: Path, *, shared_dir: Path = SHARED_DIR) -> list[Scenario]:
    """The scenarios of a ``scenarios.toml`` file, and of the shared files it includes.

    Raises:
        ScenarioError: the file is missing, is not TOML, a scenario is malformed, or it
            includes a shared file that does not exist.
    """
    scenarios = []
    document = _read(path)
    for name in _strings(document, "include", str(path)):
        shared = shared_dir / f"{name}.toml"
        if not shared.is_file():
            known = ", ".join(sorted(p.stem for p in shared_dir.glob("*.toml")))
            raise ScenarioError(
                f"{path}: includes {name!r}, which is no shared scenario file (known: {known})"
            )
        included = _read(shared)
        if "include" in included:
            raise ScenarioError(f"{shared}: a shared scenario file includes nothing")
        scenarios += parse(included, str(shared))
    if document.get("scenario") or not scenarios:
        scenarios += parse({k: v for k, v in document.items() if k != "include"}, str(path))
    return scenarios


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None


def parse(document: Mapping[str, Any], source: str) -> list[Scenario]:
    """The scenarios of a parsed file; ``source`` names it in errors."""
    unknown = set(document) - {"scenario"}
    if unknown:
        raise ScenarioError(f"{source}: unknown top-level keys {sorted(unknown)}")
    tables = document.get("scenario", [])
    if not isinstance(tables, list) or not tables:
        raise ScenarioError(f"{source}: no [[scenario]] tables")
    return [
        _scenario(table, f"{source}: scenario {index + 1}", source)
        for index, table in enumerate(tables)
    ]


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = table.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ScenarioError(f"{where}: '{key}' must be a non-empty string")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ScenarioError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def _scenario(table: Any, where: str, source: str) -> Scenario:
    if not isinstance(table, Mapping):
        raise ScenarioError(f"{where}: must be a table")
    unknown = set(table) - _SCENARIO_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    name = _text(table, "name", where)
    where = f"{where} ({name!r})"
    doc = _text(table, "doc", where)
    if not doc.startswith("https://"):
        raise ScenarioError(f"{where}: 'doc' must be the https:// address of the page")
    calls = table.get("call")
    if not isinstance(calls, list) or not calls:
        raise ScenarioError(f"{where}: needs at least one [[scenario.call]]")
    return Scenario(
        name=name,
        principal=_text(table, "principal", where),
        calls=tuple(_call(call, f"{where} call {i + 1}") for i, call in enumerate(calls)),
        doc=doc,
        on_behalf_of=_text(table, "on_behalf_of", where, required=False),
        requires=_strings(table, "requires", where),
        source=source,
    )


def _call(table: Any, where: str) -> Call:
    if not isinstance(table, Mapping):
        raise ScenarioError(f"{where}: must be a table")
    unknown = set(table) - _CALL_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    action = _text(table, "action", where)
    check_action(action, where)
    context = table.get("context", {})
    if not isinstance(context, Mapping) or not all(
        isinstance(v, str | bool | int | float) or _string_list(v) for v in context.values()
    ):
        raise ScenarioError(
            f"{where}: 'context' maps keys to strings, numbers, booleans or lists of strings"
        )
    expect = table.get("expect", "allow")
    if expect not in ("allow", "deny"):
        raise ScenarioError(f"{where}: 'expect' is 'allow' or 'deny', not {expect!r}")
    return Call(
        action,
        _text(table, "resource", where),
        dict(context),
        _strings(table, "absent", where),
        expect,
    )


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def check_action(action: str, where: str) -> None:
    """Raise :class:`ScenarioError` unless ``action`` reads ``service:Action``."""
    if not _ACTION.fullmatch(action):
        raise ScenarioError(
            f"{where}: malformed action {action!r} (expected service:Action, such as s3:GetObject)"
        )


# --- fitting a scenario to a template ---------------------------------------------------


def find_logical_id(resources: Mapping[str, Any], name: str) -> str | None:
    """The logical id ``name`` stands for: itself, or itself with CDK's 8-character suffix;
    ``None`` when there is none."""
    if name in resources:
        return name
    pattern = re.compile(re.escape(name) + r"[0-9A-F]{8}")
    matches = [logical_id for logical_id in resources if pattern.fullmatch(logical_id)]
    return matches[0] if len(matches) == 1 else None


def resolve_text(
    text: str, values: Mapping[str, str], resources: Mapping[str, Any], where: str
) -> str:
    """``text`` with each ``${Name}`` / ``${Name.Attribute}`` replaced by its value."""

    def replace(match: re.Match[str]) -> str:
        reference = match.group(1)
        if reference in values:  # pseudo parameters and full logical ids
            return values[reference]
        name, _, attribute = reference.partition(".")
        logical_id = find_logical_id(resources, name)
        if logical_id is None:
            raise ScenarioError(f"{where}: no resource {name!r} in the template")
        key = f"{logical_id}.{attribute}" if attribute else logical_id
        if key not in values:
            raise ScenarioError(f"{where}: {name} has no value for {attribute or 'Ref'}")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)


def resolve_principal(scenario: Scenario, resources: Mapping[str, Any]) -> str:
    """The scenario's principal as the policy model names it: a role's logical id,
    ``service:NAME``, or a role's ARN (``${...}`` placeholders left for the caller)."""
    if scenario.is_service:
        if not re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com", scenario.service):
            raise ScenarioError(
                f"{scenario.source}: {scenario.name!r}: malformed service principal "
                f"{scenario.service!r} (expected NAME.amazonaws.com)"
            )
        return scenario.principal
    if scenario.principal.startswith("arn:"):
        if not re.fullmatch(r"arn:aws:iam::[^:]*:role/\S+", scenario.principal):
            raise ScenarioError(
                f"{scenario.source}: {scenario.name!r}: malformed role ARN "
                f"{scenario.principal!r} (expected arn:aws:iam::ACCOUNT:role/NAME)"
            )
        return scenario.principal
    logical_id = find_logical_id(resources, scenario.principal)
    if logical_id is None or resources[logical_id].get("Type") != "AWS::IAM::Role":
        roles = sorted(i for i, r in resources.items() if r.get("Type") == "AWS::IAM::Role")
        raise ScenarioError(
            f"{scenario.source}: {scenario.name!r}: unknown principal {scenario.principal!r}: "
            f"no role of that name in the template (its roles: {', '.join(roles)})"
        )
    return logical_id


def applies(scenario: Scenario, resources: Mapping[str, Any]) -> bool:
    """Whether every resource the scenario requires is in the template."""
    return all(find_logical_id(resources, name) is not None for name in scenario.requires)
