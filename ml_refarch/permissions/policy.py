"""A small evaluator of IAM policy statements: what one policy decides for one request.

It answers one question for a synthesized policy: given an action, a resource and a request
context, is the request explicitly denied, allowed, or implicitly denied? It follows the IAM
policy evaluation logic for one policy ("Policy evaluation logic", IAM User Guide): an
explicit Deny wins, then an Allow, else the request is implicitly denied. Combining the
identity policies, boundaries and resource policies of one principal is
:mod:`ml_refarch.permissions.model`'s job.

Statements of resource-based policies (with ``Principal``) are evaluated for a
:class:`Principal`: a statement applies when its ``Principal`` names that principal
directly (its role ARN, or its service), or, with ``through_account=True``, when it names
the principal's account (the root ARN or the bare account id), which in the same account
delegates the decision to the principal's identity policies.

With ``strict=True`` a condition on a key the request context does not give is not decided
as a missing key: :class:`UnresolvedCondition` is raised naming the key, so that a caller
reports it instead of passing (or failing) silently. A key the caller knows to be absent is
given in the context as :data:`ABSENT`.

Supported:

* ``Action`` / ``NotAction`` with ``*`` and ``?`` wildcards, case-insensitive;
* ``Resource`` / ``NotResource`` with ``*`` and ``?`` wildcards, case-sensitive; ARNs are
  matched one colon-separated segment at a time, the last segment taking the rest (as
  ``ArnLike`` does);
* condition operators ``StringEquals``, ``StringNotEquals``, ``StringEqualsIgnoreCase``,
  ``StringNotEqualsIgnoreCase``, ``StringLike``, ``StringNotLike``, ``ArnEquals``,
  ``ArnLike``, ``ArnNotEquals``, ``ArnNotLike``, ``Bool``, ``Null``, ``NumericEquals``,
  ``NumericNotEquals``, ``NumericLessThan``, ``NumericLessThanEquals``,
  ``NumericGreaterThan``, ``NumericGreaterThanEquals``; the ``IfExists`` suffix (not on
  ``Null``) and the ``ForAnyValue:`` / ``ForAllValues:`` prefixes.

Anything else (date, IP and binary operators, policy variables, ``NotPrincipal``) raises
``ValueError`` rather than deciding something IAM might decide differently.

Condition semantics, as IAM has them:

* all operators of a ``Condition`` and all keys of one operator must hold (AND); the values
  listed for one key are alternatives (OR);
* keys are case-insensitive, values case-sensitive (except the ``IgnoreCase`` operators and
  ``Bool``);
* a negated operator (``StringNotEquals``, ``StringNotLike``, ``ArnNotLike``, ...) holds when
  the context value matches none of the listed values, and also when the key is missing;
  a positive one is false when the key is missing, unless it ends in ``IfExists``;
* ``ForAnyValue`` holds when at least one context value satisfies the operator, and is
  false for a missing key or an empty list; ``ForAllValues`` holds when every context value
  does, and is true for a missing key or an empty list;
* a context value that is a list is a multivalued key: it needs ``ForAnyValue`` or
  ``ForAllValues``, except for ``Null``; an empty list counts as a missing key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from ml_refarch.permissions.values import PSEUDO_PARAMETERS

Decision = Literal["Allow", "Deny", "ImplicitDeny"]
ContextValue = str | list[str] | bool | int | float
Context = Mapping[str, ContextValue]

#: A context value that says "this key is absent from the request" under ``strict=True``.
ABSENT: list[str] = []


class UnresolvedCondition(Exception):
    """A condition needs a key the request context does not give (``strict=True``)."""

    def __init__(self, key: str, operator: str) -> None:
        super().__init__(f"{operator} on {key}, which the request context does not give")
        self.key = key
        self.operator = operator


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a role (its ARN) or an AWS service (its principal name)."""

    account: str
    arn: str = ""
    service: str = ""

    @property
    def account_forms(self) -> tuple[str, str]:
        return (self.account, f"arn:aws:iam::{self.account}:root")


# --- substituting CloudFormation references ------------------------------------------------


