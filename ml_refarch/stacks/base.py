"""What every ml-refarch stack shares: its description, tags and profile behaviour."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from ml_refarch.config import Profile


class PatternStack(cdk.Stack):
    """Base class of the pattern stacks.

    Sets a CloudFormation description that names the pattern and its notes section, tags
    every resource with the pattern and profile, and turns on termination protection where
    the profile asks for it.
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
        )
        self.profile = profile
        cdk.Tags.of(self).add("ml-refarch:pattern", self.pattern_id)
        cdk.Tags.of(self).add("ml-refarch:profile", profile.name)

    def output(self, name: str, value: str, description: str) -> cdk.CfnOutput:
        """Add a stack output with a fixed logical id, so smoke scripts can rely on it."""
        return cdk.CfnOutput(self, name, value=value, description=description)
