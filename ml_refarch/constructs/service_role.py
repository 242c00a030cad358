"""A role one AWS service assumes, with its permissions in a customer-managed policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct


def service_role(
    scope: Construct,
    name: str,
    *,
    service: str,
    description: str,
    statements: Sequence[iam.PolicyStatement],
    policy_description: str | None = None,
    conditions: Mapping[str, Any] | None = None,
) -> tuple[iam.Role, iam.ManagedPolicy]:
    """The role ``<name>Role`` that only ``service`` (``events.amazonaws.com``) may assume,
    under ``conditions`` when given, and the managed policy ``<name>Policy`` attached to it
    with ``statements``.

    A managed policy attached through ``roles=[...]`` rather than the role's default inline
    policy: the compliance packs refuse inline policies (``IAMNoInlinePolicy``).
    """
    role = iam.Role(
        scope,
        f"{name}Role",
        assumed_by=iam.ServicePrincipal(service, conditions=conditions),
        description=description,
    )
    policy = iam.ManagedPolicy(
        scope,
        f"{name}Policy",
        roles=[role],
        description=policy_description,
        statements=list(statements),
    )
    return role, policy


def wildcard_finding(construct: IConstruct, suffix: str) -> str:
    """The cdk-nag IAM5 finding id of a policy resource ``<construct's ARN><suffix>``
    (``AwsSolutions-IAM5[Resource::<Bucket1234.Arn>/results/*]``), for its acknowledgment."""
    logical_id = cdk.Stack.of(construct).get_logical_id(construct.node.default_child)
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>{suffix}]"
