"""Athena queries a state machine starts: what its role calls, and where results go.

The optimized integration ``athena:startQueryExecution`` calls ``StartQueryExecution`` and,
with ``.sync``, ``GetQueryExecution`` and ``StopQueryExecution`` on the workgroup, reads the
data catalog (``GetDataCatalog``) and writes the results to the output location with the
caller's permissions: "IAM policies for Amazon Athena"
(https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html). With a workgroup that
encrypts results with a KMS key (``SSE_KMS``), the results are written through S3 with that
key (see :mod:`.storage`). What the query itself reads (Glue tables, their S3 data) depends
on its text, which is often built at run time: the pattern's scenarios.toml says it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource
from ml_refarch.permissions.derived.storage import location, write_calls
from ml_refarch.permissions.scenarios import Call

SFN_ATHENA = "https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html"
_ATHENA = "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}"


def _workgroup(resource: Resource, request: Mapping[str, Any]) -> tuple[str, str | None]:
    """(the workgroup's name as text, its logical id when it is the template's)."""
    name = request.get("WorkGroup")
    name = name if isinstance(name, str) else "primary"
    for logical_id in resource.of_type("AWS::Athena::WorkGroup"):
        if name == "${" + logical_id + "}":
            return name, logical_id
    return name, None


def query_calls(
    resource: Resource, pattern: str | None, request: Mapping[str, Any]
) -> list[tuple[str, list[Call]]]:
    """(page, calls) of a ``startQueryExecution`` task."""
    name, workgroup = _workgroup(resource, request)
    arn = f"{_ATHENA}:workgroup/{name}"
    calls = [Call("athena:StartQueryExecution", arn)]
    if pattern == "sync":
        calls += [Call("athena:GetQueryExecution", arn), Call("athena:StopQueryExecution", arn)]
    calls.append(Call("athena:GetDataCatalog", f"{_ATHENA}:datacatalog/AwsDataCatalog"))
    found = [(SFN_ATHENA, calls)]
    if workgroup is None:
        return found
    results = cfn.raw(
        cfn.get(resource.properties_of(workgroup), "WorkGroupConfiguration.ResultConfiguration")
    )
    place = location(resource, cfn.get(results, "OutputLocation")) if results else None
    if place is not None:
        key = cfn.get(results, "EncryptionConfiguration.KmsKey")
        result = place.object_arn("run.csv")
        found.append(
            (
                SFN_ATHENA,
                [
                    Call("s3:GetBucketLocation", place.bucket_arn),
                    *write_calls(resource, place, result, key),
                ],
            )
        )
    return found
