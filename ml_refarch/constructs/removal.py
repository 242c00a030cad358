"""How a profile maps to CloudFormation removal behaviour."""

from __future__ import annotations

import aws_cdk as cdk

from ml_refarch.config import Profile


def removal_policy(profile: Profile) -> cdk.RemovalPolicy:
    """RETAIN where the profile keeps data, DESTROY where ``cdk destroy`` must leave nothing."""
    return cdk.RemovalPolicy.RETAIN if profile.retain_data else cdk.RemovalPolicy.DESTROY
