"""The AWS Batch derivers (job definitions, compute environments), Step Functions' Batch
integration and EventBridge Scheduler's Batch universal target: each finds what a small
template lacks, and passes once the template grants it."""

from __future__ import annotations

import json
from typing import Any

from tests.permissions.test_workflow_derivers import failures, policy, role, state_machine

ACCOUNT = {"Ref": "AWS::AccountId"}
REGION = {"Ref": "AWS::Region"}
PARTITION = {"Ref": "AWS::Partition"}
CACHED_IMAGE = {
    "Fn::Join": [
        "",
        [ACCOUNT, ".dkr.ecr.", REGION, ".", {"Ref": "AWS::URLSuffix"}, "/ecr-public/lib/app:1"],
    ]
}
REPOSITORY = {
    "Fn::Join": [
        "",
        ["arn:", PARTITION, ":ecr:", REGION, ":", ACCOUNT, ":repository/ecr-public/*"],
    ]
}
LOG_STREAMS = {
    "Fn::Join": [
        "",
        [
            "arn:",
            PARTITION,
            ":logs:",
            REGION,
            ":",
            ACCOUNT,
            ":log-group:",
            {"Ref": "JobLogs"},
            ":log-stream:*",
        ],
    ]
}
PULL = {
    "Action": [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
    ],
    "Resource": REPOSITORY,
}
TOKEN = {"Action": "ecr:GetAuthorizationToken", "Resource": "*"}
IMPORT = {
    "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
    "Resource": REPOSITORY,
}
LOGS = {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": LOG_STREAMS}


def job_definition_template(*statements: dict[str, Any], cached: bool = True) -> dict:
    resources: dict[str, Any] = {
        "JobLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "ExecutionRole": role("ecs-tasks.amazonaws.com"),
        "ExecutionPolicy": policy("ExecutionRole", *statements),
        "Job": {
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "Type": "container",
                "ContainerProperties": {
                    "Image": CACHED_IMAGE,
                    "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                    "LogConfiguration": {
                        "LogDriver": "awslogs",
                        "Options": {"awslogs-group": {"Ref": "JobLogs"}},
                    },
                },
            },
        },
    }
    if cached:
        resources["Cache"] = {
            "Type": "AWS::ECR::PullThroughCacheRule",
            "Properties": {"EcrRepositoryPrefix": "ecr-public", "UpstreamRegistryUrl": "x"},
        }
    return {"Resources": resources}


def test_the_execution_role_pulls_the_image_through_the_cache_and_writes_logs():
    assert failures(job_definition_template(TOKEN, PULL, IMPORT, LOGS)) == []
    missing = failures(job_definition_template(TOKEN, PULL, LOGS))
    assert [line.split(" ")[1] for line in missing] == [
        "ecr:BatchImportUpstreamImage",
        "ecr:CreateRepository",
    ]
    assert "ecr:GetAuthorizationToken *" in " ".join(
        failures(job_definition_template(PULL, IMPORT, LOGS))
    )
    no_logs = failures(job_definition_template(TOKEN, PULL, IMPORT))
    assert [line.split(" ")[1] for line in no_logs] == ["logs:CreateLogStream", "logs:PutLogEvents"]


def test_a_cache_repository_the_template_declares_needs_not_be_created():
    template = job_definition_template(
        TOKEN, PULL, LOGS, {"Action": "ecr:BatchImportUpstreamImage", "Resource": REPOSITORY}
    )
    assert [line.split(" ")[1] for line in failures(template)] == ["ecr:CreateRepository"]
    template["Resources"]["CacheRepository"] = {
        "Type": "AWS::ECR::Repository",
        "Properties": {"RepositoryName": "ecr-public/lib/app"},
    }
    assert failures(template) == []


def test_an_image_outside_any_cache_needs_no_import_and_a_public_one_no_pull():
    assert failures(job_definition_template(TOKEN, PULL, LOGS, cached=False)) == []
    public = job_definition_template(LOGS, cached=False)
    container = public["Resources"]["Job"]["Properties"]["ContainerProperties"]
    container["Image"] = "public.ecr.aws/lib/app:1"
    assert failures(public) == []


def compute_environment_template(*statements: dict[str, Any]) -> dict:
    return {
        "Resources": {
            "InstanceRole": role("ec2.amazonaws.com"),
            "InstancePolicy": policy("InstanceRole", *statements),
            "InstanceProfile": {
                "Type": "AWS::IAM::InstanceProfile",
                "Properties": {"Roles": [{"Ref": "InstanceRole"}]},
            },
            "Spot": {
                "Type": "AWS::Batch::ComputeEnvironment",
                "Properties": {
                    "Type": "MANAGED",
                    "ComputeResources": {
                        "Type": "SPOT",
                        "InstanceRole": {"Fn::GetAtt": ["InstanceProfile", "Arn"]},
                    },
                },
            },
        }
    }


