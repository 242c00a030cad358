"""CloudFormation custom resource: remove what a deleted Studio domain leaves in its VPC.

SageMaker creates a home EFS file system for a Studio domain, with a mount target in each of
the domain's subnets and two security groups for NFS, ``security-group-for-inbound-nfs-<id>``
and ``security-group-for-outbound-nfs-<id>``. Deleting the domain keeps all of them: the
``DeleteDomain`` API's ``RetentionPolicy.HomeEfsFileSystem`` defaults to ``Retain`` (SageMaker
API reference, "DeleteDomain" and "RetentionPolicy"), and ``AWS::SageMaker::Domain`` offers no
way to ask for ``Delete`` (cloudformation-coverage-roadmap issue 1085). The mount targets'
network interfaces and the groups then keep CloudFormation from deleting the subnets and the
VPC.

The stack orders this resource after the VPC's subnets and before the domain, so CloudFormation
deletes the domain first, then this resource, then the subnets and the VPC. On ``Delete`` the
handler finds, from the NFS groups in the VPC (``VpcId``), the ids of the domains that had a
home file system there; for each domain that no longer exists it deletes the file systems
SageMaker tagged ``ManagedByAmazonSageMakerResource`` with that domain's ARN ("AWS managed
policies for SageMaker notebooks" names the tag): first their mount targets (waiting until
they are gone), then the file system, then the two groups (their rules first, since each
group's rules name the other). A domain that still exists is left alone, so removing this
resource from a stack whose domain lives on deletes nothing.

The groups are deleted last, so a retried ``Delete`` still finds the domain ids; a file system
or group already gone counts as deleted. ``Create`` and ``Update`` do nothing. Standard library
and boto3 only: the function needs no bundling step.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from botocore.exceptions import ClientError

LOGGER = logging.getLogger()
LOGGER.setLevel(logging.INFO)

#: The tag SageMaker puts on the file systems it creates for a domain: the domain's ARN.
MANAGED_BY_TAG = "ManagedByAmazonSageMakerResource"
#: The names SageMaker gives a domain's NFS security groups.
NFS_GROUP_PREFIXES = ("security-group-for-inbound-nfs-", "security-group-for-outbound-nfs-")
_DOMAIN_ID = re.compile(r"d-[a-z0-9-]{1,61}")

#: Seconds between two looks at what is still being deleted.
POLL_SECONDS = 10.0
#: Seconds kept free before the Lambda timeout, to send the response to CloudFormation.
RESPONSE_MARGIN_SECONDS = 30.0


class NotDoneError(Exception):
    """Something is still being deleted when the time to wait for it has run out."""


def handler(event: dict[str, Any], context: Any) -> None:
    """Handle one CloudFormation request and always answer it (SUCCESS or FAILED)."""
    physical_id = event.get("PhysicalResourceId") or (
        f"studio-home-cleanup-{event['ResourceProperties'].get('VpcId', 'none')}"
    )
    try:
        if event["RequestType"] == "Delete":
            deadline = time.monotonic() + _seconds_left(context) - RESPONSE_MARGIN_SECONDS
            removed = remove_home_file_systems(event["ResourceProperties"]["VpcId"], deadline)
            LOGGER.info("Removed: %s", json.dumps(removed))
        send_response(event, context, "SUCCESS", physical_id)
    except Exception as error:  # CloudFormation must hear of every failure, or it waits an hour
        LOGGER.exception("Request failed")
        send_response(
            event, context, "FAILED", physical_id, reason=f"{type(error).__name__}: {error}"
        )


def remove_home_file_systems(vpc_id: str, deadline: float) -> dict[str, list[str]]:
    """Delete the home file systems and NFS groups of the deleted domains of ``vpc_id``.

    Returns the ids of what was deleted, by kind (``file_systems``, ``security_groups``) and
    the domains skipped because they still exist (``domains_kept``).
    """
    ec2 = boto3.client("ec2")
    efs = boto3.client("efs")
    sagemaker = boto3.client("sagemaker")
    groups_by_domain = _nfs_groups_by_domain(ec2, vpc_id)
    removed: dict[str, list[str]] = {"file_systems": [], "security_groups": [], "domains_kept": []}
    for domain_id, group_ids in sorted(groups_by_domain.items()):
        if _domain_exists(sagemaker, domain_id):
            removed["domains_kept"].append(domain_id)
            continue
        for file_system_id in _home_file_systems(efs, domain_id):
            _delete_file_system(efs, file_system_id, deadline)
            removed["file_systems"].append(file_system_id)
        _delete_groups(ec2, group_ids, deadline)
        removed["security_groups"].extend(group_ids)
    return removed


def _nfs_groups_by_domain(ec2: Any, vpc_id: str) -> dict[str, list[str]]:
    """The NFS security groups SageMaker created in ``vpc_id``, by the id of their domain."""
    pages = ec2.get_paginator("describe_security_groups").paginate(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": [f"{prefix}d-*" for prefix in NFS_GROUP_PREFIXES]},
        ]
    )
    groups: dict[str, list[str]] = {}
    for page in pages:
        for group in page["SecurityGroups"]:
            name = group["GroupName"]
            prefix = next((p for p in NFS_GROUP_PREFIXES if name.startswith(p)), None)
            domain_id = name[len(prefix) :] if prefix else ""
            if _DOMAIN_ID.fullmatch(domain_id):
                groups.setdefault(domain_id, []).append(group["GroupId"])
    return groups


def _domain_exists(sagemaker: Any, domain_id: str) -> bool:
    try:
        sagemaker.describe_domain(DomainId=domain_id)
    except ClientError as error:
        if _code(error) in ("ResourceNotFound", "ValidationException"):
            return False
        raise
    return True


def _home_file_systems(efs: Any, domain_id: str) -> list[str]:
    """The file systems SageMaker tagged as the home of ``domain_id``."""
    suffix = f":domain/{domain_id}"
    found = []
    for page in efs.get_paginator("describe_file_systems").paginate():
        for file_system in page["FileSystems"]:
            tags = {tag["Key"]: tag["Value"] for tag in file_system.get("Tags", [])}
            owner = tags.get(MANAGED_BY_TAG, "")
            if owner.startswith("arn:") and owner.endswith(suffix):
                found.append(file_system["FileSystemId"])
    return found


def _delete_file_system(efs: Any, file_system_id: str, deadline: float) -> None:
    """Delete the mount targets of ``file_system_id``, wait until they are gone, then it."""

    def mount_targets() -> list[str]:
        try:
            described = efs.describe_mount_targets(FileSystemId=file_system_id)
        except ClientError as error:
            if _code(error) == "FileSystemNotFound":
                return []
            raise
        return [target["MountTargetId"] for target in described["MountTargets"]]

    for mount_target_id in mount_targets():
        _ignore_missing(
            lambda target=mount_target_id: efs.delete_mount_target(MountTargetId=target),
            "MountTargetNotFound",
        )
    _wait(lambda: not mount_targets(), f"mount targets of {file_system_id}", deadline)
    _ignore_missing(
        lambda: efs.delete_file_system(FileSystemId=file_system_id), "FileSystemNotFound"
    )


def _delete_groups(ec2: Any, group_ids: list[str], deadline: float) -> None:
    """Empty the groups' rules (each names the other), then delete them.

    A group still used by a network interface that is going away answers
    ``DependencyViolation``; that is retried until ``deadline``.
    """
    described = _describe_groups(ec2, group_ids)
    for group in described:
        if group.get("IpPermissions"):
            _ignore_missing(
                lambda g=group: ec2.revoke_security_group_ingress(
                    GroupId=g["GroupId"], IpPermissions=g["IpPermissions"]
                ),
                "InvalidGroup.NotFound",
            )
        if group.get("IpPermissionsEgress"):
            _ignore_missing(
                lambda g=group: ec2.revoke_security_group_egress(
                    GroupId=g["GroupId"], IpPermissions=g["IpPermissionsEgress"]
                ),
                "InvalidGroup.NotFound",
            )

    def deleted(group_id: str) -> Callable[[], bool]:
        def attempt() -> bool:
            try:
                ec2.delete_security_group(GroupId=group_id)
            except ClientError as error:
                if _code(error) == "DependencyViolation":
                    return False
                if _code(error) != "InvalidGroup.NotFound":
                    raise
            return True

        return attempt

    for group_id in group_ids:
        _wait(deleted(group_id), f"security group {group_id}", deadline)


def _describe_groups(ec2: Any, group_ids: Iterable[str]) -> list[dict[str, Any]]:
    groups = []
    for group_id in group_ids:
        try:
            groups += ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        except ClientError as error:
            if _code(error) != "InvalidGroup.NotFound":
                raise
    return groups


def _wait(done: Callable[[], bool], what: str, deadline: float) -> None:
    while not done():
        if time.monotonic() + POLL_SECONDS > deadline:
            raise NotDoneError(f"{what} still being deleted; delete the stack again to retry")
        time.sleep(POLL_SECONDS)


def _ignore_missing(call: Callable[[], Any], missing_code: str) -> None:
    try:
        call()
    except ClientError as error:
        if _code(error) != missing_code:
            raise


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _seconds_left(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000.0 if remaining else 900.0


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
