"""inference-pipeline: the serial model, its endpoint, the batch transform workflow, config."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from ml_refarch.compliance.ml_pack import MLSpecialtyChecks
from ml_refarch.config import read_config
from ml_refarch.constructs.hosting import Container
from ml_refarch.constructs.workflow import RETRYABLE_ERRORS
from ml_refarch.stacks.inference_pipeline import PATTERN
from ml_refarch.stacks.inference_pipeline import stack as module
from ml_refarch.stacks.inference_pipeline.artifacts import PIPELINE_ARTIFACTS
from ml_refarch.stacks.inference_pipeline.stack import (
    INPUT_FILTER,
    OUTPUT_FILTER,
    PipelineChainError,
    PipelineStep,
    chain_containers,
)
from tests.stacks.ml_workflow.test_stack import decode_definition
from tests.support import Variant, only_resource, resources_of_type, synthesize

STACK = "MlRefArch-InferencePipeline"
IP = "inference-pipeline."


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """The stack alone, with every rule pack: any unacknowledged finding fails here."""
    return synthesize(tmp_path_factory.mktemp("cdk.out.pipeline"), Variant({}, frozenset({STACK})))


@pytest.fixture(scope="module")
def template(sandbox) -> dict:
    return sandbox.templates[STACK]


@pytest.fixture(scope="module")
def states(template) -> dict[str, dict]:
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    return decode_definition(machine["DefinitionString"])["States"]


def logical_id(template: dict, resource_type: str) -> str:
    (found,) = resources_of_type(template, resource_type)
    return found


def test_production_profile_passes_the_gate_too(tmp_path):
    result = synthesize(tmp_path, Variant({"profile": "production"}, frozenset({STACK})))
    bucket = result.templates[STACK]["Resources"]
    assert any(r.get("DeletionPolicy") == "Retain" for r in bucket.values())


# --- the serial model ------------------------------------------------------------------------


def test_model_is_a_serial_chain_of_preprocess_xgboost_postprocess(template):
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    assert model["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert "PrimaryContainer" not in model
    first, predictor, last = model["Containers"]
    images = [c["Image"]["Fn::FindInMap"][0] for c in (first, predictor, last)]
    sklearn, xgboost = "sklearn121inferenceImages", "xgboost305inferenceImages"
    assert images == [sklearn, xgboost, sklearn]
    for container, program in ((first, "preprocess.py"), (last, "postprocess.py")):
        # Network isolation: the code must come inside the artifact, under code/.
        assert container["Environment"]["SAGEMAKER_PROGRAM"] == program
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    for container in (first, predictor, last):
        assert container["Environment"]["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] == "text/csv"
    urls = {json.dumps(c["ModelDataUrl"]) for c in (first, predictor, last)}
    assert len(urls) == 3, "each step has its own artifact"


def test_model_is_network_isolated_in_two_zones(template):
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) >= 2


def test_execution_role_reads_each_artifact_and_only_input_and_output(template):
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
    ]
    (statements,) = [s for s in policies if any(x.get("Sid") == "ReadInput" for x in s)]
    by_sid = {s["Sid"]: s for s in statements}
    assert {f"Artifact{n.replace('-', '').title()}" for n in PIPELINE_ARTIFACTS} <= set(by_sid)
    assert "DataBucket" not in by_sid, "no read-write on the whole bucket"
    assert by_sid["ReadInput"]["Resource"]["Fn::Join"][1][-1] == "/input/*"
    assert by_sid["WriteOutput"]["Resource"]["Fn::Join"][1][-1] == "/output/*"
    assert by_sid["ListInput"]["Condition"] == {"StringLike": {"s3:prefix": ["input/*"]}}


@pytest.mark.parametrize("count", [0, 1, 16])
def test_a_chain_outside_2_to_15_containers_is_refused_clearly(count):
    steps = [PipelineStep(f"step{i}", Container(image="image")) for i in range(count)]
    with pytest.raises(PipelineChainError, match=f"2 to 15 containers; this chain has {count}"):
        chain_containers(steps)


@pytest.mark.parametrize("count", [2, 15])
def test_a_chain_of_2_or_15_containers_is_accepted(count):
    steps = [PipelineStep(f"step{i}", Container(image="image")) for i in range(count)]
    assert len(chain_containers(steps)) == count


def test_the_stack_refuses_a_chain_that_is_too_short(monkeypatch, tmp_path):
    real = module.chain_containers
    monkeypatch.setattr(module, "chain_containers", lambda steps: real(steps[:1]))
    with pytest.raises(PipelineChainError, match=r"has 1 \(preprocess\)"):
        synthesize(tmp_path, Variant({}, frozenset({STACK})), compliance_gate=False)


# --- the real-time endpoint -------------------------------------------------------------------


def test_endpoint_spreads_two_instances_scales_and_alarms(template):
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    (variant,) = config["ProductionVariants"]
    assert variant["InitialInstanceCount"] == 2 and variant["InstanceType"] == "ml.c5.large"
    assert "KmsKeyId" in config
    target = only_resource(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 4)
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (300, 60)
    metrics = {
        a["Properties"].get("MetricName")
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    assert {"Invocation5XXErrors", "ModelLatency", "ApproximateNumberOfMessagesVisible"} <= metrics


# --- the batch transform workflow -------------------------------------------------------------


def test_transform_runs_synchronously_with_the_notes_data_processing(states, template):
    transform = states["Transform"]
    assert transform["Resource"]["Fn::Join"][1][-1].endswith(
        ":states:::sagemaker:createTransformJob.sync"
    )
    request = transform["Parameters"]
    # Exclude the id before predicting, join the prediction to the input, keep id + result.
    assert request["DataProcessing"] == {
        "InputFilter": INPUT_FILTER,
        "JoinSource": "Input",
        "OutputFilter": OUTPUT_FILTER,
    }
    assert (INPUT_FILTER, OUTPUT_FILTER) == ("$[1:]", "$[0,-2,-1]")
    assert request["TransformInput"]["SplitType"] == "Line"
    assert request["TransformInput"]["ContentType"] == "text/csv"
    assert request["TransformOutput"]["AssembleWith"] == "Line"
    assert request["ModelName"] == {
        "Fn::GetAtt": [logical_id(template, "AWS::SageMaker::Model"), "ModelName"]
    }
    assert request["BatchStrategy"] == "MultiRecord"
    assert request["MaxPayloadInMB"] * request["MaxConcurrentTransforms"] <= 100


def test_transform_volume_and_output_use_the_stacks_key(states, template):
    request = states["Transform"]["Parameters"]
    key = {"Fn::GetAtt": [logical_id(template, "AWS::KMS::Key"), "Arn"]}
    assert request["TransformResources"]["VolumeKmsKeyId"] == key
    assert request["TransformOutput"]["KmsKeyId"] == key


def test_each_run_names_its_job_from_the_execution_and_writes_its_own_folder(states):
    assert states["NameTheRun"]["Parameters"]["job.$"] == (
        "States.Format('transform-{}', States.Hash($$.Execution.Id, 'MD5'))"
    )
    request = states["Transform"]["Parameters"]
    assert request["TransformJobName.$"] == "$.run.job"
    output = request["TransformOutput"]["S3OutputPath.$"]["Fn::Join"][1]
    assert output[-1] == "/output/{}/', $.run.job)"
    source = request["TransformInput"]["DataSource"]["S3DataSource"]
    assert source["S3DataType"] == "S3Prefix"
    assert source["S3Uri.$"]["Fn::Join"][1][-1] == "/{}', $.run.inputKey)"


def test_throttling_is_retried_with_backoff_and_failures_notify_the_encrypted_topic(
    states, template
):
    (retry,) = states["Transform"]["Retry"]
    assert set(retry["ErrorEquals"]) == set(RETRYABLE_ERRORS)
    assert "ThrottlingException" in retry["ErrorEquals"]
    assert retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 3
    for state in ("Transform", "FindInput"):
        (catch,) = states[state]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == "NotifyFailure"
    notify = states["NotifyFailure"]
    topic_id = logical_id(template, "AWS::SNS::Topic")
    assert notify["Parameters"]["TopicArn"] == {"Ref": topic_id}
    assert notify["Next"] == "Failed"
    topic = template["Resources"][topic_id]["Properties"]
    assert "KmsMasterKeyId" in topic


def test_runs_without_input_end_quietly_before_any_job(states):
    assert states["InputGiven"]["Default"] == "WholeInputPrefix"
    assert states["WholeInputPrefix"]["Result"] == {"inputKey": "input/"}
    (empty,) = states["AnyInput"]["Choices"]
    assert empty == {"Variable": "$.found.count", "NumericEquals": 0, "Next": "NothingToTransform"}
    assert states["AnyInput"]["Default"] == "Transform"


def test_execution_history_is_encrypted_and_traced(template):
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is True
    assert machine["TracingConfiguration"] == {"Enabled": True}
    group_ref = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    group = template["Resources"][group_ref["Fn::GetAtt"][0]]["Properties"]
    assert "KmsKeyId" in group and group["RetentionInDays"] == 7


def test_workflow_role_can_only_run_transform_jobs(template):
    policies = resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
    (statements,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in policies
        if any(s.get("Sid") == "Transform" for s in p["Properties"]["PolicyDocument"]["Statement"])
    ]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["Transform"]["Resource"]["Fn::Join"][1][-1] == ":transform-job/transform-*"
    assert not any("iam:PassRole" in json.dumps(s["Action"]) for s in statements)


def test_uploads_under_input_and_the_schedule_start_the_workflow(template):
    bucket_id, bucket = next(
        (i, r)
        for i, r in resources_of_type(template, "AWS::S3::Bucket").items()
        if "NotificationConfiguration" in r["Properties"]
    )
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert not any(t.startswith("Custom::S3BucketNotifications") for t in _types(template))
    rules = {r["Properties"]["Description"]: r["Properties"] for r in _rules(template)}
    upload = rules["Transform each CSV object created under input/"]
    assert upload["EventPattern"]["detail"] == {
        "bucket": {"name": [{"Ref": bucket_id}]},
        "object": {"key": [{"prefix": "input/"}]},
    }
    assert upload["EventPattern"]["detail-type"] == ["Object Created"]
    schedule = rules["Transform the whole input/ prefix on a schedule"]
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    machine_id = logical_id(template, "AWS::StepFunctions::StateMachine")
    for rule in (upload, schedule):
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Ref": machine_id}
        assert "RoleArn" in target and "Arn" in target["DeadLetterConfig"]
    assert json.loads(schedule["Targets"][0]["Input"]) == {"inputKey": "input/"}
    transformer = upload["Targets"][0]["InputTransformer"]
    assert transformer["InputTemplate"] == '{"inputKey":<detail-object-key>}'
    assert transformer["InputPathsMap"] == {"detail-object-key": "$.detail.object.key"}


def test_schedule_none_leaves_only_the_upload_rule(tmp_path):
    result = synthesize(
        tmp_path, Variant({IP + "schedule": "none"}, frozenset({STACK})), compliance_gate=False
    )
    assert [r["Properties"].get("ScheduleExpression") for r in _rules(result.templates[STACK])] == [
        None
    ]


def test_settings_reach_the_template(tmp_path):
    context = {
        IP + "transform_instance_type": "ml.c5.xlarge",
        IP + "transform_instance_count": "3",
        IP + "batch_strategy": "SingleRecord",
        IP + "max_payload_mib": "20",
        IP + "max_concurrent_transforms": "5",
        IP + "schedule": "cron(0 3 * * ? *)",
        IP + "instance_count": "3",
    }
    result = synthesize(tmp_path, Variant(context, frozenset({STACK})), compliance_gate=False)
    template = result.templates[STACK]
    machine = only_resource(template, "AWS::StepFunctions::StateMachine")["Properties"]
    request = decode_definition(machine["DefinitionString"])["States"]["Transform"]["Parameters"]
    assert request["TransformResources"]["InstanceType"] == "ml.c5.xlarge"
    assert request["TransformResources"]["InstanceCount"] == 3
    assert (request["BatchStrategy"], request["MaxPayloadInMB"]) == ("SingleRecord", 20)
    assert request["MaxConcurrentTransforms"] == 5
    schedules = [r["Properties"].get("ScheduleExpression") for r in _rules(template)]
    assert "cron(0 3 * * ? *)" in schedules
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 3


def test_the_ml_rule_pack_judges_the_transform_state(monkeypatch):
    """JB1 would fail the stack if the transform's volume had no key."""
    original = module.InferencePipelineStack.transform_request

    def without_volume_key(self):
        request = original(self)
        del request["TransformResources"]["VolumeKmsKeyId"]
        return request

    monkeypatch.setattr(module.InferencePipelineStack, "transform_request", without_volume_key)
    config = read_config({})
    stack = module.InferencePipelineStack(
        cdk.App(),
        STACK,
        profile=config.profile,
        settings=config.settings_for(PATTERN),
        title="t",
        notes_section="n",
    )
    report = MLSpecialtyChecks().validate_scope(stack)
    assert [v.rule_name for v in report.violations] == ["MLS-JB1[State::Transform]"]


def _types(template: dict) -> set[str]:
    return {r["Type"] for r in template["Resources"].values()}


def _rules(template: dict) -> list[dict]:
    return list(resources_of_type(template, "AWS::Events::Rule").values())
