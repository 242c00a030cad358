"""SageMaker job guardrails: the synthesized policy denies exactly the non-compliant requests.

The first part tests the policy evaluator (``ml_refarch/permissions/policy.py``) on its own,
against IAM semantics. The second part synthesizes a stack with ``GuardedRole`` and asks the
evaluator what the role's managed policy decides for sample requests of each guarded action.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from hypothesis import given, settings
from hypothesis import strategies as st

import ml_refarch  # noqa: F401  (points jsii at the pinned Node before aws_cdk starts it)
from ml_refarch.constructs.guardrails import (
    GuardedRole,
    presigned_url_guardrail,
    sagemaker_job_guardrails,
)
from ml_refarch.permissions.policy import evaluate, explain, substitute
from tests.support import project_context, resources_of_type

# =============================================================================================
# The evaluator itself
# =============================================================================================


def allow(action="s3:GetObject", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="s3:GetObject", resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_explicit_deny_wins_over_allow_and_nothing_is_an_implicit_deny():
    assert evaluate([allow(), deny()], "s3:GetObject", "arn:aws:s3:::b/k") == "Deny"
    assert evaluate([allow()], "s3:GetObject", "arn:aws:s3:::b/k") == "Allow"
    assert evaluate([allow("s3:PutObject")], "s3:GetObject", "arn:aws:s3:::b/k") == "ImplicitDeny"
    assert evaluate([], "s3:GetObject", "arn:aws:s3:::b/k") == "ImplicitDeny"


def test_a_policy_document_or_a_single_statement_is_accepted():
    document = {"Version": "2012-10-17", "Statement": [allow()]}
    assert evaluate(document, "s3:GetObject", "x") == "Allow"
    assert evaluate({"Statement": allow()}, "s3:GetObject", "x") == "Allow"
    assert evaluate(allow(), "s3:GetObject", "x") == "Allow"


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("s3:GetObject", "S3:GETOBJECT", True),  # actions are case-insensitive
        ("s3:Get*", "s3:GetObjectVersion", True),
        ("s3:Get*", "s3:PutObject", False),
        ("s3:?etObject", "s3:GetObject", True),
        ("s3:?etObject", "s3:GGetObject", False),
        ("*", "kms:Decrypt", True),
        ("s3:*", "s3express:CreateSession", False),
        ("s3:Get.bject", "s3:GetObject", False),  # "." is not a wildcard
    ],
)
def test_action_wildcards(pattern, action, matches):
    expected = "Allow" if matches else "ImplicitDeny"
    assert evaluate([allow(pattern)], action, "*") == expected


def test_not_action_applies_to_every_other_action():
    statements = [allow("*"), deny(NotAction=["iam:*", "sts:GetCallerIdentity"])]
    del statements[1]["Action"]
    assert evaluate(statements, "s3:GetObject", "*") == "Deny"
    assert evaluate(statements, "iam:PassRole", "*") == "Allow"
    assert evaluate(statements, "STS:getcalleridentity", "*") == "Allow"


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("*", "anything at all", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b.csv", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/a", False),  # resources are case-sensitive
        ("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket-other/x", True),
        # A wildcard in one ARN segment stays in that segment...
        ("arn:aws:sqs:*:111122223333:q", "arn:aws:sqs:us-east-1:111122223333:q", True),
        ("arn:aws:sqs:*:q", "arn:aws:sqs:us-east-1:111122223333:q", False),
        # ...except the last, which may contain colons (log streams of a log group).
        (
            "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/*",
            "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/TrainingJobs:log-stream:j/algo-1",
            True,
        ),
    ],
)
def test_resource_wildcards(pattern, resource, matches):
    expected = "Allow" if matches else "ImplicitDeny"
    assert evaluate([allow(resource=pattern)], "s3:GetObject", resource) == expected


def test_not_resource_applies_to_every_other_resource():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"}
    assert evaluate([statement], "s3:GetObject", "arn:aws:s3:::y/k") == "Allow"
    assert evaluate([statement], "s3:GetObject", "arn:aws:s3:::x/k") == "ImplicitDeny"


def decides(condition: dict, context: dict) -> bool:
    """Whether a statement with ``condition`` applies to a request with ``context``."""
    return evaluate([allow(Condition=condition)], "s3:GetObject", "*", context) == "Allow"


def test_null_true_means_missing_and_null_false_means_present():
    missing = {"Null": {"aws:SourceVpce": "true"}}
    present = {"Null": {"aws:SourceVpce": "false"}}
    assert decides(missing, {})
    assert not decides(missing, {"aws:SourceVpce": "vpce-1"})
    assert decides(present, {"aws:SourceVpce": "vpce-1"})
    assert not decides(present, {})
    # A present key with a falsy value is still present.
    isolation_missing = {"Null": {"sagemaker:NetworkIsolation": "true"}}
    assert not decides(isolation_missing, {"sagemaker:NetworkIsolation": False})
    # A multivalued key with no values is missing.
    assert decides({"Null": {"aws:TagKeys": "true"}}, {"aws:TagKeys": []})


def test_bool_compares_true_and_false_and_a_missing_key_matches_neither():
    off = {"Bool": {"aws:SecureTransport": "false"}}
    assert decides(off, {"aws:SecureTransport": False})
    assert decides(off, {"aws:SecureTransport": "false"})
    assert not decides(off, {"aws:SecureTransport": True})
    assert not decides(off, {})
    assert decides({"BoolIfExists": {"aws:SecureTransport": "false"}}, {})


def test_condition_keys_are_case_insensitive_and_values_case_sensitive():
    condition = {"StringEquals": {"AWS:SourceVpce": "vpce-1"}}
    assert decides(condition, {"aws:sourcevpce": "vpce-1"})
    assert not decides(condition, {"aws:SourceVpce": "VPCE-1"})
    assert decides(
        {"StringEqualsIgnoreCase": {"aws:SourceVpce": "VPCE-1"}}, {"aws:SourceVpce": "vpce-1"}
    )
    with pytest.raises(ValueError, match="twice"):
        decides(condition, {"aws:SourceVpce": "a", "AWS:SOURCEVPCE": "b"})


def test_values_of_one_key_are_ored_keys_and_operators_are_anded():
    condition = {
        "StringEquals": {
            "aws:SourceVpce": ["vpce-1", "vpce-2"],
            "aws:RequestedRegion": "eu-west-1",
        },
        "Bool": {"aws:SecureTransport": "true"},
    }
    good = {
        "aws:SourceVpce": "vpce-2",
        "aws:RequestedRegion": "eu-west-1",
        "aws:SecureTransport": True,
    }
    assert decides(condition, good)
    assert not decides(condition, good | {"aws:SourceVpce": "vpce-3"})
    assert not decides(condition, good | {"aws:RequestedRegion": "us-east-1"})
    assert not decides(condition, good | {"aws:SecureTransport": False})


def test_negated_operators_hold_when_no_value_matches_and_when_the_key_is_missing():
    condition = {"StringNotEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}}
    assert decides(condition, {"aws:SourceVpce": "vpce-3"})
    assert not decides(condition, {"aws:SourceVpce": "vpce-1"})
    assert not decides(condition, {"aws:SourceVpce": "vpce-2"})
    assert decides(condition, {})  # missing: no value matches
    assert decides({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "tmp/x"})
    assert not decides({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/x"})


def test_positive_operators_fail_on_a_missing_key_unless_if_exists():
    assert not decides({"StringEquals": {"aws:SourceVpce": "vpce-1"}}, {})
    assert decides({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}, {})
    assert not decides(
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}, {"aws:SourceVpce": "x"}
    )
    assert decides({"NumericLessThanIfExists": {"s3:max-keys": "10"}}, {})


def test_string_like_and_arn_like_wildcards():
    assert decides({"StringLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/a/b"})
    assert not decides({"StringLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "Home/a"})
    # StringEquals takes "*" literally.
    assert not decides({"StringEquals": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/a"})
    arn = "arn:aws:iam::111122223333:role/job"
    for operator in ("ArnLike", "ArnEquals"):
        assert decides(
            {operator: {"aws:SourceArn": "arn:aws:iam::*:role/*"}}, {"aws:SourceArn": arn}
        )
        assert not decides(
            {operator: {"aws:SourceArn": "arn:aws:iam::*:user/*"}}, {"aws:SourceArn": arn}
        )


def test_numeric_operators():
    for operator, limit, expected in [
        ("NumericLessThan", "10", False),
        ("NumericLessThanEquals", "10", True),
        ("NumericGreaterThan", "9.5", True),
        ("NumericGreaterThanEquals", "11", False),
        ("NumericEquals", "10", True),
        ("NumericNotEquals", "10", False),
    ]:
        assert decides({operator: {"s3:max-keys": limit}}, {"s3:max-keys": "10"}) is expected, (
            operator
        )
    assert not decides({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"})


def test_for_any_value_and_for_all_values_over_lists():
    any_of = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "project"]}}
    all_of = {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "project"]}}
    assert decides(any_of, {"aws:TagKeys": ["team", "other"]})
    assert not decides(any_of, {"aws:TagKeys": ["other"]})
    assert not decides(any_of, {})  # no value to match
    assert not decides(any_of, {"aws:TagKeys": []})
    assert decides(all_of, {"aws:TagKeys": ["team", "project"]})
    assert not decides(all_of, {"aws:TagKeys": ["team", "other"]})
    assert decides(all_of, {})  # every one of no values matches: the classic Allow pitfall
    assert decides(all_of, {"aws:TagKeys": []})
    # Negated with a set operator: per context value, "matches none of the listed values".
    none_of = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}
    assert decides(none_of, {"aws:TagKeys": ["team", "project"]})
    assert not decides(none_of, {"aws:TagKeys": ["team", "secret"]})
    some_not = {"ForAnyValue:StringNotLike": {"aws:TagKeys": "team*"}}
    assert decides(some_not, {"aws:TagKeys": ["team-a", "cost"]})
    assert not decides(some_not, {"aws:TagKeys": ["team-a", "team-b"]})


def test_a_multivalued_key_needs_a_set_operator():
    with pytest.raises(ValueError, match="ForAnyValue"):
        decides({"StringEquals": {"aws:TagKeys": "team"}}, {"aws:TagKeys": ["team"]})


def test_conditions_of_statements_for_other_actions_are_not_evaluated():
    other = {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}
    other["Condition"] = {"StringEquals": {"aws:TagKeys": "x"}}  # would raise if evaluated
    assert evaluate([allow(), other], "s3:GetObject", "*", {"aws:TagKeys": ["x"]}) == "Allow"


@pytest.mark.parametrize(
    "statement",
    [
        allow(Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
        allow(Condition={"StringEqualsWhatever": {"k": "v"}}),
        allow(Condition={"NullIfExists": {"k": "true"}}),
        allow(Condition={"ForAnyValue:Null": {"k": "true"}}),
        allow(resource="arn:aws:s3:::home/${aws:username}/*"),
        allow(resource={"Fn::GetAtt": ["Bucket", "Arn"]}),
        allow(Principal={"AWS": "*"}),
        allow(NotAction="s3:PutObject"),
        {"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"},
    ],
)
def test_what_is_not_supported_raises_instead_of_deciding(statement):
    with pytest.raises(ValueError):
        evaluate([statement], "s3:GetObject", "*", {"k": "v"})


def test_substitute_replaces_refs_getatts_joins_and_pseudo_parameters():
    document = {
        "Resource": [
            {"Fn::GetAtt": ["Bucket1", "Arn"]},
            {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket1", "Arn"]}, "/*"]]},
            {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "kms", {"Ref": "AWS::Region"}]]},
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Role}"},
            {"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "Role"}]}]},
        ],
        "Condition": {"StringEquals": {"aws:SourceVpce": {"Ref": "Endpoint"}}},
    }
    values = {"Bucket1.Arn": "arn:aws:s3:::data", "Role": "a/b", "Endpoint": "vpce-1"}
    assert substitute(document, values) == {
        "Resource": [
            "arn:aws:s3:::data",
            "arn:aws:s3:::data/*",
            "arn:aws:kms:us-east-1",
            "arn:aws:iam::111122223333:role/a/b",
            "b",
        ],
        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
    }
    with pytest.raises(KeyError, match="Missing"):
        substitute({"Ref": "Missing"}, {})
    with pytest.raises(ValueError, match="Fn::If"):
        substitute({"Fn::If": ["C", "a", "b"]}, {})


# =============================================================================================
# The guardrails, as synthesized
# =============================================================================================

ACCOUNT = "111122223333"
REGION = "us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET_ARN = "arn:aws:s3:::ml-refarch-data"
JOB_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-jobs"
ENDPOINT_ID = "vpce-0a1b2c3d4e5f67890"
NOTEBOOK_ENDPOINT_ID = "vpce-0123456789abcdef0"
#: Guarded roles of the test stack: how each gets its notebook endpoint id.
ROLES = ("WithEndpoint", "WithTokenEndpoint", "WithoutEndpoint")


def arn(resource: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}"


@pytest.fixture(scope="module")
def template() -> dict:
    """One stack with three guarded roles: a literal endpoint id, a token one, and none."""
    app = cdk.App(context=project_context())
    stack = cdk.Stack(app, "Guardrails")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Data", encryption_key=key)
    job_role = iam.Role(
        stack, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
    )
    endpoint = cdk.CfnParameter(stack, "NotebookEndpoint", type="String")
    endpoints = {
        "WithEndpoint": [ENDPOINT_ID, NOTEBOOK_ENDPOINT_ID],
        "WithTokenEndpoint": [endpoint.value_as_string, NOTEBOOK_ENDPOINT_ID],
        "WithoutEndpoint": None,
    }
    for name in ROLES:
        GuardedRole(
            stack,
            name,
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            job_execution_role=job_role,
            data_bucket=bucket,
            encryption_key=key,
            notebook_vpc_endpoint_ids=endpoints[name],
            description=f"Data scientists ({name})",
        )
    return Template.from_stack(stack).to_json()


def concrete_values(template: dict) -> dict[str, str]:
    (key_id,) = resources_of_type(template, "AWS::KMS::Key")
    (bucket_id,) = resources_of_type(template, "AWS::S3::Bucket")
    (job_role_id,) = [i for i in resources_of_type(template, "AWS::IAM::Role") if "JobRole" in i]
    return {
        f"{key_id}.Arn": KEY_ARN,
        f"{bucket_id}.Arn": BUCKET_ARN,
        f"{job_role_id}.Arn": JOB_ROLE_ARN,
        "NotebookEndpoint": ENDPOINT_ID,
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
    }


@pytest.fixture(scope="module")
def policies(template) -> dict[str, list[dict]]:
    """Each guarded role's policy statements, with references replaced by concrete values."""
    values = concrete_values(template)
    found = {}
    for logical_id, resource in resources_of_type(template, "AWS::IAM::ManagedPolicy").items():
        (name,) = [role for role in ROLES if logical_id.startswith(role)]
        found[name] = substitute(resource["Properties"]["PolicyDocument"], values)["Statement"]
    assert sorted(found) == sorted(ROLES)
    return found


