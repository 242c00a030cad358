"""One stage of the delivery pipeline: the chosen patterns' stacks in one account and region."""

from __future__ import annotations

from collections.abc import Collection

import aws_cdk as cdk
from constructs import Construct

from ml_refarch.config import AppConfig


class PatternStage(cdk.Stage):
    """The stacks of the patterns named in ``stack_names`` (every pattern for ``None``),
    built with ``config`` (its profile and pattern settings) in ``env``.

    The stacks keep their ids; CDK names each CloudFormation stack ``<stage id>-<stack id>``
    (``Sandbox-111122223333-us-east-1-MlRefArch-ServerlessInference``), so stages in one
    account and region never share a stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: cdk.Environment,
        config: AppConfig,
        stack_names: Collection[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id, env=env)
        from ml_refarch.app import add_pattern_stacks

        self.stacks = add_pattern_stacks(self, config, only=stack_names)
