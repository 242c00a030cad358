"""A Python Lambda function from ``lambdas/<name>``: traced, JSON logs, encrypted environment.

The functions build in the caller's scope, so the construct ids (``<name>``, ``<name>Role``,
``<name>Policy``) sit where the caller puts them. The reasons of the acknowledgments name the
function's caller and stay with each pattern: they are parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs.service_role import service_role

#: The project's Lambda handlers, one directory each.
LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambdas"


@dataclass(frozen=True)
class Unbounded:
    """Why the function needs no VPC, no reserved concurrency and no DLQ (each names its
    caller, so each pattern writes its own)."""

    no_vpc_because: str
    no_concurrency_because: str
    no_dlq_because: str


def logs_and_tracing(log_group: logs.ILogGroup) -> list[iam.PolicyStatement]:
    """A function's rights on its own log group and X-Ray's trace actions."""
    return [
        iam.PolicyStatement(
            sid="Logs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        ),
        iam.PolicyStatement(
            sid="Tracing",
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            resources=["*"],
        ),
    ]


def python_function(
    scope: Construct,
    name: str,
    *,
    handler_dir: str,
    description: str,
    role: iam.Role,
    policy: iam.ManagedPolicy,
    log_group: logs.ILogGroup,
    key: kms.IKey,
    memory_size: int,
    timeout: cdk.Duration,
    environment: Mapping[str, str],
    unbounded: Unbounded,
) -> lambda_.Function:
    """The function ``name`` running ``lambdas/<handler_dir>/handler.py`` as ``role``, created
    after ``policy``, with the VPC, concurrency and DLQ findings acknowledged."""
    function = lambda_.Function(
        scope,
        name,
        description=description,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="handler.handler",
        code=lambda_.Code.from_asset(
            str(LAMBDA_DIR / handler_dir), exclude=["__pycache__", "*.pyc"]
        ),
        role=role.without_policy_updates(),
        memory_size=memory_size,
        timeout=timeout,
        tracing=lambda_.Tracing.ACTIVE,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        environment=dict(environment),
        environment_encryption=key,
    )
    function.node.add_dependency(policy)
    acknowledge(
        function,
        unbounded.no_vpc_because,
        controls.LAMBDA_INSIDE_VPC,
        checkov=("CKV_AWS_117",),
    )
    acknowledge(
        function,
        unbounded.no_concurrency_because,
        controls.LAMBDA_CONCURRENCY,
        checkov=("CKV_AWS_115",),
    )
    acknowledge(
        function,
        unbounded.no_dlq_because,
        controls.LAMBDA_DLQ,
        checkov=("CKV_AWS_116",),
    )
    return function


def traced_function(
    scope: Construct,
    name: str,
    *,
    role_description: str,
    statements: Sequence[iam.PolicyStatement],
    wildcards_because: str,
    wildcards: Sequence[str] = (),
    handler_dir: str,
    description: str,
    log_group: logs.ILogGroup,
    key: kms.IKey,
    memory_size: int,
    timeout: cdk.Duration,
    environment: Mapping[str, str],
    unbounded: Unbounded,
) -> lambda_.Function:
    """:func:`python_function` with its role ``<name>Role`` and policy ``<name>Policy``:
    ``statements``, then :func:`logs_and_tracing`. ``wildcards_because`` acknowledges the
    policy's ``wildcards`` findings and X-Ray's ``Resource::*``."""
    role, policy = service_role(
        scope,
        name,
        service="lambda.amazonaws.com",
        description=role_description,
        statements=[*statements, *logs_and_tracing(log_group)],
    )
    acknowledge(policy, wildcards_because, *wildcards, "AwsSolutions-IAM5[Resource::*]")
    return python_function(
        scope,
        name,
        handler_dir=handler_dir,
        description=description,
        role=role,
        policy=policy,
        log_group=log_group,
        key=key,
        memory_size=memory_size,
        timeout=timeout,
        environment=environment,
        unbounded=unbounded,
    )