@pytest.fixture(scope="module")
def policy(policies) -> list[dict]:
    return policies["WithEndpoint"]


SUBNETS = ["subnet-0aaa1111", "subnet-0bbb2222"]
#: A request context with every control set, per guarded action (the keys each one has).
COMPLIANT: dict[str, dict] = {
    "CreateTrainingJob": {
        "sagemaker:VpcSubnets": SUBNETS,
        "sagemaker:NetworkIsolation": True,
        "sagemaker:InterContainerTrafficEncryption": True,
        "sagemaker:VolumeKmsKey": KEY_ARN,
    },
    "CreateTransformJob": {"sagemaker:VolumeKmsKey": KEY_ARN},
    "CreateModel": {"sagemaker:VpcSubnets": SUBNETS, "sagemaker:NetworkIsolation": True},
}
COMPLIANT["CreateProcessingJob"] = COMPLIANT["CreateTrainingJob"]
COMPLIANT["CreateHyperParameterTuningJob"] = COMPLIANT["CreateTrainingJob"]

RESOURCES = {
    "CreateTrainingJob": arn("training-job/churn-xgb-001"),
    "CreateProcessingJob": arn("processing-job/churn-features-001"),
    "CreateHyperParameterTuningJob": arn("hyper-parameter-tuning-job/churn-hpo-001"),
    "CreateTransformJob": arn("transform-job/churn-batch-001"),
    "CreateModel": arn("model/churn-xgb"),
}


