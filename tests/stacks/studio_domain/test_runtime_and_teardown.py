"""studio-domain works when used and when destroyed, proven from the templates.

Runtime: what SageMaker and Studio users call as the execution role is written in the unit's
``scenarios.toml`` and evaluated by the permissions harness (identity policies, key and bucket
policies) against each template. Teardown: in sandbox the home-EFS cleanup is ordered after
the domain and before the subnets; in production (which keeps data) and in the local rehearsal
(which cannot run Lambda-backed custom resources) there is none.
"""

from __future__ import annotations

import copy

import pytest

from ml_refarch.permissions.policy import explain, substitute
from ml_refarch.permissions.run import evaluate, written_scenarios
from tests.notebook_templates import logical_id_of
from tests.support import only_resource, resources_of_type

STUDIO = "MlRefArch-StudioDomain"
NOTEBOOK = "MlRefArch-IsolatedNotebook"
ACCOUNT = "111122223333"
REGION = "us-east-1"
CLEANUP_TYPE = "Custom::StudioHomeCleanup"


@pytest.fixture(scope="module")
def studio(synthesized):
    return synthesized("sandbox").templates[STUDIO]


def _sagemaker(resource: str, domain_id: str = "d-abc123def456") -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource.format(domain=domain_id)}"


def written_failures(template: dict) -> list[str]:
    """The calls of the unit's written scenarios that are not as they expect."""
    result = evaluate(STUDIO, template, written_scenarios(STUDIO))
    assert result.results, "no written scenario was evaluated"
    return [
        failure.describe()
        for failure in result.failures
        if not failure.scenario.source.startswith("derived")
    ]


@pytest.mark.parametrize("variant", ["sandbox", "production", "sandbox-wheelhouse"])
def test_what_studio_users_and_their_code_call_is_allowed_and_no_more(synthesized, variant):
    assert written_failures(synthesized(variant).templates[STUDIO]) == []


#: What Studio does for a user, as the pages of the scenarios say: SageMaker's grants on the
#: domain key at CreateApp ("CreateDomain API: Execution Role Permissions"), the space, app,
#: list, describe and tag calls ("Give your users access to spaces"), opening Studio through
#: the VPC ("Connect to Studio Through an Interface VPC Endpoint").
STUDIO_ACTIONS = {
    "kms:CreateGrant",
    "kms:DescribeKey",
    "sagemaker:CreateSpace",
    "sagemaker:UpdateSpace",
    "sagemaker:DeleteSpace",
    "sagemaker:DescribeSpace",
    "sagemaker:ListSpaces",
    "sagemaker:CreateApp",
    "sagemaker:DescribeApp",
    "sagemaker:DeleteApp",
    "sagemaker:ListApps",
    "sagemaker:DescribeDomain",
    "sagemaker:DescribeUserProfile",
    "sagemaker:AddTags",
    "sagemaker:CreatePresignedDomainUrl",
}


def test_the_scenarios_hold_every_studio_call_and_its_denials():
    calls = [call for scenario in written_scenarios(STUDIO) for call in scenario.calls]
    allowed = {call.action for call in calls if call.expect == "allow"}
    denied = {call.action for call in calls if call.expect == "deny"}
    assert allowed >= STUDIO_ACTIONS
    # Another domain's spaces and apps, grants not for AWS resources, Studio opened from
    # outside the VPC's endpoints, and what only an administrator does.
    assert {
        "kms:CreateGrant",
        "sagemaker:CreateSpace",
        "sagemaker:CreateApp",
        "sagemaker:CreatePresignedDomainUrl",
        "sagemaker:DeleteDomain",
        "sagemaker:CreateUserProfile",
        "sagemaker:CreateTrainingJob",
        "iam:PassRole",
    } <= denied


def _without_statement(template: dict, sid: str) -> dict:
    broken = copy.deepcopy(template)
    for policy in resources_of_type(broken, "AWS::IAM::ManagedPolicy").values():
        document = policy["Properties"]["PolicyDocument"]
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
    return broken


@pytest.mark.parametrize(
    ("sid", "action"),
    [
        ("GrantDomainKeyToSageMakerResources", "kms:CreateGrant"),
        ("ManageStudioApps", "sagemaker:CreateApp"),
        ("TagStudioSpacesAndApps", "sagemaker:AddTags"),
        ("PassJobExecutionRoleToSageMaker", "iam:PassRole"),
    ],
)
def test_a_missing_studio_permission_fails_its_scenario(studio, sid, action):
    failures = written_failures(_without_statement(studio, sid))
    assert any(f" {action} on " in failure for failure in failures), failures


