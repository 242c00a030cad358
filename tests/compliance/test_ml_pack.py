"""How the MLSpecialty pack reads a stack: every resource at once, nested stacks apart."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from ml_refarch.compliance.ml_pack import _stack_resources


def _app() -> tuple[cdk.Stack, cdk.NestedStack]:
    stack = cdk.Stack(cdk.App(), "Parent")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    s3.CfnBucket(
        stack,
        "Bucket",
        bucket_name="a-bucket",
        bucket_encryption=s3.CfnBucket.BucketEncryptionProperty(
            server_side_encryption_configuration=[
                s3.CfnBucket.ServerSideEncryptionRuleProperty(
                    server_side_encryption_by_default=s3.CfnBucket.ServerSideEncryptionByDefaultProperty(
                        sse_algorithm="aws:kms", kms_master_key_id=key.key_arn
                    )
                )
            ]
        ),
    )
    nested = cdk.NestedStack(stack, "Nested")
    s3.CfnBucket(nested, "InnerBucket")
    return stack, nested


def test_a_stack_is_read_with_resolved_properties_and_without_its_nested_stacks():
    stack, nested = _app()
    resources = {r.logical_id: r for r in _stack_resources(stack).values()}
    bucket_id = stack.resolve(stack.node.find_child("Bucket").logical_id)
    key_id = stack.resolve(stack.node.find_child("Key").node.default_child.logical_id)
    assert bucket_id in resources and key_id in resources
    assert not any(r.type == "AWS::S3::Bucket" and "Inner" in r.path for r in resources.values())
    bucket = resources[bucket_id]
    assert bucket.type == "AWS::S3::Bucket" and bucket.path == "Parent/Bucket"
    assert bucket.get("bucketname") == "a-bucket"
    assert bucket.references(resources[key_id])  # the key's ARN, resolved to a GetAtt
    assert set(bucket.stack) == set(resources)  # its neighbours: the whole stack

    inner = list(_stack_resources(nested).values())
    assert [r.path for r in inner if r.type == "AWS::S3::Bucket"] == ["Parent/Nested/InnerBucket"]
