"""studio-domain works when used and when destroyed, proven from the templates.

Runtime: what SageMaker and Studio users call as the execution role, evaluated against every
managed policy of the role. Teardown: in sandbox the home-EFS cleanup is ordered after the
domain and before the subnets; in production (which keeps data) and in the local rehearsal
(which cannot run Lambda-backed custom resources) there is none.
"""

from __future__ import annotations

import pytest

from ml_refarch.permissions.policy import explain, substitute
from tests.notebook_templates import logical_id_of
from tests.support import only_resource, resources_of_type

STUDIO = "MlRefArch-StudioDomain"
NOTEBOOK = "MlRefArch-IsolatedNotebook"
ACCOUNT = "111122223333"
REGION = "us-east-1"
DOMAIN_ID = "d-abc123def456"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
API_ENDPOINT = "vpce-0a1b2c3d4e5f67890"
NOTEBOOK_ENDPOINT = "vpce-0123456789abcdef0"
CLEANUP_TYPE = "Custom::StudioHomeCleanup"


@pytest.fixture(scope="module")
def studio(synthesized):
    return synthesized("sandbox").templates[STUDIO]


def _sagemaker(resource: str, domain_id: str = DOMAIN_ID) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource.format(domain=domain_id)}"


def role_statements(template: dict) -> list[dict]:
    """Every statement of every managed policy attached to the data scientist's role, with
    references replaced by concrete values."""
    (role_id,) = [i for i in resources_of_type(template, "AWS::IAM::Role") if "DataScientist" in i]
    values = {logical_id: f"{logical_id}-value" for logical_id in template["Resources"]}
    values[f"{logical_id_of(template, 'AWS::KMS::Key')}.Arn"] = KEY_ARN
    values[f"{logical_id_of(template, 'AWS::SageMaker::Domain')}.DomainId"] = DOMAIN_ID
    for logical_id in resources_of_type(template, "AWS::EC2::VPCEndpoint"):
        if "SageMakerApi" in logical_id:
            values[logical_id] = API_ENDPOINT
        elif "SageMakerNotebook" in logical_id:
            values[logical_id] = NOTEBOOK_ENDPOINT
    statements = []
    for policy in resources_of_type(template, "AWS::IAM::ManagedPolicy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            document = substitute(policy["Properties"]["PolicyDocument"], values)
            statements += document["Statement"]
    return statements


#: (what happens, action, resource, request context), as the AWS pages say.
#: "Amazon SageMaker AI API Permissions: Actions, Permissions, and Resources Reference":
#: with a domain KMS key, SageMaker creates grants on it for the app's storage at CreateApp.
#: "Give your users access to spaces": the space, app, list, describe and tag calls.
STUDIO_CALLS = [
    ("SageMaker grants the domain key to an app volume", "kms:CreateGrant", KEY_ARN,
     {"kms:GrantIsForAWSResource": True}),
    ("SageMaker describes the domain key", "kms:DescribeKey", KEY_ARN, {}),
    ("a user creates a private space", "sagemaker:CreateSpace", _sagemaker("space/{domain}/mine"),
     {}),
    ("a user changes the space", "sagemaker:UpdateSpace", _sagemaker("space/{domain}/mine"), {}),
    ("a user deletes the space", "sagemaker:DeleteSpace", _sagemaker("space/{domain}/mine"), {}),
    ("Studio shows the space", "sagemaker:DescribeSpace", _sagemaker("space/{domain}/mine"), {}),
    ("Studio lists the spaces", "sagemaker:ListSpaces", "*", {}),
    ("a user starts JupyterLab", "sagemaker:CreateApp",
     _sagemaker("app/{domain}/mine/jupyterlab/default"), {}),
    ("Studio shows the app", "sagemaker:DescribeApp",
     _sagemaker("app/{domain}/mine/jupyterlab/default"), {}),
    ("a user stops the app", "sagemaker:DeleteApp",
     _sagemaker("app/{domain}/mine/jupyterlab/default"), {}),
    ("Studio lists the apps", "sagemaker:ListApps", "*", {}),
    ("Studio reads the domain", "sagemaker:DescribeDomain", _sagemaker("domain/{domain}"), {}),
    ("Studio reads the user profile", "sagemaker:DescribeUserProfile",
     _sagemaker("user-profile/{domain}/data-scientist"), {}),
    ("Studio tags the new space", "sagemaker:AddTags", _sagemaker("space/{domain}/mine"), {}),
    ("Studio tags the new app", "sagemaker:AddTags",
     _sagemaker("app/{domain}/mine/jupyterlab/default"), {}),
    ("a user opens Studio through the VPC", "sagemaker:CreatePresignedDomainUrl",
     _sagemaker("user-profile/{domain}/data-scientist"), {"aws:SourceVpce": NOTEBOOK_ENDPOINT}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scenario", "action", "resource", "context"),
    STUDIO_CALLS,
    ids=[call[0] for call in STUDIO_CALLS],
)
def test_studio_runtime_calls_are_allowed(studio, scenario, action, resource, context):
    result = explain(role_statements(studio), action, resource, context)
    assert result.decision == "Allow", (scenario, action, result)


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # A grant to a principal of the role's choosing, not to an AWS resource.
        ("kms:CreateGrant", KEY_ARN, {"kms:GrantIsForAWSResource": False}),
        ("kms:CreateGrant", KEY_ARN, {}),
        # Another domain's spaces and apps.
        ("sagemaker:CreateSpace", _sagemaker("space/{domain}/x", "d-other"), {}),
        ("sagemaker:CreateApp", _sagemaker("app/{domain}/x/jupyterlab/default", "d-other"), {}),
        ("sagemaker:DeleteApp", _sagemaker("app/{domain}/x/jupyterlab/default", "d-other"), {}),
        ("sagemaker:DescribeDomain", _sagemaker("domain/{domain}", "d-other"), {}),
        ("sagemaker:AddTags", _sagemaker("space/{domain}/x", "d-other"), {}),
        # Opening Studio from outside the VPC's SageMaker endpoints.
        (
            "sagemaker:CreatePresignedDomainUrl",
            _sagemaker("user-profile/{domain}/data-scientist"),
            {},
        ),
        # What only an administrator does.
        ("sagemaker:DeleteDomain", _sagemaker("domain/{domain}"), {}),
        ("sagemaker:CreateUserProfile", _sagemaker("user-profile/{domain}/intruder"), {}),
    ],
)
def test_studio_permissions_stay_within_the_domain(studio, action, resource, context):
    result = explain(role_statements(studio), action, resource, context)
    assert result.decision != "Allow", (action, resource, result)


def test_the_job_guardrails_still_deny_through_the_studio_policy(studio):
    training_job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/churn-1"
    result = explain(role_statements(studio), "sagemaker:CreateTrainingJob", training_job, {})
    assert result.decision == "Deny"


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
