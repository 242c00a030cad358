"""fsx-training: Lustre linked to the training bucket, locked to its own security group."""

from __future__ import annotations

import json
import re

import pytest

from ml_refarch.cfn import literal_text
from ml_refarch.constructs.images import framework_image_uri, image_uris_by_region
from ml_refarch.stacks.fsx_training.outputs import Outputs
from tests.support import only_resource, resources_of_type

STACK = "MlRefArch-FsxTraining"
LUSTRE_PORTS = {(988, 988), (1018, 1023)}


@pytest.fixture(scope="module")
def sandbox(synthesized):
    return synthesized("sandbox").templates[STACK]


@pytest.fixture(scope="module")
def production(synthesized):
    return synthesized("production").templates[STACK]


def lustre(template: dict) -> dict:
    return only_resource(template, "AWS::FSx::FileSystem")["Properties"]


def test_sandbox_uses_scratch_2_without_a_customer_key(sandbox):
    properties = lustre(sandbox)
    assert properties["FileSystemType"] == "LUSTRE"
    assert properties["LustreConfiguration"]["DeploymentType"] == "SCRATCH_2"
    assert "PerUnitStorageThroughput" not in properties["LustreConfiguration"]
    assert "KmsKeyId" not in properties
    assert properties["StorageCapacity"] == 1200


def test_production_uses_persistent_2_with_the_stacks_key_and_throughput(production):
    properties = lustre(production)
    assert properties["LustreConfiguration"]["DeploymentType"] == "PERSISTENT_2"
    assert properties["LustreConfiguration"]["PerUnitStorageThroughput"] == 125
    (key_id,) = resources_of_type(production, "AWS::KMS::Key")
    assert properties["KmsKeyId"] == {"Ref": key_id}
    assert only_resource(production, "AWS::FSx::FileSystem")["DeletionPolicy"] == "Retain"


def test_file_system_is_linked_to_the_data_prefix_with_automatic_import(sandbox):
    association = only_resource(sandbox, "AWS::FSx::DataRepositoryAssociation")["Properties"]
    assert association["FileSystemPath"] == "/data"
    assert literal_text(association["DataRepositoryPath"]) == "s3://*/data/"
    (bucket_id,) = resources_of_type(sandbox, "AWS::S3::Bucket")
    assert bucket_id in json.dumps(association["DataRepositoryPath"])
    assert association["BatchImportMetaDataOnCreate"] is True
    assert association["S3"]["AutoImportPolicy"]["Events"] == ["NEW", "CHANGED", "DELETED"]


