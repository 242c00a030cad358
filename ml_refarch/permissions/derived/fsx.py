"""FSx for Lustre linked to S3: what its service-linked role does with the bucket's key.

FSx imports from and exports to a linked S3 bucket with the service-linked role
``AWSServiceRoleForFSxS3Access_<file system id>`` ("Using service-linked roles for Amazon
FSx", :data:`FSX_SLR`). That role is not the template's and its policy is AWS managed, so
for a bucket encrypted with a customer managed key only the key policy can let it use the
key, through S3: "Working with server-side encrypted Amazon S3 buckets" (FSx for Lustre
User Guide, :data:`FSX_SSE_KMS`) gives the key policy statement, with ``kms:ViaService`` S3
and the bucket (S3 Bucket Key) or object ARN as encryption context.

What is asked for: ``kms:Decrypt`` to import (a data repository association, or a file
system's ``ImportPath``, always reads the linked prefix), ``kms:GenerateDataKey`` to export
(an association with ``S3.AutoExportPolicy``, or a file system's ``ExportPath``).
"""

from __future__ import annotations

from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.derived import storage
from ml_refarch.permissions.scenarios import Scenario
from ml_refarch.permissions.values import ACCOUNT

FSX_SLR = "https://docs.aws.amazon.com/fsx/latest/LustreGuide/using-service-linked-roles.html"
FSX_SSE_KMS = (
    "https://docs.aws.amazon.com/fsx/latest/LustreGuide/s3-server-side-encryption-support.html"
)
_SLR_PATH = "aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/AWSServiceRoleForFSxS3Access"


def _scenarios(
    resource: Resource, file_system: str, repository: Any, *, exports: bool
) -> list[Scenario]:
    place = storage.location(resource, repository)
    if place is None:
        return []
    key, bucket_key = storage.default_key(resource, place.bucket)
    if key is None:
        return []
    object_arn = place.object_arn("train/part-0.csv")
    actions = ["kms:Decrypt", *(["kms:GenerateDataKey"] if exports else [])]
    role = f"arn:aws:iam::{ACCOUNT}:role/{_SLR_PATH}_" + "${" + file_system + "}"
    return [
        resource.scenario(
            "FSx imports from and exports to the linked bucket with its key"
            if exports
            else "FSx imports from the linked bucket with its key",
            role,
            FSX_SSE_KMS,
            storage.key_calls(key, actions, place, object_arn, bucket_key=bucket_key),
            on_behalf_of="FSx for Lustre, through its service-linked role",
        )
    ]


@derives("AWS::FSx::DataRepositoryAssociation")
def data_repository_key(resource: Resource) -> list[Scenario]:
    file_system = resource.resource_of(
        resource.properties.get("FileSystemId"), "AWS::FSx::FileSystem"
    )
    if file_system is None:
        return []
    exports = cfn.present(cfn.get(resource.properties, "S3.AutoExportPolicy"))
    return _scenarios(
        resource, file_system, resource.properties.get("DataRepositoryPath"), exports=exports
    )


@derives("AWS::FSx::FileSystem")
def linked_bucket_key(resource: Resource) -> list[Scenario]:
    lustre = cfn.raw(resource.properties.get("LustreConfiguration")) or {}
    path = lustre.get("ImportPath") if isinstance(lustre, dict) else None
    if path is None:
        return []
    return _scenarios(resource, resource.logical_id, path, exports="ExportPath" in lustre)
