"""custom-training-container: the image repository, the CodeBuild project that builds the
committed Dockerfile in the isolated subnets, and the workflow that builds then trains in
the configured input mode, as the notes ("Docker", "Data input") and the AWS pages ask."""

from __future__ import annotations

import json

import pytest

from ml_refarch.stacks.custom_training_container import PATTERN
from ml_refarch.stacks.custom_training_container.image import buildspec, image_tag
from ml_refarch.stacks.custom_training_container.stack import BUILD_SERVICES
from tests.stacks.ml_workflow.test_stack import decode_definition
from tests.support import only_resource, pattern_template, resources_of_type

STACK = PATTERN.stack_name
CT = "custom-training-container."


@pytest.fixture(scope="module")
def template(synthesized):
    return synthesized("sandbox").templates[STACK]


@pytest.fixture(scope="module")
def production(synthesized):
    return synthesized("production").templates[STACK]


def key_id(template) -> str:
    (key,) = resources_of_type(template, "AWS::KMS::Key")
    return key


def project(template) -> dict:
    return only_resource(template, "AWS::CodeBuild::Project")["Properties"]


def states(template) -> dict[str, dict]:
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    return decode_definition(machine["DefinitionString"])["States"]


def training_repository(template) -> tuple[str, dict]:
    (found,) = [
        (logical_id, resource["Properties"])
        for logical_id, resource in resources_of_type(template, "AWS::ECR::Repository").items()
        if "/" not in resource["Properties"]["RepositoryName"]  # the cache's is under a prefix
    ]
    return found


def test_the_image_repository_is_kms_scanned_immutable_and_expires_untagged_images(template):
    _, repository = training_repository(template)
    assert repository["EncryptionConfiguration"] == {
        "EncryptionType": "KMS",
        "KmsKey": {"Fn::GetAtt": [key_id(template), "Arn"]},
    }
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    (rule,) = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rule["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countNumber": 1,
        "countUnit": "days",
    }
    assert rule["action"] == {"type": "expire"}
    assert repository["EmptyOnDelete"] is True  # sandbox: destroy leaves no images


def test_production_keeps_the_images(production):
    logical_id, repository = training_repository(production)
    assert production["Resources"][logical_id]["DeletionPolicy"] == "Retain"
    assert not repository.get("EmptyOnDelete")


def test_the_build_runs_the_committed_buildspec_privileged_with_the_key(template):
    properties = project(template)
    assert json.loads(properties["Source"]["BuildSpec"]) == buildspec()
    assert properties["Source"]["Type"] == "S3"
    assert properties["EncryptionKey"] == {"Fn::GetAtt": [key_id(template), "Arn"]}
    environment = properties["Environment"]
    assert environment["PrivilegedMode"] is True  # the Docker daemon needs it
    assert environment["ComputeType"] == "BUILD_GENERAL1_SMALL"
    variables = {v["Name"]: v["Value"] for v in environment["EnvironmentVariables"]}
    assert variables["IMAGE_TAG"] == image_tag()
    assert set(variables) >= {"REGISTRY", "REPOSITORY_URI", "BASE_REGISTRY", "CODEARTIFACT_DOMAIN"}
    assert properties["Artifacts"] == {"Type": "NO_ARTIFACTS"}
    assert properties["TimeoutInMinutes"] == 30


def test_the_build_logs_to_an_encrypted_group_and_not_to_s3(template):
    logs = project(template)["LogsConfig"]
    assert logs["S3Logs"] == {"Status": "DISABLED"}
    assert logs["CloudWatchLogs"]["Status"] == "ENABLED"
    group = logs["CloudWatchLogs"]["GroupName"]["Ref"]
    group_properties = template["Resources"][group]["Properties"]
    assert group_properties["KmsKeyId"] == {"Fn::GetAtt": [key_id(template), "Arn"]}
    assert group_properties["RetentionInDays"] == 7


