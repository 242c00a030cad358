"""Tests for the Studio home-EFS cleanup custom resource (lambdas/studio_home_cleanup/handler.py),
against moto's EC2, EFS and SageMaker."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.load import load_by_path

HANDLER_PATH = (
    Path(__file__).resolve().parents[2] / "lambdas" / "studio_home_cleanup" / "handler.py"
)
REGION = "us-east-1"
ACCOUNT = "123456789012"
DOMAIN_ID = "d-abc123def456"


@pytest.fixture
def cleanup(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_by_path("studio_home_cleanup_handler", HANDLER_PATH)
    monkeypatch.setattr(module, "POLL_SECONDS", 0.0)
    return module


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield


@pytest.fixture
def responses(cleanup: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the handler would PUT to CloudFormation, instead of sending it."""
    sent: list[dict[str, Any]] = []

    def record(event, context, status, physical_id, *, reason=""):
        sent.append({"Status": status, "PhysicalResourceId": physical_id, "Reason": reason})

    monkeypatch.setattr(cleanup, "send_response", record)
    return sent


def _leftovers(domain_id: str = DOMAIN_ID) -> dict[str, Any]:
    """A VPC with what SageMaker keeps after deleting ``domain_id``: a tagged home file
    system with a mount target in each subnet, and the two NFS groups naming each other."""
    ec2 = boto3.client("ec2")
    efs = boto3.client("efs")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}"
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    inbound = ec2.create_security_group(
        VpcId=vpc_id, GroupName=f"security-group-for-inbound-nfs-{domain_id}", Description="in"
    )["GroupId"]
    outbound = ec2.create_security_group(
        VpcId=vpc_id, GroupName=f"security-group-for-outbound-nfs-{domain_id}", Description="out"
    )["GroupId"]
    nfs = {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049}
    ec2.authorize_security_group_ingress(
        GroupId=inbound, IpPermissions=[{**nfs, "UserIdGroupPairs": [{"GroupId": outbound}]}]
    )
    ec2.authorize_security_group_egress(
        GroupId=outbound, IpPermissions=[{**nfs, "UserIdGroupPairs": [{"GroupId": inbound}]}]
    )
    file_system_id = efs.create_file_system(
        CreationToken=domain_id,
        Encrypted=True,
        Tags=[
            {
                "Key": "ManagedByAmazonSageMakerResource",
                "Value": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{domain_id}",
            }
        ],
    )["FileSystemId"]
    for subnet_id in subnets:
        efs.create_mount_target(
            FileSystemId=file_system_id, SubnetId=subnet_id, SecurityGroups=[inbound]
        )
    return {"vpc_id": vpc_id, "file_system_id": file_system_id, "groups": [inbound, outbound]}


def _event(request_type: str, vpc_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/put",
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/MlRefArch-StudioDomain/1",
        "RequestId": "request-1",
        "LogicalResourceId": "HomeCleanup",
        "ResourceType": "Custom::StudioHomeCleanup",
        "ResourceProperties": {"ServiceToken": "arn:function", "VpcId": vpc_id},
        **extra,
    }


def _context() -> SimpleNamespace:
    return SimpleNamespace(
        get_remaining_time_in_millis=lambda: 600_000, log_stream_name="2026/12/06/stream"
    )


def _file_systems() -> list[str]:
    return [fs["FileSystemId"] for fs in boto3.client("efs").describe_file_systems()["FileSystems"]]


def _groups(vpc_id: str) -> list[str]:
    groups = boto3.client("ec2").describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]
    return [group["GroupName"] for group in groups]


def test_delete_removes_mount_targets_file_system_and_nfs_groups(aws, cleanup, responses):
    left = _leftovers()
    cleanup.handler(_event("Delete", left["vpc_id"], PhysicalResourceId="cleanup-1"), _context())
    assert responses == [{"Status": "SUCCESS", "PhysicalResourceId": "cleanup-1", "Reason": ""}]
    assert _file_systems() == []
    assert _groups(left["vpc_id"]) == ["default"]


