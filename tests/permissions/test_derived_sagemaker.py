"""The SageMaker derivers find what a model's, a notebook's and a Studio user's role lacks."""

from __future__ import annotations

import copy

import pytest

from ml_refarch.permissions.run import evaluate
from tests.permissions.sagemaker_templates import (
    KEY_ARN,
    hosting,
    key,
    role,
    statement,
    without,
)


def failing(template: dict) -> set[str]:
    return {result.call.action for result in evaluate("stack", template).failures}


def test_a_hosted_model_with_what_it_needs_passes():
    result = evaluate("stack", hosting(capture=True))
    assert result.ok, [failure.describe() for failure in result.failures]
    actions = {r.call.action for r in result.results if r.principal == "ExecutionRole"}
    assert {"s3:GetObject", "kms:Decrypt", "ecr:BatchGetImage", "ec2:CreateNetworkInterface",
            "logs:PutLogEvents", "cloudwatch:PutMetricData", "s3:PutObject",
            "kms:GenerateDataKey", "kms:Encrypt"} <= actions  # fmt: skip


@pytest.mark.parametrize(
    ("sid", "missing"),
    [
        ("Artifacts", {"s3:GetObject"}),
        ("Key", {"kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"}),
        ("Pull", {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                  "ecr:BatchCheckLayerAvailability"}),
        ("Network", {"ec2:CreateNetworkInterface", "ec2:DescribeSubnets"}),
        ("Logs", {"logs:CreateLogStream", "logs:PutLogEvents"}),
        ("Metrics", {"cloudwatch:PutMetricData"}),
        ("Capture", {"s3:PutObject"}),
    ],
)  # fmt: skip
def test_what_the_model_role_lacks_is_found(sid, missing):
    assert missing <= failing(without(hosting(capture=True), "ExecutionRole", sid))