def test_the_instance_role_lets_the_container_agent_join_and_report():
    agent = {"Action": ["ecs:*ContainerInstance", "ecs:DiscoverPollEndpoint", "ecs:Poll"]}
    reports = {"Action": ["ecs:StartTelemetrySession", "ecs:Submit*"]}
    assert (
        failures(
            compute_environment_template({**agent, "Resource": "*"}, {**reports, "Resource": "*"})
        )
        == []
    )
    missing = failures(compute_environment_template({**agent, "Resource": "*"}))
    assert [line.split(" ")[1] for line in missing] == [
        "ecs:StartTelemetrySession",
        "ecs:SubmitContainerStateChange",
        "ecs:SubmitTaskStateChange",
    ]


# --- Step Functions: batch:submitJob.sync ---------------------------------------------------

QUEUE = {"Type": "AWS::Batch::JobQueue", "Properties": {}}
DEFINITION = {"Type": "AWS::Batch::JobDefinition", "Properties": {"Type": "container"}}
SUBMIT = {"Action": "batch:SubmitJob", "Resource": [{"Ref": "Queue"}, {"Ref": "Definition"}]}
TRACK = {"Action": ["batch:DescribeJobs", "batch:TerminateJob"], "Resource": "*"}
RULE = {
    "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
    "Resource": {
        "Fn::Join": [
            "",
            [
                "arn:",
                PARTITION,
                ":events:",
                REGION,
                ":",
                ACCOUNT,
                ":rule/StepFunctionsGetEventsForBatchJobsRule",
            ],
        ]
    },
}


def batch_workflow(*statements: dict[str, Any], sync: bool = True) -> dict:
    resource = "arn:@{Ref AWS::Partition}:states:::batch:submitJob" + (".sync" if sync else "")
    states = {
        "Run": {
            "Type": "Task",
            "Resource": resource,
            "Parameters": {
                "JobName": "run",
                "JobQueue": "@{Ref Queue}",
                "JobDefinition": "@{Ref Definition}",
            },
            "End": True,
        }
    }
    return {
        "Resources": {
            "Queue": QUEUE,
            "Definition": DEFINITION,
            "WorkflowRole": role("states.amazonaws.com"),
            "WorkflowPolicy": policy("WorkflowRole", *statements),
            "Workflow": state_machine(states),
        }
    }


def test_a_sync_batch_task_submits_tracks_and_uses_the_managed_rule():
    assert failures(batch_workflow(SUBMIT, TRACK, RULE)) == []
    assert failures(batch_workflow(SUBMIT, sync=False)) == []
    missing = failures(batch_workflow(SUBMIT, TRACK))
    assert [line.split(" ")[1] for line in missing] == [
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ]
    other_queue = dict(SUBMIT, Resource=[{"Ref": "Definition"}])
    assert [line.split(" ")[1:] for line in failures(batch_workflow(other_queue, TRACK, RULE))] == [
        ["batch:SubmitJob", "arn:aws:batch:us-east-1:111122223333:job-queue/queue"]
    ]


# --- EventBridge Scheduler: the aws-sdk:batch:submitJob universal target ----------------------


def batch_schedule(*statements: dict[str, Any]) -> dict:
    job = {"JobName": "nightly", "JobQueue": "@Q", "JobDefinition": "@D"}
    head, middle, tail = json.dumps(job).replace("@Q", "|").replace("@D", "|").split("|")
    return {
        "Resources": {
            "Queue": QUEUE,
            "Definition": DEFINITION,
            "ScheduleRole": role("scheduler.amazonaws.com"),
            "SchedulePolicy": policy("ScheduleRole", *statements),
            "Nightly": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": "cron(0 3 * * ? *)",
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {
                        "Arn": {
                            "Fn::Join": [
                                "",
                                ["arn:", PARTITION, ":scheduler:::aws-sdk:batch:submitJob"],
                            ]
                        },
                        "Input": {
                            "Fn::Join": [
                                "",
                                [head, {"Ref": "Queue"}, middle, {"Ref": "Definition"}, tail],
                            ]
                        },
                        "RoleArn": {"Fn::GetAtt": ["ScheduleRole", "Arn"]},
                    },
                },
            },
        }
    }


def test_a_schedule_submitting_a_batch_job_needs_submit_on_its_queue_and_definition():
    assert failures(batch_schedule(SUBMIT)) == []
    only_queue = dict(SUBMIT, Resource=[{"Ref": "Queue"}])
    assert [line.split(" ")[1:] for line in failures(batch_schedule(only_queue))] == [
        ["batch:SubmitJob", "arn:aws:batch:us-east-1:111122223333:job-definition/definition:1"]
    ]
