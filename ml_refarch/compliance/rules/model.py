"""The rule model: resources as plain data, rule metadata, and the registry.

Property names are matched case-insensitively. Resolved CDK properties mix casings
(``kmsKeyId`` from L1 props, ``KmsKeyId`` inside tokens that L2s render), templates use
CloudFormation's, and API requests inside state machines use the API's; lower-casing every
key makes ``resource.get("ResourceConfig.VolumeKmsKeyId")`` work on all of them.
Values that CloudFormation only knows at deploy time (``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
a Step Functions ``Key.$`` path, ...) are *unresolved*: a rule may test that they are present,
never what they are. Reading values (:func:`~ml_refarch.cfn.get`,
:class:`~ml_refarch.cfn.Unresolved`, :func:`~ml_refarch.cfn.literal_text`, ...) is
:mod:`ml_refarch.cfn`'s job; this module adds what only rules need.

Among unresolved values, a reference to a resource of the same stack still says what it
names; a value that depends on the template's *inputs* (a parameter, another stack's export,
a condition, a mapping) does not. :func:`depends_on_inputs` tells them apart, and the registry
guards every rule with it: a rule's single ``NON_COMPLIANT`` verdict becomes
``NOT_APPLICABLE`` when any value the check read through :meth:`Resource.get` (of the resource
or of its neighbours) depends on inputs. Rules that report one finding per place judge each
place themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ml_refarch.cfn import (
    Unresolved,
    get,
    getatt_target,
    is_intrinsic,
    lower_keys,
    number,
    present,
    raw,
    referenced_ids,
    resources,
    sub_names,
)

COMPLIANT = "compliant"
NON_COMPLIANT = "non-compliant"
NOT_APPLICABLE = "not-applicable"

#: What a rule returns: one verdict, or the ids of its findings (empty list = compliant).
Verdict = str | list[str]


def judge(value: Any, passes: Callable[[Any], bool]) -> str:
    """Not applicable when ``value`` is known only at deploy time; else compliant when
    ``passes(value)``."""
    if isinstance(value, Unresolved):
        return NOT_APPLICABLE
    return COMPLIANT if passes(value) else NON_COMPLIANT


def judge_present(value: Any) -> str:
    """Compliant when ``value`` is set (a literal or a deploy-time value), else not."""
    return COMPLIANT if present(value) else NON_COMPLIANT


def judge_number(
    value: Any,
    *,
    minimum: float = float("-inf"),
    maximum: float = float("inf"),
    when_absent: str = COMPLIANT,
) -> str:
    """``when_absent`` for a property that is not set, not applicable for one that is no
    literal number, else compliant when it lies in ``[minimum, maximum]``."""
    if value is None:
        return when_absent
    found = number(value)
    if found is None:
        return NOT_APPLICABLE
    return COMPLIANT if minimum <= found <= maximum else NON_COMPLIANT


#: Pseudo parameters name the account and region deployed to, not a deployer's choice.
PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)

#: Functions that only combine their arguments: they depend on inputs when an argument does.
_COMBINING_FUNCTIONS = ("fn::join", "fn::select", "fn::split", "fn::base64", "fn::getazs")


def depends_on_inputs(value: Any, stack: Mapping[str, Any]) -> bool:
    """Whether ``value`` depends on what the deployer passes in, not only on ``stack``'s
    resources (the logical ids in ``stack``) and the account and region.

    True for a ``Ref`` to a template parameter, an ``Fn::GetAtt`` of something outside the
    stack, ``Fn::ImportValue``, ``Fn::If``, ``Fn::FindInMap`` and every other function, and
    for ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::Sub`` ... over such a value.
    """
    value = raw(value)
    if isinstance(value, (list, tuple)):
        return any(depends_on_inputs(item, stack) for item in value)
    if not isinstance(value, Mapping):
        return False
    if not is_intrinsic(value):
        return any(depends_on_inputs(item, stack) for item in value.values())
    ((key, argument),) = value.items()
    name = str(key).lower()
    if name == "ref":
        return not (argument in stack or argument in PSEUDO_PARAMETERS)
    if name == "fn::getatt":
        target = getatt_target(argument)
        return target is None or target[0] not in stack
    if name == "fn::sub":
        return _sub_depends_on_inputs(argument, stack)
    if name in _COMBINING_FUNCTIONS:
        return depends_on_inputs(argument, stack)
    return True


def _sub_depends_on_inputs(argument: Any, stack: Mapping[str, Any]) -> bool:
    text, variables = argument, {}
    if isinstance(argument, (list, tuple)) and argument:
        text = argument[0]
        variables = argument[1] if len(argument) > 1 and isinstance(argument[1], Mapping) else {}
    if not isinstance(text, str):
        return True
    # Pseudo parameters (``${AWS::Region}``) are not names sub_names reports.
    names = {name for name, _ in sub_names(text)}
    if any(name not in stack and name not in variables for name in names):
        return True
    return depends_on_inputs(list(variables.values()), stack)


#: While a rule runs: every (value, stack) its check read through :meth:`Resource.get`.
_READS: ContextVar[list[tuple[Any, Mapping[str, Any]]] | None] = ContextVar("_READS", default=None)


@dataclass(frozen=True)
class Resource:
    """One resource of a stack, with every other resource of that stack in reach."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    path: str = ""
    stack: Mapping[str, Resource] = field(default_factory=dict, repr=False, compare=False)

    def get(self, path: str, default: Any = None) -> Any:
        value = get(self.properties, path, default)
        reads = _READS.get()
        if reads is not None:
            reads.append((value, self.stack))
        return value

    def depends_on_inputs(self, value: Any) -> bool:
        """:func:`depends_on_inputs` against this resource's stack."""
        return depends_on_inputs(value, self.stack)

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
        written = raw(value)
        ids = referenced_ids(written) if is_intrinsic(written) else set()
        if len(ids) == 1:
            return self.stack.get(next(iter(ids)))
        return None


