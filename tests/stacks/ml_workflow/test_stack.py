"""ml-workflow: the state machine's exact requests, its error handling, logging and role."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ml_refarch.constructs.workflow import RETRYABLE_ERRORS
from ml_refarch.training import training_job_request, tuning_job_request
from tests.support import only_resource, resources_of_type

STACK = "MlRefArch-MlWorkflow"
_MARKER = re.compile(r"@@(\d+)@@")


def decode_definition(definition: Any) -> dict:
    """The state machine definition with each deploy-time value as the intrinsic CDK wrote.

    A string that is one token becomes that intrinsic (``{"Ref": ...}``); a string with
    tokens inside becomes the ``Fn::Join`` CDK would have resolved it to.
    """
    separator, parts = definition["Fn::Join"]
    tokens: list[Any] = []
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
        else:
            text += f"@@{len(tokens)}@@"
            tokens.append(part)

    def restore(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: restore(item) for key, item in value.items()}
        if isinstance(value, list):
            return [restore(item) for item in value]
        if isinstance(value, str) and _MARKER.search(value):
            pieces: list[Any] = []
            last = 0
            for match in _MARKER.finditer(value):
                if match.start() > last:
                    pieces.append(value[last : match.start()])
                pieces.append(tokens[int(match.group(1))])
                last = match.end()
            if last < len(value):
                pieces.append(value[last:])
            return pieces[0] if len(pieces) == 1 else {"Fn::Join": ["", pieces]}
        return value

    assert separator == ""
    return restore(json.loads(text))


@pytest.fixture(scope="module")
def synthesized_workflow(synthesized):
    result = synthesized("sandbox")
    return result.stacks[STACK], result.templates[STACK]


@pytest.fixture(scope="module")
def template(synthesized_workflow):
    return synthesized_workflow[1]


@pytest.fixture(scope="module")
def states(template) -> dict[str, dict]:
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    return decode_definition(machine["DefinitionString"])["States"]


def test_training_state_sends_exactly_the_built_request(synthesized_workflow, states):
    stack, _ = synthesized_workflow
    expected = stack.resolve(training_job_request(stack.training_spec, "named-per-run"))
    parameters = dict(states["Train"]["Parameters"])
    assert parameters.pop("TrainingJobName.$") == "States.Format('train-{}', $.run.id)"
    checkpoint = parameters.pop("CheckpointConfig")
    expected_checkpoint = expected.pop("CheckpointConfig")
    del expected["TrainingJobName"]
    assert parameters == expected
    # One checkpoint prefix per run, so a resumed job finds only its own checkpoints.
    assert checkpoint["LocalPath"] == expected_checkpoint["LocalPath"] == "/opt/ml/checkpoints"
    s3_uri = checkpoint["S3Uri.$"]
    assert s3_uri["Fn::Join"][1][0] == "States.Format('s3://"
    assert s3_uri["Fn::Join"][1][-1] == "/checkpoints/{}/', $.run.id)"


def test_training_is_secure_spot_with_checkpoints(states):
    request = states["Train"]["Parameters"]
    assert states["Train"]["Resource"]["Fn::Join"][1][-1].endswith(
        ":states:::sagemaker:createTrainingJob.sync"
    )
    assert request["EnableManagedSpotTraining"] is True
    stopping = request["StoppingCondition"]
    assert stopping["MaxWaitTimeInSeconds"] >= stopping["MaxRuntimeInSeconds"]
    assert request["EnableNetworkIsolation"] is True
    assert request["EnableInterContainerTrafficEncryption"] is False  # one instance
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == request["OutputDataConfig"]["KmsKeyId"]
    assert set(request["VpcConfig"]) == {"Subnets", "SecurityGroupIds"}
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    assert set(channels) == {"train", "validation", "code"}
    # The code channel's object (a CDK asset named by its hash) is the submit directory.
    code_key = channels["code"]["DataSource"]["S3DataSource"]["S3Uri"]["Fn::Join"][1][-1]
    assert request["HyperParameters"]["sagemaker_submit_directory"] == (
        "/opt/ml/input/data/code/" + code_key.rsplit("/", 1)[-1]
    )
    assert request["HyperParameters"]["sagemaker_program"] == "train.py"


def test_tuning_searches_the_learning_rate_on_a_log_scale_with_early_stopping(
    synthesized_workflow, states
):
    stack, _ = synthesized_workflow
    parameters = dict(states["Tune"]["Parameters"])
    assert parameters.pop("HyperParameterTuningJobName.$") == (
        "States.Format('tune-{}', $.run.short)"
    )
    expected = stack.resolve(
        tuning_job_request(stack.training_spec, "named-per-run", max_jobs=4, max_parallel_jobs=2)
    )
    del expected["HyperParameterTuningJobName"]
    assert parameters == expected
    config = parameters["HyperParameterTuningJobConfig"]
    (learning_rate,) = config["ParameterRanges"]["ContinuousParameterRanges"]
    assert learning_rate == {
        "Name": "learning_rate",
        "MinValue": "0.0001",
        "MaxValue": "1.0",
        "ScalingType": "Logarithmic",
    }
    assert config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 4,
        "MaxParallelTrainingJobs": 2,
    }
    assert states["Tune"]["Next"] == "DescribeBestJob"


def test_mode_tune_chooses_the_tuning_path_and_anything_else_trains(states):
    choice = states["TrainOrTune"]
    (rule,) = choice["Choices"]
    assert rule["Next"] == "Tune"
    assert {"Variable": "$.mode", "StringEquals": "tune"} in rule["And"]
    assert choice["Default"] == "Train"


def test_every_sagemaker_call_retries_with_backoff_and_reports_failures(states):
    sagemaker_states = [
        name for name, state in states.items() if "sagemaker" in json.dumps(state.get("Resource"))
    ]
    assert set(sagemaker_states) == {
        "Train",
        "Tune",
        "DescribeBestJob",
        "CreateModel",
        "CreateEndpointConfig",
        "FindEndpoint",
        "CreateEndpoint",
        "UpdateEndpoint",
    }
    for name in sagemaker_states:
        (retry,) = states[name]["Retry"]
        assert retry["ErrorEquals"] == RETRYABLE_ERRORS
        assert retry["BackoffRate"] == 2 and retry["MaxAttempts"] == 4, name
        last_catch = states[name]["Catch"][-1]
        assert last_catch["ErrorEquals"] == ["States.ALL"] and last_catch["Next"] == (
            "NotifyFailure"
        ), name
    notify = states["NotifyFailure"]
    assert notify["Resource"]["Fn::Join"][1][-1].endswith(":states:::sns:publish")
    assert notify["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"


def test_a_missing_endpoint_is_created_and_an_existing_one_updated(states):
    find = states["FindEndpoint"]
    assert find["Catch"][0]["Next"] == "CreateEndpoint"
    assert find["Next"] == "UpdateEndpoint"
    for name in ("CreateEndpoint", "UpdateEndpoint"):
        assert states[name]["Parameters"]["EndpointConfigName.$"] == (
            "States.Format('config-{}', $.run.id)"
        )
        assert states[name]["Next"] == "Deployed"


def test_the_deployed_model_is_isolated_in_the_vpc_behind_a_kms_multi_az_config(states):
    model = states["CreateModel"]["Parameters"]
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) == 2
    container = model["PrimaryContainer"]
    assert container["ModelDataUrl.$"] == "$.trained.artifacts"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    config = states["CreateEndpointConfig"]["Parameters"]
    assert config["KmsKeyId"]
    (variant,) = config["ProductionVariants"]
    assert variant["InitialInstanceCount"] >= 2


def test_execution_history_is_logged_encrypted_and_traced(template):
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is True
    destination = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    (group_id, attribute) = destination["Fn::GetAtt"]
    assert attribute == "Arn" and group_id.startswith("ExecutionLogs")
    group = resources_of_type(template, "AWS::Logs::LogGroup")[group_id]["Properties"]
    (key_id,) = resources_of_type(template, "AWS::KMS::Key")
    assert group["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_failure_topic_is_encrypted_and_tls_only(template):
    topic = only_resource(template, "AWS::SNS::Topic")["Properties"]
    (key_id,) = resources_of_type(template, "AWS::KMS::Key")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    policy = only_resource(template, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )


def test_workflow_role_passes_only_the_job_role_and_names_the_endpoint(template):
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, p in resources_of_type(template, "AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith("WorkflowPolicy")
    ]
    statements = {s["Sid"]: s for s in policy}
    assert "JobRole" in statements["PassJobRole"]["Resource"]["Fn::GetAtt"][0]
    deploy = json.dumps(statements["Deploy"]["Resource"])
    assert "endpoint/mlrefarch-mlworkflow-endpoint" in deploy
    assert not resources_of_type(template, "AWS::IAM::Policy"), "no inline policies"


def test_the_workflow_may_grant_sagemaker_the_endpoint_volume_key(template, states):
    """CreateEndpoint runs as the workflow role and the configuration names a volume key: the
    role must be able to create a grant on that key for SageMaker (and only for AWS
    resources)."""
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, p in resources_of_type(template, "AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith("WorkflowPolicy")
    ]
    statements = {s["Sid"]: s for s in policy}
    config_key = states["CreateEndpointConfig"]["Parameters"]["KmsKeyId"]
    grant = statements["DeployVolumeKeyGrant"]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert grant["Resource"] == config_key


def test_the_training_code_ships_as_a_deterministic_asset(template):
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, p in resources_of_type(template, "AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith("JobRole")
    ]
    (code,) = [s for s in policy if s.get("Sid") == "TrainingCode"]
    assert code["Action"] == "s3:GetObject"
    key = code["Resource"]["Fn::Join"][1][-1]
    assert re.fullmatch(r"/[0-9a-f]{64}\.gz", key), key