def test_delete_twice_and_with_the_file_system_already_gone_succeeds(aws, cleanup, responses):
    left = _leftovers()
    efs = boto3.client("efs")
    for target in efs.describe_mount_targets(FileSystemId=left["file_system_id"])["MountTargets"]:
        efs.delete_mount_target(MountTargetId=target["MountTargetId"])
    efs.delete_file_system(FileSystemId=left["file_system_id"])
    event = _event("Delete", left["vpc_id"], PhysicalResourceId="cleanup-1")
    cleanup.handler(event, _context())
    cleanup.handler(event, _context())
    assert [response["Status"] for response in responses] == ["SUCCESS", "SUCCESS"]
    assert _groups(left["vpc_id"]) == ["default"]


def test_a_domain_that_still_exists_keeps_its_file_system(aws, cleanup, responses):
    # Removing the resource from a stack whose domain lives on must not delete its home.
    domain_arn = boto3.client("sagemaker").create_domain(
        DomainName="live",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/studio"},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )["DomainArn"]
    domain_id = domain_arn.rsplit("/", 1)[1]
    left = _leftovers(domain_id)
    removed = cleanup.remove_home_file_systems(left["vpc_id"], deadline=float("inf"))
    assert removed == {"file_systems": [], "security_groups": [], "domains_kept": [domain_id]}
    assert _file_systems() == [left["file_system_id"]]
    assert len(_groups(left["vpc_id"])) == 3


def test_only_the_file_systems_of_domains_in_the_vpc_are_deleted(aws, cleanup, responses):
    ours = _leftovers()
    other = _leftovers("d-otherdomain1")
    untagged = boto3.client("efs").create_file_system(CreationToken="team-share")["FileSystemId"]
    cleanup.handler(_event("Delete", ours["vpc_id"], PhysicalResourceId="c"), _context())
    assert sorted(_file_systems()) == sorted([other["file_system_id"], untagged])
    assert len(_groups(other["vpc_id"])) == 3


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_change_nothing_and_succeed(aws, cleanup, responses, request_type):
    left = _leftovers()
    extra = {"PhysicalResourceId": "studio-home-cleanup-old"} if request_type == "Update" else {}
    cleanup.handler(_event(request_type, left["vpc_id"], **extra), _context())
    expected_id = extra.get("PhysicalResourceId", f"studio-home-cleanup-{left['vpc_id']}")
    # The physical id never changes: a new one would make CloudFormation delete the old.
    assert responses == [{"Status": "SUCCESS", "PhysicalResourceId": expected_id, "Reason": ""}]
    assert _file_systems() == [left["file_system_id"]]


def test_mount_targets_that_outlast_the_deadline_fail_the_request(
    aws, cleanup, responses, monkeypatch
):
    left = _leftovers()
    efs = boto3.client("efs")
    real_client = boto3.client

    def slow_client(service, *args, **kwargs):
        # A mount target that never finishes deleting, as a slow real one would look.
        client = real_client(service, *args, **kwargs)
        if service == "efs":
            client.delete_mount_target = lambda **_: None
        return client

    monkeypatch.setattr(cleanup.boto3, "client", slow_client)
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: 30_000, log_stream_name="s")
    cleanup.handler(_event("Delete", left["vpc_id"], PhysicalResourceId="c"), context)
    assert responses[0]["Status"] == "FAILED"
    assert "still being deleted" in responses[0]["Reason"]
    assert efs.describe_mount_targets(FileSystemId=left["file_system_id"])["MountTargets"]
    # The groups stay too, so a retried Delete still finds the domain.
    assert len(_groups(left["vpc_id"])) == 3


def test_the_response_is_put_to_the_presigned_url(cleanup, monkeypatch):
    sent = {}

    class Answer:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

    def urlopen(request, timeout):
        sent.update(url=request.full_url, method=request.method, body=json.loads(request.data))
        return Answer()

    monkeypatch.setattr(cleanup.urllib.request, "urlopen", urlopen)
    event = _event("Create", "vpc-1")
    cleanup.send_response(event, _context(), "SUCCESS", "id-1")
    assert sent["method"] == "PUT" and sent["url"] == event["ResponseURL"]
    assert sent["body"]["Status"] == "SUCCESS"
    assert sent["body"]["PhysicalResourceId"] == "id-1"
    assert sent["body"]["LogicalResourceId"] == "HomeCleanup"
