"""model-registry: the group and version, the approval rule, the recommender workflow, its
role, its idle cost, and the committed files it registers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_refarch.config import read_config
from ml_refarch.cost import estimate_stack, load_prices
from ml_refarch.model_artifacts import load_manifest
from ml_refarch.stacks.model_registry import PATTERN, registration
from ml_refarch.stacks.model_registry.requests import JobPlace, job_request
from ml_refarch.stacks.model_registry.settings import FIELDS
from ml_refarch.stacks.model_registry.stack import PAYLOAD_KEY
from tests.support import only_resource, pattern_template, resources_of_type

STACK = PATTERN.stack_name


def _text(part: Any) -> str:
    if "Ref" in part:
        return "${" + part["Ref"] + "}"
    if "Fn::Sub" in part:
        return part["Fn::Sub"]
    return "${" + ".".join(part["Fn::GetAtt"]) + "}"


def definition(template: dict) -> dict:
    """The state machine's definition, with references as ``${Id}`` / ``${Id.Attr}``."""
    joined = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    _, parts = joined["DefinitionString"]["Fn::Join"]
    return json.loads("".join(p if isinstance(p, str) else _text(p) for p in parts))


def logical_id(template: dict, resource_type: str) -> str:
    (found,) = resources_of_type(template, resource_type)
    return found


@pytest.fixture(scope="module", params=["sandbox", "production"])
def template(request, synthesized) -> dict:
    return synthesized(request.param).templates[STACK]


@pytest.fixture(scope="module")
def sandbox(synthesized) -> dict:
    return synthesized("sandbox").templates[STACK]


# --- the registry ---------------------------------------------------------------------------


def test_the_group_has_a_fixed_name_and_description_and_no_resource_policy(template):
    group = only_resource(template, "AWS::SageMaker::ModelPackageGroup")["Properties"]
    assert group["ModelPackageGroupName"] == "mlrefarch-modelregistry-models"
    assert isinstance(group["ModelPackageGroupDescription"], str)
    assert "ModelPackageGroupPolicy" not in group