def decision(statements, action: str, context: dict, resource: str | None = None):
    return explain(statements, f"sagemaker:{action}", resource or RESOURCES[action], context)


def without(context: dict, key: str) -> dict:
    return {k: v for k, v in context.items() if k != key}


def non_compliant_variants(action: str) -> list[tuple[str, str, dict]]:
    """(action, what is wrong, context): each control of ``action`` missing or off, in turn."""
    variants = []
    for key, value in COMPLIANT[action].items():
        variants.append((action, f"{key} missing", without(COMPLIANT[action], key)))
        if isinstance(value, bool):
            variants.append((action, f"{key} false", COMPLIANT[action] | {key: False}))
    return variants


@pytest.mark.parametrize("action", sorted(COMPLIANT))
def test_a_request_with_every_control_is_allowed(policy, action):
    result = decision(policy, action, COMPLIANT[action])
    assert result.decision == "Allow", result


@pytest.mark.parametrize(
    ("action", "problem", "context"),
    [
        pytest.param(*variant, id=f"{variant[0]}-{variant[1]}")
        for action in sorted(COMPLIANT)
        for variant in non_compliant_variants(action)
    ],
)
def test_a_request_missing_or_turning_off_one_control_is_denied(policy, action, problem, context):
    result = decision(policy, action, context)
    assert result.decision == "Deny", f"{action} with {problem}: {result}"


