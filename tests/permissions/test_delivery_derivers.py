"""Derivers for Firehose delivery streams and API Gateway: each finds what a small template
lacks, and passes once the template grants it."""

from __future__ import annotations

from typing import Any

from ml_refarch.permissions.derived.delivery import (
    APIGW_LOG_ACTIONS,
    GLUE_ACTIONS,
    KINESIS_ACTIONS,
    S3_ACTIONS,
)
from tests.permissions.test_workflow_derivers import PARTITION, failures, key, policy, role

STREAM_ARN = {"Fn::GetAtt": ["Stream", "Arn"]}
BUCKET_ARN = {"Fn::GetAtt": ["Parquet", "Arn"]}
KEY_ARN = {"Fn::GetAtt": ["Key", "Arn"]}


def glue(target: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", PARTITION, ":glue:*:*:", target]]}


DELIVERY = [
    {
        "Action": list(KINESIS_ACTIONS),
        "Resource": STREAM_ARN,
    },
    {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": KEY_ARN},
    {
        "Action": list(S3_ACTIONS),
        "Resource": [BUCKET_ARN, {"Fn::Join": ["", [BUCKET_ARN, "/*"]]}],
    },
    {
        "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
        "Resource": {"Fn::GetAtt": ["CsvToJson", "Arn"]},
    },
]
GLUE = {
    "Action": list(GLUE_ACTIONS),
    "Resource": [glue("catalog"), glue("database/db"), glue("table/db/events")],
}


def delivery_template(*statements: dict[str, Any]) -> dict[str, Any]:
    role_arn = {"Fn::GetAtt": ["DeliveryRole", "Arn"]}
    encrypted = {
        "ServerSideEncryptionConfiguration": [
            {
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": KEY_ARN,
                }
            }
        ]
    }
    return {
        "Resources": {
            "Key": key(),
            "Stream": {
                "Type": "AWS::Kinesis::Stream",
                "Properties": {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": KEY_ARN}},
            },
            "Parquet": {"Type": "AWS::S3::Bucket", "Properties": {"BucketEncryption": encrypted}},
            "CsvToJson": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "DeliveryRole": role("firehose.amazonaws.com"),
            "DeliveryPolicy": policy("DeliveryRole", *statements),
            "Delivery": {
                "Type": "AWS::KinesisFirehose::DeliveryStream",
                "Properties": {
                    "KinesisStreamSourceConfiguration": {
                        "KinesisStreamARN": STREAM_ARN,
                        "RoleARN": role_arn,
                    },
                    "ExtendedS3DestinationConfiguration": {
                        "BucketARN": BUCKET_ARN,
                        "RoleARN": role_arn,
                        "DataFormatConversionConfiguration": {
                            "Enabled": True,
                            "SchemaConfiguration": {
                                "DatabaseName": "db",
                                "TableName": "events",
                                "RoleARN": role_arn,
                            },
                        },
                        "ProcessingConfiguration": {
                            "Enabled": True,
                            "Processors": [
                                {
                                    "Type": "Lambda",
                                    "Parameters": [
                                        {
                                            "ParameterName": "LambdaArn",
                                            "ParameterValue": {"Fn::GetAtt": ["CsvToJson", "Arn"]},
                                        }
                                    ],
                                }
                            ],
                        },
                    },
                },
            },
        }
    }


def test_firehose_needs_the_glue_table_for_record_format_conversion():
    missing = [f for f in failures(delivery_template(*DELIVERY)) if f.startswith("DeliveryRole")]
    assert {f.split()[1] for f in missing} == set(GLUE_ACTIONS)
    assert any(f.endswith(":table/db/events") for f in missing)


def test_firehose_reads_the_stream_with_its_key_and_invokes_the_processor():
    without_key = [s for s in DELIVERY if "kms:Decrypt" not in s["Action"]]
    missing = failures(delivery_template(*without_key, GLUE))
    assert sorted({f.split()[1] for f in missing}) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_a_delivery_role_with_its_grants_passes():
    assert failures(delivery_template(*DELIVERY, GLUE)) == []


# --- API Gateway ---------------------------------------------------------------------------


def api_template(integration: list[dict], logs: list[dict]) -> dict[str, Any]:
    uri = {
        "Fn::Join": [
            "",
            [
                "arn:",
                PARTITION,
                ":apigateway:",
                {"Ref": "AWS::Region"},
                ":runtime.sagemaker:path/endpoints/",
                {"Fn::GetAtt": ["Endpoint", "EndpointName"]},
                "/invocations",
            ],
        ]
    }
    return {
        "Resources": {
            "Endpoint": {"Type": "AWS::SageMaker::Endpoint", "Properties": {}},
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
            "IntegrationRole": role("apigateway.amazonaws.com"),
            "IntegrationPolicy": policy("IntegrationRole", *integration),
            "LogsRole": role("apigateway.amazonaws.com"),
            "LogsPolicy": policy("LogsRole", *logs),
            "Predict": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "HttpMethod": "POST",
                    "Integration": {
                        "Type": "AWS",
                        "Credentials": {"Fn::GetAtt": ["IntegrationRole", "Arn"]},
                        "Uri": uri,
                    },
                },
            },
            "Account": {
                "Type": "AWS::ApiGateway::Account",
                "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["LogsRole", "Arn"]}},
            },
        }
    }


INVOKE = {"Action": "sagemaker:InvokeEndpoint", "Resource": {"Ref": "Endpoint"}}
STAGE_LOGS = {
    "Action": list(APIGW_LOG_ACTIONS),
    "Resource": {"Fn::Join": ["", ["arn:", PARTITION, ":logs:*:*:log-group:*"]]},
}


def test_the_integration_role_must_invoke_the_endpoint_and_the_logs_role_write_logs():
    missing = failures(
        api_template([{"Action": "sagemaker:DescribeEndpoint", "Resource": "*"}], [])
    )
    assert (
        "IntegrationRole sagemaker:InvokeEndpoint "
        "arn:aws:sagemaker:us-east-1:111122223333:endpoint/endpoint" in missing
    )
    assert {f.split()[1] for f in missing if f.startswith("LogsRole")} == set(STAGE_LOGS["Action"])


def test_api_roles_with_their_grants_pass():
    assert failures(api_template([INVOKE], [STAGE_LOGS])) == []
