"""MLS-NB*: notebook instances."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker

from tests.compliance.rules.support import isolated_vpc, mls_findings, with_overrides


def notebook(stack: cdk.Stack, *, vpc: ec2.IVpc | None = None, **overrides) -> None:
    """A notebook that passes every NB rule, with ``overrides`` applied (None removes)."""
    vpc = vpc or isolated_vpc(stack)
    group = ec2.SecurityGroup(stack, "NotebookSg", vpc=vpc)
    properties = dict(
        instance_type="ml.t3.medium",
        role_arn="arn:aws:iam::123456789012:role/notebook",
        direct_internet_access="Disabled",
        root_access="Disabled",
        kms_key_id=kms.Key(stack, "Key").key_id,
        subnet_id=(vpc.isolated_subnets or vpc.private_subnets)[0].subnet_id,
        security_group_ids=[group.security_group_id],
        instance_metadata_service_configuration=(
            sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                minimum_instance_metadata_service_version="2"
            )
        ),
    )
    with_overrides(sagemaker.CfnNotebookInstance, stack, "Notebook", properties, overrides)


def test_compliant_notebook_passes():
    assert mls_findings(notebook) == []


@pytest.mark.parametrize(
    ("overrides", "rule_id"),
    [
        ({"direct_internet_access": "Enabled"}, "MLS-NB1"),
        ({"root_access": "Enabled"}, "MLS-NB2"),
        ({"kms_key_id": None}, "MLS-NB3"),
        (
            {
                "instance_metadata_service_configuration": (
                    sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                        minimum_instance_metadata_service_version="1"
                    )
                )
            },
            "MLS-NB5",
        ),
        ({"instance_metadata_service_configuration": None}, "MLS-NB5"),
    ],
)
def test_each_unsafe_setting_raises_exactly_its_rule(overrides, rule_id):
    assert mls_findings(lambda stack: notebook(stack, **overrides)) == [rule_id]


def test_defaults_enable_internet_and_root():
    findings = mls_findings(
        lambda stack: notebook(stack, direct_internet_access=None, root_access=None)
    )
    assert findings == ["MLS-NB1", "MLS-NB2"]


def test_notebook_outside_a_vpc_is_flagged_and_needs_no_endpoint_check():
    findings = mls_findings(
        lambda stack: notebook(
            stack, subnet_id=None, security_group_ids=None, direct_internet_access="Enabled"
        )
    )
    assert findings == ["MLS-NB1", "MLS-NB4"]


def test_isolated_notebook_without_endpoints_cannot_reach_sagemaker():
    def build(stack):
        notebook(stack, vpc=isolated_vpc(stack, endpoints=False))

    assert mls_findings(build) == ["MLS-NB6"]


def test_missing_runtime_endpoint_is_enough_to_fail():
    def build(stack):
        vpc = isolated_vpc(stack, endpoints=False)
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        vpc.add_interface_endpoint("Api", service=ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API)
        notebook(stack, vpc=vpc)

    assert mls_findings(build) == ["MLS-NB6"]


def test_endpoints_in_another_vpc_do_not_count():
    def build(stack):
        isolated_vpc(stack)  # has the endpoints, but the notebook is elsewhere
        other = ec2.Vpc(
            stack,
            "Other",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="i", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        notebook(stack, vpc=other)

    assert mls_findings(build) == ["MLS-NB6"]


def test_a_nat_route_is_an_alternative_to_endpoints():
    def build(stack):
        vpc = ec2.Vpc(stack, "NatVpc", max_azs=2, nat_gateways=1)
        notebook(stack, vpc=vpc)

    assert mls_findings(build) == []


def test_other_resources_are_not_applicable():
    assert mls_findings(lambda stack: kms.Key(stack, "OnlyAKey")) == []


def test_unresolvable_tokens_do_not_crash_the_rules():
    def build(stack):
        internet = cdk.CfnParameter(stack, "Internet", default="Disabled")
        imds = cdk.CfnParameter(stack, "Imds", default="2")
        subnet = cdk.CfnParameter(stack, "Subnet")
        notebook(
            stack,
            direct_internet_access=internet.value_as_string,
            root_access=cdk.Fn.import_value("RootAccess"),
            subnet_id=subnet.value_as_string,
            instance_metadata_service_configuration=(
                sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                    minimum_instance_metadata_service_version=imds.value_as_string
                )
            ),
        )

    # Values known only at deploy time are neither passed nor failed.
    assert mls_findings(build) == []


def test_a_subnet_from_another_stack_does_not_fail_the_endpoint_check():
    """An imported or parameter subnet lives in a VPC this stack cannot see, so whether it
    has endpoints is unknown: NB6 neither passes nor fails it, even with no endpoint here."""

    def build(stack, subnet):
        notebook(stack, vpc=isolated_vpc(stack, endpoints=False), subnet_id=subnet(stack))

    imported = mls_findings(lambda stack: build(stack, lambda s: cdk.Fn.import_value("Subnet")))
    parameter = mls_findings(
        lambda stack: build(stack, lambda s: cdk.CfnParameter(s, "SubnetId").value_as_string)
    )
    assert imported == [] and parameter == []


# ---------------------------------------------------------------------------------------------
# Studio domains


def studio_domain(stack: cdk.Stack, *, vpc: ec2.IVpc | None = None, **overrides) -> None:
    """A Studio domain that passes every SD rule, with ``overrides`` applied (None removes)."""
    vpc = vpc or isolated_vpc(stack)
    group = ec2.SecurityGroup(stack, "StudioSg", vpc=vpc)
    properties = dict(
        auth_mode="IAM",
        domain_name="studio",
        app_network_access_type="VpcOnly",
        vpc_id=vpc.vpc_id,
        subnet_ids=[subnet.subnet_id for subnet in vpc.isolated_subnets],
        kms_key_id=kms.Key(stack, "StudioKey").key_arn,
        default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
            execution_role="arn:aws:iam::123456789012:role/studio",
            security_groups=[group.security_group_id],
        ),
    )
    with_overrides(sagemaker.CfnDomain, stack, "Domain", properties, overrides)


def test_compliant_studio_domain_passes():
    assert mls_findings(studio_domain) == []


@pytest.mark.parametrize(
    ("overrides", "rule_ids"),
    [
        # The default network access type is PublicInternetOnly; SD3 then does not apply.
        ({"app_network_access_type": None}, ["MLS-SD1"]),
        ({"app_network_access_type": "PublicInternetOnly"}, ["MLS-SD1"]),
        ({"kms_key_id": None}, ["MLS-SD2"]),
        ({"kms_key_id": "alias/aws/sagemaker"}, ["MLS-SD2"]),
    ],
)
def test_each_unsafe_domain_setting_raises_exactly_its_rule(overrides, rule_ids):
    assert mls_findings(lambda stack: studio_domain(stack, **overrides)) == rule_ids


def test_vpc_only_domain_without_endpoints_cannot_reach_sagemaker():
    def build(stack):
        studio_domain(stack, vpc=isolated_vpc(stack, endpoints=False))

    assert mls_findings(build) == ["MLS-SD3"]


def test_vpc_only_domain_needs_no_s3_gateway_but_both_sagemaker_endpoints():
    def build(stack, *services):
        vpc = isolated_vpc(stack, endpoints=False)
        for name, service in services:
            vpc.add_interface_endpoint(name, service=service)
        studio_domain(stack, vpc=vpc)

    api = ("Api", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API)
    runtime = ("Runtime", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME)
    assert mls_findings(lambda stack: build(stack, api, runtime)) == []
    assert mls_findings(lambda stack: build(stack, api)) == ["MLS-SD3"]


def test_domain_settings_known_only_at_deploy_time_are_not_failed():
    def build(stack):
        access = cdk.CfnParameter(stack, "Access", default="VpcOnly")
        studio_domain(
            stack,
            vpc=isolated_vpc(stack, endpoints=False),
            app_network_access_type=access.value_as_string,
            kms_key_id=cdk.Fn.import_value("StudioKey"),
        )

    assert mls_findings(build) == []


def test_imported_vpc_of_a_vpc_only_domain_is_not_failed():
    def build(stack):
        studio_domain(stack, vpc=isolated_vpc(stack, endpoints=False))
        domain = stack.node.find_child("Domain")
        domain.vpc_id = cdk.Fn.import_value("StudioVpc")

    assert mls_findings(build) == []


def profile(stack: cdk.Stack, **user_settings) -> None:
    sagemaker.CfnUserProfile(
        stack,
        "Profile",
        domain_id=stack.node.find_child("Domain").attr_domain_id,
        user_profile_name="scientist",
        user_settings=sagemaker.CfnUserProfile.UserSettingsProperty(**user_settings),
    )


def test_user_profile_of_a_vpc_only_domain_needs_security_groups_somewhere():
    no_default = sagemaker.CfnDomain.UserSettingsProperty(
        execution_role="arn:aws:iam::123456789012:role/studio"
    )

    def build(stack, *, default: bool, own: bool):
        studio_domain(stack, **({} if default else {"default_user_settings": no_default}))
        profile(stack, security_groups=["sg-0123456789abcdef0"] if own else None)

    assert mls_findings(lambda s: build(s, default=False, own=False)) == ["MLS-SD4"]
    assert mls_findings(lambda s: build(s, default=False, own=True)) == []
    assert mls_findings(lambda s: build(s, default=True, own=False)) == []
