"""The app's configuration, read from CDK context: profiles, app-wide keys, each pattern's settings.

This module is the only reader of CDK context. Stacks and constructs receive frozen,
validated dataclasses and never look at raw context values.

Context keys
------------
- ``profile``: ``sandbox`` (default) or ``production``; see :class:`Profile`.
- ``account`` / ``region``: pin every stack to one environment (both optional; stacks are
  environment-agnostic without them, so ``cdk synth`` works offline).
- ``target``: ``aws`` (default) or ``local`` (the deploy rehearsal).
- ``sandbox_ttl_hours`` / ``sandbox_ttl_from``: when sandbox stacks delete themselves; see
  :attr:`Profile.expires_at`.
- ``<pattern-id>.<setting>``: per-pattern settings, each defined in its pattern's unit.
- ``delivery.<setting>``: the delivery pipeline (:mod:`ml_refarch.delivery.settings`), built
  only when ``delivery.connection_arn`` is given.

Where each pattern's settings live (the unit convention)
--------------------------------------------------------
A pattern's package holds a ``settings`` module (``ml_refarch/stacks/<pattern>/settings.py``)
that exports ``SETTINGS``, a :class:`ml_refarch.settings.SettingsSpec`:

- ``cls``: the frozen settings dataclass its stack receives (units in names, a docstring
  entry per field);
- ``fields``: one :class:`ml_refarch.settings.Field` (parser, default, example, one-line
  description) per dataclass field, keyed by the field name; the context key is
  ``<pattern-id>.<name>``;
- ``check``: its cross-field validation, ``check(settings, prefix) -> list[Problem]``;
- ``notes``: Markdown shown under the pattern's table in ``docs/configuration.md``.

This module finds the units through :func:`ml_refarch.catalog.discover` and
``pattern.module("settings")``; it names no pattern. The framework the units build on (the
field type, parsers, :class:`Problem`) is :mod:`ml_refarch.settings`; the settings every
real-time endpoint shares are :mod:`ml_refarch.endpoint_settings`.

Defaults live once, in code
---------------------------
Every default is in a unit's (or this module's) fields. ``cdk.json`` carries only CDK's own
app settings (the app command, watch, feature flags) and whatever a user chooses to
override; it does not repeat defaults, so nothing has to keep copies in step, and an
override in it stands out. :func:`configuration_markdown` renders every key, default and
allowed value as ``docs/configuration.md``.

A field may default differently under one profile (``Field.profile_defaults``): the
``sandbox`` profile takes cheaper endpoint instances, for example. The profile is read
first, then every absent key takes its default under that profile; a value the user gives
always wins, in either profile.

Validation
----------
Values given with ``-c key=value`` arrive as strings and are coerced. Keys that CDK itself
owns (feature flags starting with ``@``, keys containing ``:`` such as cached look-ups) are
ignored; any other unknown key is an error with a "did you mean" hint; an explicit ``null``
is an error (remove the key to get the default). A pattern's own check runs whenever all of
that pattern's fields parsed, so a contradiction between two values is reported in the same
run as a bad value elsewhere. Every problem is collected into one :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import Any

from ml_refarch.catalog import Pattern, discover
from ml_refarch.delivery import settings as delivery_settings
from ml_refarch.settings import (
    ConfigError,
    Field,
    Invalid,
    Problem,
    SettingsSpec,
    account,
    choice,
    integer,
    region,
    utc_minute,
)

__all__ = [
    "LOCAL_ACCOUNT",
    "LOCAL_REGION",
    "PROFILES",
    "TARGETS",
    "AppConfig",
    "ConfigError",
    "Problem",
    "Profile",
    "all_fields",
    "config_from_scope",
    "configuration_markdown",
    "defaults",
    "given_settings",
    "read_config",
    "settings_specs",
    "stage_config",
]

# --------------------------------------------------------------------------------------
# Profiles


@dataclass(frozen=True)
class Profile:
    """Environment-wide choices that differ between a throwaway sandbox and production.

    Attributes:
        name: ``sandbox`` or ``production``.
        retain_data: keep buckets, keys and log groups when the stack is deleted
            (``RemovalPolicy.RETAIN``); when false they are destroyed and buckets are emptied
            first, so ``cdk destroy`` leaves nothing behind.
        versioned_buckets: turn on S3 object versioning for data buckets.
        access_logs: write S3 server access logs to a dedicated log bucket.
        termination_protection: enable CloudFormation termination protection.
        log_retention_days: retention of every CloudWatch log group the stacks create.
        max_azs: Availability Zones a VPC spreads over (where the stack is pinned to a
            region; CDK caps environment-agnostic stacks at two).
        interface_endpoint_azs: Availability Zones each interface endpoint (PrivateLink)
            has a network interface in; ``None`` for every zone of the VPC. Each zone bills
            by the hour (AWS PrivateLink pricing, https://aws.amazon.com/privatelink/pricing/),
            and the VPC's local route lets subnets of every zone reach the one interface
            ("Configure route tables", local route,
            https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html), so a
            sandbox trades the endpoints' zone redundancy for half their cost.
        web_acl: put a WAF web ACL in front of public APIs.
        persistent_file_systems: file systems that keep data and take the stack's key
            (FSx for Lustre ``PERSISTENT_2``) instead of scratch ones.
        target: where the templates go: ``aws`` (default) or ``local``, the deploy rehearsal
            on a local AWS stand-in (moto), which cannot run CDK's Lambda-backed custom
            resources; see :attr:`custom_resources`.
        stack_expiry: stacks delete themselves after ``sandbox_ttl_hours`` (sandbox only).
        expires_at: when this configuration's stacks delete themselves (UTC, to the
            minute): ``sandbox_ttl_from`` (default: the time of the synth) plus
            ``sandbox_ttl_hours``; ``None`` when the profile has no expiry or the TTL is 0.
            Set by :func:`read_config`, never in :data:`PROFILES`.
    """

    name: str
    retain_data: bool
    versioned_buckets: bool
    access_logs: bool
    termination_protection: bool
    log_retention_days: int
    max_azs: int
    interface_endpoint_azs: int | None
    web_acl: bool
    persistent_file_systems: bool
    target: str = "aws"
    stack_expiry: bool = False
    expires_at: datetime | None = None

    @property
    def custom_resources(self) -> bool:
        """Whether stacks may use CDK's Lambda-backed custom resources (auto-deleting bucket
        objects, emptying a default security group, copying files into a bucket).

        False only for the ``local`` target: the stand-in would need a container engine to
        run their handlers. Constructs that add one must skip it (and say what the user
        loses) when this is false.
        """
        return self.target != "local"


PROFILES: dict[str, Profile] = {
    "sandbox": Profile(
        name="sandbox",
        retain_data=False,
        versioned_buckets=False,
        access_logs=False,
        termination_protection=False,
        log_retention_days=7,
        max_azs=2,
        interface_endpoint_azs=1,
        web_acl=False,
        persistent_file_systems=False,
        stack_expiry=True,
    ),
    "production": Profile(
        name="production",
        retain_data=True,
        versioned_buckets=True,
        access_logs=True,
        termination_protection=True,
        log_retention_days=365,
        max_azs=3,
        interface_endpoint_azs=None,
        web_acl=True,
        persistent_file_systems=True,
    ),
}

#: Where templates are deployed: a real AWS account, or the local deploy rehearsal.
TARGETS = ("aws", "local")
#: The account and region of the ``local`` target's stand-in (moto's defaults).
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"

#: The longest ``sandbox_ttl_hours``: one year. EventBridge Scheduler's one-time schedules
#: take any ``at(yyyy-mm-ddThh:mm:ss)`` time ("Schedule types in EventBridge Scheduler":
#: https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html) and invoke
#: within the minute, so whole hours from 1 are all exact; the upper bound is this project's:
#: a sandbox meant to outlive a year should turn expiry off (0).
MAX_SANDBOX_TTL_HOURS = 8760

# --------------------------------------------------------------------------------------
# The schema: app-wide keys, then each discovered pattern's


#: App-wide keys. ``account`` and ``region`` have no default: unset, stacks are
#: environment-agnostic.
APP_FIELDS: dict[str, Field] = {
    "profile": Field(choice(*PROFILES), "sandbox", "sandbox", "See the profiles below"),
    "account": Field(account, None, "123456789012", "Pins every stack to this account"),
    "region": Field(region, None, "us-east-1", "Pins every stack to this region"),
    "target": Field(
        choice(*TARGETS),
        "aws",
        "local",
        "`local` shapes the templates for the deploy rehearsal on a local AWS stand-in (no "
        "Lambda-backed custom resources, named Availability Zones, no bootstrap-version "
        'rule; see the README\'s "Deploy rehearsal" and `make deploy-local`); never deploy '
        "it to AWS",
    ),
    "sandbox_ttl_hours": Field(
        integer(0, MAX_SANDBOX_TTL_HOURS, "0 turns expiry off; at most one year"),
        24,
        "72",
        "Sandbox stacks delete themselves this many hours after `sandbox_ttl_from`: a "
        "one-time EventBridge Scheduler schedule calls CloudFormation `DeleteStack` (output "
        "`ExpiresAt`). Redeploy to restart the clock; production stacks never expire",
    ),
    "sandbox_ttl_from": Field(
        utc_minute,
        None,
        "2026-01-01T09:00",
        "The UTC time the sandbox TTL counts from; unset, the time of the synth (so each "
        "`cdk deploy` extends it). Pin it for templates that do not change with the clock",
    ),
}


@cache
def settings_specs() -> tuple[tuple[Pattern, SettingsSpec], ...]:
    """Each discovered pattern with a ``settings`` module, and its ``SETTINGS``, in order.

    Raises:
        TypeError: a ``settings`` module without a ``SETTINGS`` spec.
    """
    found = []
    for pattern in discover():
        if not pattern.has_module("settings"):
            continue
        module = pattern.module("settings")
        spec = getattr(module, "SETTINGS", None)
        if not isinstance(spec, SettingsSpec):
            raise TypeError(f"{module.__name__} defines no SETTINGS (a settings.SettingsSpec)")
        found.append((pattern, spec))
    return tuple(found)


def _prefix(pattern: Pattern) -> str:
    return pattern.id + "."


#: The prefix of the delivery pipeline's keys.
DELIVERY_PREFIX = "delivery."


@cache
def delivery_spec() -> SettingsSpec:
    """The ``delivery.*`` settings, checked against the catalog's pattern ids."""
    return delivery_settings.spec(tuple(pattern.id for pattern in discover()))


