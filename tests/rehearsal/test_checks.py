"""The rehearsal's existence-check registry, without a stand-in."""

from __future__ import annotations

import boto3
import pytest

from ml_refarch.rehearsal import checks
from ml_refarch.rehearsal.checks import (
    CHECKED,
    CHECKS,
    SKIPPED,
    UNVERIFIED,
    disposition,
    existence_check,
    resolved_properties,
    service_of,
)
from ml_refarch.rehearsal.server import modelled_types


def test_every_checked_type_names_a_boto3_service():
    services = set(boto3.session.Session().get_available_services())
    assert len(CHECKS) >= 30
    for resource_type in CHECKS:
        assert resource_type.startswith("AWS::"), resource_type
        assert service_of(resource_type) in services, resource_type


def test_a_type_gets_one_check_only(monkeypatch):
    monkeypatch.setattr(checks, "CHECKS", dict(CHECKS))
    with pytest.raises(ValueError, match="AWS::S3::Bucket has an existence check already"):
        existence_check("AWS::S3::Bucket")(lambda *_: None)

    @existence_check("AWS::Example::Thing", "AWS::Example::Other")
    def thing(*_):
        return None

    assert checks.CHECKS["AWS::Example::Thing"] is thing
    assert checks.CHECKS["AWS::Example::Other"] is thing


@pytest.mark.parametrize(
    ("resource_type", "expected"),
    [
        ("AWS::S3::Bucket", CHECKED),
        ("AWS::Glue::Table", SKIPPED),
        ("AWS::Athena::WorkGroup", UNVERIFIED),
        ("Custom::S3AutoDeleteObjects", UNVERIFIED),
        ("AWS::CloudFormation::CustomResource", UNVERIFIED),
    ],
)
def test_disposition_sorts_types_by_what_moto_models_and_what_is_checked(resource_type, expected):
    modelled = {"AWS::S3::Bucket", "AWS::Athena::WorkGroup"}
    assert disposition(resource_type, modelled) == expected


@pytest.mark.parametrize("resource_type", checks.KNOWN_SKIPPED)
def test_the_types_listed_as_skipped_are_ones_the_pinned_moto_does_not_model(resource_type):
    assert disposition(resource_type, modelled_types()) == SKIPPED


def test_a_security_group_reference_resolves_to_its_physical_id():
    ingress = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {
            "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": ["Other", "GroupId"]},
            "Description": {"Fn::GetAtt": ["Group", "VpcId"]},
            "IpProtocol": "tcp",
        },
    }
    assert resolved_properties(ingress, {"Group": "sg-1", "Other": "sg-2"}) == {
        "GroupId": "sg-1",
        "SourceSecurityGroupId": "sg-2",
        "Description": None,
        "IpProtocol": "tcp",
    }
