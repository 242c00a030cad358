"""isolated-notebook: the notes' controls, asserted on the template."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from ml_refarch.app import add_pattern_stacks
from ml_refarch.cfn import literal_text
from ml_refarch.config import read_config
from ml_refarch.constructs.guardrails import sagemaker_job_guardrails
from ml_refarch.stacks.isolated_notebook.outputs import Outputs
from tests.notebook_templates import (
    guardrail_statements,
    interface_services,
    lifecycle_text,
    logical_id_of,
    workload_group,
)
from tests.support import only_resource, project_context, resources_of_type

NOTEBOOK = "MlRefArch-IsolatedNotebook"
CORE = {"sagemaker.api", "sagemaker.runtime", "sts", "logs", "notebook"}
CODEARTIFACT = {"codeartifact.api", "codeartifact.repositories"}


@pytest.fixture(scope="module")
def notebook(synthesized):
    return synthesized("sandbox").templates[NOTEBOOK]


# --- the notebook instance -------------------------------------------------------------------


def test_notebook_has_no_internet_no_root_a_kms_volume_and_imdsv2(notebook):
    properties = only_resource(notebook, "AWS::SageMaker::NotebookInstance")["Properties"]
    assert properties["DirectInternetAccess"] == "Disabled"
    assert properties["RootAccess"] == "Disabled"
    assert properties["KmsKeyId"] == {"Ref": logical_id_of(notebook, "AWS::KMS::Key")}
    assert properties["InstanceMetadataServiceConfiguration"] == {
        "MinimumInstanceMetadataServiceVersion": "2"
    }
    assert properties["InstanceType"] == "ml.t3.medium"
    assert properties["VolumeSizeInGB"] == 5


def test_notebook_sits_in_an_isolated_subnet_with_the_workload_group(notebook):
    properties = only_resource(notebook, "AWS::SageMaker::NotebookInstance")["Properties"]
    subnet_id = properties["SubnetId"]["Ref"]
    assert "isolated" in subnet_id
    assert properties["SecurityGroupIds"] == [{"Fn::GetAtt": [workload_group(notebook), "GroupId"]}]
    assert not resources_of_type(notebook, "AWS::EC2::InternetGateway")
    assert not resources_of_type(notebook, "AWS::EC2::NatGateway")
    routes = resources_of_type(notebook, "AWS::EC2::Route")
    assert not routes, "isolated subnets have no route out"


def availability_zones(template: dict) -> set[str]:
    subnets = resources_of_type(template, "AWS::EC2::Subnet").values()
    return {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets}


def test_vpc_spans_two_azs_in_sandbox(notebook):
    assert len(availability_zones(notebook)) == 2


def test_production_spans_three_azs_where_the_region_is_known():
    # An environment-agnostic stack only knows Fn::GetAZs, which CDK caps at two zones; a
    # stack pinned to an account and region uses three in production.
    account, region = "123456789012", "eu-west-1"
    app = cdk.App(
        context=project_context(
            profile="production",
            account=account,
            region=region,
            **{
                f"availability-zones:account={account}:region={region}": [
                    f"{region}a",
                    f"{region}b",
                    f"{region}c",
                ]
            },
        )
    )
    stacks = add_pattern_stacks(app, read_config(app.node.get_all_context()), only={NOTEBOOK})
    template = Template.from_stack(stacks[NOTEBOOK]).to_json()
    assert availability_zones(template) == {f'"{region}{zone}"' for zone in "abc"}


def test_notebook_vpc_has_the_endpoints_the_notes_require(notebook, synthesized):
    assert interface_services(notebook) == CORE | CODEARTIFACT
    wheelhouse = synthesized("sandbox-wheelhouse").templates[NOTEBOOK]
    assert interface_services(wheelhouse) == CORE
    for template in (notebook, wheelhouse):
        gateways = [
            e["Properties"]
            for e in resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
            if e["Properties"].get("VpcEndpointType", "Gateway") == "Gateway"
        ]
        assert [literal_text(g["ServiceName"]) for g in gateways] == ["com.amazonaws.*.s3"]


def test_endpoints_accept_https_only_from_the_workload_group(notebook):
    group = {"Fn::GetAtt": [workload_group(notebook), "GroupId"]}
    endpoint_groups = {
        logical_id
        for logical_id in resources_of_type(notebook, "AWS::EC2::SecurityGroup")
        if "Vpc" in logical_id
    }
    assert len(endpoint_groups) == len(CORE | CODEARTIFACT)
    for logical_id in endpoint_groups:
        properties = resources_of_type(notebook, "AWS::EC2::SecurityGroup")[logical_id][
            "Properties"
        ]
        assert "SecurityGroupIngress" not in properties, "no CIDR-wide ingress"
    ingress = resources_of_type(notebook, "AWS::EC2::SecurityGroupIngress").values()
    targets = set()
    for rule in ingress:
        properties = rule["Properties"]
        assert properties["SourceSecurityGroupId"] == group
        assert (properties["FromPort"], properties["ToPort"]) == (443, 443)
        targets.add(properties["GroupId"]["Fn::GetAtt"][0])
    assert targets == endpoint_groups


def test_flow_logs_go_to_an_encrypted_log_group(notebook):
    flow_log = only_resource(notebook, "AWS::EC2::FlowLog")["Properties"]
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["ResourceType"] == "VPC"
    group = only_resource(notebook, "AWS::Logs::LogGroup")["Properties"]
    assert group["KmsKeyId"] == {"Fn::GetAtt": [logical_id_of(notebook, "AWS::KMS::Key"), "Arn"]}
    assert flow_log["LogGroupName"] == {"Ref": logical_id_of(notebook, "AWS::Logs::LogGroup")}


def test_lifecycle_installs_packages_from_codeartifact_on_create_and_start(notebook):
    config = only_resource(notebook, "AWS::SageMaker::NotebookInstanceLifecycleConfig")
    properties = config["Properties"]
    assert properties["OnCreate"] == properties["OnStart"]
    script = lifecycle_text(properties["OnStart"][0]["Content"])
    assert script.startswith("#!/bin/bash\n")
    assert "TARGET=notebook-instance" in script
    assert "PACKAGE_SOURCE=codeartifact" in script
    assert "PACKAGES='scikit-learn xgboost'" in script
    parts = json.dumps(properties["OnStart"][0]["Content"])
    assert logical_id_of(notebook, "AWS::CodeArtifact::Domain") in parts
    notebook_properties = only_resource(notebook, "AWS::SageMaker::NotebookInstance")
    assert notebook_properties["Properties"]["LifecycleConfigName"] == {
        "Fn::GetAtt": [
            logical_id_of(notebook, "AWS::SageMaker::NotebookInstanceLifecycleConfig"),
            "NotebookInstanceLifecycleConfigName",
        ]
    }


def test_wheelhouse_variant_syncs_from_the_data_bucket(synthesized):
    template = synthesized("sandbox-wheelhouse").templates[NOTEBOOK]
    assert not resources_of_type(template, "AWS::CodeArtifact::Domain")
    config = only_resource(template, "AWS::SageMaker::NotebookInstanceLifecycleConfig")
    script = lifecycle_text(config["Properties"]["OnStart"][0]["Content"])
    assert "PACKAGE_SOURCE=s3-wheelhouse" in script
    assert "WHEELHOUSE_S3_URI='s3://*/wheelhouse/'" in script
    assert template["Outputs"][Outputs.WHEELHOUSE_URI]


def test_codeartifact_proxies_pypi_with_a_customer_managed_key(notebook):
    domain = only_resource(notebook, "AWS::CodeArtifact::Domain")["Properties"]
    assert domain["EncryptionKey"] == {
        "Fn::GetAtt": [logical_id_of(notebook, "AWS::KMS::Key"), "Arn"]
    }
    repository = only_resource(notebook, "AWS::CodeArtifact::Repository")["Properties"]
    assert repository["ExternalConnections"] == ["public:pypi"]


def test_notebook_role_carries_the_guardrails_and_the_presigned_url_deny(notebook):
    role = only_resource(notebook, "AWS::SageMaker::NotebookInstance")["Properties"]["RoleArn"]
    assert "DataScientistRole" in role["Fn::GetAtt"][0]
    statements = guardrail_statements(notebook)
    denies = {s["Sid"]: s for s in statements if s["Effect"] == "Deny"}
    assert {s.sid for s in sagemaker_job_guardrails()} <= set(denies)
    presigned = denies["DenyPresignedUrlOutsideVpcEndpoint"]
    allowed_endpoints = presigned["Condition"]["StringNotEquals"]["aws:SourceVpce"]
    endpoint_ids = {ref["Ref"] for ref in allowed_endpoints}
    assert {i for i in endpoint_ids if "SageMakerApi" in i or "SageMakerNotebook" in i} == (
        endpoint_ids
    )
    assert len(endpoint_ids) == 2
    assert not resources_of_type(notebook, "AWS::IAM::Policy"), "no inline policies"


def test_notebook_may_pass_only_the_job_role(notebook):
    (pass_role,) = [s for s in guardrail_statements(notebook) if s["Action"] == "iam:PassRole"]
    assert "JobRole" in pass_role["Resource"]["Fn::GetAtt"][0]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }


def test_outputs_give_the_smoke_script_what_it_reads(notebook):
    assert set(notebook["Outputs"]) >= {
        Outputs.NOTEBOOK_NAME,
        Outputs.LIFECYCLE_CONFIG_NAME,
        Outputs.NOTEBOOK_ENDPOINT_ID,
        Outputs.DATA_BUCKET_NAME,
        Outputs.JOB_ROLE_ARN,
        Outputs.DATA_SCIENTIST_ROLE_ARN,
        Outputs.SUBNET_IDS,
        Outputs.SECURITY_GROUP_ID,
        Outputs.KEY_ARN,
        Outputs.PACKAGE_SOURCE,
        Outputs.CODE_ARTIFACT_DOMAIN,
        Outputs.CODE_ARTIFACT_REPOSITORY,
    }