def test_the_build_runs_in_the_isolated_subnets_with_endpoints_for_what_it_calls(template):
    vpc = project(template)["VpcConfig"]
    subnets = resources_of_type(template, "AWS::EC2::Subnet")
    assert {s["Ref"] for s in vpc["Subnets"]} == set(subnets)
    assert not resources_of_type(template, "AWS::EC2::NatGateway")
    assert not resources_of_type(template, "AWS::EC2::InternetGateway")
    services = json.dumps(
        [
            e["Properties"]["ServiceName"]
            for e in resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
        ]
    )
    for name in (
        "ecr.api",
        "ecr.dkr",
        ".logs",
        "codeartifact.api",
        "codeartifact.repositories",
        ".s3",
    ):
        assert name in services, name
    assert len(resources_of_type(template, "AWS::EC2::VPCEndpoint")) == len(BUILD_SERVICES) + 1


def test_the_base_image_comes_from_ecr_public_through_a_cache_the_stack_owns(template):
    rule = only_resource(template, "AWS::ECR::PullThroughCacheRule")["Properties"]
    assert rule["UpstreamRegistryUrl"] == "public.ecr.aws"
    names = [
        r["Properties"].get("RepositoryName")
        for r in resources_of_type(template, "AWS::ECR::Repository").values()
    ]
    assert f"{rule['EcrRepositoryPrefix']}/docker/library/python" in names


def test_the_workflow_builds_then_trains_with_the_built_image(template):
    found = states(template)
    assert found["NameTheRun"]["Next"] == "BuildImage"
    build = found["BuildImage"]
    assert build["Resource"]["Fn::Join"][1][-1].endswith(":states:::codebuild:startBuild.sync")
    assert build["Parameters"]["ProjectName"] == {"Ref": "ImageBuild"}
    assert build["Next"] == "Train"
    train = found["Train"]
    assert train["Resource"]["Fn::Join"][1][-1].endswith(
        ":states:::sagemaker:createTrainingJob.sync"
    )
    image = train["Parameters"]["AlgorithmSpecification"]["TrainingImage"]
    logical_id, _ = training_repository(template)
    assert json.dumps(image).endswith(f':{image_tag()}"]]}}')
    assert logical_id in json.dumps(image)
    for state in (build, train):
        assert state["Catch"][0]["Next"] == "NotifyFailure"
        assert state["Retry"]


def test_the_job_streams_with_fastfile_isolated_and_encrypted(template):
    request = states(template)["Train"]["Parameters"]
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == "FastFile"
    assert {c["InputMode"] for c in request["InputDataConfig"]} == {"FastFile"}
    assert request["EnableNetworkIsolation"] is True
    assert request["ResourceConfig"]["VolumeSizeInGB"] == 10
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == {"Fn::GetAtt": [key_id(template), "Arn"]}
    assert request["OutputDataConfig"]["KmsKeyId"] == {"Fn::GetAtt": [key_id(template), "Arn"]}
    assert "VpcConfig" in request


@pytest.mark.parametrize(("mode", "volume"), [("Pipe", "5"), ("File", "30")])
def test_the_input_mode_and_volume_come_from_the_settings(mode, volume):
    template = pattern_template(
        PATTERN, **{CT + "input_mode": mode, CT + "volume_size_gib": volume}
    )
    request = states(template)["Train"]["Parameters"]
    assert request["AlgorithmSpecification"]["TrainingInputMode"] == mode
    assert {c["InputMode"] for c in request["InputDataConfig"]} == {mode}
    assert request["ResourceConfig"]["VolumeSizeInGB"] == int(volume)


def test_only_the_workflow_starts_builds_and_passes_only_the_training_role(template):
    policies = json.dumps(
        [
            p["Properties"]["PolicyDocument"]
            for p in resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
        ]
    )
    assert policies.count("codebuild:StartBuild") == 1
    (workflow_policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
        if "codebuild:StartBuild" in json.dumps(p)
    ]
    (passes,) = [s for s in workflow_policy["Statement"] if s["Action"] == "iam:PassRole"]
    assert passes["Resource"]["Fn::GetAtt"][0].startswith("TrainingRole")