@cache
def all_fields() -> Mapping[str, Field]:
    """Every key ml-refarch reads, with its field: app-wide keys, then each pattern's.

    Raises:
        TypeError: a field with a default for a profile that does not exist.
    """
    fields = dict(APP_FIELDS)
    for pattern, spec in settings_specs():
        fields.update({_prefix(pattern) + name: f for name, f in spec.fields.items()})
    fields.update({DELIVERY_PREFIX + name: f for name, f in delivery_spec().fields.items()})
    for key, found in fields.items():
        unknown = sorted(set(found.profile_defaults) - set(PROFILES))
        if unknown:
            raise TypeError(
                f"{key}: default for unknown profile {unknown}; profiles: {list(PROFILES)}"
            )
    return MappingProxyType(fields)


def defaults(profile: str | None = None) -> dict[str, Any]:
    """The default of every key that has one (under ``profile``, when given)."""
    found = {key: f.default_for(profile) for key, f in all_fields().items()}
    return {key: value for key, value in found.items() if value is not None}


# --------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class AppConfig:
    """Everything the app needs, validated.

    Attributes:
        settings: each pattern's settings object, by pattern id; see :meth:`settings_for`.
        delivery: the delivery pipeline's settings; ``None`` when no connection is given
            (the app then has no pipeline).
    """

    profile: Profile
    account: str | None
    region: str | None
    settings: Mapping[str, Any]
    delivery: delivery_settings.DeliverySettings | None = None

    def settings_for(self, pattern: Pattern | str) -> Any:
        """The settings of a pattern (or pattern id); ``None`` for a unit without settings."""
        return self.settings.get(pattern if isinstance(pattern, str) else pattern.id)


