"""The policy model: which policies of a template decide a request, and how they combine.

Each test builds a small template and checks one rule of "Policy evaluation logic" (IAM
User Guide) or of "Key policies in AWS KMS" (KMS Developer Guide) as the model applies it.
"""

from __future__ import annotations

import copy

import pytest

from ml_refarch.permissions.model import read_policies
from ml_refarch.permissions.values import ACCOUNT, reference_values

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
ROLE = "WorkerRole1234ABCD"


def _role(*statements: dict, boundary: dict | None = None, managed: list | None = None) -> dict:
    properties: dict = {
        "AssumeRolePolicyDocument": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                }
            ]
        }
    }
    if statements:
        properties["Policies"] = [
            {"PolicyName": "p", "PolicyDocument": {"Statement": list(statements)}}
        ]
    if boundary is not None:
        properties["PermissionsBoundary"] = {"Ref": "Boundary"}
    if managed is not None:
        properties["ManagedPolicyArns"] = managed
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def _allow(action: str, resource) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _key(*statements: dict) -> dict:
    return {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": list(statements)}}}


def _template(**resources: dict) -> dict:
    return {"Resources": copy.deepcopy(resources)}


def _decide(template: dict, action: str, resource: str, principal: str = ROLE, **context):
    policies = read_policies(template)
    base = {"aws:SecureTransport": True, "aws:PrincipalArn": policies.values.get(f"{ROLE}.Arn", "")}
    return policies.decide(principal, action, resource, {**base, **context})


LOGS_CONTEXT_KEY = "kms:EncryptionContext:aws:logs:arn"
LOGS_GROUPS = "arn:aws:logs:us-east-1:*:log-group:*"
KEY_ROOT = {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "kms:*", "Resource": "*"}


def test_a_key_used_by_a_role_needs_the_key_policy_to_let_iam_decide():
    allow_decrypt = _allow("kms:Decrypt", {"Fn::GetAtt": ["Key", "Arn"]})
    with_root = _template(**{ROLE: _role(allow_decrypt), "Key": _key(KEY_ROOT)})
    key_arn = reference_values(with_root)["Key.Arn"]
    assert _decide(with_root, "kms:Decrypt", key_arn).outcome == "Allow"
    # Without the account statement, no IAM policy can grant the key.
    other = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    without_root = _template(**{ROLE: _role(allow_decrypt), "Key": _key(other)})
    decision = _decide(without_root, "kms:Decrypt", key_arn)
    assert decision.outcome == "ImplicitDeny" and "key policy" in decision.reason
    # With it, the identity policy must still allow.
    no_identity = _template(**{ROLE: _role(), "Key": _key(KEY_ROOT)})
    assert _decide(no_identity, "kms:Decrypt", key_arn).outcome == "ImplicitDeny"


def test_a_key_policy_naming_the_role_allows_without_an_identity_policy():
    direct = {
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::GetAtt": [ROLE, "Arn"]}},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    template = _template(**{ROLE: _role(), "Key": _key(direct)})
    key_arn = reference_values(template)["Key.Arn"]
    assert _decide(template, "kms:Decrypt", key_arn).outcome == "Allow"
    assert _decide(template, "kms:Encrypt", key_arn).outcome == "ImplicitDeny"


def test_a_service_uses_a_key_only_through_its_key_policy():
    logs = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
        "Action": "kms:Encrypt*",
        "Resource": "*",
        "Condition": {"ArnLike": {LOGS_CONTEXT_KEY: LOGS_GROUPS}},
    }
    template = _template(**{ROLE: _role(), "Key": _key(KEY_ROOT, logs)})
    key_arn = reference_values(template)["Key.Arn"]
    service = "service:logs.us-east-1.amazonaws.com"
    context = {LOGS_CONTEXT_KEY: "arn:aws:logs:us-east-1:1:log-group:g"}
    policies = read_policies(template)
    assert policies.decide(service, "kms:Encrypt", key_arn, context).outcome == "Allow"
    # The account statement does not let a service in.
    assert policies.decide(service, "kms:Decrypt", key_arn, context).outcome == "ImplicitDeny"
    # Another service is not named.
    other = "service:sns.amazonaws.com"
    assert policies.decide(other, "kms:Encrypt", key_arn, context).outcome == "ImplicitDeny"


def test_a_condition_key_the_request_lacks_is_unresolved_not_guessed():
    template = _template(
        **{
            ROLE: _role(),
            "Key": _key(
                KEY_ROOT,
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                    "Condition": {"ArnLike": {LOGS_CONTEXT_KEY: LOGS_GROUPS}},
                },
            ),
        }
    )
    key_arn = reference_values(template)["Key.Arn"]
    decision = read_policies(template).decide(
        "service:logs.us-east-1.amazonaws.com", "kms:Encrypt", key_arn, {}
    )
    assert decision.outcome == "Unresolved"
    assert LOGS_CONTEXT_KEY in decision.reason


