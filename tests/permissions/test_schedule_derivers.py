"""The EventBridge Scheduler deriver: a schedule's role must be allowed the universal
target's API action on what the input names (and, for DeleteStack, to pass the stack's
deployment role to CloudFormation)."""

from __future__ import annotations

import copy

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