def _is_cdk_owned(key: str) -> bool:
    # Feature flags ("@aws-cdk/..."), CLI-managed keys ("aws:cdk:...") and cached look-ups
    # ("availability-zones:account=...") all contain one of these characters.
    return key.startswith("@") or ":" in key


def _unknown_key_problems(context: Mapping[str, Any], fields: Mapping[str, Field]) -> list[Problem]:
    problems = []
    for key in sorted(k for k in context if not _is_cdk_owned(k) and k not in fields):
        close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "no such setting"
        problems.append(
            Problem(
                key=key,
                received=context[key],
                allowed="one of the documented settings (see docs/configuration.md)",
                fix=f"unknown key, {hint} Remove it or correct its name",
            )
        )
    return problems


def _parse(
    key: str, spec: Field, context: Mapping[str, Any], profile: str | None = None
) -> tuple[Any, Problem | None]:
    """One key's value (its default under ``profile`` when absent), or the problem with it."""
    default = spec.default_for(profile)
    if key not in context:
        return (spec.parse(default) if default is not None else None), None
    raw = context[key]
    if raw is None:
        left = "at its default" if default is not None else "unset"
        return None, Problem(
            key=key,
            received=None,
            allowed=f"{spec.allowed} (null is not a value)",
            fix=f"remove the key to leave it {left}, or give a value, e.g. -c {key}={spec.example}",
        )
    try:
        return spec.parse(raw), None
    except Invalid as invalid:
        allowed = f"{invalid.allowed}; {invalid.detail}" if invalid.detail else invalid.allowed
        return None, Problem(
            key=key,
            received=raw,
            allowed=allowed,
            fix=f"pass a valid value, e.g. -c {key}={spec.example}, or edit cdk.json",
        )


