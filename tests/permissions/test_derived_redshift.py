"""Derivers for Redshift Serverless namespaces and the Data API custom resource: each finds
what a small template lacks, and passes once the template grants it."""

from __future__ import annotations

from typing import Any

from ml_refarch.permissions.derive import derived_scenarios
from ml_refarch.permissions.derived.redshift import (
    BUCKET_LISTING,
    BUCKET_OBJECTS,
    KEY_USE,
    LIST_STREAMS,
    READ_STREAM,
    TRAINING_LOGS,
    TRAINING_SUPPORT,
)
from tests.permissions.test_workflow_derivers import failures, key, policy

KEY_ARN = {"Fn::GetAtt": ["Key", "Arn"]}
STREAM_ARN = {"Fn::GetAtt": ["Stream", "Arn"]}
BUCKET_ARN = {"Fn::GetAtt": ["Models", "Arn"]}
ROLE_ARN = {"Fn::GetAtt": ["RedshiftRole", "Arn"]}

STREAMING = [
    {"Action": list(READ_STREAM), "Resource": STREAM_ARN},
    {"Action": list(LIST_STREAMS), "Resource": "*"},
    {"Action": ["kms:Decrypt"], "Resource": KEY_ARN},
]
MODEL = [
    {"Action": [*TRAINING_SUPPORT, *TRAINING_LOGS, "sagemaker:*Job*"], "Resource": "*"},
    {
        "Action": "iam:PassRole",
        "Resource": ROLE_ARN,
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    },
    {"Action": list(BUCKET_OBJECTS), "Resource": {"Fn::Join": ["", [BUCKET_ARN, "/*"]]}},
    {"Action": list(BUCKET_LISTING), "Resource": BUCKET_ARN},
    {"Action": list(KEY_USE), "Resource": KEY_ARN},
]
SECRETS = "arn:aws:secretsmanager:us-east-1:111122223333:secret:redshift!{}-*"
RUNNER = [
    {
        "Action": "redshift-serverless:GetNamespace",
        "Resource": {"Fn::GetAtt": ["Namespace", "Namespace.NamespaceArn"]},
    },
    {
        "Action": "redshift-data:ExecuteStatement",
        "Resource": {"Fn::GetAtt": ["Workgroup", "Workgroup.WorkgroupArn"]},
    },
    {"Action": "redshift-data:DescribeStatement", "Resource": "*"},
    {"Action": "secretsmanager:GetSecretValue", "Resource": SECRETS.format("ns")},
    {"Action": "kms:Decrypt", "Resource": KEY_ARN},
]
LOGS = {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}


def trusted_role(*services: str) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": list(services)},
                    }
                ]
            }
        },
    }


def template(
    role_statements=(),
    runner_statements=(),
    services=("redshift.amazonaws.com", "sagemaker.amazonaws.com"),
) -> dict[str, Any]:
    resources = {
        "Key": key(),
        "Stream": {
            "Type": "AWS::Kinesis::Stream",
            "Properties": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": KEY_ARN}},
        },
        "Models": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": KEY_ARN,
                            }
                        }
                    ]
                }
            },
        },
        "RedshiftRole": trusted_role(*services),
        # The bucket is the model bucket because the role's policy names it.
        "RedshiftPolicy": policy(
            "RedshiftRole", *role_statements, {"Action": "s3:GetObject", "Resource": BUCKET_ARN}
        ),
        "Namespace": {
            "Type": "AWS::RedshiftServerless::Namespace",
            "Properties": {
                "NamespaceName": "ns",
                "IamRoles": [ROLE_ARN],
                "DefaultIamRoleArn": ROLE_ARN,
                "AdminPasswordSecretKmsKeyId": KEY_ARN,
            },
        },
        "Workgroup": {
            "Type": "AWS::RedshiftServerless::Workgroup",
            "Properties": {"WorkgroupName": "wg", "NamespaceName": {"Ref": "Namespace"}},
        },
        "HandlerRole": trusted_role("lambda.amazonaws.com"),
        "HandlerPolicy": policy("HandlerRole", LOGS, *runner_statements),
        "Handler": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]}},
        },
        "Sql": {
            "Type": "Custom::RedshiftSql",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
                "NamespaceName": {"Ref": "Namespace"},
                "WorkgroupName": {"Ref": "Workgroup"},
            },
        },
    }
    return {"Resources": resources}


def names(found) -> list[str]:
    return sorted(s.name for s in found)


def test_a_role_redshift_and_sagemaker_trust_reads_the_stream_and_trains():
    scenarios = derived_scenarios(template())
    assert {
        "Namespace: Redshift reads the stream of a streaming-ingestion view",
        "Namespace: CREATE MODEL unloads training data and SageMaker trains the model",
        "Sql: the function runs the stack's SQL through the Data API as the admin user",
    } <= set(names(scenarios))
    streaming = next(s for s in scenarios if "reads the stream" in s.name)
    actions = {c.action for c in streaming.calls}
    assert set(READ_STREAM) | set(LIST_STREAMS) | {"kms:Decrypt"} == actions


def test_a_role_only_redshift_trusts_gets_no_model_scenario():
    scenarios = derived_scenarios(template(services=("redshift.amazonaws.com",)))
    assert not [s for s in scenarios if "CREATE MODEL" in s.name]
    assert [s for s in scenarios if "reads the stream" in s.name]


def test_a_role_only_redshift_serverless_trusts_reads_the_stream():
    scenarios = derived_scenarios(template(services=("redshift-serverless.amazonaws.com",)))
    assert [s for s in scenarios if "reads the stream" in s.name]


def test_a_role_redshift_does_not_trust_gets_no_scenario():
    scenarios = derived_scenarios(template(services=("sagemaker.amazonaws.com",)))
    assert not [s for s in scenarios if s.name.startswith("Namespace:")]


def test_the_missing_grants_are_found_and_pass_once_granted():
    missing = failures(template())
    assert any("RedshiftRole kinesis:GetRecords" in f for f in missing)
    assert any("RedshiftRole sagemaker:CreateTrainingJob" in f for f in missing)
    assert any("RedshiftRole iam:PassRole" in f for f in missing)
    assert any("HandlerRole redshift-data:ExecuteStatement" in f for f in missing)
    assert any("HandlerRole secretsmanager:GetSecretValue" in f for f in missing)
    assert failures(template([*STREAMING, *MODEL], RUNNER)) == []


def test_a_secret_grant_for_another_namespace_is_not_enough():
    other = [{**s} for s in RUNNER]
    other[3]["Resource"] = SECRETS.format("other")
    assert failures(template([*STREAMING, *MODEL], other)) == [
        "HandlerRole secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:"
        "111122223333:secret:redshift!ns-admin-AbCdEf"
    ]


def test_the_example_secret_is_named_after_the_namespace_and_its_admin_user():
    named = template()
    named["Resources"]["Namespace"]["Properties"]["AdminUsername"] = "dba"
    (runner,) = [s for s in derived_scenarios(named) if s.name.startswith("Sql:")]
    (read,) = [c for c in runner.calls if c.action == "secretsmanager:GetSecretValue"]
    assert read.resource.endswith(":secret:redshift!ns-dba-AbCdEf")
