"""What every ml-refarch stack shares: its description, tags and profile behaviour."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from ml_refarch.config import LOCAL_REGION, Profile

#: Availability Zones of a ``local``-target stack that is not pinned to a region.
LOCAL_ZONE_LETTERS = ("a", "b", "c")


class PatternStack(cdk.Stack):
    """Base class of the pattern stacks.

    Sets a CloudFormation description that names the pattern and its notes section, tags
    every resource with the pattern and profile, and turns on termination protection where
    the profile asks for it.

    For the ``local`` target (the deploy rehearsal on moto) the stack names its
    Availability Zones instead of asking CloudFormation (``Fn::GetAZs``) and leaves out the
    bootstrap-version rule, whose SSM parameter a fresh stand-in does not have.
    """

    #: Pattern id from the catalog, set by each subclass.
    pattern_id: str = ""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: Profile,
        title: str,
        notes_section: str,
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=env,
            description=(
                f"ml-refarch pattern {self.pattern_id} ({profile.name} profile): {title}. "
                f"Study notes section: {notes_section}."
            ),
            termination_protection=profile.termination_protection,
            synthesizer=(
                cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False)
                if profile.target == "local"
                else None
            ),
        )
        self.profile = profile
        cdk.Tags.of(self).add("ml-refarch:pattern", self.pattern_id)
        cdk.Tags.of(self).add("ml-refarch:profile", profile.name)

    @property
    def availability_zones(self) -> list[str]:
        """The zones CDK spreads subnets over: named ones for the local target."""
        profile = getattr(self, "profile", None)
        if profile is None or profile.target != "local":
            return super().availability_zones
        region = LOCAL_REGION if cdk.Token.is_unresolved(self.region) else self.region
        return [f"{region}{letter}" for letter in LOCAL_ZONE_LETTERS]

    def output(self, name: str, value: str, description: str) -> cdk.CfnOutput:
        """Add a stack output with a fixed logical id, so smoke checks can rely on it.

        ``name`` is one of the unit's ``outputs.Outputs`` constants, which the smoke checks
        and tests read too.
        """
        return cdk.CfnOutput(self, name, value=value, description=description)