def test_the_committed_model_is_registered_pending_manual_approval_with_its_metrics(template):
    version = only_resource(template, "AWS::SageMaker::ModelPackage")
    properties = version["Properties"]
    assert version["DependsOn"] == [logical_id(template, "AWS::SageMaker::ModelPackageGroup")]
    assert properties["ModelPackageGroupName"] == "mlrefarch-modelregistry-models"
    assert properties["ModelApprovalStatus"] == "PendingManualApproval"
    assert (properties["Domain"], properties["Task"]) == ("MACHINE_LEARNING", "CLASSIFICATION")
    statistics = properties["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["ContentDigest"] == registration.content_digest(
        registration.metrics_path("churn-v1")
    )
    assert statistics["S3Uri"]["Fn::Sub"].startswith("s3://cdk-")
    (container,) = properties["InferenceSpecification"]["Containers"]
    assert container["Framework"] == "XGBOOST"
    assert container["Image"]["Fn::FindInMap"][0].startswith("xgboost")
    assert container["ModelDataUrl"]["Fn::Sub"].endswith(".gz")
    assert properties["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]
    # Registry versions take no tags (Model Registry FAQ): the pattern is in the metadata.
    assert "Tags" not in properties
    assert properties["CustomerMetadataProperties"]["ml-refarch:pattern"] == PATTERN.id


def test_the_approval_status_and_the_model_come_from_settings():
    template = pattern_template(
        PATTERN,
        **{"model-registry.approval_status": "approved", "model-registry.model": "churn-v2"},
    )
    properties = only_resource(template, "AWS::SageMaker::ModelPackage")["Properties"]
    assert properties["ModelApprovalStatus"] == "Approved"
    assert properties["CustomerMetadataProperties"]["model"] == "churn-v2"
    digest = properties["ModelMetrics"]["ModelQuality"]["Statistics"]["ContentDigest"]
    assert digest == registration.content_digest(registration.metrics_path("churn-v2"))


def test_the_committed_payload_and_metrics_are_what_the_manifest_gives():
    for path, data in registration.build_files().items():
        assert path.read_bytes() == data, path
    manifest = load_manifest()
    for model, facts in manifest["models"].items():
        metrics = json.loads(registration.metrics_path(model).read_text())
        accuracy = metrics["binary_classification_metrics"]["accuracy"]["value"]
        assert accuracy == pytest.approx(facts["holdout_accuracy"], rel=1e-9)


# --- the approval rule ----------------------------------------------------------------------


def test_approval_of_a_version_of_the_group_notifies_the_topic_and_starts_a_default_job(template):
    rule = only_resource(template, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {
            "ModelPackageGroupName": ["mlrefarch-modelregistry-models"],
            "ModelApprovalStatus": ["Approved"],
        },
    }
    targets = {t["Arn"].get("Ref"): t for t in rule["Targets"]}
    topic = logical_id(template, "AWS::SNS::Topic")
    machine = logical_id(template, "AWS::StepFunctions::StateMachine")
    assert set(targets) == {topic, machine}
    start = targets[machine]
    assert '"jobType":"Default"' in start["InputTransformer"]["InputTemplate"]
    assert start["InputTransformer"]["InputPathsMap"] == {
        "detail-ModelPackageArn": "$.detail.ModelPackageArn"
    }
    role = start["RoleArn"]["Fn::GetAtt"][0]
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert targets[topic]["RetryPolicy"]["MaximumRetryAttempts"] == 8


def test_the_topic_is_encrypted_and_lets_eventbridge_publish(sandbox):
    topic = only_resource(sandbox, "AWS::SNS::Topic")["Properties"]
    assert topic["KmsMasterKeyId"]
    policy = only_resource(sandbox, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    services = [
        s["Principal"]["Service"]
        for s in policy["Statement"]
        if s.get("Sid") == "PublishFromServices"
    ]
    assert "events.amazonaws.com" in services[0]


# --- the recommender workflow --------------------------------------------------------------


def test_a_default_job_benchmarks_the_instance_types_from_settings(sandbox):
    states = definition(sandbox)["States"]
    start = states["StartDefaultJob"]
    assert start["Resource"].endswith(
        ":states:::aws-sdk:sagemaker:createInferenceRecommendationsJob"
    )
    request = start["Parameters"]
    assert request["JobType"] == "Default"
    assert request["JobName.$"] == "$.job.name"
    config = request["InputConfig"]
    assert config["ContainerConfig"]["SupportedInstanceTypes"] == ["ml.c5.large", "ml.m5.large"]
    assert config["ModelPackageVersionArn.$"] == "$.package.arn"
    key = logical_id(sandbox, "AWS::KMS::Key")
    assert config["VolumeKmsKeyId"] == "${" + key + ".Arn}"
    assert request["OutputConfig"] == {"KmsKeyId": "${" + key + ".Arn}"}
    assert len(config["VpcConfig"]["Subnets"]) >= 1
    bucket = logical_id(sandbox, "AWS::S3::Bucket")
    payload = config["ContainerConfig"]["PayloadConfig"]
    assert payload["SamplePayloadUrl"] == "s3://${" + bucket + "}/" + PAYLOAD_KEY
    assert PAYLOAD_KEY.endswith(".tar.gz")
    assert "StoppingConditions" not in request


def test_an_advanced_job_carries_traffic_phases_requirements_and_limits(sandbox):
    request = definition(sandbox)["States"]["StartAdvancedJob"]["Parameters"]
    assert request["JobType"] == "Advanced"
    config = request["InputConfig"]
    assert config["TrafficPattern"] == {
        "TrafficType": "PHASES",
        "Phases": [
            {"InitialNumberOfUsers": 1, "SpawnRate": 1, "DurationInSeconds": 120},
            {"InitialNumberOfUsers": 3, "SpawnRate": 2, "DurationInSeconds": 300},
        ],
    }
    assert config["JobDurationInSeconds"] == 3600
    assert config["EndpointConfigurations"] == [{"InstanceType": "ml.c5.large"}]
    assert config["ResourceLimit"] == {"MaxNumberOfTests": 2, "MaxParallelOfTests": 1}
    assert request["StoppingConditions"] == {
        "MaxInvocations": 3000,
        "ModelLatencyThresholds": [{"Percentile": "P95", "ValueInMilliseconds": 100}],
    }
    assert "SupportedInstanceTypes" not in config["ContainerConfig"]


def test_the_job_type_and_the_version_come_from_the_input(sandbox):
    states = definition(sandbox)["States"]
    (advanced,) = states["DefaultOrAdvanced"]["Choices"]
    assert advanced["Next"] == "StartAdvancedJob"
    assert states["DefaultOrAdvanced"]["Default"] == "StartDefaultJob"
    (given,) = states["WhichVersion"]["Choices"]
    assert given == {"Variable": "$.modelPackageArn", "IsPresent": True, "Next": "UseGivenVersion"}
    version = logical_id(sandbox, "AWS::SageMaker::ModelPackage")
    assert states["UseRegisteredVersion"]["Parameters"] == {
        "arn": "${" + version + ".ModelPackageArn}"
    }
    for state in ("UseGivenVersion", "UseRegisteredVersion"):
        assert states[state]["Next"] == "StagePayload"
    stage = states["StagePayload"]["Parameters"]
    assert stage["Key"] == PAYLOAD_KEY and stage["ServerSideEncryption"] == "aws:kms"


def test_polling_is_bounded_and_a_job_that_outlasts_it_is_stopped(sandbox):
    states = definition(sandbox)["States"]
    assert states["WaitForJob"]["Seconds"] == FIELDS["poll_interval_seconds"].default
    assert states["WaitForJob"]["Next"] == "DescribeJob"
    assert states["DescribeJob"]["Next"] == "CountPoll"
    choices = states["JobEnded"]["Choices"]
    nexts = [choice["Next"] for choice in choices]
    assert nexts == ["NameTheResult", "NotifyFailure", "StopJob"]
    give_up = choices[2]
    assert give_up == {
        "Variable": "$.polls.count",
        "NumericGreaterThanEquals": FIELDS["max_polls"].default,
        "Next": "StopJob",
    }
    failed = {c["StringEquals"] for c in choices[1]["Or"]}
    assert failed == {"FAILED", "STOPPED", "DELETED"}
    assert states["StopJob"]["Next"] == "NotifyFailure"
    assert states["JobEnded"]["Default"] == "WaitForJob"


def test_every_task_retries_with_backoff_and_alerts_on_anything_else(sandbox):
    states = definition(sandbox)["States"]
    tasks = {n: s for n, s in states.items() if s["Type"] == "Task" and n != "NotifyFailure"}
    assert set(tasks) == {
        "StagePayload",
        "StartDefaultJob",
        "StartAdvancedJob",
        "DescribeJob",
        "StopJob",
        "SaveResults",
    }
    for name, state in tasks.items():
        (retry,) = state["Retry"]
        assert retry["BackoffRate"] == 2 and retry["MaxAttempts"] >= 2, name
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "NotifyFailure"
    assert "SageMaker.ThrottlingException" in tasks["DescribeJob"]["Retry"][0]["ErrorEquals"]


def test_the_result_is_saved_under_the_stacks_key_and_is_the_runs_output(sandbox):
    states = definition(sandbox)["States"]
    save = states["SaveResults"]["Parameters"]
    key = logical_id(sandbox, "AWS::KMS::Key")
    assert save["SSEKMSKeyId"] == "${" + key + ".Arn}"
    assert save["Body.$"] == "States.JsonToString($.described)"
    assert save["Key.$"] == "States.Format('recommendations/{}.json', $.job.name)"
    assert states["SaveResults"]["Next"] == "Done"
    assert states["Done"]["OutputPath"] == "$.results"
    assert states["NameTheResult"]["Parameters"]["key.$"] == save["Key.$"]


def test_the_workflow_may_start_only_its_own_jobs_and_pass_only_the_recommender_role(sandbox):
    machine = only_resource(sandbox, "AWS::StepFunctions::StateMachine")["Properties"]
    role = machine["RoleArn"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in resources_of_type(sandbox, "AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    jobs = json.dumps(statements["RecommenderJobs"]["Resource"])
    assert "inference-recommendations-job/recommend-*" in jobs
    passed = statements["PassRecommenderRole"]
    assert passed["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert passed["Resource"]["Fn::GetAtt"][0].startswith("RecommenderRole")


# --- cost -------------------------------------------------------------------------------


def test_idle_it_costs_its_key_and_by_use_the_recommenders_instances_not_training(sandbox):
    cost = estimate_stack(sandbox, load_prices(), STACK)
    assert {line.item: line.quantity for line in cost.lines} == {"1 KMS key": 1}
    assert any("Inference Recommender" in item for item in cost.usage_based)
    assert "SageMaker training and tuning instance-hours" not in cost.usage_based


def test_a_job_type_the_api_does_not_know_is_refused():
    settings = read_config({}).settings_for(PATTERN)
    place = JobPlace("role", "key", ["subnet"], ["sg"], "s3://b/p.tar.gz", "text/csv", [])
    assert job_request(settings, "Default", place)["JobType"] == "Default"
    with pytest.raises(ValueError, match="Default"):
        job_request(settings, "Turbo", place)
