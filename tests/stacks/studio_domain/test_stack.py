"""studio-domain: the notes' controls, asserted on the template."""

from __future__ import annotations

import base64

import pytest

from ml_refarch.constructs.guardrails import sagemaker_job_guardrails
from tests.notebook_templates import (
    guardrail_statements,
    lifecycle_text,
    logical_id_of,
    workload_group,
)
from tests.support import only_resource, resources_of_type

STUDIO = "MlRefArch-StudioDomain"


@pytest.fixture(scope="module")
def studio(synthesized):
    return synthesized("sandbox").templates[STUDIO]


# --- Studio -----------------------------------------------------------------------------------


def test_studio_domain_is_vpc_only_with_kms_and_the_guarded_role(studio):
    domain = only_resource(studio, "AWS::SageMaker::Domain")["Properties"]
    assert domain["AppNetworkAccessType"] == "VpcOnly"
    assert domain["AuthMode"] == "IAM"
    assert domain["KmsKeyId"] == {"Fn::GetAtt": [logical_id_of(studio, "AWS::KMS::Key"), "Arn"]}
    assert len(domain["SubnetIds"]) == 2
    settings = domain["DefaultUserSettings"]
    assert "DataScientistRole" in settings["ExecutionRole"]["Fn::GetAtt"][0]
    assert settings["SecurityGroups"] == [{"Fn::GetAtt": [workload_group(studio), "GroupId"]}]
    lifecycle = {
        "Fn::GetAtt": [
            logical_id_of(studio, "AWS::SageMaker::StudioLifecycleConfig"),
            "StudioLifecycleConfigArn",
        ]
    }
    jupyter = settings["JupyterLabAppSettings"]
    assert jupyter["LifecycleConfigArns"] == [lifecycle]
    assert jupyter["DefaultResourceSpec"]["LifecycleConfigArn"] == lifecycle


def test_studio_user_profile_uses_the_guarded_role(studio):
    profile = only_resource(studio, "AWS::SageMaker::UserProfile")["Properties"]
    assert profile["UserProfileName"] == "data-scientist"
    assert "DataScientistRole" in profile["UserSettings"]["ExecutionRole"]["Fn::GetAtt"][0]


def test_studio_lifecycle_is_a_jupyterlab_config_running_as_the_studio_user(studio):
    config = only_resource(studio, "AWS::SageMaker::StudioLifecycleConfig")["Properties"]
    assert config["StudioLifecycleConfigAppType"] == "JupyterLab"
    script = lifecycle_text(config["StudioLifecycleConfigContent"])
    assert "TARGET=studio" in script and "PACKAGE_SOURCE=codeartifact" in script
    encoded = base64.b64encode(script.encode()).decode()
    assert len(encoded) <= 16384


def test_studio_opens_only_nfs_and_app_ports_inside_its_group(studio):
    group = {"Fn::GetAtt": [workload_group(studio), "GroupId"]}
    internal = [
        rule["Properties"]
        for rule in resources_of_type(studio, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == group
    ]
    assert sorted((r["FromPort"], r["ToPort"]) for r in internal) == [(2049, 2049), (8192, 65535)]
    assert all(r["SourceSecurityGroupId"] == group for r in internal)


def test_presigned_urls_are_guarded_in_the_studio_policy_and_job_guardrails_stay(studio):
    sids = {s.get("Sid") for s in guardrail_statements(studio)}
    assert {s.sid for s in sagemaker_job_guardrails()} <= sids
    # Opening Studio is allowed and guarded in the role's second policy, which names the
    # domain; the first policy, shared with the notebook pattern, has neither.
    assert "DenyPresignedUrlOutsideVpcEndpoint" not in sids
    (studio_policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, p in resources_of_type(studio, "AWS::IAM::ManagedPolicy").items()
        if "StudioPolicy" in logical_id
    ]
    studio_sids = {s.get("Sid") for s in studio_policy}
    assert {"OpenStudio", "DenyPresignedUrlOutsideVpcEndpoint"} <= studio_sids
