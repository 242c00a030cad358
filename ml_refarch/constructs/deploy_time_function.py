"""The Lambda function behind a custom resource that runs only while CloudFormation works.

Several constructs back a custom resource with their own handler (``lambdas/<name>/``): the
Studio home cleanup, the log group cleanup, the Redshift SQL runner. Each gets the same
set-up here: its own encrypted log group (``Logs``), a service role for Lambda with the
construct's statements and nothing else (``Handler``), and the function (``Function``,
Python, JSON logs, created after its policy so it never runs without it), acknowledged with
the construct's reason for the rules a deploy-time handler does not need (a DLQ, a VPC,
reserved concurrency, tracing: ``DEPLOY_TIME_HANDLER_RULES``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_refarch.compliance.acknowledge import (
    DEPLOY_TIME_HANDLER_CHECKOV,
    DEPLOY_TIME_HANDLER_RULES,
    acknowledge,
)
from ml_refarch.constructs.log_group import encrypted_log_group
from ml_refarch.constructs.service_role import service_role

#: Where the handlers live: ``lambdas/<name>/handler.py``.
LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"


def deploy_time_function(
    scope: Construct,
    *,
    handler: str,
    description: str,
    role_description: str,
    statements: Callable[[logs.ILogGroup], Sequence[iam.PolicyStatement]],
    timeout: cdk.Duration,
    reason: str,
    encryption_key: kms.IKey,
    log_retention: logs.RetentionDays,
    removal_policy: cdk.RemovalPolicy,
) -> tuple[lambda_.Function, iam.ManagedPolicy]:
    """The function of ``lambdas/<handler>/`` in ``scope``, and its role's policy.

    Args:
        statements: the role's statements, given the function's log group (which they
            must let the function write).
        reason: why the function needs no DLQ, VPC, reserved concurrency or tracing.
    """
    log_group = encrypted_log_group(
        scope,
        "Logs",
        encryption_key=encryption_key,
        retention=log_retention,
        removal_policy=removal_policy,
    )
    role, policy = service_role(
        scope,
        "Handler",
        service="lambda.amazonaws.com",
        description=role_description,
        statements=list(statements(log_group)),
    )
    function = lambda_.Function(
        scope,
        "Function",
        description=description,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(LAMBDAS_DIR / handler), exclude=["__pycache__", "*.pyc"]),
        role=role.without_policy_updates(),
        memory_size=256,
        timeout=timeout,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
    )
    function.node.add_dependency(policy)
    acknowledge(function, reason, *DEPLOY_TIME_HANDLER_RULES, checkov=DEPLOY_TIME_HANDLER_CHECKOV)
    return function, policy