def _parse_all(
    fields: Mapping[str, Field],
    context: Mapping[str, Any],
    prefix: str = "",
    profile: str | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """The parsed values by field name, and the problems; keys are ``prefix + name``;
    absent keys take their default under ``profile``."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, spec in fields.items():
        value, problem = _parse(prefix + name, spec, context, profile)
        if problem is None:
            values[name] = value
        else:
            problems.append(problem)
    return values, problems


def read_config(context: Mapping[str, Any]) -> AppConfig:
    """Validate raw context and return the typed configuration.

    Raises:
        ConfigError: listing every problem found, never only the first.
    """
    problems = _unknown_key_problems(context, all_fields())
    app, app_problems = _parse_all(APP_FIELDS, context)
    problems += app_problems
    settings: dict[str, Any] = {}
    for pattern, spec in settings_specs():
        prefix = _prefix(pattern)
        values, own_problems = _parse_all(spec.fields, context, prefix, app.get("profile"))
        problems += own_problems
        if not own_problems:
            settings[pattern.id] = spec.cls(**values)
            problems += spec.check(settings[pattern.id], prefix)
    delivery, delivery_problems = _delivery(context)
    problems += delivery_problems
    if problems:
        raise ConfigError(problems)
    return AppConfig(
        profile=_profile(app),
        account=app["account"],
        region=app["region"],
        settings=MappingProxyType(settings),
        delivery=delivery,
    )


def _delivery(
    context: Mapping[str, Any],
) -> tuple[delivery_settings.DeliverySettings | None, list[Problem]]:
    """The pipeline's settings (``None`` without a connection), and the problems."""
    spec = delivery_spec()
    values, problems = _parse_all(spec.fields, context, DELIVERY_PREFIX)
    if problems:
        return None, problems
    found = spec.cls(**values)
    if found.enabled:
        return found, spec.check(found, DELIVERY_PREFIX)
    given = {k: context[k] for k in (DELIVERY_PREFIX + n for n in spec.fields) if k in context}
    return None, delivery_settings.without_connection(given, DELIVERY_PREFIX)


def _profile(app: Mapping[str, Any]) -> Profile:
    """The chosen profile for the chosen target, with its stacks' expiry time."""
    profile = dataclasses.replace(PROFILES[app["profile"]], target=app["target"])
    if not profile.stack_expiry or not app["sandbox_ttl_hours"]:
        return profile
    start = app["sandbox_ttl_from"] or datetime.now(UTC).replace(second=0, microsecond=0)
    return dataclasses.replace(
        profile, expires_at=start + timedelta(hours=app["sandbox_ttl_hours"])
    )


def config_from_scope(scope: Any) -> AppConfig:
    """Read and validate the configuration from a CDK app's context."""
    return read_config(scope.node.get_all_context())


def given_settings(scope: Any) -> dict[str, Any]:
    """The ml-refarch settings a CDK app's context holds (from ``cdk.json`` or ``-c``), by
    key: what a pipeline's own ``cdk synth`` must be given to build the same app."""
    fields = all_fields()
    return {key: value for key, value in scope.node.get_all_context().items() if key in fields}


def stage_config(scope: Any, profile: str) -> AppConfig:
    """The configuration a delivery stage deploys: the app's context under ``profile``,
    without ``account`` and ``region`` (the stage's environment pins its stacks)."""
    context = dict(scope.node.get_all_context(), profile=profile)
    return read_config({k: v for k, v in context.items() if k not in ("account", "region")})


# --------------------------------------------------------------------------------------
# docs/configuration.md

_DOC_INTRO = """\
# Configuration

<!-- Generated by ml_refarch.config.configuration_markdown(); do not edit by hand. -->

Every setting is a CDK context value. Defaults live in the code (each pattern's
`ml_refarch/stacks/<pattern>/settings.py`); `cdk.json` holds CDK's own settings and any
override you choose to keep there. Override a setting on the command line:

```bash
npx cdk synth -c profile=production -c {key}={example}
```

or in `cdk.json`'s `context`: `"{key}": "{example}"`.

Where a default differs between the profiles (cheaper endpoint instances in `sandbox`), the
table gives each profile's; a value you set wins in every profile.

Values from `-c` arrive as strings and are converted. Unknown keys are errors with a
"did you mean" hint; keys owned by CDK itself (feature flags starting with `@`, and keys with
a `:` such as cached look-ups) are left alone. `null` is not a value: to get a default, leave
the key out. All problems are reported together, each with the key, the value received, what
is allowed and how to fix it; a contradiction between two values of a pattern (a minimum
above a maximum) is reported in the same run as a bad value elsewhere. Nothing is built until
the whole configuration is valid.
"""

_APP_OUTRO = """\
Without `account` and `region` the stacks are environment-agnostic and `cdk synth` needs no
credentials; `cdk deploy` then uses the account and region of your credentials.
"""

_PROFILE_ROWS = (
    ("Buckets, keys, log groups on `cdk destroy`", "retain_data"),
    ("Bucket versioning", "versioned_buckets"),
    ("S3 server access logs", "access_logs"),
    ("Log retention", "log_retention_days"),
    ("Availability Zones of each interface endpoint", "interface_endpoint_azs"),
    ("Termination protection", "termination_protection"),
    ("Stack deletes itself", "stack_expiry"),
)

_PROFILE_WORDS = {
    ("retain_data", False): "deleted (buckets emptied first)",
    ("retain_data", True): "retained",
    ("access_logs", True): "on, to a companion log bucket",
    ("interface_endpoint_azs", None): "every zone of the VPC",
    ("stack_expiry", True): "after `sandbox_ttl_hours` (24 by default)",
    ("stack_expiry", False): "never",
}

_PROFILE_OUTRO = """\
KMS keys, TLS-only bucket policies, blocked public access and encrypted log groups are the
same in both.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _shown_value(value: Any) -> str:
    if value is None:
        return "unset"
    return f"`{json.dumps(value) if isinstance(value, bool) else value}`"


def _shown_default(spec: Field) -> str:
    """The default, or, where a profile has its own, each profile's."""
    if not spec.profile_defaults:
        return _shown_value(spec.default)
    return ", ".join(f"{_shown_value(spec.default_for(name))} in `{name}`" for name in PROFILES)


def _fields_table(fields: Mapping[str, Field], prefix: str = "") -> list[str]:
    rows = ["| Key | Default | Allowed | Meaning |", "| --- | --- | --- | --- |"]
    for name, spec in fields.items():
        rows.append(
            f"| `{prefix}{name}` | {_cell(_shown_default(spec))} | "
            f"{_cell(spec.allowed)} | {_cell(spec.description)} |"
        )
    return rows


def _profile_value(attribute: str, value: Any) -> str:
    if (attribute, value) in _PROFILE_WORDS:
        return _PROFILE_WORDS[(attribute, value)]
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value} days" if attribute.endswith("_days") else str(value)