def test_every_guarded_action_has_four_or_fewer_controls_and_all_are_tested():
    counts = {action: len(non_compliant_variants(action)) for action in COMPLIANT}
    # Four controls, two of them booleans (missing and false each): six ways to fail.
    assert counts == {
        "CreateTrainingJob": 6,
        "CreateProcessingJob": 6,
        "CreateHyperParameterTuningJob": 6,
        "CreateTransformJob": 1,
        "CreateModel": 3,
    }


def test_transform_jobs_are_not_denied_for_keys_they_do_not_have(policy):
    # Transform jobs have no VpcSubnets or NetworkIsolation key: a Null check of them would
    # deny every transform job.
    context = {"sagemaker:VolumeKmsKey": KEY_ARN}
    assert decision(policy, "CreateTransformJob", context).decision == "Allow"
    assert decision(policy, "CreateTransformJob", {}).decision == "Deny"


def test_models_are_not_denied_for_lacking_a_volume_key(policy):
    context = {"sagemaker:VpcSubnets": SUBNETS, "sagemaker:NetworkIsolation": True}
    assert "sagemaker:VolumeKmsKey" not in context
    assert decision(policy, "CreateModel", context).decision == "Allow"
    for key in context:
        result = decision(policy, "CreateModel", without(context, key))
        assert result.decision == "Deny", (key, result)