def test_lustre_ports_are_open_only_within_the_file_systems_group(sandbox):
    (group,) = lustre(sandbox)["SecurityGroupIds"]
    rules = [
        r["Properties"]
        for r in resources_of_type(sandbox, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == group
    ]
    assert {(r["FromPort"], r["ToPort"]) for r in rules} == LUSTRE_PORTS
    assert all(r["SourceSecurityGroupId"] == group for r in rules)
    group_id = group["Fn::GetAtt"][0]
    inline = resources_of_type(sandbox, "AWS::EC2::SecurityGroup")[group_id]["Properties"]
    assert "SecurityGroupIngress" not in inline


def test_file_system_sits_in_an_isolated_subnet_without_interface_endpoints(sandbox):
    (subnet,) = lustre(sandbox)["SubnetIds"]
    assert "isolated" in subnet["Ref"]
    endpoints = resources_of_type(sandbox, "AWS::EC2::VPCEndpoint").values()
    assert [e["Properties"].get("VpcEndpointType", "Gateway") for e in endpoints] == ["Gateway"]
    assert sandbox["Outputs"][Outputs.SUBNET_IDS]["Value"] == subnet


def test_training_role_is_scoped_to_the_bucket_key_and_file_system(sandbox):
    (policy,) = [
        p["Properties"]
        for logical_id, p in resources_of_type(sandbox, "AWS::IAM::ManagedPolicy").items()
        if "TrainingRole" in logical_id
    ]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    (bucket_id,) = resources_of_type(sandbox, "AWS::S3::Bucket")
    assert bucket_id in json.dumps(statements["DataBucket"]["Resource"])
    (key_id,) = resources_of_type(sandbox, "AWS::KMS::Key")
    assert statements["DataKey"]["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (fs_id,) = resources_of_type(sandbox, "AWS::FSx::FileSystem")
    assert fs_id in json.dumps(statements["LustreFileSystem"]["Resource"])
    assert statements["LustreFileSystem"]["Action"] == "fsx:DescribeFileSystems"
    (role,) = [
        r["Properties"]
        for logical_id, r in resources_of_type(sandbox, "AWS::IAM::Role").items()
        if logical_id.startswith("TrainingRole")
    ]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }


def test_key_admits_only_this_accounts_fsx_data_repository_role(sandbox):
    key = only_resource(sandbox, "AWS::KMS::Key")
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowFsxDataRepositoryRole"
    ]
    assert statement["Principal"] == {"AWS": "*"}
    assert literal_text(statement["Condition"]["ArnLike"]["aws:PrincipalArn"]).endswith(
        ":role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/"
        "AWSServiceRoleForFSxS3Access_*"
    )
    assert statement["Condition"]["StringEquals"] == {
        "kms:CallerAccount": {"Ref": "AWS::AccountId"}
    }


def test_outputs_give_the_train_command_everything_it_reads(sandbox):
    assert set(sandbox["Outputs"]) >= {
        Outputs.FILE_SYSTEM_ID,
        Outputs.MOUNT_NAME,
        Outputs.DIRECTORY_PATH,
        Outputs.SUBNET_IDS,
        Outputs.SECURITY_GROUP_ID,
        Outputs.TRAINING_ROLE_ARN,
        Outputs.BUCKET_NAME,
        Outputs.CHECKPOINT_URI,
        Outputs.OUTPUT_URI,
        Outputs.KEY_ARN,
        Outputs.IMAGE_URI,
    }
    directory = sandbox["Outputs"][Outputs.DIRECTORY_PATH]["Value"]
    assert literal_text(directory) == "/*/data"


def test_image_uri_maps_every_region_the_sdk_knows(sandbox):
    image = sandbox["Outputs"][Outputs.IMAGE_URI]["Value"]
    (mapping_id, region, attribute) = image["Fn::FindInMap"]
    assert region == {"Ref": "AWS::Region"} and attribute == "uri"
    mapping = sandbox["Mappings"][mapping_id]
    uris = image_uris_by_region("sklearn", "1.2-1", "training")
    assert {r: v["uri"] for r, v in mapping.items()} == uris
    assert len(uris) > 20
    assert mapping["us-east-1"]["uri"].endswith("sagemaker-scikit-learn:1.2-1-cpu-py3")


def test_a_stack_pinned_to_a_region_gets_the_literal_image_and_unknown_regions_fail():
    import aws_cdk as cdk

    stack = cdk.Stack(cdk.App(), "Pinned", env=cdk.Environment(region="eu-west-1"))
    assert (
        framework_image_uri(stack)
        == image_uris_by_region("sklearn", "1.2-1", "training")["eu-west-1"]
    )
    nowhere = cdk.Stack(cdk.App(), "Nowhere", env=cdk.Environment(region="xx-nowhere-1"))
    with pytest.raises(
        ValueError, match=re.escape("no sklearn 1.2-1 training image in xx-nowhere-1")
    ):
        framework_image_uri(nowhere)


def test_the_committed_image_table_matches_the_sagemaker_sdk():
    import json as json_module

    from ml_refarch.constructs.images import IMAGES_FILE, sdk_table

    committed = json_module.loads(IMAGES_FILE.read_text())
    assert committed == sdk_table(), "stale image table: run scripts/update_images.py"
