"""CloudFormation custom resource: delete, with the stack, log groups a service created.

Some services create their log groups at run time, outside the stack: a Glue job whose
security configuration encrypts CloudWatch Logs writes to groups named after the
configuration and the job's role (``/aws-glue/jobs/<configuration>-role/<role>/...``, "Setting
up encryption in AWS Glue", https://docs.aws.amazon.com/glue/latest/dg/set-up-encryption.html;
the ``LogGroupName`` of a job run is given as ``/aws-glue/jobs-<role>-<configuration>/`` in the
Glue API's "JobRun" structure). Such groups outlive ``cdk destroy`` and bill for what they
store.

On ``Delete`` the handler lists the log groups whose names start with ``Prefix`` and deletes
each one whose name also contains ``Marker`` (a name unique to the stack, such as the
security configuration's); a group already gone counts as deleted. ``Create`` and ``Update``
do nothing. Standard library and boto3 only: the function needs no bundling step.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import boto3
from botocore.exceptions import ClientError

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)


def handler(event: dict[str, Any], context: Any) -> None:
    """Handle one CloudFormation request and always answer it (SUCCESS or FAILED)."""
    properties = event["ResourceProperties"]
    physical_id = event.get("PhysicalResourceId") or f"log-group-cleanup-{properties['Marker']}"
    try:
        if event["RequestType"] == "Delete":
            deleted = delete_log_groups(
                boto3.client("logs"), properties["Prefix"], properties["Marker"]
            )
            LOGGER.info("Deleted: %s", json.dumps(deleted))
        send_response(event, context, "SUCCESS", physical_id)
    except Exception as error:  # CloudFormation must hear of every failure, or it waits an hour
        LOGGER.exception("Request failed")
        send_response(
            event, context, "FAILED", physical_id, reason=f"{type(error).__name__}: {error}"
        )


def delete_log_groups(logs: Any, prefix: str, marker: str) -> list[str]:
    """Delete the log groups named ``prefix...`` that contain ``marker``; their names."""
    if not prefix or not marker:
        raise ValueError("Prefix and Marker must both be non-empty")
    names = [
        group["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix)
        for group in page.get("logGroups", [])
        if marker in group["logGroupName"]
    ]
    for name in names:
        try:
            logs.delete_log_group(logGroupName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
    return names


def send_response(
    event: dict[str, Any], context: Any, status: str, physical_id: str, *, reason: str = ""
) -> None:
    """PUT the result to the presigned URL CloudFormation gave in the event."""
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
