"""S3 objects a state machine reads and writes through the AWS SDK integration.

The SDK integration's IAM action is not always the API action: S3 authorizes an object
API by the object permission it needs ("Amazon S3 actions" and "Policy actions for Amazon
S3", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html).

- ``putObject``: ``s3:PutObject`` on ``<bucket>/<key>``
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html);
- ``getObject``: ``s3:GetObject`` (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html);
- ``copyObject``: "you must have read access to the source object and write access to the
  destination bucket": ``s3:GetObject`` on ``CopySource`` and ``s3:PutObject`` on the
  destination (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).

With SSE-KMS (``SSEKMSKeyId``, or the bucket's default key) a write needs
``kms:GenerateDataKey`` on the key and a read ``kms:Decrypt`` (:mod:`.storage`). A key set
at run time with ``States.Format('prefix/{}', ...)`` stands for ``prefix/run``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ml_refarch.permissions.derive import Resource
from ml_refarch.permissions.derived import storage
from ml_refarch.permissions.scenarios import Call

S3_ACTIONS = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html"
)
OBJECT_ACTIONS = ("putObject", "getObject", "copyObject")
_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}")
_FORMAT = re.compile(r"States\.Format\('([^']*)'")


def _key(request: Mapping[str, Any], name: str) -> str:
    literal = request.get(name)
    if isinstance(literal, str):
        return literal
    dynamic = request.get(f"{name}.$")
    match = _FORMAT.search(dynamic) if isinstance(dynamic, str) else None
    return match.group(1).replace("{}", "run") if match else "run"


def _place(resource: Resource, bucket: Any, key: str) -> storage.S3Location | None:
    if not isinstance(bucket, str):
        return None
    named = _REFERENCE.fullmatch(bucket)
    bucket_id = named.group(1) if named else None
    if bucket_id not in resource.of_type("AWS::S3::Bucket"):
        bucket_id = None
    return storage.S3Location(f"s3://{bucket}/{key}", bucket_id)


def _asked_key(resource: Resource, request: Mapping[str, Any]) -> Any:
    """The template's key ``SSEKMSKeyId`` names, as a ``Ref`` the storage helpers read."""
    named = _REFERENCE.fullmatch(str(request.get("SSEKMSKeyId") or ""))
    if named and named.group(1) in resource.of_type("AWS::KMS::Key"):
        return {"Ref": named.group(1)}
    return None


def object_calls(resource: Resource, action: str, request: Mapping[str, Any]) -> list[Call]:
    """The calls of one S3 object task; ``*`` where the bucket is set at run time."""
    destination = _place(resource, request.get("Bucket"), _key(request, "Key"))
    if destination is None:
        verb = "GetObject" if action == "getObject" else "PutObject"
        return [Call(f"s3:{verb}", "*")]
    if action == "getObject":
        return storage.read_calls(resource, destination, destination.object_arn())
    calls = []
    if action == "copyObject":
        bucket, _, key = _key(request, "CopySource").partition("/")
        source = _place(resource, bucket, key)
        if source is None:
            calls.append(Call("s3:GetObject", "*"))
        else:
            calls += storage.read_calls(resource, source, source.object_arn())
    calls += storage.write_calls(
        resource, destination, destination.object_arn(), _asked_key(resource, request)
    )
    return calls
