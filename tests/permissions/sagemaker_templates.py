"""Small hand-written templates for the SageMaker and flow-log derivers' tests."""

from __future__ import annotations

import copy
from typing import Any

from ml_refarch.aws_facts import SAGEMAKER_VPC_ACTIONS

ROOT = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"],
    ]
}
KEY_ARN = {"Fn::GetAtt": ["Key", "Arn"]}
SAGEMAKER_LOGS = {
    "Fn::Sub": "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/*"
}
OWN_IMAGE = {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/churn:1"}
VPC_ACTIONS = list(SAGEMAKER_VPC_ACTIONS)


def statement(sid: str, actions: list[str], resource: Any, condition: Any = None) -> dict:
    found = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        found["Condition"] = condition
    return found


def role(service: str, statements: list[dict]) -> dict:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "Runtime",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


def key() -> dict:
    return {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": ROOT},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                ],
            }
        },
    }


def encrypted_bucket() -> dict:
    return {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": KEY_ARN,
                        },
                    }
                ]
            }
        },
    }


def objects(prefix: str = "") -> dict:
    return {"Fn::Join": ["", [{"Fn::GetAtt": ["Data", "Arn"]}, f"/{prefix}*"]]}


def s3_uri(path: str) -> dict:
    return {"Fn::Join": ["", ["s3://", {"Ref": "Data"}, f"/{path}"]]}


def hosting_statements() -> list[dict]:
    """Everything a hosted model in a VPC with an image of the account's ECR needs."""
    repository = {
        "Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/churn"
    }
    return [
        statement("Artifacts", ["s3:GetObject"], objects("models/")),
        statement("Key", ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"], KEY_ARN),
        statement("Token", ["ecr:GetAuthorizationToken"], "*"),
        statement(
            "Pull",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            repository,
        ),
        statement("Network", VPC_ACTIONS, "*"),
        statement(
            "Logs",
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            SAGEMAKER_LOGS,
        ),
        statement(
            "Metrics",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        ),
        statement("Capture", ["s3:PutObject"], objects("capture/")),
    ]


def hosting(
    statements: list[dict] | None = None, *, image: Any = None, capture: bool = False
) -> dict:
    """A model in a VPC served by one endpoint; artifacts in a bucket encrypted with the
    template's key; the image in the account's ECR unless ``image`` says otherwise."""
    config: dict = {
        "ProductionVariants": [
            {"ModelName": {"Fn::GetAtt": ["Model", "ModelName"]}, "VariantName": "AllTraffic"}
        ]
    }
    if capture:
        config["DataCaptureConfig"] = {
            "EnableCapture": True,
            "DestinationS3Uri": s3_uri("capture"),
            "KmsKeyId": KEY_ARN,
            "CaptureOptions": [{"CaptureMode": "Input"}],
            "InitialSamplingPercentage": 100,
        }
    return {
        "Resources": {
            "Key": key(),
            "Data": encrypted_bucket(),
            "ExecutionRole": role(
                "sagemaker.amazonaws.com",
                hosting_statements() if statements is None else statements,
            ),
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {
                    "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                    "PrimaryContainer": {
                        "Image": image or OWN_IMAGE,
                        "ModelDataUrl": s3_uri("models/churn/model.tar.gz"),
                    },
                    "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
                },
            },
            "Config": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": config},
            "Endpoint": {
                "Type": "AWS::SageMaker::Endpoint",
                "Properties": {
                    "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}
                },
            },
        }
    }


def without(template: dict, role_id: str, sid: str) -> dict:
    """``template`` with the statement ``sid`` removed from the role's policy."""
    changed = copy.deepcopy(template)
    document = changed["Resources"][role_id]["Properties"]["Policies"][0]["PolicyDocument"]
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != sid]
    return changed
