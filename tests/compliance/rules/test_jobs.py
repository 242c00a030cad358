"""MLS-JB*: SageMaker jobs inside Step Functions state machines and SageMaker Pipelines."""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from tests.compliance.rules.support import mls_findings

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE_ARN = "arn:aws:iam::123456789012:role/jobs"
SFN = "arn:aws:states:::sagemaker:"
# Imported keys, roles and subnets keep the stacks to the resources under test, so rules of
# other areas have nothing to say about them.
VPC_CONFIG = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789"]}


def with_overrides(request: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``request`` with dotted paths set (``None`` removes the key)."""
    result = copy.deepcopy(request)
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return result


def training_request(**overrides: Any) -> dict[str, Any]:
    """A distributed spot training request passing every JB rule; keys are dotted paths."""
    request = {
        "TrainingJobName.$": "$.name",
        "RoleArn": ROLE_ARN,
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out", "KmsKeyId": KEY_ARN},
        "ResourceConfig": {
            "InstanceCount": 2,
            "InstanceType": "ml.m5.xlarge",
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": KEY_ARN,
        },
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": VPC_CONFIG,
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {"S3Uri": "s3://bucket/checkpoints"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
    }
    return with_overrides(request, {k.replace("__", "."): v for k, v in overrides.items()})


def processing_request(**overrides: Any) -> dict[str, Any]:
    request = {
        "ProcessingJobName.$": "$.name",
        "RoleArn": ROLE_ARN,
        "AppSpecification": {"ImageUri": "img"},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 2,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": KEY_ARN,
            }
        },
        "ProcessingOutputConfig": {
            "KmsKeyId": KEY_ARN,
            "Outputs": [{"OutputName": "o", "S3Output": {"S3Uri": "s3://bucket/p"}}],
        },
        "NetworkConfig": {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": VPC_CONFIG,
        },
    }
    return with_overrides(request, {k.replace("__", "."): v for k, v in overrides.items()})


def tuning_request(*definitions: dict[str, Any]) -> dict[str, Any]:
    """A tuning request over one training definition, or over several."""
    request: dict[str, Any] = {
        "HyperParameterTuningJobName.$": "$.name",
        "HyperParameterTuningJobConfig": {"Strategy": "Bayesian"},
    }
    if len(definitions) == 1:
        request["TrainingJobDefinition"] = definitions[0]
    else:
        request["TrainingJobDefinitions"] = list(definitions)
    return request


def job_state(
    stack: cdk.Stack, name: str, action: str, request: dict[str, Any], *, jsonata: bool = False
) -> sfn.CustomState:
    """A Task state calling the SageMaker ``action`` with ``request``."""
    state: dict[str, Any] = {"Type": "Task", "Resource": f"{SFN}{action}.sync"}
    if jsonata:
        state.update(QueryLanguage="JSONata", Arguments=request)
    else:
        state["Parameters"] = request
    return sfn.CustomState(stack, name, state_json=state)


def state_machine(stack: cdk.Stack, chain: sfn.IChainable) -> sfn.StateMachine:
    role = iam.Role.from_role_arn(stack, "MachineRole", ROLE_ARN, mutable=False)
    return sfn.StateMachine(
        stack, "Machine", role=role, definition_body=sfn.DefinitionBody.from_chainable(chain)
    )


def l2_training(
    stack: cdk.Stack,
    *,
    volume_key: bool = True,
    output_key: bool = True,
    network_isolation: bool | None = True,
    instance_count: int = 1,
    vpc: bool = False,
) -> tasks.SageMakerCreateTrainingJob:
    """The Step Functions L2 training task, as users write it; compliant by default."""
    key = kms.Key.from_key_arn(stack, "TrainKey", KEY_ARN)
    vpc_config = None
    if vpc:
        imported = ec2.Vpc.from_vpc_attributes(
            stack,
            "Vpc",
            vpc_id="vpc-0123456789",
            availability_zones=["eu-west-1a"],
            isolated_subnet_ids=["subnet-0123456789"],
        )
        vpc_config = tasks.VpcConfig(
            vpc=imported, subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        )
    return tasks.SageMakerCreateTrainingJob(
        stack,
        "Train",
        training_job_name=sfn.JsonPath.string_at("$.name"),
        role=iam.Role.from_role_arn(stack, "TrainRole", ROLE_ARN, mutable=False),
        algorithm_specification=tasks.AlgorithmSpecification(algorithm_name="xgboost"),
        input_data_config=[
            tasks.Channel(
                channel_name="train",
                data_source=tasks.DataSource(
                    s3_data_source=tasks.S3DataSource(
                        s3_location=tasks.S3Location.from_json_expression("$.input")
                    )
                ),
            )
        ],
        output_data_config=tasks.OutputDataConfig(
            s3_output_location=tasks.S3Location.from_json_expression("$.output"),
            encryption_key=key if output_key else None,
        ),
        resource_config=tasks.ResourceConfig(
            instance_count=instance_count,
            instance_type=ec2.InstanceType("m5.xlarge"),
            volume_size=cdk.Size.gibibytes(30),
            volume_encryption_key=key if volume_key else None,
        ),
        enable_network_isolation=network_isolation,
        vpc_config=vpc_config,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
    )


def l2_transform(
    stack: cdk.Stack, *, volume_key: bool = True, output_key: bool = True
) -> tasks.SageMakerCreateTransformJob:
    key = kms.Key.from_key_arn(stack, "TransformKey", KEY_ARN)
    return tasks.SageMakerCreateTransformJob(
        stack,
        "Transform",
        transform_job_name=sfn.JsonPath.string_at("$.name"),
        model_name="model",
        role=iam.Role.from_role_arn(stack, "TransformRole", ROLE_ARN, mutable=False),
        transform_input=tasks.TransformInput(
            transform_data_source=tasks.TransformDataSource(
                s3_data_source=tasks.TransformS3DataSource(s3_uri="s3://bucket/in")
            )
        ),
        transform_output=tasks.TransformOutput(
            s3_output_path="s3://bucket/predictions", encryption_key=key if output_key else None
        ),
        transform_resources=tasks.TransformResources(
            instance_count=1,
            instance_type=ec2.InstanceType("m5.xlarge"),
            volume_encryption_key=key if volume_key else None,
        ),
    )


def raw_machine(stack: cdk.Stack, states: dict[str, Any], **props: Any) -> None:
    """A CfnStateMachine over a JSON definition string of ``states`` run in order."""
    names = list(states)
    for name, following in zip(names, [*names[1:], None], strict=True):
        states[name] = dict(states[name], **({"Next": following} if following else {"End": True}))
    definition = json.dumps({"StartAt": names[0], "States": states})
    sfn.CfnStateMachine(stack, "Raw", role_arn=ROLE_ARN, definition_string=definition, **props)


# --- Step Functions L2 tasks -----------------------------------------------------------------


def test_compliant_l2_training_and_transform_pass():
    def build(stack):
        state_machine(stack, l2_training(stack).next(l2_transform(stack)))

    assert mls_findings(build) == []


def test_l2_training_in_a_vpc_passes():
    def build(stack):
        state_machine(stack, l2_training(stack, vpc=True))

    assert mls_findings(build) == []


@pytest.mark.parametrize(
    ("options", "rule_id"),
    [
        ({"volume_key": False}, "MLS-JB1[State::Train]"),
        ({"output_key": False}, "MLS-JB2[State::Train]"),
        ({"network_isolation": None}, "MLS-JB3[State::Train]"),
        ({"network_isolation": False}, "MLS-JB3[State::Train]"),
        # The L2 task cannot turn inter-container encryption on.
        ({"instance_count": 2}, "MLS-JB4[State::Train]"),
    ],
)
def test_each_unsafe_l2_training_setting_raises_exactly_its_rule(options, rule_id):
    assert mls_findings(lambda stack: state_machine(stack, l2_training(stack, **options))) == [
        rule_id
    ]


@pytest.mark.parametrize(
    ("options", "rule_id"),
    [
        ({"volume_key": False}, "MLS-JB1[State::Transform]"),
        ({"output_key": False}, "MLS-JB2[State::Transform]"),
    ],
)
def test_each_unsafe_l2_transform_setting_raises_exactly_its_rule(options, rule_id):
    assert mls_findings(lambda stack: state_machine(stack, l2_transform(stack, **options))) == [
        rule_id
    ]


# --- Raw training requests (spot, inter-container encryption) -------------------------------


def test_compliant_raw_training_passes():
    def build(stack):
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", training_request()))

    assert mls_findings(build) == []


@pytest.mark.parametrize(
    ("overrides", "rule_id"),
    [
        ({"ResourceConfig__VolumeKmsKeyId": None}, "MLS-JB1"),
        ({"OutputDataConfig__KmsKeyId": None}, "MLS-JB2"),
        ({"EnableNetworkIsolation": False}, "MLS-JB3"),
        ({"EnableInterContainerTrafficEncryption": None}, "MLS-JB4"),
        ({"EnableInterContainerTrafficEncryption": False}, "MLS-JB4"),
        ({"VpcConfig": None}, "MLS-JB4"),
        # Even on one instance, encryption asked for without a VPC is a broken request.
        ({"ResourceConfig__InstanceCount": 1, "VpcConfig": None}, "MLS-JB4"),
        ({"CheckpointConfig": None}, "MLS-JB5"),
        ({"StoppingCondition__MaxWaitTimeInSeconds": None}, "MLS-JB5"),
        ({"StoppingCondition__MaxWaitTimeInSeconds": 1800}, "MLS-JB5"),
        # Without MaxRuntimeInSeconds the API's one-day default is what MaxWait must cover.
        ({"StoppingCondition__MaxRuntimeInSeconds": None}, "MLS-JB5"),
    ],
)
def test_each_unsafe_training_setting_raises_exactly_its_rule(overrides, rule_id):
    def build(stack):
        request = training_request(**overrides)
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", request))

    assert mls_findings(build) == [f"{rule_id}[State::Train]"]


@pytest.mark.parametrize(
    "overrides",
    [
        # One instance has no inter-node traffic to encrypt.
        {"ResourceConfig__InstanceCount": 1, "EnableInterContainerTrafficEncryption": None},
        # On-demand training needs no checkpoint or wait time.
        {"EnableManagedSpotTraining": False, "CheckpointConfig": None},
        {"EnableManagedSpotTraining": None, "StoppingCondition__MaxWaitTimeInSeconds": None},
        # Instances with local NVMe storage are encrypted in hardware and refuse a volume key.
        {"ResourceConfig__InstanceType": "ml.p4d.24xlarge", "ResourceConfig__VolumeKmsKeyId": None},
        {"ResourceConfig__InstanceType": "ml.g5.12xlarge", "ResourceConfig__VolumeKmsKeyId": None},
    ],
)
def test_settings_that_do_not_apply_are_not_required(overrides):
    def build(stack):
        request = training_request(**overrides)
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", request))

    assert mls_findings(build) == []


def test_instance_groups_are_counted_together():
    groups = [
        {"InstanceGroupName": "a", "InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        {"InstanceGroupName": "b", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
    ]

    def build(stack):
        request = training_request(
            ResourceConfig__InstanceCount=None,
            ResourceConfig__InstanceGroups=groups,
            EnableInterContainerTrafficEncryption=None,
        )
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", request))

    assert mls_findings(build) == ["MLS-JB4[State::Train]"]


def test_one_finding_per_failing_job_and_rule():
    def build(stack):
        bare = training_request(
            ResourceConfig__VolumeKmsKeyId=None, EnableNetworkIsolation=None, CheckpointConfig=None
        )
        first = job_state(stack, "First", "createTrainingJob", bare)
        second = job_state(stack, "Second", "createTrainingJob", bare)
        good = job_state(stack, "Good", "createTrainingJob", training_request())
        state_machine(stack, first.next(good).next(second))

    assert mls_findings(build) == [
        "MLS-JB1[State::First]",
        "MLS-JB1[State::Second]",
        "MLS-JB3[State::First]",
        "MLS-JB3[State::Second]",
        "MLS-JB5[State::First]",
        "MLS-JB5[State::Second]",
    ]


def test_aws_sdk_integration_is_recognised():
    def build(stack):
        bare = training_request(ResourceConfig__VolumeKmsKeyId=None)
        raw_machine(
            stack,
            {
                "Train": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sagemaker:createTrainingJob",
                    "Parameters": bare,
                }
            },
        )

    assert mls_findings(build) == ["MLS-JB1[State::Train]"]


# --- Processing and tuning jobs ---------------------------------------------------------------


def test_compliant_processing_and_tuning_pass():
    def build(stack):
        process = job_state(stack, "Process", "createProcessingJob", processing_request())
        tune = job_state(
            stack, "Tune", "createHyperParameterTuningJob", tuning_request(training_request())
        )
        state_machine(stack, process.next(tune))

    assert mls_findings(build) == []


@pytest.mark.parametrize(
    ("overrides", "rule_id"),
    [
        ({"ProcessingResources__ClusterConfig__VolumeKmsKeyId": None}, "MLS-JB1"),
        ({"ProcessingOutputConfig__KmsKeyId": None}, "MLS-JB2"),
        ({"NetworkConfig__EnableNetworkIsolation": None}, "MLS-JB3"),
        ({"NetworkConfig__EnableInterContainerTrafficEncryption": False}, "MLS-JB4"),
        ({"NetworkConfig__VpcConfig": None}, "MLS-JB4"),
    ],
)
def test_each_unsafe_processing_setting_raises_exactly_its_rule(overrides, rule_id):
    def build(stack):
        request = processing_request(**overrides)
        state_machine(stack, job_state(stack, "Process", "createProcessingJob", request))

    assert mls_findings(build) == [f"{rule_id}[State::Process]"]


def test_processing_without_outputs_needs_no_output_key():
    def build(stack):
        request = processing_request(ProcessingOutputConfig=None)
        state_machine(stack, job_state(stack, "Process", "createProcessingJob", request))

    assert mls_findings(build) == []


@pytest.mark.parametrize(
    ("overrides", "rule_id"),
    [
        ({"ResourceConfig__VolumeKmsKeyId": None}, "MLS-JB1"),
        ({"OutputDataConfig__KmsKeyId": None}, "MLS-JB2"),
        ({"EnableNetworkIsolation": None}, "MLS-JB3"),
        ({"EnableInterContainerTrafficEncryption": None}, "MLS-JB4"),
        ({"CheckpointConfig": None}, "MLS-JB5"),
    ],
)
def test_each_unsafe_tuning_definition_raises_exactly_its_rule(overrides, rule_id):
    def build(stack):
        request = tuning_request(training_request(**overrides))
        state_machine(stack, job_state(stack, "Tune", "createHyperParameterTuningJob", request))

    assert mls_findings(build) == [f"{rule_id}[State::Tune]"]


def test_one_bad_definition_among_several_fails_the_tuning_job_once():
    def build(stack):
        request = tuning_request(
            training_request(),
            training_request(ResourceConfig__VolumeKmsKeyId=None),
            training_request(ResourceConfig__VolumeKmsKeyId=None),
        )
        state_machine(stack, job_state(stack, "Tune", "createHyperParameterTuningJob", request))

    assert mls_findings(build) == ["MLS-JB1[State::Tune]"]


def test_tuning_resource_config_carries_the_volume_key():
    def build(stack):
        definition = training_request(ResourceConfig=None)
        definition["HyperParameterTuningResourceConfig"] = {
            "InstanceCount": 1,
            "InstanceType": "ml.m5.xlarge",
            "VolumeKmsKeyId": KEY_ARN,
        }
        request = tuning_request(definition)
        state_machine(stack, job_state(stack, "Tune", "createHyperParameterTuningJob", request))

    assert mls_findings(build) == []


# --- Nesting and query languages ----------------------------------------------------------


def test_jobs_inside_parallel_branches_and_maps_are_found():
    def build(stack):
        parallel = sfn.Parallel(stack, "Fan")
        parallel.branch(
            job_state(
                stack,
                "BranchTrain",
                "createTrainingJob",
                training_request(ResourceConfig__VolumeKmsKeyId=None),
            )
        )
        item_map = sfn.Map(stack, "PerItem")
        item_map.item_processor(
            job_state(
                stack,
                "ItemProcess",
                "createProcessingJob",
                processing_request(NetworkConfig__EnableNetworkIsolation=False),
            )
        )
        state_machine(stack, parallel.next(item_map))

    assert mls_findings(build) == [
        "MLS-JB1[State::BranchTrain]",
        "MLS-JB3[State::ItemProcess]",
    ]


def test_jobs_inside_a_legacy_map_iterator_are_found():
    def build(stack):
        bare = processing_request(ProcessingOutputConfig__KmsKeyId=None)
        raw_machine(
            stack,
            {
                "Loop": {
                    "Type": "Map",
                    "Iterator": {
                        "StartAt": "Inner",
                        "States": {
                            "Inner": {
                                "Type": "Task",
                                "Resource": f"{SFN}createProcessingJob.sync",
                                "Parameters": bare,
                                "End": True,
                            }
                        },
                    },
                }
            },
        )

    assert mls_findings(build) == ["MLS-JB2[State::Inner]"]


def test_jsonata_arguments_are_checked():
    def build(stack):
        request = training_request(OutputDataConfig__KmsKeyId=None)
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", request, jsonata=True))

    assert mls_findings(build) == ["MLS-JB2[State::Train]"]


def test_jsonata_expressions_count_as_present():
    def build(stack):
        request = training_request(
            ResourceConfig__VolumeKmsKeyId="{% $states.input.key %}",
            EnableNetworkIsolation="{% $states.input.isolate %}",
            StoppingCondition__MaxWaitTimeInSeconds="{% $states.input.wait %}",
        )
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", request, jsonata=True))

    assert mls_findings(build) == []


# --- Not applicable, dynamic and malformed ----------------------------------------------------


def test_state_machine_without_sagemaker_jobs_is_not_applicable():
    def build(stack):
        invoke = sfn.CustomState(
            stack,
            "Invoke",
            state_json={
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "fn", "Payload.$": "$"},
            },
        )
        state_machine(stack, sfn.Pass(stack, "Start").next(invoke))

    assert mls_findings(build) == []


def test_transform_job_is_not_subject_to_isolation_rules():
    def build(stack):
        # Network isolation and spot belong to the Model and to training: nothing to ask here.
        state_machine(stack, l2_transform(stack))

    assert mls_findings(build) == []


def test_dynamic_values_count_as_present():
    def build(stack):
        request = training_request(
            ResourceConfig__VolumeKmsKeyId=None,
            OutputDataConfig__KmsKeyId=None,
            EnableNetworkIsolation=None,
            EnableInterContainerTrafficEncryption=None,
            CheckpointConfig=None,
        )
        request["ResourceConfig"]["VolumeKmsKeyId.$"] = "$.keys.volume"
        request["OutputDataConfig"]["KmsKeyId.$"] = "$.keys.output"
        request["EnableNetworkIsolation.$"] = "$.isolate"
        request["EnableInterContainerTrafficEncryption.$"] = "$.encrypt"
        request["CheckpointConfig.$"] = "$.checkpoints"
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", request))

    assert mls_findings(build) == []


def test_request_taken_whole_from_the_input_is_not_judged():
    def build(stack):
        state = {"Type": "Task", "Resource": f"{SFN}createTrainingJob.sync", "Parameters.$": "$"}
        raw_machine(stack, {"Train": state})

    assert mls_findings(build) == []


def test_unparseable_definition_gives_no_finding():
    def build(stack):
        sfn.CfnStateMachine(
            stack,
            "Broken",
            role_arn=ROLE_ARN,
            definition_string='{"StartAt": "Train", "States": {"Train": {"Resource": "createTr',
        )

    assert mls_findings(build) == []


def test_tokens_in_numeric_positions_do_not_crash_and_are_not_compared():
    def build(stack):
        runtime = cdk.CfnParameter(stack, "MaxRuntime", type="Number", default=3600)
        count = cdk.CfnParameter(stack, "Count", type="Number", default=4)
        request = training_request(
            StoppingCondition__MaxRuntimeInSeconds=runtime.value_as_number,
            StoppingCondition__MaxWaitTimeInSeconds=60,
            ResourceConfig__InstanceCount=count.value_as_number,
            EnableInterContainerTrafficEncryption=None,
            ResourceConfig__VolumeKmsKeyId=cdk.Fn.import_value("JobKey"),
        )
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", request))

    assert mls_findings(build) == []


def test_tokens_do_not_hide_missing_settings():
    def build(stack):
        runtime = cdk.CfnParameter(stack, "MaxRuntime", type="Number", default=3600)
        request = training_request(
            StoppingCondition__MaxRuntimeInSeconds=runtime.value_as_number,
            CheckpointConfig=None,
        )
        state_machine(stack, job_state(stack, "Train", "createTrainingJob", request))

    assert mls_findings(build) == ["MLS-JB5[State::Train]"]


def test_definition_substitutions_count_as_present():
    definition = (
        '{"StartAt": "Train", "States": {"Train": {"Type": "Task", "End": true, '
        '"Resource": "${TrainArn}:createTrainingJob.sync", "Parameters": {'
        '"ResourceConfig": {"InstanceCount": ${Count}, "VolumeKmsKeyId": "${Key}"}, '
        '"OutputDataConfig": {"S3OutputPath": "s3://b/o", "KmsKeyId": "${Key}"}, '
        '"EnableNetworkIsolation": ${Isolate}}}}}'
    )

    def build(stack):
        sfn.CfnStateMachine(
            stack,
            "Substituted",
            role_arn=ROLE_ARN,
            definition_string=definition.replace("${TrainArn}", f"{SFN[:-1]}:sagemaker"),
            definition_substitutions={"Count": "4", "Key": KEY_ARN, "Isolate": "true"},
        )

    assert mls_findings(build) == []

    def build_without_key(stack):
        sfn.CfnStateMachine(
            stack,
            "Substituted",
            role_arn=ROLE_ARN,
            definition_string=definition.replace("${TrainArn}", f"{SFN[:-1]}:sagemaker").replace(
                ', "VolumeKmsKeyId": "${Key}"', ""
            ),
            definition_substitutions={"Count": "4", "Key": KEY_ARN, "Isolate": "true"},
        )

    assert mls_findings(build_without_key) == ["MLS-JB1[State::Train]"]


def test_inline_definition_object_is_read():
    def build(stack):
        state = {
            "Type": "Task",
            "Resource": f"{SFN}createTrainingJob.sync",
            "Parameters": training_request(EnableNetworkIsolation=False),
            "End": True,
        }
        sfn.CfnStateMachine(
            stack,
            "Inline",
            role_arn=ROLE_ARN,
            definition={"StartAt": "Train", "States": {"Train": state}},
        )

    # Inline definitions reach the rules with every key lower-cased, state names included.
    assert mls_findings(build) == ["MLS-JB3[State::train]"]


# --- SageMaker Pipelines --------------------------------------------------------------------


def pipeline(stack: cdk.Stack, steps: list[dict[str, Any]], *, body: Any = None) -> None:
    sagemaker.CfnPipeline(
        stack,
        "Pipeline",
        pipeline_name="jobs",
        role_arn=ROLE_ARN,
        pipeline_definition={
            "PipelineDefinitionBody": body
            if body is not None
            else json.dumps({"Version": "2020-12-01", "Steps": steps})
        },
    )


def test_compliant_pipeline_passes():
    steps = [
        {"Name": "Prepare", "Type": "Processing", "Arguments": processing_request()},
        {"Name": "Train", "Type": "Training", "Arguments": training_request()},
        {"Name": "Tune", "Type": "Tuning", "Arguments": tuning_request(training_request())},
    ]
    assert mls_findings(lambda stack: pipeline(stack, steps)) == []


def test_pipeline_steps_fail_by_name_including_condition_branches():
    steps = [
        {
            "Name": "Prepare",
            "Type": "Processing",
            "Arguments": processing_request(ProcessingOutputConfig__KmsKeyId=None),
        },
        {
            "Name": "Check",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [],
                "IfSteps": [
                    {
                        "Name": "Train",
                        "Type": "Training",
                        "Arguments": training_request(EnableNetworkIsolation=False),
                    }
                ],
                "ElseSteps": [],
            },
        },
    ]
    assert mls_findings(lambda stack: pipeline(stack, steps)) == [
        "MLS-JB2[Step::Prepare]",
        "MLS-JB3[Step::Train]",
    ]


def test_pipeline_parameters_count_as_present():
    steps = [
        {
            "Name": "Train",
            "Type": "Training",
            "Arguments": training_request(
                ResourceConfig__InstanceCount={"Get": "Parameters.InstanceCount"},
                EnableInterContainerTrafficEncryption=None,
                ResourceConfig__VolumeKmsKeyId={"Get": "Parameters.VolumeKey"},
                StoppingCondition={"Get": "Parameters.Stopping"},
            ),
        }
    ]
    assert mls_findings(lambda stack: pipeline(stack, steps)) == []


def test_pipeline_body_with_tokens_is_parsed():
    def build(stack):
        key = cdk.CfnParameter(stack, "Key")
        request = training_request(OutputDataConfig__KmsKeyId=key.value_as_string)
        request["ResourceConfig"].pop("VolumeKmsKeyId")
        steps = [{"Name": "Train", "Type": "Training", "Arguments": request}]
        body = stack.to_json_string({"Version": "2020-12-01", "Steps": steps})
        pipeline(stack, [], body=body)

    assert mls_findings(build) == ["MLS-JB1[Step::Train]"]


def test_unparseable_pipeline_body_gives_no_finding():
    assert mls_findings(lambda stack: pipeline(stack, [], body="Steps: [")) == []