def test_an_explicit_deny_in_a_bucket_policy_wins_over_the_identity_allow():
    bucket_arn = {"Fn::GetAtt": ["Data", "Arn"]}
    objects = {"Fn::Join": ["", [bucket_arn, "/*"]]}
    deny_insecure = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [bucket_arn, objects],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    template = _template(
        **{
            ROLE: _role(_allow("s3:GetObject", objects)),
            "Data": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "DataPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "Data"},
                    "PolicyDocument": {"Statement": [deny_insecure]},
                },
            },
        }
    )
    obj = reference_values(template)["Data.Arn"] + "/train/a.csv"
    assert _decide(template, "s3:GetObject", obj).outcome == "Allow"
    denied = _decide(template, "s3:GetObject", obj, **{"aws:SecureTransport": False})
    assert denied.outcome == "Deny" and "bucket policy of DataPolicy" in denied.reason


def test_a_bucket_policy_naming_the_role_allows_on_its_own():
    objects = {"Fn::Join": ["", [{"Fn::GetAtt": ["Data", "Arn"]}, "/*"]]}
    grant = {
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::GetAtt": [ROLE, "Arn"]}},
        "Action": "s3:GetObject",
        "Resource": objects,
    }
    template = _template(
        **{
            ROLE: _role(),
            "Data": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "DataPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Data"}, "PolicyDocument": {"Statement": [grant]}},
            },
        }
    )
    obj = reference_values(template)["Data.Arn"] + "/x"
    assert _decide(template, "s3:GetObject", obj).outcome == "Allow"
    assert _decide(template, "s3:PutObject", obj).outcome == "ImplicitDeny"


def test_the_permissions_boundary_caps_the_identity_policies():
    template = _template(
        **{
            ROLE: _role(_allow("s3:*", "*"), boundary={}),
            "Boundary": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": [_allow("s3:GetObject", "*")]}},
            },
        }
    )
    assert _decide(template, "s3:GetObject", "arn:aws:s3:::b/k").outcome == "Allow"
    outside = _decide(template, "s3:PutObject", "arn:aws:s3:::b/k")
    assert outside.outcome == "ImplicitDeny" and "boundary" in outside.reason


def test_policies_attached_from_outside_the_role_count():
    template = _template(
        **{
            ROLE: _role(),
            "Extra": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "x",
                    "Roles": [{"Ref": ROLE}],
                    "PolicyDocument": {"Statement": [_allow("sqs:SendMessage", "*")]},
                },
            },
            "Managed": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Roles": [{"Ref": ROLE}],
                    "PolicyDocument": {"Statement": [_allow("sns:Publish", "*")]},
                },
            },
        }
    )
    assert _decide(template, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q").outcome == "Allow"
    assert _decide(template, "sns:Publish", "arn:aws:sns:us-east-1:1:t").outcome == "Allow"
    assert _decide(template, "sqs:DeleteQueue", "arn:aws:sqs:us-east-1:1:q").outcome == (
        "ImplicitDeny"
    )


def test_known_aws_managed_policies_are_read_and_unknown_ones_are_unresolved():
    basic = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            ],
        ]
    }
    template = _template(**{ROLE: _role(managed=[basic])})
    stream = "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"
    assert _decide(template, "logs:PutLogEvents", stream).outcome == "Allow"
    unknown = _template(**{ROLE: _role(managed=["arn:aws:iam::aws:policy/PowerUserAccess"])})
    decision = _decide(unknown, "s3:GetObject", "arn:aws:s3:::b/k")
    assert decision.outcome == "Unresolved" and "PowerUserAccess" in decision.reason


def test_a_lambda_permission_is_the_function_s_resource_policy():
    template = _template(
        **{
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Invoke": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
                    "Action": "lambda:InvokeFunction",
                    "Principal": "events.amazonaws.com",
                    "SourceArn": {"Fn::GetAtt": ["Rule", "Arn"]},
                },
            },
            "Rule": {"Type": "AWS::Events::Rule", "Properties": {}},
        }
    )
    values = reference_values(template)
    policies = read_policies(template)
    events = "service:events.amazonaws.com"
    right = {"aws:SourceArn": values["Rule.Arn"]}
    assert policies.decide(events, "lambda:InvokeFunction", values["Fn.Arn"], right).outcome == (
        "Allow"
    )
    wrong = {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/other"}
    assert policies.decide(events, "lambda:InvokeFunction", values["Fn.Arn"], wrong).outcome == (
        "ImplicitDeny"
    )


@pytest.mark.parametrize(
    ("resource_type", "attribute", "expected"),
    [
        ("AWS::SNS::Topic", "", "arn:aws:sns:us-east-1:111122223333:thing"),
        ("AWS::SQS::Queue", "Arn", "arn:aws:sqs:us-east-1:111122223333:thing"),
        ("AWS::S3::Bucket", "Arn", "arn:aws:s3:::thing"),
        ("AWS::IAM::Role", "Arn", "arn:aws:iam::111122223333:role/thing"),
        (
            "AWS::StepFunctions::StateMachine",
            "",
            "arn:aws:states:us-east-1:111122223333:stateMachine:thing",
        ),
    ],
)
def test_references_stand_for_what_cloudformation_returns(resource_type, attribute, expected):
    values = reference_values({"Resources": {"Thing": {"Type": resource_type}}})
    assert values[f"Thing.{attribute}" if attribute else "Thing"] == expected


def test_a_fixed_name_is_used_in_the_stand_in_values():
    template = {
        "Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "my-data"}}}
    }
    assert reference_values(template)["B.Arn"] == "arn:aws:s3:::my-data"
