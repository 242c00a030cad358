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
at run time with ``States.Format('prefix/{}', ...)`` stands for ``prefix/run``; any other
key set at run time stands for the first object pattern in that bucket on which the
caller's role is given the action, with ``*`` read as ``run`` (else ``run``).

Textract's asynchronous ``Start*`` actions read the document in ``DocumentLocation.S3Object``
(``Bucket``, ``Name``) with the caller's permissions: "if you are using an Amazon S3 bucket
to pass documents, you will need to grant your account read access" ("How Amazon Textract
Works with IAM", :data:`TEXTRACT_IAM`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource
from ml_refarch.permissions.derived import storage
from ml_refarch.permissions.derived.definitions import render_text
from ml_refarch.permissions.scenarios import Call

S3_ACTIONS = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html"
)
OBJECT_ACTIONS = ("putObject", "getObject", "copyObject")
TEXTRACT_IAM = "https://docs.aws.amazon.com/textract/latest/dg/security_iam_service-with-iam.html"
#: Textract's asynchronous starts that take a ``DocumentLocation``.
TEXTRACT_STARTS = (
    "startDocumentAnalysis",
    "startDocumentTextDetection",
    "startExpenseAnalysis",
    "startLendingAnalysis",
)
_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}")
_FORMAT = re.compile(r"States\.Format\('([^']*)'")


def _key(request: Mapping[str, Any], name: str, granted: Sequence[str] = ()) -> str:
    """The object key ``name`` of ``request``; set at run time, a representative one
    (``granted``: the object keys the template's policies name in its bucket)."""
    literal = request.get(name)
    if isinstance(literal, str):
        return literal
    dynamic = request.get(f"{name}.$")
    match = _FORMAT.search(dynamic) if isinstance(dynamic, str) else None
    if match:
        return match.group(1).replace("{}", "run")
    return granted[0].replace("*", "run") if granted else "run"


def _role_statements(resource: Resource) -> list[Any]:
    """The statements of the identity policies of the role ``resource`` runs as."""
    role = resource.role_of(resource.properties.get("RoleArn"))
    documents = []
    for logical_id, found in cfn.resources(resource.template).items():
        properties = cfn.properties_of(found)
        if found.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if {"Ref": role} in cfn.as_list(properties.get("Roles")):
                documents.append(properties.get("PolicyDocument"))
        elif logical_id == role:
            documents += [
                cfn.field(p, "PolicyDocument") for p in cfn.as_list(properties.get("Policies"))
            ]
    return [s for d in documents for s in cfn.as_list(cfn.field(d, "Statement"))]


def _granted_keys(resource: Resource, bucket: Any, action: str) -> list[str]:
    """The object keys (patterns) in ``bucket`` on which the role ``resource`` runs as is
    given ``action``."""
    named = _REFERENCE.fullmatch(bucket) if isinstance(bucket, str) else None
    if named is None:
        return []
    prefix = "${" + named.group(1) + ".Arn}/"
    texts = (
        render_text(entry)
        for statement in _role_statements(resource)
        if action in cfn.as_list(cfn.field(statement, "Action"))
        for entry in cfn.as_list(cfn.field(statement, "Resource"))
    )
    return [text.removeprefix(prefix) for text in texts if text and text.startswith(prefix)]


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


def document_calls(resource: Resource, request: Mapping[str, Any]) -> list[Call]:
    """What a Textract ``Start*`` task reads with the caller's permissions: the document
    (``s3:GetObject``, and ``kms:Decrypt`` in a bucket encrypted with a key of the
    template); ``*`` where the bucket is set at run time."""
    location = request.get("DocumentLocation")
    found = location.get("S3Object") if isinstance(location, Mapping) else None
    if not isinstance(found, Mapping):
        return []
    bucket = found.get("Bucket")
    place = _place(
        resource, bucket, _key(found, "Name", _granted_keys(resource, bucket, "s3:GetObject"))
    )
    if place is None:
        return [Call("s3:GetObject", "*")]
    return storage.read_calls(resource, place, place.object_arn())
