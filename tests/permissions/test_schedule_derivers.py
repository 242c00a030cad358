"""The EventBridge Scheduler deriver: a schedule's role must be allowed the universal
target's API action on what the input names (and, for DeleteStack, to pass the stack's
deployment role to CloudFormation)."""

from __future__ import annotations

import copy
import json

from ml_refarch.permissions.run import evaluate

DELETE_STACK = {
    "Effect": "Allow",
    "Action": "cloudformation:DeleteStack",
    "Resource": {"Ref": "AWS::StackId"},
}
PASS_ROLE = {
    "Effect": "Allow",
    "Action": "iam:PassRole",
    "Resource": {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
        "cdk-hnb659fds-cfn-exec-role-${AWS::AccountId}-${AWS::Region}"
    },
    "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
}


def _template(*statements: dict) -> dict:
    return copy.deepcopy(
        {
            "Resources": {
                "ExpiryRole": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {"Statement": []},
                        "Policies": [
                            {"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}
                        ],
                    },
                },
                "Expiry": {
                    "Type": "AWS::Scheduler::Schedule",
                    "Properties": {
                        "ScheduleExpression": "at(2026-01-02T09:00:00)",
                        "FlexibleTimeWindow": {"Mode": "OFF"},
                        "Target": {
                            "Arn": {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:",
                                        {"Ref": "AWS::Partition"},
                                        ":scheduler:::aws-sdk:cloudformation:deleteStack",
                                    ],
                                ]
                            },
                            "Input": {
                                "Fn::Join": ["", ['{"StackName":"', {"Ref": "AWS::StackId"}, '"}']]
                            },
                            "RoleArn": {"Fn::GetAtt": ["ExpiryRole", "Arn"]},
                        },
                    },
                },
            }
        }
    )


def test_a_schedule_that_deletes_its_stack_needs_delete_stack_on_that_stack():
    assert evaluate("Stack", _template(DELETE_STACK, PASS_ROLE)).ok
    missing = evaluate("Stack", _template(PASS_ROLE))
    assert [(f.call.action, f.resource) for f in missing.failures] == [
        (
            "cloudformation:DeleteStack",
            "arn:aws:cloudformation:us-east-1:111122223333:stack/stack/0000",
        )
    ]
    other_stack = dict(DELETE_STACK, Resource="arn:aws:cloudformation:*:*:stack/other/*")
    assert not evaluate("Stack", _template(other_stack, PASS_ROLE)).ok


def test_it_must_be_allowed_to_pass_the_deployment_role_to_cloudformation():
    no_pass = evaluate("Stack", _template(DELETE_STACK))
    assert [f.call.action for f in no_pass.failures] == ["iam:PassRole"]
    to_lambda = copy.deepcopy(PASS_ROLE)
    to_lambda["Condition"]["StringEquals"]["iam:PassedToService"] = "lambda.amazonaws.com"
    assert [
        f.call.action for f in evaluate("Stack", _template(DELETE_STACK, to_lambda)).failures
    ] == ["iam:PassRole"]


def _templated(target_type: str, target_arn: dict, *statements: dict) -> dict:
    template = _template(*statements)
    template["Resources"]["Target"] = {"Type": target_type, "Properties": {}}
    template["Resources"]["Expiry"]["Properties"]["Target"] = {
        "Arn": target_arn,
        "RoleArn": {"Fn::GetAtt": ["ExpiryRole", "Arn"]},
        "Input": "{}",
    }
    return template


def test_a_templated_target_needs_its_services_action_on_that_resource():
    machine = {"Ref": "Target"}
    start = {"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine}
    machine_type = "AWS::StepFunctions::StateMachine"
    assert evaluate("Stack", _templated(machine_type, machine, start)).ok
    missing = evaluate("Stack", _templated(machine_type, machine))
    assert [f.call.action for f in missing.failures] == ["states:StartExecution"]
    other = dict(start, Resource="arn:aws:states:us-east-1:111122223333:stateMachine:other")
    assert not evaluate("Stack", _templated(machine_type, machine, other)).ok


def test_a_templated_lambda_target_needs_invoke_function():
    function = {"Fn::GetAtt": ["Target", "Arn"]}
    invoke = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function}
    assert evaluate("Stack", _templated("AWS::Lambda::Function", function, invoke)).ok
    assert not evaluate("Stack", _templated("AWS::Lambda::Function", function)).ok