def test_the_deny_names_the_missing_control(policy):
    context = without(COMPLIANT["CreateTrainingJob"], "sagemaker:VolumeKmsKey")
    assert decision(policy, "CreateTrainingJob", context).denied_by == (
        "DenySageMakerVolumeWithoutKmsKey",
    )


def test_jobs_in_another_account_are_not_allowed(policy):
    other = f"arn:aws:sagemaker:{REGION}:999999999999:training-job/x"
    result = decision(policy, "CreateTrainingJob", COMPLIANT["CreateTrainingJob"], other)
    assert result.decision == "ImplicitDeny", result


CONTROLS = {
    "sagemaker:VpcSubnets": st.lists(
        st.from_regex(r"subnet-[0-9a-f]{8}", fullmatch=True), min_size=1, max_size=3
    ),
    "sagemaker:NetworkIsolation": st.sampled_from([True, False, "true", "false"]),
    "sagemaker:InterContainerTrafficEncryption": st.sampled_from([True, False, "true", "false"]),
    "sagemaker:VolumeKmsKey": st.sampled_from([KEY_ARN, "alias/ml-volumes"]),
}


@settings(max_examples=150, deadline=None)
@given(
    context=st.fixed_dictionaries({}, optional=CONTROLS),
    action=st.sampled_from(
        ["CreateTrainingJob", "CreateProcessingJob", "CreateHyperParameterTuningJob"]
    ),
)
def test_a_job_is_allowed_iff_all_four_controls_are_set_and_true(policy, context, action):
    compliant = set(context) == set(CONTROLS) and all(
        str(value).lower() == "true"
        for key, value in context.items()
        if key in ("sagemaker:NetworkIsolation", "sagemaker:InterContainerTrafficEncryption")
    )
    result = decision(policy, action, context)
    assert result.decision == ("Allow" if compliant else "Deny"), (context, result)


@pytest.mark.parametrize("role", ["WithEndpoint", "WithTokenEndpoint"])
@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("CreatePresignedNotebookInstanceUrl", arn("notebook-instance/analyst-1")),
        ("CreatePresignedDomainUrl", arn("user-profile/d-abc123/analyst-1")),
    ],
)
def test_notebooks_open_only_through_the_endpoint(policies, role, action, resource):
    statements = policies[role]
    for endpoint_id in (ENDPOINT_ID, NOTEBOOK_ENDPOINT_ID):
        through = {"aws:SourceVpce": endpoint_id}
        assert decision(statements, action, through, resource).decision == "Allow"
    assert decision(statements, action, {}, resource).decision == "Deny"
    other = {"aws:SourceVpce": "vpce-0ffffffffffffffff"}
    assert decision(statements, action, other, resource).decision == "Deny"


