"""S3 objects a service reads or writes with a role, and the KMS calls that come with them.

No deriver here: the SageMaker derivers use these to say which object a call touches and
which key S3 uses for it.

- Reading an object encrypted with a KMS key (SSE-KMS) needs ``kms:Decrypt`` on the key,
  writing one ``kms:GenerateDataKey``, both allowed to the caller, whose request S3 makes to
  KMS on its behalf: "Using server-side encryption with AWS KMS keys (SSE-KMS)" (S3 User
  Guide, https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
- S3 names the object's ARN in the encryption context, or the bucket's ARN when the bucket
  uses an S3 Bucket Key: "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource
from ml_refarch.permissions.scenarios import Call
from ml_refarch.permissions.values import REGION

S3_KMS = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"


@dataclass(frozen=True)
class S3Location:
    """An ``s3://`` URI of the template, as scenario text (``${...}`` placeholders)."""

    uri: str
    #: The logical id of the template's bucket it lies in, if any.
    bucket: str | None

    @property
    def bucket_arn(self) -> str:
        return "arn:aws:s3:::" + self.uri.removeprefix("s3://").split("/", 1)[0]

    def object_arn(self, below: str = "") -> str:
        """The ARN of the object at the URI, or of ``below`` under it (a prefix)."""
        path = self.uri.removeprefix("s3://")
        if below:
            path = path.rstrip("/") + "/" + below
        return "arn:aws:s3:::" + path


def location(resource: Resource, value: Any) -> S3Location | None:
    """The ``s3://`` URI ``value`` stands for, or ``None`` (an https URL, an intrinsic that
    cannot be read as text)."""
    text = resource.text(value)
    if text is None or not text.startswith("s3://"):
        return None
    return S3Location(text, resource.resource_of(value, "AWS::S3::Bucket"))


def default_key(resource: Resource, bucket: str | None) -> tuple[str | None, bool]:
    """The template's key that ``bucket`` encrypts new objects with by default (or
    ``None``), and whether the bucket uses an S3 Bucket Key."""
    if bucket is None:
        return None, False
    rules = cfn.get(
        resource.properties_of(bucket), "BucketEncryption.ServerSideEncryptionConfiguration"
    )
    for rule in cfn.as_list(cfn.raw(rules)):
        by_default = cfn.raw(cfn.get(rule, "ServerSideEncryptionByDefault")) or {}
        key = resource.resource_of(by_default.get("KMSMasterKeyID"), "AWS::KMS::Key")
        if key is not None:
            return key, bool(cfn.truthy(cfn.raw(cfn.get(rule, "BucketKeyEnabled"))))
    return None, False


def key_calls(
    key: str | None,
    actions: Iterable[str],
    place: S3Location,
    object_arn: str,
    *,
    bucket_key: bool = False,
) -> list[Call]:
    """The calls S3 makes to ``key`` (a logical id) for the caller, or none without a key."""
    if key is None:
        return []
    context = {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": place.bucket_arn if bucket_key else object_arn,
    }
    return [Call(action, "${" + key + ".Arn}", context) for action in actions]


def read_calls(resource: Resource, place: S3Location, object_arn: str) -> list[Call]:
    """Read one object: ``s3:GetObject`` and, in a bucket encrypted with a key of the
    template, ``kms:Decrypt``."""
    key, bucket_key = default_key(resource, place.bucket)
    return [
        Call("s3:GetObject", object_arn),
        *key_calls(key, ["kms:Decrypt"], place, object_arn, bucket_key=bucket_key),
    ]


def write_calls(
    resource: Resource, place: S3Location, object_arn: str, key_value: Any = None
) -> list[Call]:
    """Write one object: ``s3:PutObject`` and ``kms:GenerateDataKey`` on the key asked for
    (``key_value``, a reference to a key of the template) or else the bucket's default
    key."""
    key, bucket_key = default_key(resource, place.bucket)
    asked = resource.resource_of(key_value, "AWS::KMS::Key") if key_value else None
    # A bucket's S3 Bucket Key setting applies to every SSE-KMS object put in it.
    key = asked or key
    return [
        Call("s3:PutObject", object_arn),
        *key_calls(key, ["kms:GenerateDataKey"], place, object_arn, bucket_key=bucket_key),
    ]