def _processing_template(schedule_statements: list[dict], job_statements: list[dict]) -> dict:
    request = {
        "ProcessingJobName": "Monitor-<aws.scheduler.execution-id>",
        "RoleArn": "${JobRole.Arn}",
        "AppSpecification": {"ImageUri": "image"},
        "ProcessingInputs": [
            {"InputName": "captures", "S3Input": {"S3Uri": "s3://data/captures/"}}
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "report",
                    "S3Output": {"S3Uri": "s3://data/reports/<aws.scheduler.execution-id>"},
                }
            ]
        },
    }

    def role(statements: list[dict]) -> dict:
        return {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Statement": []},
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": statements}}],
            },
        }

    return {
        "Resources": {
            "ScheduleRole": role(schedule_statements),
            "JobRole": role(job_statements),
            "Monitor": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": "rate(1 hour)",
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {
                        "Arn": "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob",
                        "Input": {"Fn::Sub": json.dumps(request)},
                        "RoleArn": {"Fn::GetAtt": ["ScheduleRole", "Arn"]},
                    },
                },
            },
        }
    }


CREATE_JOB = {
    "Effect": "Allow",
    "Action": "sagemaker:CreateProcessingJob",
    "Resource": {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:"
        "processing-job/monitor-*"
    },
}
PASS_JOB_ROLE = {
    "Effect": "Allow",
    "Action": "iam:PassRole",
    "Resource": {"Fn::GetAtt": ["JobRole", "Arn"]},
    "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
}
JOB = [
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::data"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/captures/*"},
    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::data/reports/*"},
    {
        "Effect": "Allow",
        "Action": [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "cloudwatch:PutMetricData",
            "ecr:GetAuthorizationToken",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability",
        ],
        "Resource": "*",
    },
]


def test_a_schedule_that_starts_a_processing_job_creates_it_and_passes_its_role():
    result = evaluate("Stack", _processing_template([CREATE_JOB, PASS_JOB_ROLE], JOB))
    assert result.ok, [f.describe() for f in result.failures]
    calls = {(r.principal, r.call.action, r.resource) for r in result.results}
    job = "arn:aws:sagemaker:us-east-1:111122223333:processing-job/monitor-d32c5kddcf5bb8c3"
    assert ("ScheduleRole", "sagemaker:CreateProcessingJob", job) in calls
    assert ("JobRole", "s3:PutObject", "arn:aws:s3:::data/reports/d32c5kddcf5bb8c3") in calls
    assert ("JobRole", "s3:GetObject", "arn:aws:s3:::data/captures/part-0") in calls
    names = {s.name for s in result.scenarios}
    assert "Monitor: the ProcessingJob the schedule starts runs as its role" in names


def test_a_processing_job_schedule_without_pass_role_or_job_permissions_fails():
    missing = evaluate("Stack", _processing_template([CREATE_JOB], JOB))
    assert [f.call.action for f in missing.failures] == ["iam:PassRole"]
    no_reports = evaluate(
        "Stack", _processing_template([CREATE_JOB, PASS_JOB_ROLE], JOB[:2] + JOB[3:])
    )
    assert [f.call.action for f in no_reports.failures] == ["s3:PutObject"]


def test_a_part_of_the_input_that_cannot_be_read_does_not_hide_the_rest():
    template = _processing_template([CREATE_JOB, PASS_JOB_ROLE], JOB)
    target = template["Resources"]["Monitor"]["Properties"]["Target"]
    text = target["Input"]["Fn::Sub"]
    before, after = text.split('"image"')
    image = {"Fn::FindInMap": ["Images", {"Ref": "AWS::Region"}, "uri"]}
    target["Input"] = {"Fn::Join": ["", [before + '"', image, '"' + after]]}
    result = evaluate("Stack", template)
    assert result.ok
    job = "arn:aws:sagemaker:us-east-1:111122223333:processing-job/monitor-d32c5kddcf5bb8c3"
    assert job in {r.resource for r in result.results}


def test_a_processing_output_key_is_used_to_encrypt_the_report():
    template = _processing_template([CREATE_JOB, PASS_JOB_ROLE], JOB)
    resources = template["Resources"]
    account = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    resources["Key"] = {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": account}, "Action": "kms:*",
                     "Resource": "*"}
                ]
            }
        },
    }  # fmt: skip
    target = resources["Monitor"]["Properties"]["Target"]
    text = target["Input"]["Fn::Sub"].replace(
        '"ProcessingOutputConfig": {', '"ProcessingOutputConfig": {"KmsKeyId": "${Key.Arn}", '
    )
    target["Input"] = {"Fn::Sub": text}
    missing = evaluate("Stack", template)
    assert sorted(f.call.action for f in missing.failures) == ["kms:Encrypt", "kms:GenerateDataKey"]
    key_use = {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
               "Resource": {"Fn::GetAtt": ["Key", "Arn"]}}  # fmt: skip
    resources["JobRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(key_use)
    assert evaluate("Stack", template).ok
