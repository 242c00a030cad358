"""Inference Recommender and S3 object tasks through the SDK integration: what the state
machine's role calls, and what the job does as the role it passes."""

from __future__ import annotations

from typing import Any

from ml_refarch.aws_facts import SAGEMAKER_VPC_ACTIONS
from ml_refarch.permissions.derive import derived_scenarios
from tests.permissions.test_workflow_derivers import (
    failures,
    key,
    policy,
    role,
    sagemaker_arn,
    state_machine,
)

KEY_ARN = {"Fn::GetAtt": ["Key", "Arn"]}
BUCKET_ARN = {"Fn::GetAtt": ["Bucket", "Arn"]}
ASSET = "arn:aws:s3:::assets"
STATES = {
    "Stage": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:s3:copyObject",
        "Parameters": {
            "Bucket": "@{Ref Bucket}",
            "Key": "payloads/payload.tar.gz",
            "CopySource": "assets/payload.gz",
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": "@{GetAtt Key.Arn}",
        },
        "Next": "Start",
    },
    "Start": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:sagemaker:"
        "createInferenceRecommendationsJob",
        "Parameters": {
            "JobName.$": "$.job.name",
            "JobType": "Default",
            "RoleArn": "@{GetAtt Recommender.Arn}",
            "Tags": [{"Key": "k", "Value": "v"}],
            "InputConfig": {
                "ModelPackageVersionArn.$": "$.package",
                "VolumeKmsKeyId": "@{GetAtt Key.Arn}",
                "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
                "ContainerConfig": {
                    "PayloadConfig": {
                        "SamplePayloadUrl": "s3://@{Ref Bucket}/payloads/payload.tar.gz"
                    }
                },
            },
        },
        "Next": "Describe",
    },
    "Describe": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:sagemaker:"
        "describeInferenceRecommendationsJob",
        "Parameters": {"JobName.$": "$.job.name"},
        "Next": "Save",
    },
    "Save": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::aws-sdk:s3:putObject",
        "Parameters": {
            "Bucket": "@{Ref Bucket}",
            "Key.$": "States.Format('results/{}.json', $.job.name)",
            "Body.$": "States.JsonToString($)",
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": "@{GetAtt Key.Arn}",
        },
        "End": True,
    },
}
WORKFLOW_GRANTS = {
    "jobs": {
        "Action": [
            "sagemaker:CreateInferenceRecommendationsJob",
            "sagemaker:DescribeInferenceRecommendationsJob",
            "sagemaker:AddTags",
        ],
        "Resource": sagemaker_arn("inference-recommendations-job/recommend-*"),
    },
    "pass": {
        "Action": "iam:PassRole",
        "Resource": {"Fn::GetAtt": ["Recommender", "Arn"]},
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    },
    "writes": {
        "Action": "s3:PutObject",
        "Resource": [
            {"Fn::Join": ["", [BUCKET_ARN, "/payloads/*"]]},
            {"Fn::Join": ["", [BUCKET_ARN, "/results/*"]]},
        ],
    },
    "source": {"Action": "s3:GetObject", "Resource": f"{ASSET}/payload.gz"},
    "key": {"Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": KEY_ARN},
}
JOB_GRANTS = {
    "artifact": {"Action": "s3:GetObject", "Resource": f"{ASSET}/model.tar.gz"},
    "payload": {
        "Action": "s3:GetObject",
        "Resource": {"Fn::Join": ["", [BUCKET_ARN, "/payloads/*"]]},
    },
    "key": {"Action": "kms:Decrypt", "Resource": KEY_ARN},
    "grant": {
        "Action": "kms:CreateGrant",
        "Resource": KEY_ARN,
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    },
    "logs": {
        "Action": [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
        ],
        "Resource": "arn:aws:logs:*:*:log-group:/aws/sagemaker/*",
    },
    "metrics": {"Action": "cloudwatch:PutMetricData", "Resource": "*"},
    "network": {
        "Action": list(SAGEMAKER_VPC_ACTIONS),
        "Resource": "*",
    },
}
PACKAGE = {
    "Type": "AWS::SageMaker::ModelPackage",
    "Properties": {
        "InferenceSpecification": {
            "Containers": [{"Image": "xgboost", "ModelDataUrl": "s3://assets/model.tar.gz"}]
        }
    },
}


def template(
    left_out: tuple[str, ...] = (), job_left_out: tuple[str, ...] = (), **replaced: Any
) -> dict[str, Any]:
    grants = [g for name, g in WORKFLOW_GRANTS.items() if name not in left_out]
    job = [g for name, g in {**JOB_GRANTS, **replaced}.items() if name not in job_left_out]
    encryption = {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
    encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] = KEY_ARN
    return {
        "Resources": {
            "Key": key(),
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [encryption]}
                },
            },
            "Package": PACKAGE,
            "Recommender": role("sagemaker.amazonaws.com"),
            "RecommenderPolicy": policy("Recommender", *job),
            "WorkflowRole": role("states.amazonaws.com"),
            "WorkflowPolicy": policy("WorkflowRole", *grants),
            "Workflow": state_machine(STATES),
        }
    }


def actions(found: list[str]) -> list[str]:
    return sorted({f.split(" ")[1] for f in found})


def test_the_workflow_and_the_job_with_their_grants_pass():
    assert failures(template()) == []


def test_starting_the_job_needs_its_actions_on_the_job_and_to_pass_the_role():
    assert actions(failures(template(left_out=("jobs",)))) == [
        "sagemaker:AddTags",
        "sagemaker:CreateInferenceRecommendationsJob",
        "sagemaker:DescribeInferenceRecommendationsJob",
    ]
    assert actions(failures(template(left_out=("pass",)))) == ["iam:PassRole"]
    calls = [c for s in derived_scenarios(template()) for c in s.calls]
    named = {c.resource for c in calls if "InferenceRecommendationsJob" in c.action}
    assert named == {
        "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"
        "inference-recommendations-job/recommend-run"
    }


def test_copying_an_object_reads_the_source_and_writes_the_destination_not_s3_copyobject():
    calls = [c for s in derived_scenarios(template()) for c in s.calls]
    assert "s3:CopyObject" not in {c.action for c in calls}
    assert actions(failures(template(left_out=("source",)))) == ["s3:GetObject"]
    missing = failures(template(left_out=("writes",)))
    assert actions(missing) == ["s3:PutObject"]
    assert {f.split(" ")[2].split("/", 1)[1] for f in missing} == {
        "payloads/payload.tar.gz",
        "results/run.json",
    }
    assert actions(failures(template(left_out=("key",)))) == ["kms:GenerateDataKey"]


def test_the_job_role_reads_the_packaged_artifact_and_the_payload_the_request_names():
    assert [f.split(" ")[2] for f in failures(template(job_left_out=("artifact",)))] == [
        "arn:aws:s3:::assets/model.tar.gz"
    ]
    assert actions(failures(template(job_left_out=("payload",)))) == ["s3:GetObject"]
    assert actions(failures(template(job_left_out=("key",)))) == ["kms:Decrypt"]
    assert actions(failures(template(job_left_out=("network",))))[0] == (
        "ec2:CreateNetworkInterface"
    )


def test_the_job_role_may_grant_the_volume_key_only_to_aws_resources():
    assert actions(failures(template(job_left_out=("grant",)))) == ["kms:CreateGrant"]
    unconditioned = {"Action": "kms:CreateGrant", "Resource": KEY_ARN}
    assert actions(failures(template(grant=unconditioned))) == ["kms:CreateGrant"]