def test_without_an_endpoint_there_is_no_presigned_url_statement(policies):
    statements = policies["WithoutEndpoint"]
    presigned = [
        statement
        for statement in statements
        if any("Presigned" in action for action in _list(statement["Action"]))
    ]
    assert presigned == []
    # The job guardrails are there all the same.
    sids = {statement.get("Sid") for statement in statements}
    assert {statement.sid for statement in sagemaker_job_guardrails()} <= sids


@pytest.mark.parametrize("endpoint_ids", [[], [""], ["vpc-0a1b2c3d"], [ENDPOINT_ID, "vpce-XYZ"]])
def test_a_literal_endpoint_id_must_look_like_one(endpoint_ids):
    stack = cdk.Stack(cdk.App(), "BadEndpoint")
    key = kms.Key(stack, "Key")
    with pytest.raises(ValueError, match="vpce-"):
        GuardedRole(
            stack,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            job_execution_role=iam.Role.from_role_name(stack, "Job", "job"),
            data_bucket=s3.Bucket.from_bucket_name(stack, "Data", "data"),
            encryption_key=key,
            notebook_vpc_endpoint_ids=endpoint_ids,
            description="Data scientists",
        )


def test_the_endpoint_id_may_be_a_token(template):
    (policy_id,) = [
        i for i in resources_of_type(template, "AWS::IAM::ManagedPolicy") if "Token" in i
    ]
    statements = template["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
    (presigned,) = [s for s in statements if s.get("Sid") == presigned_url_guardrail(["x"]).sid]
    assert presigned["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": [{"Ref": "NotebookEndpoint"}, NOTEBOOK_ENDPOINT_ID]}
    }


@pytest.mark.parametrize(
    ("role", "service", "expected"),
    [
        (JOB_ROLE_ARN, "sagemaker.amazonaws.com", "Allow"),
        (f"arn:aws:iam::{ACCOUNT}:role/admin", "sagemaker.amazonaws.com", "ImplicitDeny"),
        (JOB_ROLE_ARN, "lambda.amazonaws.com", "ImplicitDeny"),
        (JOB_ROLE_ARN, None, "ImplicitDeny"),
    ],
)
def test_only_the_job_role_can_be_passed_and_only_to_sagemaker(policy, role, service, expected):
    context = {} if service is None else {"iam:PassedToService": service}
    assert evaluate(policy, "iam:PassRole", role, context) == expected


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        ("s3:GetObject", f"{BUCKET_ARN}/train/part-0.parquet", "Allow"),
        ("s3:PutObject", f"{BUCKET_ARN}/models/model.tar.gz", "Allow"),
        ("s3:DeleteObject", f"{BUCKET_ARN}/tmp/x", "Allow"),
        ("s3:ListBucket", BUCKET_ARN, "Allow"),
        ("s3:GetObject", "arn:aws:s3:::another-bucket/x", "ImplicitDeny"),
        ("s3:PutBucketPolicy", BUCKET_ARN, "ImplicitDeny"),
        ("kms:Decrypt", KEY_ARN, "Allow"),
        ("kms:GenerateDataKey", KEY_ARN, "Allow"),
        ("kms:ScheduleKeyDeletion", KEY_ARN, "ImplicitDeny"),
        (
            "logs:GetLogEvents",
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs"
            ":log-stream:churn-xgb-001/algo-1",
            "Allow",
        ),
        ("logs:GetLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app:*", "ImplicitDeny"),
        ("sagemaker:ListTrainingJobs", "*", "Allow"),
        ("sagemaker:InvokeEndpoint", arn("endpoint/churn"), "Allow"),
        ("sagemaker:DeleteEndpoint", arn("endpoint/churn"), "ImplicitDeny"),
        ("sagemaker:CreatePipeline", arn("pipeline/p"), "ImplicitDeny"),
        ("sagemaker:CreateAutoMLJob", arn("automl-job/a"), "ImplicitDeny"),
    ],
)
def test_data_scientist_permissions(policy, action, resource, expected):
    assert evaluate(policy, action, resource, {}) == expected


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_no_allow_statement_has_a_wildcard_action(policies):
    for name, statements in policies.items():
        for statement in statements:
            assert "NotAction" not in statement, (name, statement)
            if statement["Effect"] == "Allow":
                wild = [a for a in _list(statement["Action"]) if "*" in a or "?" in a]
                assert not wild, (name, statement.get("Sid"), wild)


