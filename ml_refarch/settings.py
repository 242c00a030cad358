"""The settings framework: problems, the field type, the value parsers and the unit spec.

A pattern's ``settings`` module (``ml_refarch/stacks/<pattern>/settings.py``) builds its
settings from these pieces; :mod:`ml_refarch.config` reads CDK context and hands each
pattern's keys to its :class:`SettingsSpec`. This module reads no context itself.

A parser takes a raw context value (a string from ``-c key=value``, or any JSON value from
``cdk.json``) and returns the typed value, or raises :class:`Invalid` saying what is
allowed. Each parser carries that sentence as its ``allowed`` attribute, which the
generated ``docs/configuration.md`` shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ml_refarch.aws_facts import (
    ACCOUNT_ID,
    INSTANCE_TYPE,
    MODEL_MONITOR_SCHEDULE_FORMS,
    REGION_NAME,
    monitoring_runs_per_day,
)
from ml_refarch.lifecycle import check_requirement

# --------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Problem:
    """One invalid setting: what was received, what is allowed, and how to fix it."""

    key: str
    received: Any
    allowed: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: received {self.received!r}; allowed: {self.allowed}; fix: {self.fix}"


class ProblemsError(ValueError):
    """Raised once with every problem found in something the user gave: the message says
    what was invalid (:attr:`subject`) and lists each problem on a line of its own."""

    #: What the problems are problems of ("ml-refarch configuration").
    subject = "input"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"invalid {self.subject} ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class ConfigError(ProblemsError):
    """Raised once with every configuration problem found."""

    subject = "ml-refarch configuration"


class Invalid(Exception):
    """Raised by a parser; the reader turns it into a :class:`Problem`.

    Attributes:
        allowed: what the setting accepts.
        detail: which part of the value is wrong, when the value has parts (a column of a
            column list); empty otherwise.
    """

    def __init__(self, allowed: str, detail: str = ""):
        super().__init__(allowed)
        self.allowed = allowed
        self.detail = detail


Parser = Callable[[Any], Any]


def parser(allowed: str) -> Callable[[Parser], Parser]:
    """Mark a parse function with the sentence that says what it accepts (for the docs)."""

    def mark(parse: Parser) -> Parser:
        parse.allowed = allowed  # type: ignore[attr-defined]
        return parse

    return mark


# --------------------------------------------------------------------------------------
# Fields and the unit's spec


@dataclass(frozen=True)
class Field:
    """One setting of a pattern (or of the app).

    Attributes:
        parse: turns the raw value into the typed one, or raises :class:`Invalid`.
        default: the value when the key is not given; ``None`` only for optional app-wide
            settings that stay unset.
        example: a valid value to quote in a problem's fix (``-c key=example``).
        description: one line for ``docs/configuration.md``.
        profile_defaults: the default under a profile that differs from ``default``, by
            profile name (``{"sandbox": "ml.c5.large"}``): a cheaper choice for a throwaway
            account. A value the user gives always wins over either default. Default: none,
            ``default`` holds in every profile.
    """

    parse: Parser
    default: Any
    example: str
    description: str
    profile_defaults: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def allowed(self) -> str:
        """What the parser accepts, in words."""
        return getattr(self.parse, "allowed", "")

    def default_for(self, profile: str | None) -> Any:
        """The default under ``profile`` (``default`` when the profile names no other)."""
        return self.profile_defaults.get(profile, self.default) if profile else self.default


#: A unit's own cross-field validation: ``check(settings, prefix)`` returns the problems
#: among values that each parsed on their own; ``prefix`` is ``"<pattern-id>."``, to build
#: the keys the problems name.
Check = Callable[[Any, str], list[Problem]]


def no_check(settings: Any, prefix: str) -> list[Problem]:
    """For units whose values cannot contradict each other."""
    return []


@dataclass(frozen=True)
class SettingsSpec:
    """What a pattern's ``settings`` module exports as ``SETTINGS``.

    Attributes:
        cls: the frozen settings dataclass the stack receives.
        fields: one :class:`Field` per dataclass field, by field name (the context key is
            ``<pattern-id>.<name>``), in the order the docs list them.
        check: cross-field validation, run whenever every field of the unit parsed.
        notes: Markdown the configuration page shows under the pattern's table.
    """

    cls: type
    fields: Mapping[str, Field]
    check: Check = no_check
    notes: str = ""

    def __post_init__(self) -> None:
        names = tuple(f.name for f in self.cls.__dataclass_fields__.values() if f.init)
        if set(names) != set(self.fields):
            missing = sorted(set(names) - set(self.fields))
            extra = sorted(set(self.fields) - set(names))
            raise TypeError(
                f"{self.cls.__name__}: fields and dataclass differ "
                f"(no field for {missing}, no dataclass field for {extra})"
            )


# --------------------------------------------------------------------------------------
# Parsers


def choice(*options: str) -> Parser:
    """One of ``options``, case-insensitive."""
    allowed = " or ".join(repr(option) for option in options)

    @parser(allowed)
    def parse(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in options:
            return value.strip().lower()
        raise Invalid(allowed)

    return parse


def integer(low: int, high: int, why: str = "") -> Parser:
    """A whole number from ``low`` to ``high``; ``why`` says where the bounds come from."""
    allowed = f"a whole number from {low} to {high}" + (f" ({why})" if why else "")

    @parser(allowed)
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise Invalid(allowed)
        if isinstance(value, int):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,12}\s*", value)
        ):
            number = int(value)
        else:
            raise Invalid(allowed)
        if not low <= number <= high:
            raise Invalid(allowed)
        return number

    return parse


def integer_in(options: tuple[int, ...], allowed: str) -> Parser:
    """A whole number that is one of ``options`` (``allowed`` says which, and why)."""
    within = integer(min(options), max(options))

    @parser(allowed)
    def parse(value: Any) -> int:
        try:
            number = within(value)
        except Invalid:
            raise Invalid(allowed) from None
        if number not in options:
            raise Invalid(allowed)
        return number

    return parse


def number(low_exclusive: float, high: float, why: str = "") -> Parser:
    """A finite number above ``low_exclusive`` and at most ``high``."""
    allowed = f"a number above {low_exclusive:g} and at most {high:g}" + (
        f" ({why})" if why else ""
    )

    @parser(allowed)
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise Invalid(allowed)
        if isinstance(value, (int, float)):
            result = float(value)
        elif isinstance(value, str):
            try:
                result = float(value.strip())
            except ValueError:
                raise Invalid(allowed) from None
        else:
            raise Invalid(allowed)
        if not math.isfinite(result) or not low_exclusive < result <= high:
            raise Invalid(allowed)
        return result

    return parse


@parser("true or false")
def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise Invalid(boolean.allowed)  # type: ignore[attr-defined]


def matching(pattern: re.Pattern[str], allowed: str, *, numbers: bool = False) -> Parser:
    """A string ``pattern`` matches in full, surrounding white space dropped; with
    ``numbers``, a whole number is read as its digits (a JSON context value)."""

    @parser(allowed)
    def parse(value: Any) -> str:
        if numbers and isinstance(value, int):
            value = str(value)
        text = value.strip() if isinstance(value, str) else ""
        if not pattern.fullmatch(text):
            raise Invalid(allowed)
        return text

    return parse


account = matching(ACCOUNT_ID, "a 12-digit AWS account id", numbers=True)
region = matching(REGION_NAME, "an AWS region name such as 'us-east-1'")
instance_type = matching(INSTANCE_TYPE, "a SageMaker instance type such as 'ml.t3.medium'")


_UTC_MINUTE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})Z?")


@parser("a UTC time to the minute, YYYY-MM-DDTHH:MM (a trailing Z is allowed)")
def utc_minute(value: Any) -> datetime:
    """A time in UTC such as ``2026-01-01T09:30``: timezone-aware, seconds zero."""
    match = _UTC_MINUTE.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        if match is None:
            raise ValueError(value)
        return datetime(*map(int, match.groups()), tzinfo=UTC)
    except ValueError:
        raise Invalid(utc_minute.allowed) from None  # type: ignore[attr-defined]


@parser(
    "comma-separated requirement specifiers (or a JSON list of them), e.g. 'scikit-learn,xgboost'"
)
def packages(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    found = tuple(str(item).strip() for item in items if str(item).strip())
    if not found:
        raise Invalid("at least one requirement specifier, e.g. 'scikit-learn,xgboost'")
    for package in found:
        try:
            check_requirement(package)
        except ValueError as error:
            raise Invalid(f"requirement specifiers only ({error})") from None
    return found


#: The schedule setting's value that turns a schedule off.
NO_SCHEDULE = "none"

_RATE = re.compile(r"rate\((\d{1,6}) (minute|minutes|hour|hours|day|days)\)")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*?,/#-]+")


@parser(
    "'none', 'rate(N unit)' with N >= 1 and the unit singular for 1 (minute, hour, day) and "
    "plural otherwise, or 'cron(min hour day-of-month month day-of-week year)' with '?' "
    "in exactly one of day-of-month and day-of-week (EventBridge schedule expressions)"
)
def eventbridge_schedule(value: Any) -> str:
    """An EventBridge schedule expression (``rate(1 day)``, ``cron(0 3 * * ? *)``) or none."""
    allowed = eventbridge_schedule.allowed  # type: ignore[attr-defined]
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if text.lower() == NO_SCHEDULE:
        return NO_SCHEDULE
    rate = _RATE.fullmatch(text)
    if rate is not None:
        amount, unit = int(rate.group(1)), rate.group(2)
        if amount >= 1 and unit.endswith("s") == (amount != 1):
            return text
        raise Invalid(allowed)
    if text.startswith("cron(") and text.endswith(")"):
        fields = text[5:-1].split(" ")
        if (
            len(fields) == 6
            and all(_CRON_FIELD.fullmatch(f) for f in fields)
            and (fields[2] == "?") != (fields[4] == "?")
        ):
            return text
    raise Invalid(allowed)


@parser(f"a Model Monitor cron expression: {MODEL_MONITOR_SCHEDULE_FORMS}")
def model_monitor_schedule(value: Any) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    try:
        monitoring_runs_per_day(text)
    except ValueError:
        raise Invalid(model_monitor_schedule.allowed) from None  # type: ignore[attr-defined]
    return text