def substitute(document: Any, values: Mapping[str, str]) -> Any:
    """``document`` with every CloudFormation reference replaced by a concrete string.

    ``{"Ref": id}`` becomes ``values[id]``; ``{"Fn::GetAtt": [id, attribute]}`` becomes
    ``values["id.attribute"]`` if given, else ``values[id]``; ``Fn::Join``, ``Fn::Select``,
    ``Fn::Split`` and ``Fn::Sub`` (with ``${id}`` and ``${id.attribute}``) are evaluated.
    Pseudo parameters (``AWS::Partition``, ...) default to :data:`PSEUDO_PARAMETERS`.

    Raises:
        KeyError: for a reference with no value, so no reference is silently left in.
        ValueError: for an intrinsic function it does not evaluate.
    """
    known = {**PSEUDO_PARAMETERS, **values}
    return _substitute(document, known)


def _substitute(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_substitute(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((name, argument),) = node.items()
        if name == "Ref" or name.startswith("Fn::"):
            return _intrinsic(name, argument, values)
    return {key: _substitute(value, values) for key, value in node.items()}


def _lookup(values: Mapping[str, str], logical_id: str, attribute: str | None = None) -> str:
    if attribute is not None and f"{logical_id}.{attribute}" in values:
        return values[f"{logical_id}.{attribute}"]
    if logical_id in values:
        return values[logical_id]
    wanted = logical_id if attribute is None else f"{logical_id}.{attribute}"
    raise KeyError(f"no value for {wanted}; pass it to substitute()")


def _intrinsic(name: str, argument: Any, values: Mapping[str, str]) -> Any:
    if name == "Ref":
        return _lookup(values, argument)
    if name == "Fn::GetAtt":
        logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        return _lookup(values, logical_id, attribute)
    if name == "Fn::Join":
        separator, parts = argument
        return separator.join(_as_string(_substitute(part, values)) for part in parts)
    if name == "Fn::Select":
        index, items = _substitute(argument, values)
        return items[int(index)]
    if name == "Fn::Split":
        separator, source = _substitute(argument, values)
        return source.split(separator)
    if name == "Fn::Sub":
        template, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {**values, **{k: _as_string(_substitute(v, values)) for k, v in variables.items()}}

        def replace(match: re.Match[str]) -> str:
            reference = match.group(1)
            if reference.startswith("!"):  # ${!Literal} is written out as ${Literal}
                return "${" + reference[1:] + "}"
            logical_id, _, attribute = reference.partition(".")
            return _lookup(local, logical_id, attribute or None)

        return re.sub(r"\$\{([^}]+)\}", replace, template)
    raise ValueError(f"substitute() does not evaluate {name}")


def _as_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string after substitution, got {value!r}")
    return value


# --- evaluating -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """A decision and the statements behind it, for readable assertion messages."""

    decision: Decision
    denied_by: tuple[str, ...]
    allowed_by: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.decision} (denied by {self.denied_by}, allowed by {self.allowed_by})"


def evaluate(
    statements: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    action: str,
    resource: str,
    context: Context | None = None,
) -> Decision:
    """``"Deny"``, ``"Allow"`` or ``"ImplicitDeny"`` for one request.

    ``statements`` is a list of statements, one statement, or a policy document (a mapping
    with ``Statement``), with CloudFormation references already substituted. ``context``
    maps condition keys to values: a string, a bool (``Bool`` keys), a number (``Numeric``
    keys) or a list of strings (multivalued keys); a key that is absent is missing from the
    request. Default: an empty context, every key missing.
    """
    return explain(statements, action, resource, context).decision


def explain(
    statements: Iterable[Mapping[str, Any]] | Mapping[str, Any],
    action: str,
    resource: str,
    context: Context | None = None,
    *,
    principal: Principal | None = None,
    through_account: bool = False,
    strict: bool = False,
) -> Explanation:
    """Like :func:`evaluate`, with the ``Sid`` (or index) of each statement that applied.

    ``principal``: evaluate resource-policy statements for that principal (see the module's
    docstring); without it, a statement with ``Principal`` is an error. ``strict``: raise
    :class:`UnresolvedCondition` for a condition key the context does not give.
    """
    request_context = _normalise_context(context or {})
    if strict:
        request_context[_STRICT] = True
    denied, allowed = [], []
    for index, statement in enumerate(_statements(statements)):
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise ValueError(f"statement {index} has no valid Effect: {effect!r}")
        if not _principal_matches(statement, principal, through_account):
            continue
        if _applies(statement, action, resource, request_context):
            (denied if effect == "Deny" else allowed).append(str(statement.get("Sid", index)))
    if denied:
        decision: Decision = "Deny"
    elif allowed:
        decision = "Allow"
    else:
        decision = "ImplicitDeny"
    return Explanation(decision, tuple(denied), tuple(allowed))


def _statements(
    statements: Iterable[Mapping[str, Any]] | Mapping[str, Any],
) -> list[Mapping[str, Any]]:
    if isinstance(statements, Mapping):
        inner = statements.get("Statement", statements)
        return [inner] if isinstance(inner, Mapping) else list(inner)
    return list(statements)


def _normalise_context(context: Context) -> dict[str, ContextValue]:
    normalised: dict[str, ContextValue] = {}
    for key, value in context.items():
        if value is ABSENT:
            normalised[key.lower()] = ABSENT
            continue
        if key.lower() in normalised:
            raise ValueError(f"context key {key!r} is given twice (keys are case-insensitive)")
        normalised[key.lower()] = value
    return normalised


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


#: A context entry no condition key can name: set when unresolved keys must be raised.
_STRICT = "\x00strict"


def _principal_matches(
    statement: Mapping[str, Any], principal: Principal | None, through_account: bool
) -> bool:
    if "NotPrincipal" in statement:
        raise ValueError("NotPrincipal is not supported")
    if "Principal" not in statement:
        if principal is not None:
            raise ValueError("a resource-policy statement without Principal")
        return True
    if principal is None:
        raise ValueError("a statement with Principal needs a principal to evaluate for")
    element = statement["Principal"]
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        raise ValueError(f"malformed Principal {element!r}")
    for kind, raw in element.items():
        for value in _as_list(raw):
            if not isinstance(value, str):
                raise ValueError(f"unsubstituted Principal {value!r}; call substitute() first")
            if kind == "Service" and principal.service and value == principal.service:
                return True
            if kind != "AWS" or principal.service:
                continue
            if value == "*" or (value == principal.arn and not through_account):
                return True
            if through_account and value in principal.account_forms:
                return True
    return False


def _applies(
    statement: Mapping[str, Any], action: str, resource: str, context: dict[str, ContextValue]
) -> bool:
    # Conditions are looked at only after the action and resource match, as IAM does, so a
    # condition on another action's keys cannot affect this request.
    return (
        _element_matches(statement, "Action", action, _action_matches)
        and _element_matches(statement, "Resource", resource, _resource_matches)
        and all(
            _operator_holds(operator, block, context)
            for operator, block in statement.get("Condition", {}).items()
        )
    )


def _element_matches(
    statement: Mapping[str, Any],
    element: str,
    value: str,
    matches: Callable[[str, str], bool],
) -> bool:
    positive, negated = element in statement, f"Not{element}" in statement
    if positive == negated:
        raise ValueError(f"a statement needs exactly one of {element} and Not{element}")
    patterns = _as_list(statement[element] if positive else statement[f"Not{element}"])
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ValueError(f"unsubstituted {element} {pattern!r}; call substitute() first")
        _refuse_policy_variables(pattern)
    matched = any(matches(pattern, value) for pattern in patterns)
    return matched if positive else not matched


def _refuse_policy_variables(value: str) -> None:
    if "${" in value:
        raise ValueError(f"policy variables are not supported: {value!r}")


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` is any run of characters, ``?`` any one character; nothing else is special."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _action_matches(pattern: str, action: str) -> bool:
    return _like(pattern, action, ignore_case=True)


def _arn_like(pattern: str, arn: str) -> bool:
    # Each of the six colon-separated parts is matched on its own, so a wildcard in the
    # region cannot swallow the account; the resource part is everything after the fifth
    # colon and may itself contain colons.
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(_like(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("arn:"):
        return _arn_like(pattern, resource)
    return _like(pattern, resource)


# --- conditions -----------------------------------------------------------------------------


def _bool_equals(expected: str, actual: ContextValue) -> bool:
    return str(actual).lower() == expected.lower()


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, ContextValue], bool]:
    def match(expected: str, actual: ContextValue) -> bool:
        try:
            expected_number = float(expected)
        except ValueError:
            raise ValueError(f"numeric condition value {expected!r} is not a number") from None
        try:
            actual_number = float(actual)
        except (TypeError, ValueError):
            return False  # a non-numeric request value matches no number
        return compare(actual_number, expected_number)

    return match


def _string(match: Callable[[str, str], bool]) -> Callable[[str, ContextValue], bool]:
    def typed(expected: str, actual: ContextValue) -> bool:
        return isinstance(actual, str) and match(expected, actual)

    return typed


#: Positive operators: (expected policy value, one context value) -> matches.
_POSITIVE: dict[str, Callable[[str, ContextValue], bool]] = {
    "StringEquals": _string(lambda expected, actual: actual == expected),
    "StringEqualsIgnoreCase": _string(lambda expected, actual: actual.lower() == expected.lower()),
    "StringLike": _string(lambda expected, actual: _like(expected, actual)),
    "ArnEquals": _string(_arn_like),  # ArnEquals also takes wildcards in IAM
    "ArnLike": _string(_arn_like),
    "Bool": _bool_equals,
    "NumericEquals": _numeric(lambda actual, expected: actual == expected),
    "NumericLessThan": _numeric(lambda actual, expected: actual < expected),
    "NumericLessThanEquals": _numeric(lambda actual, expected: actual <= expected),
    "NumericGreaterThan": _numeric(lambda actual, expected: actual > expected),
    "NumericGreaterThanEquals": _numeric(lambda actual, expected: actual >= expected),
}

#: Negated operators and the positive operator they negate.
_NEGATED: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


@dataclass(frozen=True)
class _Operator:
    base: str
    set_operator: Literal["ForAnyValue", "ForAllValues"] | None
    if_exists: bool

    @property
    def negated(self) -> bool:
        return self.base in _NEGATED

    def one_value_matches(self, expected: list[str], actual: ContextValue) -> bool:
        """The single-value test: any expected value matches, or for a negated one, none."""
        positive = _POSITIVE[_NEGATED.get(self.base, self.base)]
        matched = any(positive(value, actual) for value in expected)
        return not matched if self.negated else matched


def _parse_operator(text: str) -> _Operator:
    set_operator: Literal["ForAnyValue", "ForAllValues"] | None = None
    base = text
    if text.startswith("ForAnyValue:"):
        set_operator, base = "ForAnyValue", text.removeprefix("ForAnyValue:")
    elif text.startswith("ForAllValues:"):
        set_operator, base = "ForAllValues", text.removeprefix("ForAllValues:")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base == "Null":
        if if_exists or set_operator:
            raise ValueError(f"{text}: Null takes neither IfExists nor a set operator")
    elif base not in _POSITIVE and base not in _NEGATED:
        raise ValueError(f"unknown or unsupported condition operator {text!r}")
    return _Operator(base, set_operator, if_exists)


def _policy_values(raw: Any) -> list[str]:
    values = []
    for value in _as_list(raw):
        if isinstance(value, bool):
            values.append("true" if value else "false")
        elif isinstance(value, int | float | str):
            values.append(str(value))
        else:
            raise ValueError(f"unsubstituted condition value {value!r}; call substitute() first")
        _refuse_policy_variables(values[-1])
    return values


def _missing(value: ContextValue | None) -> bool:
    return value is None or (isinstance(value, list) and not value)


def _operator_holds(text: str, block: Mapping[str, Any], context: dict[str, ContextValue]) -> bool:
    operator = _parse_operator(text)
    for key, raw in block.items():
        actual = context.get(key.lower())
        if actual is None and context.get(_STRICT):
            raise UnresolvedCondition(key, text)
        if not _key_holds(operator, key, _policy_values(raw), actual):
            return False
    return True


def _key_holds(
    operator: _Operator, key: str, expected: list[str], actual: ContextValue | None
) -> bool:
    if operator.base == "Null":
        # Null "true" asks "is the key missing?", Null "false" asks "is it present?".
        return any(_missing(actual) == (value.lower() == "true") for value in expected)
    if _missing(actual):
        if operator.if_exists:
            return True
        if operator.set_operator == "ForAllValues":
            return True  # every one of no values matches
        if operator.set_operator == "ForAnyValue":
            return False  # there is no value to match
        # A missing key matches no value: a positive test fails, a negated one holds.
        return operator.negated
    if operator.set_operator is None:
        if isinstance(actual, list):
            raise ValueError(
                f"{key} is multivalued in the context; use ForAnyValue: or ForAllValues:"
            )
        return operator.one_value_matches(expected, actual)
    members = _as_list(actual)
    tests = (operator.one_value_matches(expected, member) for member in members)
    return any(tests) if operator.set_operator == "ForAnyValue" else all(tests)
