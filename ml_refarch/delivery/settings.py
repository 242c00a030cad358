"""Settings of the delivery pipeline: the ``delivery.*`` context keys.

:mod:`ml_refarch.config` reads them (it is the only context reader) with the fields below;
the pipeline is built only when ``delivery.connection_arn`` is given, and then the
repository and at least one sandbox target are required too.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from ml_refarch.aws_facts import ACCOUNT_ID, REGION_NAME
from ml_refarch.settings import Field, Invalid, Problem, SettingsSpec, matching, parser

#: A CodeConnections connection ARN. The service was renamed from CodeStar Connections, and
#: both service prefixes name the same connections: "Rename of CodeStar Connections to
#: CodeConnections" in the Developer Tools console guide,
#: https://docs.aws.amazon.com/dtconsole/latest/userguide/welcome-connections.html
#: (format ``arn:aws:codestar-connections:region:account:connection/connection-id``,
#: https://docs.aws.amazon.com/codeconnections/latest/APIReference/API_Connection.html).
CONNECTION_ARN = re.compile(
    r"arn:aws(-cn|-us-gov)?:(codeconnections|codestar-connections):"
    rf"(?P<region>{REGION_NAME.pattern}):(?P<account>{ACCOUNT_ID.pattern}):"
    r"connection/[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
)
#: ``owner/repo`` (GitLab groups add levels: ``group/subgroup/repo``).
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+")
#: A branch name: Git's ref rules, simplified (no leading ``-`` or ``/``, no ``..``).
BRANCH = re.compile(r"(?!.*\.\.)(?![-/])[A-Za-z0-9._/-]{1,200}(?<![/.])")
#: The policy ``cdk bootstrap --cloudformation-execution-policies`` gives CloudFormation in
#: each target account, by default: the patterns create IAM roles, VPCs, KMS keys and
#: SageMaker resources, so anything narrower must list all of their services.
DEFAULT_EXECUTION_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
_POLICY_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::(aws|[0-9]{12}):policy/[\w+=,.@/-]{1,512}")
#: Every pattern of the catalog.
ALL = "all"


@dataclass(frozen=True, order=True)
class Target:
    """One account and region a stage deploys to."""

    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


@parser(
    "one or more ACCOUNT/REGION pairs separated by commas (or a JSON list of them), each a "
    "12-digit account id and a region name, e.g. '111122223333/us-east-1', no pair twice"
)
def targets(value: Any) -> tuple[Target, ...]:
    allowed = targets.allowed  # type: ignore[attr-defined]
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    found: list[Target] = []
    for item in items:
        account, _, region = str(item).strip().partition("/")
        if not (ACCOUNT_ID.fullmatch(account) and REGION_NAME.fullmatch(region)):
            raise Invalid(allowed, f"{str(item).strip()!r} is not ACCOUNT/REGION")
        if Target(account, region) in found:
            raise Invalid(allowed, f"{account}/{region} is given twice")
        found.append(Target(account, region))
    if not found:
        raise Invalid(allowed)
    return tuple(found)


@parser("'all', or pattern ids separated by commas (python -m ml_refarch list)")
def pattern_ids(value: Any) -> tuple[str, ...]:
    """Pattern ids as given; :func:`check` compares them with the catalog."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    found = tuple(dict.fromkeys(str(item).strip().lower() for item in items if str(item).strip()))
    if not found:
        raise Invalid(pattern_ids.allowed)  # type: ignore[attr-defined]
    return () if found == (ALL,) else found


@dataclass(frozen=True)
class Wave:
    """One wave of the pipeline: a stage per target, all with one profile.

    Attributes:
        name: ``Sandbox`` or ``Production`` (the wave's name in the pipeline).
        profile: the profile its stacks are built with.
        targets: one stage each.
        patterns: the pattern ids each stage deploys; empty for all.
        approval: a person approves before the wave starts.
    """

    name: str
    profile: str
    targets: tuple[Target, ...]
    patterns: tuple[str, ...]
    approval: bool

    def stage_id(self, target: Target) -> str:
        """``Sandbox-111122223333-us-east-1``: the stage's id, and the start of the names
        of its CloudFormation stacks."""
        return f"{self.name}-{target.account}-{target.region}"


@dataclass(frozen=True)
class DeliverySettings:
    """The delivery pipeline's settings.

    Attributes:
        connection_arn: the CodeConnections connection to the repository host; the pipeline
            lives in its account and region (:attr:`pipeline`).
        repository: ``owner/repo`` at the host.
        branch: the branch whose pushes start the pipeline.
        sandbox: the accounts and regions of the sandbox wave (one stage each).
        production: those of the production wave, after a manual approval; empty for none.
        sandbox_patterns: pattern ids the sandbox stages deploy; empty for all.
        production_patterns: pattern ids the production stages deploy; empty for all.
        execution_policy: the managed policy ``cdk bootstrap`` gives CloudFormation in each
            target account (``--cloudformation-execution-policies``).
    """

    connection_arn: str | None
    repository: str | None
    branch: str
    sandbox: tuple[Target, ...]
    production: tuple[Target, ...]
    sandbox_patterns: tuple[str, ...]
    production_patterns: tuple[str, ...]
    execution_policy: str

    @property
    def enabled(self) -> bool:
        """Whether the app builds the pipeline (a connection is given)."""
        return self.connection_arn is not None

    @property
    def waves(self) -> tuple[Wave, ...]:
        """The sandbox wave, then (when production targets are given) the production wave
        behind a manual approval."""
        found = [Wave("Sandbox", "sandbox", self.sandbox, self.sandbox_patterns, False)]
        if self.production:
            found.append(
                Wave("Production", "production", self.production, self.production_patterns, True)
            )
        return tuple(found)

    @property
    def pipeline(self) -> Target:
        """The pipeline's account and region: the connection's."""
        found = CONNECTION_ARN.fullmatch(self.connection_arn or "")
        if found is None:
            raise ValueError("no valid delivery.connection_arn")
        return Target(found.group("account"), found.group("region"))


