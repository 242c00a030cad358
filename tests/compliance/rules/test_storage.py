"""MLS-S3B1 (buckets that SageMaker uses), MLS-FX* (FSx for Lustre)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_fsx as fsx
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

from tests.compliance.rules.support import isolated_vpc, mls_findings


def model_reading(stack: cdk.Stack, bucket: s3.IBucket) -> None:
    """A SageMaker model whose artifact lives in ``bucket`` (passes the MD rules it meets)."""
    sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn="arn:aws:iam::123456789012:role/model",
        enable_network_isolation=True,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image="123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",
            model_data_url=bucket.s3_url_for_object("model.tar.gz"),
        ),
    )


@pytest.mark.parametrize(
    ("encryption", "expected"),
    [
        (s3.BucketEncryption.KMS, []),
        (s3.BucketEncryption.DSSE, []),
        (s3.BucketEncryption.S3_MANAGED, ["MLS-S3B1"]),
    ],
)
def test_bucket_feeding_a_model_needs_kms(encryption, expected):
    def build(stack):
        bucket = s3.Bucket(stack, "Artifacts", encryption=encryption)
        model_reading(stack, bucket)

    assert mls_findings(build) == expected


def test_buckets_sagemaker_does_not_use_are_not_applicable():
    assert mls_findings(lambda stack: s3.Bucket(stack, "Logs")) == []


def test_bucket_feeding_fsx_needs_kms():
    def build(stack):
        bucket = s3.Bucket(stack, "Training", encryption=s3.BucketEncryption.S3_MANAGED)
        lustre(stack, import_path=f"s3://{bucket.bucket_name}/train/")

    assert mls_findings(build) == ["MLS-S3B1"]


def lustre(
    stack: cdk.Stack, *, deployment_type: str = "SCRATCH_2", **overrides
) -> ec2.SecurityGroup:
    """A Lustre file system whose security group opens Lustre ports only to itself."""
    vpc = isolated_vpc(stack, endpoints=False)
    group = ec2.SecurityGroup(stack, "LustreSg", vpc=vpc, allow_all_outbound=False)
    group.add_ingress_rule(group, ec2.Port.tcp(988), "Lustre")
    group.add_ingress_rule(group, ec2.Port.tcp_range(1018, 1023), "Lustre")
    lustre_configuration = dict(deployment_type=deployment_type)
    if "import_path" in overrides:
        lustre_configuration["import_path"] = overrides.pop("import_path")
    if str(deployment_type).startswith("PERSISTENT"):
        lustre_configuration["per_unit_storage_throughput"] = 125
    properties = dict(
        file_system_type="LUSTRE",
        storage_capacity=1200,
        subnet_ids=[vpc.isolated_subnets[0].subnet_id],
        security_group_ids=[group.security_group_id],
        lustre_configuration=fsx.CfnFileSystem.LustreConfigurationProperty(**lustre_configuration),
    )
    properties.update(overrides)
    fsx.CfnFileSystem(stack, "Lustre", **{k: v for k, v in properties.items() if v is not None})
    return group


def test_scratch_lustre_open_only_to_itself_passes():
    assert mls_findings(lustre) == []


def test_lustre_port_open_to_the_vpc_is_flagged():
    def build(stack):
        group = lustre(stack)
        group.add_ingress_rule(ec2.Peer.ipv4("10.0.0.0/16"), ec2.Port.tcp(988), "too wide")

    findings = mls_findings(build)
    assert len(findings) == 1 and findings[0].startswith("MLS-FX1[SecurityGroup::LustreSg")


def test_lustre_port_range_open_to_another_group_is_flagged():
    def build(stack):
        group = lustre(stack)
        other = ec2.SecurityGroup(stack, "Clients", vpc=group.node.scope.node.find_child("Vpc"))
        group.add_ingress_rule(other, ec2.Port.tcp_range(1000, 1020), "clients")

    assert [f.split("[")[0] for f in mls_findings(build)] == ["MLS-FX1"]


def test_non_lustre_ports_from_elsewhere_are_fine():
    def build(stack):
        group = lustre(stack)
        group.add_ingress_rule(ec2.Peer.ipv4("10.0.0.0/16"), ec2.Port.tcp(443), "https")

    assert mls_findings(build) == []


def test_persistent_lustre_needs_a_customer_managed_key():
    assert mls_findings(lambda stack: lustre(stack, deployment_type="PERSISTENT_2")) == ["MLS-FX2"]
    assert mls_findings(
        lambda stack: lustre(stack, deployment_type="PERSISTENT_1", kms_key_id="alias/aws/fsx")
    ) == ["MLS-FX2"]

    def with_key(stack):
        lustre(stack, deployment_type="PERSISTENT_2", kms_key_id=kms.Key(stack, "K").key_id)

    assert mls_findings(with_key) == []


def test_token_deployment_type_does_not_crash():
    def build(stack):
        kind = cdk.CfnParameter(stack, "Kind", default="SCRATCH_2")
        lustre(stack, deployment_type=kind.value_as_string)

    assert mls_findings(build) == []