def test_metrics_outside_the_sagemaker_namespace_do_not_count():
    template = hosting()
    statements = template["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]
    metrics = next(s for s in statements["PolicyDocument"]["Statement"] if s["Sid"] == "Metrics")
    metrics["Condition"] = {"StringEquals": {"cloudwatch:namespace": "Custom"}}
    assert "cloudwatch:PutMetricData" in failing(template)


def test_an_aws_owned_image_asks_nothing_of_the_role():
    image = {"Fn::FindInMap": ["Images", {"Ref": "AWS::Region"}, "uri"]}
    template = without(hosting(image=image), "ExecutionRole", "Pull")
    template = without(template, "ExecutionRole", "Token")
    result = evaluate("stack", template)
    assert result.ok, [failure.describe() for failure in result.failures]
    assert not any(r.call.action.startswith("ecr:") for r in result.results)


def test_an_image_of_a_repository_in_the_template_is_pulled_from_it():
    template = hosting(image={"Fn::GetAtt": ["Repository", "RepositoryUri"]})
    template["Resources"]["Repository"] = {"Type": "AWS::ECR::Repository", "Properties": {}}
    pulls = [r for r in evaluate("stack", template).results if r.call.action == "ecr:BatchGetImage"]
    assert [r.resource for r in pulls] == [
        "arn:aws:ecr:us-east-1:111122223333:repository/repository"
    ]
    assert not pulls[0].passed  # the role may pull only from "churn"


def test_the_endpoint_logs_go_to_its_own_group():
    results = evaluate("stack", hosting()).results
    streams = {r.resource for r in results if r.call.action == "logs:PutLogEvents"}
    assert streams == {
        "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/Endpoints/endpoint"
        ":log-stream:AllTraffic/i-0123456789abcdef0"
    }


def test_captured_data_is_written_with_the_capture_key():
    results = evaluate("stack", hosting(capture=True)).results
    writes = {
        (r.call.action, r.resource)
        for r in results
        if r.scenario.name == "Config: the endpoint writes captured requests and responses"
    }
    key_arn = next(r.resource for r in results if r.call.action == "kms:Decrypt")
    capture = "arn:aws:s3:::data/capture/endpoint/AllTraffic/2026/01/01/00/capture.jsonl"
    assert writes == {
        ("s3:PutObject", capture),
        ("kms:GenerateDataKey", key_arn),
        ("kms:Encrypt", key_arn),
    }


# --- notebook instances ---------------------------------------------------------------------


def notebook(statements: list[dict]) -> dict:
    script = [{"Content": "ZWNobyBoaQ=="}]
    return {
        "Resources": {
            "NotebookRole": role("sagemaker.amazonaws.com", statements),
            "Lifecycle": {
                "Type": "AWS::SageMaker::NotebookInstanceLifecycleConfig",
                "Properties": {"OnStart": script},
            },
            "Notebook": {
                "Type": "AWS::SageMaker::NotebookInstance",
                "Properties": {
                    "InstanceType": "ml.t3.medium",
                    "RoleArn": {"Fn::GetAtt": ["NotebookRole", "Arn"]},
                    "LifecycleConfigName": {
                        "Fn::GetAtt": ["Lifecycle", "NotebookInstanceLifecycleConfigName"]
                    },
                },
            },
        }
    }


NOTEBOOK_GROUP = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/NotebookInstances"
NOTEBOOK_LOGS = statement(
    "Logs",
    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
    f"{NOTEBOOK_GROUP}:*",
)


def test_a_notebook_without_log_permissions_cannot_write_its_lifecycle_output():
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= failing(notebook([]))


def test_a_notebook_that_may_write_its_lifecycle_output_passes():
    result = evaluate("stack", notebook([NOTEBOOK_LOGS]))
    assert result.ok, [failure.describe() for failure in result.failures]
    streams = {r.resource.rsplit(":", 1)[-1] for r in result.results}
    assert "notebook/LifecycleConfigOnStart" in streams
    assert "notebook/LifecycleConfigOnCreate" not in streams  # no OnCreate hook


def test_a_notebook_without_a_lifecycle_configuration_has_no_scenario():
    template = notebook([])
    del template["Resources"]["Notebook"]["Properties"]["LifecycleConfigName"]
    assert evaluate("stack", template).uncovered_roles == ["NotebookRole"]


# --- Studio ---------------------------------------------------------------------------------

GRANT = statement(
    "Grant", ["kms:CreateGrant"], KEY_ARN, {"Bool": {"kms:GrantIsForAWSResource": "true"}}
)
DESCRIBE = statement("Describe", ["kms:DescribeKey"], KEY_ARN)


def studio(user_statements: list[dict], *, own_role: bool = False) -> dict:
    resources = {
        "Key": key(),
        "UserRole": role("sagemaker.amazonaws.com", user_statements),
        "Domain": {
            "Type": "AWS::SageMaker::Domain",
            "Properties": {
                "AuthMode": "IAM",
                "DomainName": "d",
                "KmsKeyId": KEY_ARN,
                "DefaultUserSettings": {"ExecutionRole": {"Fn::GetAtt": ["UserRole", "Arn"]}},
            },
        },
    }
    if own_role:
        resources["ProfileRole"] = role("sagemaker.amazonaws.com", [GRANT])
        resources["Profile"] = {
            "Type": "AWS::SageMaker::UserProfile",
            "Properties": {
                "DomainId": {"Fn::GetAtt": ["Domain", "DomainId"]},
                "UserProfileName": "someone",
                "UserSettings": {"ExecutionRole": {"Fn::GetAtt": ["ProfileRole", "Arn"]}},
            },
        }
    return {"Resources": resources}


def test_a_domain_key_the_user_role_cannot_grant_is_found():
    assert failing(studio([DESCRIBE])) == {"kms:CreateGrant"}


def test_a_domain_key_the_user_role_may_grant_to_anyone_is_found():
    unconditioned = statement("Grant", ["kms:CreateGrant"], KEY_ARN)
    (failure,) = evaluate("stack", studio([unconditioned, DESCRIBE])).failures
    assert (failure.call.action, failure.call.expect) == ("kms:CreateGrant", "deny")


def test_a_domain_key_grant_for_any_grantee_is_not_needed_but_one_for_aws_resources_is():
    loose = copy.deepcopy(GRANT)
    loose["Condition"] = {"Bool": {"kms:GrantIsForAWSResource": "false"}}
    assert failing(studio([loose, DESCRIBE])) == {"kms:CreateGrant"}
    assert evaluate("stack", studio([GRANT, DESCRIBE])).ok


def test_a_user_profile_with_its_own_role_gets_its_own_scenario():
    result = evaluate("stack", studio([GRANT, DESCRIBE], own_role=True))
    assert {f.principal for f in result.failures} == {"ProfileRole"}
    assert {f.call.action for f in result.failures} == {"kms:DescribeKey"}


def test_a_cdk_image_asset_is_pulled_from_the_bootstrap_repository():
    asset = (
        "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/"
        "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}:0123abcd"
    )
    results = evaluate("stack", hosting(image={"Fn::Sub": asset})).results
    pulls = {r.resource for r in results if r.call.action == "ecr:BatchGetImage"}
    assert pulls == {
        "arn:aws:ecr:us-east-1:111122223333:repository/"
        "cdk-hnb659fds-container-assets-111122223333-us-east-1"
    }
