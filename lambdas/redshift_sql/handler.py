"""CloudFormation custom resource: run SQL statements in a Redshift Serverless workgroup.

Redshift SQL has no CloudFormation resource type (an external schema ``FROM KINESIS``, a
materialized view, a model), so this handler runs the statements of ``Statements`` through
the Redshift Data API, one after the other, as the namespace's admin user. Redshift manages
that user's password in Secrets Manager; the handler reads the secret's ARN from
``GetNamespace`` (``adminPasswordSecretArn``: CloudFormation offers no attribute for it) and
passes it to ``ExecuteStatement``, which reads the secret with the caller's permissions
("Authorizing access to the Amazon Redshift Data API",
https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-access.html).

The Data API runs a statement asynchronously: :func:`is_complete` asks ``DescribeStatement``
until the statement is ``FINISHED`` (next statement), ``FAILED`` or ``ABORTED`` (the request
fails with Redshift's error), or the function's time runs out (the request fails, with time
kept to answer CloudFormation). One function both starts and polls: the statements take
seconds, well inside Lambda's 15 minutes, so the waiter state machine of CDK's Provider
framework would add three functions and a state machine for nothing.

``Create`` and ``Update`` run the statements (they are written to run again: ``IF NOT
EXISTS``, and the view is dropped and recreated). ``Delete`` runs nothing: the objects live in
the namespace, which the stack deletes (sandbox) or keeps with its data (production).
Standard library and boto3 only: the function needs no bundling step.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)

#: Seconds between two DescribeStatement calls.
POLL_SECONDS = 2.0
#: Seconds kept free before the Lambda timeout, to send the response to CloudFormation.
RESPONSE_MARGIN_SECONDS = 30.0
#: DescribeStatement's statuses: done, failed, and still on the way.
FINISHED = "FINISHED"
FAILED_STATUSES = ("FAILED", "ABORTED")


class StatementError(Exception):
    """A statement failed, was aborted, or did not finish in time."""


def handler(event: dict[str, Any], context: Any) -> None:
    """Handle one CloudFormation request and always answer it (SUCCESS or FAILED)."""
    properties = event["ResourceProperties"]
    physical_id = event.get("PhysicalResourceId") or (
        f"redshift-sql-{properties.get('WorkgroupName', 'none')}"
    )
    try:
        if event["RequestType"] in ("Create", "Update"):
            deadline = time.monotonic() + _seconds_left(context) - RESPONSE_MARGIN_SECONDS
            ids = run_statements(
                boto3.client("redshift-serverless"),
                boto3.client("redshift-data"),
                properties,
                deadline=deadline,
            )
            LOGGER.info("Ran statements: %s", json.dumps(ids))
        send_response(event, context, "SUCCESS", physical_id)
    except Exception as error:  # CloudFormation must hear of every failure, or it waits an hour
        LOGGER.exception("Request failed")
        send_response(
            event, context, "FAILED", physical_id, reason=f"{type(error).__name__}: {error}"
        )


def admin_secret_arn(serverless: Any, namespace_name: str) -> str:
    """The ARN of the secret Redshift keeps the namespace's admin credentials in."""
    namespace = serverless.get_namespace(namespaceName=namespace_name)["namespace"]
    arn = namespace.get("adminPasswordSecretArn")
    if not arn:
        raise StatementError(
            f"namespace {namespace_name} has no managed admin secret (ManageAdminPassword)"
        )
    return arn


def run_statements(
    serverless: Any,
    data: Any,
    properties: dict[str, Any],
    *,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Runs ``Statements`` in order, each to completion; returns the statement ids."""
    secret_arn = admin_secret_arn(serverless, properties["NamespaceName"])
    ids = []
    for position, sql in enumerate(properties["Statements"], start=1):
        statement_id = data.execute_statement(
            WorkgroupName=properties["WorkgroupName"],
            Database=properties["Database"],
            SecretArn=secret_arn,
            Sql=sql,
            StatementName=f"{properties.get('Purpose', 'stack SQL')} {position}",
        )["Id"]
        while not is_complete(data, statement_id, position):
            if clock() >= deadline:
                raise StatementError(
                    f"statement {position} ({statement_id}) did not finish in time"
                )
            sleep(POLL_SECONDS)
        ids.append(statement_id)
    return ids


def is_complete(data: Any, statement_id: str, position: int) -> bool:
    """True once the statement finished; raises :class:`StatementError` if it failed."""
    description = data.describe_statement(Id=statement_id)
    status = description["Status"]
    if status in FAILED_STATUSES:
        raise StatementError(
            f"statement {position} {status}: {description.get('Error', 'no error given')}"
        )
    return status == FINISHED


def _seconds_left(context: Any) -> float:
    return context.get_remaining_time_in_millis() / 1000.0


def send_response(
    event: dict[str, Any], context: Any, status: str, physical_id: str, *, reason: str = ""
) -> None:
    """PUT the result to CloudFormation's pre-signed response URL."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"See CloudWatch Logs: {getattr(context, 'log_stream_name', '')}",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {},
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        LOGGER.info("CloudFormation answered %s", response.status)
