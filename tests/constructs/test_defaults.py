"""Profiles become construct props in one place; constructs never see a profile."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

import ml_refarch  # also points jsii at the pinned Node
from ml_refarch.app import project_context
from ml_refarch.config import PROFILES
from ml_refarch.constructs import (
    ResourceDefaults,
    SecureBucket,
    customer_managed_key,
    encrypted_log_group,
)
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.stacks.base import resource_defaults
from tests.support import resources_of_type

PACKAGE = Path(ml_refarch.__file__).parent


def test_the_sandbox_profile_is_the_constructs_defaults():
    assert resource_defaults(PROFILES["sandbox"]) == ResourceDefaults()
    assert ResourceDefaults().auto_delete_objects


def test_production_retains_versions_logs_and_spreads_over_three_zones():
    defaults = resource_defaults(PROFILES["production"])
    assert defaults.removal_policy == cdk.RemovalPolicy.RETAIN
    assert defaults.retains_data and not defaults.auto_delete_objects
    assert defaults.versioned_buckets and defaults.access_logs
    assert defaults.log_retention == logs.RetentionDays.ONE_YEAR
    assert defaults.max_azs == 3


def test_the_local_target_runs_no_custom_resource_so_buckets_are_not_emptied():
    local = dataclasses.replace(PROFILES["sandbox"], target="local")
    defaults = resource_defaults(local)
    assert not defaults.custom_resources
    assert not defaults.auto_delete_objects


def _bucket_template(**props) -> dict:
    # The project's feature flags: S3 log delivery through the bucket policy, not ACLs.
    stack = cdk.Stack(cdk.App(context=project_context()), "Tiny")
    SecureBucket(
        stack,
        "Data",
        encryption_key=kms.Key(stack, "Key"),
        contents="test data",
        **props,
    )
    return Template.from_stack(stack).to_json()


def test_a_bucket_follows_its_props_not_a_profile():
    kept = _bucket_template(
        removal_policy=cdk.RemovalPolicy.RETAIN,
        auto_delete_objects=False,
        versioned=True,
        access_logs=True,
    )
    buckets = resources_of_type(kept, "AWS::S3::Bucket")
    assert len(buckets) == 2, "the data bucket and its access log bucket"
    assert all(b["DeletionPolicy"] == "Retain" for b in buckets.values())
    data = next(b for k, b in buckets.items() if k.startswith("DataBucket"))
    assert data["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LoggingConfiguration" in data["Properties"]
    assert not resources_of_type(kept, "Custom::S3AutoDeleteObjects")

    throwaway = _bucket_template(
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
        versioned=False,
        access_logs=False,
    )
    (bucket,) = resources_of_type(throwaway, "AWS::S3::Bucket").values()
    assert bucket["DeletionPolicy"] == "Delete"
    assert "VersioningConfiguration" not in bucket["Properties"]
    assert resources_of_type(throwaway, "Custom::S3AutoDeleteObjects")


def test_bucket_and_vpc_props_carry_the_profile():
    production = resource_defaults(PROFILES["production"])
    assert production.bucket_props() == {
        "removal_policy": cdk.RemovalPolicy.RETAIN,
        "auto_delete_objects": False,
        "versioned": True,
        "access_logs": True,
    }
    assert production.vpc_props() == {
        "max_azs": 3,
        "interface_endpoint_azs": None,
        "log_retention": logs.RetentionDays.ONE_YEAR,
        "removal_policy": cdk.RemovalPolicy.RETAIN,
        "custom_resources": True,
    }
    assert production.log_group_props() == {
        "retention": logs.RetentionDays.ONE_YEAR,
        "removal_policy": cdk.RemovalPolicy.RETAIN,
    }
    assert ResourceDefaults().log_group_props()["removal_policy"] == cdk.RemovalPolicy.DESTROY
    sandbox_local = resource_defaults(dataclasses.replace(PROFILES["sandbox"], target="local"))
    assert (sandbox_local.removes_leftovers, ResourceDefaults().removes_leftovers) == (False, True)
    assert production.removes_leftovers is False
    sandbox = _bucket_template(**ResourceDefaults().bucket_props())
    (bucket,) = resources_of_type(sandbox, "AWS::S3::Bucket").values()
    assert bucket["DeletionPolicy"] == "Delete"
    assert resources_of_type(sandbox, "Custom::S3AutoDeleteObjects")


def test_key_and_log_group_are_the_l2s_themselves():
    stack = cdk.Stack(cdk.App(), "Tiny")
    key = customer_managed_key(
        stack, "DataKey", description="test", removal_policy=cdk.RemovalPolicy.RETAIN
    )
    log_group = encrypted_log_group(
        stack,
        "Logs",
        encryption_key=key,
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    assert isinstance(key, kms.Key) and isinstance(log_group, logs.LogGroup)
    # The holder construct keeps the logical ids of the wrappers they replace.
    assert stack.get_logical_id(key.node.default_child).startswith("DataKey")
    template = Template.from_stack(stack).to_json()
    (group,) = resources_of_type(template, "AWS::Logs::LogGroup").values()
    assert group["Properties"]["RetentionInDays"] == 30
    assert group["DeletionPolicy"] == "Delete"


def _profile_name_comparisons(source: str) -> list[int]:
    """Lines that compare ``<something>profile.name`` with anything."""

    def is_profile_name(node: ast.AST) -> bool:
        if not (isinstance(node, ast.Attribute) and node.attr == "name"):
            return False
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        return name.endswith("profile")

    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Compare)
        and any(is_profile_name(part) for part in [node.left, *node.comparators])
    ]


def test_the_check_finds_a_profile_name_comparison():
    assert _profile_name_comparisons('x = 3 if self.profile.name == "production" else 2') == [1]
    assert _profile_name_comparisons("x = profile.max_azs") == []


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.name != "config.py"),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_code_compares_profile_names(path):
    assert _profile_name_comparisons(path.read_text()) == []


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "constructs").glob("*.py")), ids=lambda p: p.name
)
def test_constructs_never_see_a_profile(path):
    tree = ast.parse(path.read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    arguments = {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    assert "Profile" not in imported and "PROFILES" not in imported
    assert "profile" not in arguments


def _endpoint_subnet_counts(**props) -> list[int]:
    stack = cdk.Stack(cdk.App(context=project_context()), "Tiny")
    IsolatedVpc(
        stack,
        "Network",
        encryption_key=kms.Key(stack, "Key"),
        max_azs=2,
        log_retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        custom_resources=False,
        **props,
    )
    template = Template.from_stack(stack).to_json()
    endpoints = resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
    return [
        len(e["Properties"]["SubnetIds"])
        for e in endpoints
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]


def test_interface_endpoints_sit_in_as_many_zones_as_the_profile_asks():
    assert resource_defaults(PROFILES["sandbox"]).interface_endpoint_azs == 1
    assert resource_defaults(PROFILES["production"]).interface_endpoint_azs is None
    one_zone = _endpoint_subnet_counts(interface_endpoint_azs=1)
    assert one_zone and set(one_zone) == {1}
    assert set(_endpoint_subnet_counts()) == {2}, "default: every zone of the VPC"
    with pytest.raises(ValueError, match="at least 1"):
        _endpoint_subnet_counts(interface_endpoint_azs=0)
