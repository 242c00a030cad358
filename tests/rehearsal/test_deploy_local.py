"""The deploy rehearsal: every stack of the ``local`` synth deploys to a moto server.

Creating each stack through the CloudFormation API proves that its references, outputs, IAM
and parameters resolve. Each stack must reach CREATE_COMPLETE, and every resource of a type
moto models must exist through its service API; the types moto skips are listed at the end
of the run (see conftest). The last tests check the rehearsal itself: that it fails a stack
whose create fails and a modelled resource that does not exist, and reports what it skips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml_refarch.catalog import PATTERNS
from ml_refarch.config import LOCAL_REGION
from ml_refarch.rehearsal.deploy import (
    StackArtifact,
    StackRehearsal,
    assembly_stacks,
    rehearse,
    report_lines,
    verify_stack,
)
from ml_refarch.rehearsal.run import cli_environment
from ml_refarch.rehearsal.stand_in import Clients, StandIn
from tests.support import resources_of_type

#: The rehearsal's report, printed at the end of the run (see conftest).
REHEARSAL_REPORT: list[str] = []


@pytest.fixture(scope="module")
def stand_in():
    """A moto server for this module; it starts while the app synthesizes."""
    server = StandIn()
    server.launch()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def rehearsal(stand_in, synthesized) -> dict[str, StackRehearsal]:
    local = synthesized("local")
    stand_in.wait_until_ready()
    results = rehearse(
        stand_in.endpoint_url,
        assembly_stacks(local.outdir).values(),
        modelled_types=stand_in.modelled_types,
    )
    REHEARSAL_REPORT[:] = report_lines(results)
    return {result.stack_name: result for result in results}


@pytest.mark.parametrize("stack_name", [pattern.stack_name for pattern in PATTERNS])
def test_stack_deploys_and_its_modelled_resources_exist(rehearsal, stand_in, stack_name):
    assert stack_name in rehearsal, f"{stack_name} is not in the local synth"
    result = rehearsal[stack_name]
    assert result.ok, "\n".join(report_lines([result], stand_in.errors_in_log()))
    assert result.verified, "a stack with nothing verified proves nothing"


def test_local_templates_leave_out_what_the_stand_in_cannot_run(synthesized):
    for stack_name, template in synthesized("local").templates.items():
        types = {resource["Type"] for resource in template["Resources"].values()}
        assert not {t for t in types if t.startswith("Custom::")}, stack_name
        assert "CheckBootstrapVersion" not in template.get("Rules", {}), stack_name
        assert "BootstrapVersion" not in template.get("Parameters", {}), stack_name
        for subnet in resources_of_type(template, "AWS::EC2::Subnet").values():
            zone = subnet["Properties"]["AvailabilityZone"]
            assert isinstance(zone, str) and zone.startswith(LOCAL_REGION), (stack_name, zone)


def test_templates_for_aws_keep_their_custom_resources(synthesized):
    templates = synthesized("sandbox").templates
    buckets = {n for n, t in templates.items() if resources_of_type(t, "AWS::S3::Bucket")}
    vpcs = {n for n, t in templates.items() if resources_of_type(t, "AWS::EC2::VPC")}
    assert buckets and vpcs
    for name in buckets:
        assert resources_of_type(templates[name], "Custom::S3AutoDeleteObjects"), name
    for name in vpcs:
        assert resources_of_type(templates[name], "Custom::VpcRestrictDefaultSG"), name
        assert "CheckBootstrapVersion" in templates[name]["Rules"], name


# --- the rehearsal itself -----------------------------------------------------------------


def write_assembly(
    directory: Path, templates: dict[str, dict], assets: dict[str, dict] | None = None
) -> dict[str, StackArtifact]:
    """A minimal cloud assembly of these templates, with an asset manifest per stack in
    ``assets`` (its ``files`` section)."""
    directory.mkdir()
    artifacts = {}
    for name, template in templates.items():
        (directory / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/unknown-region",
            "properties": {"templateFile": f"{name}.template.json"},
        }
        if assets and name in assets:
            manifest = f"{name}.assets.json"
            (directory / manifest).write_text(json.dumps({"version": "1", "files": assets[name]}))
            artifacts[f"{name}.assets"] = {
                "type": "cdk:asset-manifest",
                "properties": {"file": manifest},
            }
            artifacts[name]["dependencies"] = [f"{name}.assets"]
    (directory / "manifest.json").write_text(json.dumps({"version": "1", "artifacts": artifacts}))
    return assembly_stacks(directory)


@pytest.fixture
def ready(stand_in) -> StandIn:
    stand_in.wait_until_ready()
    return stand_in


def test_a_stack_whose_create_fails_fails_the_rehearsal(ready, tmp_path):
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"S3Bucket": "no-such-asset-bucket", "S3Key": "handler.zip"},
            "Handler": "handler.handler",
            "Runtime": "python3.13",
            "Role": "arn:aws:iam::123456789012:role/any",
        },
    }
    stacks = write_assembly(
        tmp_path / "out", {"RehearsalCreateFails": {"Resources": {"Fn": function}}}
    )
    [result] = rehearse(ready.endpoint_url, stacks.values(), modelled_types=ready.modelled_types)
    assert not result.ok
    assert result.status == "NOT_CREATED"
    assert "NoSuchBucket" in result.error
    assert "FAILED status NOT_CREATED" in "\n".join(report_lines([result]))


def test_a_function_gets_its_code_from_the_published_asset(ready, tmp_path):
    """Like the CLI, the rehearsal zips a directory asset into the bootstrap bucket."""
    bucket = {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"S3Bucket": bucket, "S3Key": "code.zip"},
                    "Handler": "handler.handler",
                    "Runtime": "python3.13",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                },
            },
        }
    }
    out = tmp_path / "out"
    asset = {
        "code": {
            "source": {"path": "asset.code", "packaging": "zip"},
            "destinations": {
                "current": {
                    "bucketName": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}",
                    "objectKey": "code.zip",
                }
            },
        }
    }
    stacks = write_assembly(out, {"RehearsalAsset": template}, {"RehearsalAsset": asset})
    (out / "asset.code").mkdir()
    (out / "asset.code" / "handler.py").write_text("def handler(event, context):\n    return 1\n")

    [result] = rehearse(ready.endpoint_url, stacks.values(), modelled_types=ready.modelled_types)
    assert result.ok, "\n".join(report_lines([result], ready.errors_in_log()))
    assert sorted(result.verified) == ["Fn", "Role"]
    clients = Clients(ready.endpoint_url)
    function = clients("cloudformation").describe_stack_resource(
        StackName="RehearsalAsset", LogicalResourceId="Fn"
    )["StackResourceDetail"]["PhysicalResourceId"]
    code = clients("lambda").get_function(FunctionName=function)["Configuration"]
    assert code["CodeSize"] > 0


def test_missing_resources_fail_and_skipped_types_are_reported(ready, tmp_path):
    template = {
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "NeverCreated": {"Type": "AWS::SNS::Topic", "Condition": "Never"},
            "Packages": {"Type": "AWS::CodeArtifact::Domain", "Properties": {"DomainName": "p"}},
        },
        "Outputs": {"PackagesArn": {"Value": {"Fn::GetAtt": ["Packages", "Arn"]}}},
    }
    [stack] = write_assembly(tmp_path / "out", {"RehearsalMissing": template}).values()
    [result] = rehearse(ready.endpoint_url, [stack], modelled_types=ready.modelled_types)

    assert result.status == "CREATE_COMPLETE"
    assert sorted(result.verified) == ["Bucket", "Topic"]
    assert result.skipped == {"AWS::CodeArtifact::Domain": ["Packages"]}
    assert result.unresolved_outputs == ["PackagesArn"]
    assert [m.split(" ")[0] for m in result.missing] == ["NeverCreated"]
    assert not result.ok
    report = "\n".join(report_lines([result]))
    assert "skipped (moto does not model the type): AWS::CodeArtifact::Domain" in report
    assert "FAILED missing: NeverCreated (AWS::SNS::Topic)" in report

    # A resource deleted behind CloudFormation's back is missing too.
    clients = Clients(ready.endpoint_url)
    bucket = next(
        summary["PhysicalResourceId"]
        for summary in clients("cloudformation").list_stack_resources(StackName="RehearsalMissing")[
            "StackResourceSummaries"
        ]
        if summary["LogicalResourceId"] == "Bucket"
    )
    clients("s3").delete_bucket(Bucket=bucket)
    again = StackRehearsal("RehearsalMissing")
    verify_stack(clients, stack, again, ready.modelled_types)
    assert any(m.startswith("Bucket (AWS::S3::Bucket)") for m in again.missing), again.missing


def test_the_cdk_cli_gets_the_stand_in_and_fake_credentials_only(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-real-secret")
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "999999999999")
    stand_in = StandIn()
    stand_in.endpoint_url = "http://127.0.0.1:4567"
    environment = cli_environment(stand_in)
    assert "AWS_PROFILE" not in environment
    assert environment["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert environment["CDK_DEFAULT_ACCOUNT"] == "123456789012"
    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4567"
    # CloudFormation (moto) fetches the template from its own S3 under this name.
    assert environment["AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION"] == "http://localhost:4567"
