"""The CodeBuild derivers: a project's service role (source, logs, key, VPC), Step
Functions' CodeBuild integration, and a workflow's training job pulling its image from the
template's own ECR repository: each finds what a small template lacks, and passes once the
template grants it."""

from __future__ import annotations

from typing import Any

from tests.permissions.test_workflow_derivers import (
    JOB_BASICS,
    LIST_TRAIN,
    TRAIN_STATES,
    WORKFLOW_TRAIN,
    failures,
    key,
    policy,
    role,
    state_machine,
)

PARTITION = {"Ref": "AWS::Partition"}
ACCOUNT = {"Ref": "AWS::AccountId"}
REGION = {"Ref": "AWS::Region"}
SOURCE_BUCKET_ARN = {"Fn::Join": ["", ["arn:", PARTITION, ":s3:::assets"]]}
SOURCE = [
    {
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": {"Fn::Join": ["", [SOURCE_BUCKET_ARN, "/context.zip"]]},
    },
    {"Action": ["s3:GetBucketAcl", "s3:GetBucketLocation"], "Resource": SOURCE_BUCKET_ARN},
]
LOGS = {
    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": {"Fn::GetAtt": ["BuildLogs", "Arn"]},
}
KEY = {
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
}
VPC = [
    {
        "Action": [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcs",
        ],
        "Resource": "*",
    },
    {
        "Action": "ec2:CreateNetworkInterfacePermission",
        "Resource": {
            "Fn::Join": [
                "",
                ["arn:", PARTITION, ":ec2:", REGION, ":", ACCOUNT, ":network-interface/*"],
            ]
        },
        "Condition": {"StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"}},
    },
]
GRANTED = [*SOURCE, LOGS, KEY, *VPC]


def project_template(*statements: dict[str, Any], vpc: bool = True) -> dict[str, Any]:
    project: dict[str, Any] = {
        "ServiceRole": {"Fn::GetAtt": ["BuildRole", "Arn"]},
        "EncryptionKey": {"Fn::GetAtt": ["Key", "Arn"]},
        "Source": {"Type": "S3", "Location": "assets/context.zip"},
        "LogsConfig": {"CloudWatchLogs": {"Status": "ENABLED", "GroupName": {"Ref": "BuildLogs"}}},
    }
    if vpc:
        project["VpcConfig"] = {"VpcId": "vpc-1", "Subnets": ["subnet-1"], "SecurityGroupIds": []}
    return {
        "Resources": {
            "Key": key(),
            "BuildLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "BuildRole": role("codebuild.amazonaws.com"),
            "BuildPolicy": policy("BuildRole", *statements),
            "Build": {"Type": "AWS::CodeBuild::Project", "Properties": project},
        }
    }


def build_actions(template: dict[str, Any]) -> set[str]:
    return {f.split()[1] for f in failures(template) if f.startswith("BuildRole")}


def test_a_project_reads_its_source_writes_its_log_and_uses_its_key():
    assert build_actions(project_template(*VPC)) == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetBucketAcl",
        "s3:GetBucketLocation",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    }


def test_a_project_in_a_vpc_creates_its_network_interfaces():
    assert build_actions(project_template(*SOURCE, LOGS, KEY)) == {
        *VPC[0]["Action"],
        "ec2:CreateNetworkInterfacePermission",
    }
    # Outside a VPC nothing of that is asked for.
    assert build_actions(project_template(*SOURCE, LOGS, KEY, vpc=False)) == set()


def test_the_interface_permission_is_only_for_codebuild():
    wrong_service = {**VPC[1], "Condition": {"StringEquals": {"ec2:AuthorizedService": "x"}}}
    template = project_template(*SOURCE, LOGS, KEY, VPC[0], wrong_service)
    assert build_actions(template) == {"ec2:CreateNetworkInterfacePermission"}


def test_a_project_with_its_grants_passes():
    assert failures(project_template(*GRANTED)) == []


# --- Step Functions: codebuild:startBuild.sync ----------------------------------------------

BUILD_STATES = {
    "Build": {
        "Type": "Task",
        "Resource": "arn:@{Ref AWS::Partition}:states:::codebuild:startBuild.sync",
        "Parameters": {"ProjectName": "@{Ref Build}"},
        "End": True,
    }
}
PROJECT_ARN = {
    "Fn::Join": [
        "",
        ["arn:", PARTITION, ":codebuild:", REGION, ":", ACCOUNT, ":project/", {"Ref": "Build"}],
    ]
}
START = {"Action": "codebuild:StartBuild", "Resource": PROJECT_ARN}
FOLLOW = {"Action": ["codebuild:StopBuild", "codebuild:BatchGetBuilds"], "Resource": PROJECT_ARN}
RULE = {
    "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
    "Resource": {
        "Fn::Join": [
            "",
            [
                "arn:",
                PARTITION,
                ":events:*:*:rule/StepFunctionsGetEventsForCodeBuildStartBuildRule",
            ],
        ]
    },
}


def build_workflow(*statements: dict[str, Any]) -> dict[str, Any]:
    template = project_template(*GRANTED)
    template["Resources"].update(
        WorkflowRole=role("states.amazonaws.com"),
        WorkflowPolicy=policy("WorkflowRole", *statements),
        Workflow=state_machine(BUILD_STATES),
    )
    return template


def test_a_sync_build_needs_to_start_follow_and_stop_it_and_the_managed_rule():
    missing = {f.split()[1] for f in failures(build_workflow(START))}
    assert missing == {
        "codebuild:StopBuild",
        "codebuild:BatchGetBuilds",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    }


def test_a_sync_build_with_its_grants_passes():
    assert failures(build_workflow(START, FOLLOW, RULE)) == []


# --- a training job whose image is in the template's repository ------------------------------

OWN_IMAGE = "@{Ref AWS::AccountId}.dkr.ecr.@{Ref AWS::Region}.amazonaws.com/@{Ref Images}:v-1"
IMAGES_ARN = {"Fn::GetAtt": ["Images", "Arn"]}
PULL = {
    "Action": [
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
    ],
    "Resource": IMAGES_ARN,
}
TOKEN = {"Action": "ecr:GetAuthorizationToken", "Resource": "*"}


def own_image_training(*job: dict[str, Any]) -> dict[str, Any]:
    states = {
        "Train": {
            **TRAIN_STATES["Train"],
            "Parameters": {
                **TRAIN_STATES["Train"]["Parameters"],
                "AlgorithmSpecification": {"TrainingImage": OWN_IMAGE, "TrainingInputMode": "Pipe"},
            },
        }
    }
    basics = [s for s in JOB_BASICS if s["Action"] != ["ecr:*"]]
    return {
        "Resources": {
            "Data": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Images": {"Type": "AWS::ECR::Repository", "Properties": {}},
            "JobRole": role("sagemaker.amazonaws.com"),
            "JobPolicy": policy("JobRole", *basics, LIST_TRAIN, *job),
            "WorkflowRole": role("states.amazonaws.com"),
            "WorkflowPolicy": policy("WorkflowRole", *WORKFLOW_TRAIN),
            "Workflow": state_machine(states),
        }
    }


def test_the_job_role_pulls_the_image_from_the_templates_repository():
    missing = failures(own_image_training(TOKEN))
    assert sorted(missing) == sorted(
        f"JobRole {action} arn:aws:ecr:us-east-1:111122223333:repository/images"
        for action in PULL["Action"]
    )
    assert failures(own_image_training(TOKEN, PULL)) == []