def test_guardrails_are_denies_on_every_resource_each_with_a_sid(policy):
    guardrails = [s for s in policy if s["Effect"] == "Deny"]
    assert len(guardrails) == len(sagemaker_job_guardrails()) + 1
    for statement in guardrails:
        assert statement["Resource"] == "*"
        assert statement.get("Sid"), statement
    sids = [s["Sid"] for s in policy if "Sid" in s]
    assert len(sids) == len(set(sids)) == len(policy)


def test_the_role_has_one_managed_policy_and_no_inline_policy(template):
    assert resources_of_type(template, "AWS::IAM::Policy") == {}
    for logical_id, role in resources_of_type(template, "AWS::IAM::Role").items():
        assert "Policies" not in role["Properties"], logical_id
    for name in ROLES:
        (policy_id,) = [
            i for i in resources_of_type(template, "AWS::IAM::ManagedPolicy") if i.startswith(name)
        ]
        (role_id,) = [
            i for i in resources_of_type(template, "AWS::IAM::Role") if i.startswith(name)
        ]
        roles = template["Resources"][policy_id]["Properties"]["Roles"]
        assert roles == [{"Ref": role_id}]


def test_the_guarded_role_adds_no_finding_to_the_compliance_gate(tmp_path):
    """With the project's rule packs on, nothing under the guarded role is flagged.

    The plain bucket next to it is flagged (so the packs did run); the role's wildcard
    resources are acknowledged by the construct, each with its reason.
    """
    from ml_refarch.app import register_packs

    app = cdk.App(context=project_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "GuardrailsGate")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    job_role = iam.Role(
        stack, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
    )
    GuardedRole(
        stack,
        "DataScientist",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        job_execution_role=job_role,
        data_bucket=s3.Bucket(stack, "Data", encryption_key=key),
        encryption_key=key,
        notebook_vpc_endpoint_ids=[ENDPOINT_ID],
        description="Data scientists",
    )
    register_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    flagged = {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert ("AwsSolutions-S1", "GuardrailsGate/Data/Resource") in flagged
    assert not {f for f in flagged if "/DataScientist/" in f[1] or "/JobRole/" in f[1]}


def _guarded_role(stack: cdk.Stack, key: kms.IKey) -> GuardedRole:
    return GuardedRole(
        stack,
        "DataScientist",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        job_execution_role=iam.Role.from_role_name(stack, "Job", "job"),
        data_bucket=s3.Bucket.from_bucket_name(stack, "Data", "data"),
        encryption_key=key,
        description="Data scientists",
    )


@pytest.mark.parametrize("endpoint_ids", [[], ["vpc-0a1b2c3d"]])
def test_studio_permissions_need_real_endpoint_ids(endpoint_ids):
    stack = cdk.Stack(cdk.App(), "BadStudio")
    key = kms.Key(stack, "Key")
    role = _guarded_role(stack, key)
    with pytest.raises(ValueError, match="vpce-"):
        role.allow_studio(
            domain_id="d-abc123", domain_key=key, studio_vpc_endpoint_ids=endpoint_ids
        )


def test_studio_permissions_are_a_second_policy_and_leave_the_first_unchanged():
    def policies(with_studio: bool) -> dict:
        stack = cdk.Stack(cdk.App(context=project_context()), "Studio")
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        role = _guarded_role(stack, key)
        if with_studio:
            role.allow_studio(
                domain_id="d-abc123", domain_key=key, studio_vpc_endpoint_ids=[ENDPOINT_ID]
            )
        return resources_of_type(Template.from_stack(stack).to_json(), "AWS::IAM::ManagedPolicy")

    without, with_ = policies(False), policies(True)
    (added,) = set(with_) - set(without)
    assert "StudioPolicy" in added
    assert {k: with_[k] for k in without} == without
    statements = with_[added]["Properties"]["PolicyDocument"]["Statement"]
    (grant,) = [s for s in statements if s.get("Sid") == "GrantDomainKeyToSageMakerResources"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
