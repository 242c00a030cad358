"""SageMaker Feature Store feature groups: what Feature Store does with the group's role.

With an offline store, Feature Store buffers the records written with ``PutRecord`` and
writes them as Parquet under the store's S3 URI, at
``<S3Uri>/<account>/sagemaker/<region>/offline-store/<group>-<time>/data/``, within 15
minutes; for the Iceberg format it keeps the table's metadata under ``metadata/`` there
("Amazon SageMaker Feature Store offline store data format",
https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-offline.html). It does so as
the group's ``RoleArn``, whose permissions are those of the AWS managed policy
AmazonSageMakerFeatureStoreAccess: write objects and their ACLs, read the bucket's ACL, read
the metadata, and read and update the Glue table in ``sagemaker_featurestore``
(https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSageMakerFeatureStoreAccess.html).
Objects written with the store's ``KmsKeyId`` are encrypted through S3 with that key (see
:mod:`.storage`).
"""

from __future__ import annotations

from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.derived.storage import location, read_calls, write_calls
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT, REGION

OFFLINE_STORE = "https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-offline.html"
STORE_ACCESS = (
    "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/"
    "AmazonSageMakerFeatureStoreAccess.html"
)
DATABASE = "sagemaker_featurestore"


@derives("AWS::SageMaker::FeatureGroup")
def offline_store(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("RoleArn"))
    place = location(resource, resource.get("OfflineStoreConfig.S3StorageConfig.S3Uri"))
    if role is None or place is None:
        return []
    name = resource.properties.get("FeatureGroupName")
    name = name if isinstance(name, str) else resource.logical_id.lower()
    folder = f"{ACCOUNT}/sagemaker/{REGION}/offline-store/{name}-1700000000"
    data = place.object_arn(f"{folder}/data/part-0.parquet")
    metadata = place.object_arn(f"{folder}/metadata/v1.metadata.json")
    key = resource.get("OfflineStoreConfig.S3StorageConfig.KmsKeyId")
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    table = f"{name.replace('-', '_')}_1700000000"
    calls = [
        *write_calls(resource, place, data, key),
        Call("s3:PutObjectAcl", data),
        Call("s3:GetBucketAcl", place.bucket_arn),
        *read_calls(resource, place, metadata),
    ]
    glue_calls = [
        Call(action, target)
        for action in ("glue:GetTable", "glue:UpdateTable")
        for target in (
            f"{glue}:catalog",
            f"{glue}:database/{DATABASE}",
            f"{glue}:table/{DATABASE}/{table}",
        )
    ]
    return [
        resource.scenario(
            "Feature Store writes records to the offline store",
            role,
            OFFLINE_STORE,
            calls,
            on_behalf_of="SageMaker Feature Store, for the feature group",
        ),
        resource.scenario(
            "Feature Store updates the offline store's Glue table",
            role,
            STORE_ACCESS,
            glue_calls,
            on_behalf_of="SageMaker Feature Store, for the feature group",
        ),
    ]