def resources_from_template(template: Mapping[str, Any]) -> dict[str, Resource]:
    """Every resource of a CloudFormation template, each able to see the others."""
    stack: dict[str, Resource] = {}
    for logical_id, body in resources(template).items():
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
        """The check's verdict, except that a single failure resting on a value that
        depends on the template's inputs is not applicable (see the module docstring)."""
        if resource.type not in self.resource_types:
            return NOT_APPLICABLE
        reads: list[tuple[Any, Mapping[str, Any]]] = []
        token = _READS.set(reads)
        try:
            verdict = self.check(resource)
        finally:
            _READS.reset(token)
        if verdict == NON_COMPLIANT and any(
            isinstance(value, Unresolved) and depends_on_inputs(value, stack)
            for value, stack in reads
        ):
            return NOT_APPLICABLE
        return verdict


PACK_PREFIX = "MLS"
RULES: list[Rule] = []


def _guarded(
    check: Callable[[Resource], Verdict], applies: Callable[[Resource], bool]
) -> Callable[[Resource], Verdict]:
    @functools.wraps(check)
    def guarded(resource: Resource) -> Verdict:
        return check(resource) if applies(resource) else NOT_APPLICABLE

    return guarded


def rule(
    suffix: str,
    *,
    types: tuple[str, ...] | str,
    info: str,
    explanation: str,
    notes: str,
    level: str = "error",
    applies: Callable[[Resource], bool] | None = None,
) -> Callable[[Callable[[Resource], Verdict]], Callable[[Resource], Verdict]]:
    """Register the decorated function as rule ``MLS-<suffix>``.

    With ``applies``, a resource for which it is false is not applicable and the function
    is not called for it (the registered check and the returned function both guard).
    :meth:`Rule.evaluate` adds the deploy-time guard (see the module docstring), so a check
    needs no code of its own for a single verdict on a value it read through
    :meth:`Resource.get`.
    """
    if level not in ("error", "warning"):
        raise ValueError(f"level must be 'error' or 'warning', not {level!r}")

    def register(check: Callable[[Resource], Verdict]) -> Callable[[Resource], Verdict]:
        if applies is not None:
            check = _guarded(check, applies)
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