def _profiles_table() -> list[str]:
    names = list(PROFILES)
    rows = [
        "| | " + " | ".join(f"`{name}`" for name in names) + " |",
        "| --- |" + " --- |" * len(names),
    ]
    for label, attribute in _PROFILE_ROWS:
        cells = [_profile_value(attribute, getattr(PROFILES[n], attribute)) for n in names]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def configuration_markdown() -> str:
    """``docs/configuration.md``: the profiles and every key, grouped per pattern in
    catalog order, from the fields in code (a test keeps the committed file equal)."""
    key, field = next((k, f) for k, f in all_fields().items() if k not in APP_FIELDS)
    parts = [
        _DOC_INTRO.format(key=key, example=field.example),
        "## App-wide\n",
        "\n".join(_fields_table(APP_FIELDS)) + "\n",
    ]
    parts += [_APP_OUTRO, "### Profiles\n", "\n".join(_profiles_table()) + "\n", _PROFILE_OUTRO]
    for pattern, spec in settings_specs():
        parts.append(f"## `{pattern.id}`\n")
        page = posixpath.relpath(pattern.docs_page, "docs")
        parts.append(f"{pattern.title}: see [the pattern page]({page}).\n")
        parts.append("\n".join(_fields_table(spec.fields, _prefix(pattern))) + "\n")
        if spec.notes:
            parts.append(spec.notes.strip() + "\n")
    parts.append("## `delivery`\n")
    parts.append("The delivery pipeline: see [the delivery page](delivery.md).\n")
    parts.append("\n".join(_fields_table(delivery_spec().fields, DELIVERY_PREFIX)) + "\n")
    parts.append(delivery_spec().notes.strip() + "\n")
    return "\n".join(parts)