FIELDS = {
    "connection_arn": Field(
        matching(
            CONNECTION_ARN,
            "a CodeConnections connection ARN, arn:aws:codeconnections:REGION:ACCOUNT:"
            "connection/UUID (or the older codestar-connections prefix)",
        ),
        None,
        "arn:aws:codeconnections:us-east-1:111122223333:connection/"
        "0123abcd-0123-4567-89ab-0123456789ab",
        "Builds the `MlRefArch-Delivery` pipeline (docs/delivery.md) in this connection's "
        "account and region; unset, the app has no pipeline",
    ),
    "repository": Field(
        matching(REPOSITORY, "owner/repo as the repository host names it"),
        None,
        "owner/repo",
        "The repository the pipeline builds (required with a connection)",
    ),
    "branch": Field(
        matching(BRANCH, "a Git branch name"), "main", "release", "The branch that starts it"
    ),
    "sandbox": Field(
        targets,
        None,
        "111122223333/us-east-1",
        "The sandbox wave: one stage per account and region, `sandbox` profile (required "
        "with a connection)",
    ),
    "production": Field(
        targets,
        None,
        "444455556666/eu-west-1",
        "The production wave after a manual approval: one stage per account and region, "
        "`production` profile; unset, no production wave",
    ),
    # Their examples name real patterns once the catalog is known (:func:`spec`).
    "sandbox_patterns": Field(pattern_ids, ALL, ALL, "Pattern ids the sandbox wave deploys"),
    "production_patterns": Field(pattern_ids, ALL, ALL, "Pattern ids the production wave deploys"),
    "execution_policy": Field(
        matching(_POLICY_ARN, "an IAM managed policy ARN"),
        DEFAULT_EXECUTION_POLICY,
        "arn:aws:iam::111122223333:policy/MlRefArchDeploy",
        "The policy `delivery bootstrap-commands` gives CloudFormation in each target account",
    ),
}

#: The keys needed once a connection is given.
_REQUIRED = ("repository", "sandbox")


def check_with(pattern_ids_known: tuple[str, ...]):
    """The cross-field check, given the catalog's pattern ids (config passes them)."""

    def check(settings: DeliverySettings, prefix: str) -> list[Problem]:
        problems = []
        if settings.enabled:
            for name in _REQUIRED:
                if getattr(settings, name) in (None, ()):
                    problems.append(
                        Problem(
                            key=prefix + name,
                            received=None,
                            allowed=FIELDS[name].allowed,
                            fix=f"the pipeline needs it: -c {prefix}{name}={FIELDS[name].example}",
                        )
                    )
        for name in ("sandbox_patterns", "production_patterns"):
            unknown = [p for p in getattr(settings, name) if p not in pattern_ids_known]
            if unknown:
                problems.append(
                    Problem(
                        key=prefix + name,
                        received=",".join(getattr(settings, name)),
                        allowed=f"'all' or ids of: {', '.join(pattern_ids_known)}",
                        fix=f"no pattern {', '.join(map(repr, unknown))}; see python -m "
                        "ml_refarch list",
                    )
                )
        return problems

    return check


def without_connection(given: dict[str, Any], prefix: str) -> list[Problem]:
    """The delivery keys ``given`` (by full key) away from their defaults while no connection
    is: each an error, never silently ignored."""
    return [
        Problem(
            key=key,
            received=value,
            allowed="a delivery setting, with delivery.connection_arn",
            fix="give -c delivery.connection_arn=... too, or remove the key",
        )
        for key, value in given.items()
        if value != FIELDS[key.removeprefix(prefix)].default
    ]


NOTES = """\
The pipeline exists only when `delivery.connection_arn` is set; then `delivery.repository` and
`delivery.sandbox` are required, and any other `delivery.*` key given without a connection is
an error. Keep the settings in `cdk.json` (or pass the same `-c` values): the pipeline's synth
step runs `cdk synth` with them, and `python -m ml_refarch delivery bootstrap-commands` prints
what each account needs from them. See [the delivery page](delivery.md).
"""


def spec(pattern_ids_known: tuple[str, ...]) -> SettingsSpec:
    """The ``delivery.*`` settings, validated against the catalog's pattern ids (the
    patterns settings quote the last two as their example)."""
    example = ",".join(pattern_ids_known[-2:]) or ALL
    fields = {
        name: dataclasses.replace(found, example=example) if found.parse is pattern_ids else found
        for name, found in FIELDS.items()
    }
    return SettingsSpec(
        cls=DeliverySettings, fields=fields, check=check_with(pattern_ids_known), notes=NOTES
    )
