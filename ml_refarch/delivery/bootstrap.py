"""The ``cdk bootstrap`` commands the delivery pipeline's accounts need, from its settings.

CDK Pipelines deploys each stage with the target environment's bootstrap roles, assumed from
the pipeline account; ``cdk bootstrap --trust ACCOUNT`` lets that account assume them, and
``--cloudformation-execution-policies`` says what CloudFormation may do there ("Bootstrap
your environment for use with the AWS CDK" and "Customize AWS CDK bootstrapping",
https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html,
https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-customizing.html). The pipeline
account is bootstrapped in its own region (the pipeline stack) and in every other region a
stage deploys to (the pipeline's replication stack there).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ml_refarch.delivery.settings import DeliverySettings


@dataclass(frozen=True)
class Bootstrap:
    """One account's bootstrap: its environments, whom it trusts, and why."""

    account: str
    regions: tuple[str, ...]
    trust: str | None
    roles: tuple[str, ...]

    def command(self, execution_policy: str) -> str:
        parts = ["npx", "cdk", "bootstrap"]
        parts += [f"aws://{self.account}/{region}" for region in self.regions]
        if self.trust:
            parts += ["--trust", self.trust]
        parts += ["--cloudformation-execution-policies", execution_policy]
        return " ".join(shlex.quote(part) for part in parts)


def bootstraps(settings: DeliverySettings) -> list[Bootstrap]:
    """The pipeline account first, then each other account in the order the waves name it."""
    home = settings.pipeline
    regions: dict[str, list[str]] = {home.account: [home.region]}
    roles: dict[str, list[str]] = {home.account: ["pipeline"]}
    for wave in settings.waves:
        for target in wave.targets:
            for account in {home.account, target.account}:
                if target.region not in regions.setdefault(account, []):
                    regions[account].append(target.region)
            role = wave.name.lower()
            if role not in roles.setdefault(target.account, []):
                roles[target.account].append(role)
    return [
        Bootstrap(
            account,
            tuple(found),
            None if account == home.account else home.account,
            tuple(roles[account]),
        )
        for account, found in regions.items()
    ]


def bootstrap_lines(settings: DeliverySettings) -> list[str]:
    """A comment and a command per account, to run with that account's credentials."""
    lines = []
    for found in bootstraps(settings):
        trusted = f", trusting the pipeline account {found.trust}" if found.trust else ""
        lines.append(
            f"# account {found.account} ({', '.join(found.roles)}){trusted}: run with "
            "credentials for this account"
        )
        lines.append(found.command(settings.execution_policy))
    return lines