def test_a_missing_guardrail_lets_a_denied_job_through(studio):
    failures = written_failures(_without_statement(studio, "DenySageMakerOutsideVpc"))
    assert any("sagemaker:CreateTrainingJob" in f and "expected deny" in f for f in failures)


def test_the_notebook_role_gets_no_studio_permissions(synthesized):
    notebook = synthesized("sandbox").templates[NOTEBOOK]
    statements = all_policy_statements(notebook)
    sids = {statement.get("Sid") for statement in statements}
    assert not sids & {
        "ManageStudioSpaces",
        "ManageStudioApps",
        "GrantDomainKeyToSageMakerResources",
    }
    assert not any(
        "StudioPolicy" in i for i in resources_of_type(notebook, "AWS::IAM::ManagedPolicy")
    )


def all_policy_statements(template: dict) -> list[dict]:
    """The statements of every managed policy in ``template``, references left as they are."""
    statements = []
    for policy in resources_of_type(template, "AWS::IAM::ManagedPolicy").values():
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


# --- teardown -------------------------------------------------------------------------------


def _depends_on(template: dict, logical_id: str) -> set[str]:
    depends = template["Resources"][logical_id].get("DependsOn", [])
    return set([depends] if isinstance(depends, str) else depends)


def test_sandbox_deletes_the_domain_then_its_home_efs_then_the_subnets(studio):
    (cleanup_id,) = resources_of_type(studio, CLEANUP_TYPE)
    domain_id = logical_id_of(studio, "AWS::SageMaker::Domain")
    # CloudFormation deletes a resource before what it depends on: the domain goes first.
    assert cleanup_id in _depends_on(studio, domain_id)
    # The cleanup goes before every subnet (its mount targets sit there) and the VPC.
    subnets = set(resources_of_type(studio, "AWS::EC2::Subnet"))
    assert len(subnets) == 2 and subnets <= _depends_on(studio, cleanup_id)
    cleanup = studio["Resources"][cleanup_id]["Properties"]
    assert cleanup["VpcId"] == {"Ref": logical_id_of(studio, "AWS::EC2::VPC")}
    # ... and before its handler and the handler's permissions, which it needs to run.
    (function_id,) = [
        i for i in resources_of_type(studio, "AWS::Lambda::Function") if "HomeCleanup" in i
    ]
    assert cleanup["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}
    (policy_id,) = [
        i for i in resources_of_type(studio, "AWS::IAM::ManagedPolicy") if "HomeCleanup" in i
    ]
    assert policy_id in _depends_on(studio, cleanup_id)
    # Nothing the domain needs depends on the cleanup, so nothing outlives it wrongly.
    assert not any(
        cleanup_id in _depends_on(studio, other)
        for other in studio["Resources"]
        if other != domain_id
    )


def test_the_cleanup_handler_may_delete_only_sagemaker_home_file_systems_in_this_vpc(studio):
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for i, p in resources_of_type(studio, "AWS::IAM::ManagedPolicy").items()
        if "HomeCleanup" in i
    ]
    values = {logical_id: f"{logical_id}-value" for logical_id in studio["Resources"]}
    values[logical_id_of(studio, "AWS::EC2::VPC")] = "vpc-0stack"
    statements = substitute(policy, values)
    home = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-1"
    tag = "aws:ResourceTag/ManagedByAmazonSageMakerResource"
    ours = {tag: _sagemaker("domain/{domain}")}
    for action in ("elasticfilesystem:DeleteMountTarget", "elasticfilesystem:DeleteFileSystem"):
        assert explain(statements, action, home, ours).decision == "Allow"
        assert explain(statements, action, home, {}).decision == "ImplicitDeny"
    group = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-1"
    this_vpc = {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0stack"}
    other_vpc = {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0other"}
    assert explain(statements, "ec2:DeleteSecurityGroup", group, this_vpc).decision == "Allow"
    assert explain(statements, "ec2:DeleteSecurityGroup", group, other_vpc).decision != "Allow"
    assert explain(statements, "ec2:DeleteVpc", "*", this_vpc).decision != "Allow"


@pytest.mark.parametrize("variant", ["production", "local"])
def test_no_cleanup_where_data_is_kept_or_custom_resources_cannot_run(synthesized, variant):
    template = synthesized(variant).templates[STUDIO]
    assert resources_of_type(template, CLEANUP_TYPE) == {}
    assert not any("HomeCleanup" in i for i in template["Resources"])
    # The Studio permissions do not depend on the profile.
    only_resource(template, "AWS::SageMaker::Domain")
    assert any("StudioPolicy" in i for i in resources_of_type(template, "AWS::IAM::ManagedPolicy"))
