"""The FSx deriver: the linked bucket's key must let FSx's service-linked role use it."""

from __future__ import annotations

import pytest

from ml_refarch.permissions.run import evaluate
from ml_refarch.permissions.scenarios import Call, Scenario, ScenarioError
from tests.permissions.sagemaker_templates import encrypted_bucket, key, s3_uri

SLR = (
    "arn:aws:iam::111122223333:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/"
    "AWSServiceRoleForFSxS3Access_*"
)
FSX_STATEMENT = {
    "Sid": "Fsx",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": "*",
    "Condition": {
        "ArnLike": {"aws:PrincipalArn": SLR},
        "StringEquals": {"kms:CallerAccount": {"Ref": "AWS::AccountId"}},
    },
}


def linked(*, allow_fsx: bool, export: bool = False) -> dict:
    data_key = key()
    if allow_fsx:
        data_key["Properties"]["KeyPolicy"]["Statement"].append(FSX_STATEMENT)
    association: dict = {
        "FileSystemId": {"Ref": "Lustre"},
        "DataRepositoryPath": s3_uri("data/"),
        "FileSystemPath": "/data",
        "S3": {"AutoImportPolicy": {"Events": ["NEW"]}},
    }
    if export:
        association["S3"]["AutoExportPolicy"] = {"Events": ["NEW"]}
    return {
        "Resources": {
            "Key": data_key,
            "Data": encrypted_bucket(),
            "Lustre": {"Type": "AWS::FSx::FileSystem", "Properties": {"FileSystemType": "LUSTRE"}},
            "Association": {
                "Type": "AWS::FSx::DataRepositoryAssociation",
                "Properties": association,
            },
        }
    }


def test_a_key_policy_without_the_fsx_role_blocks_the_import():
    result = evaluate("stack", linked(allow_fsx=False))
    assert [(f.call.action, f.decision.outcome) for f in result.failures] == [
        ("kms:Decrypt", "ImplicitDeny")
    ]
    # The role FSx creates for this file system: its id follows the role's name.
    assert "/AWSServiceRoleForFSxS3Access_fs-" in result.failures[0].principal


def test_a_key_policy_that_names_the_fsx_role_allows_import_and_export():
    result = evaluate("stack", linked(allow_fsx=True, export=True))
    assert result.ok, [failure.describe() for failure in result.failures]
    assert {r.call.action for r in result.results} == {"kms:Decrypt", "kms:GenerateDataKey"}


def test_only_an_exporting_association_writes():
    actions = {r.call.action for r in evaluate("stack", linked(allow_fsx=True)).results}
    assert actions == {"kms:Decrypt"}


def test_a_malformed_role_arn_principal_is_a_clear_error():
    scenario = Scenario("x", "arn:aws:s3:::bucket", (Call("kms:Decrypt", "*"),), "https://x")
    with pytest.raises(ScenarioError, match="malformed role ARN"):
        evaluate("stack", linked(allow_fsx=True), [scenario])
