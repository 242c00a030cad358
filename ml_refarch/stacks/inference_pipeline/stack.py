"""Pattern ``inference-pipeline``: preprocessing, prediction and postprocessing as one model.

Notes sections "Inference pipelines" (a linear sequence of 2-15 containers that combines
pre-processing, predictions and post-processing, scikit-learn containers working well for the
first and last; the same model serves real-time requests and batch transforms, and a batch
transform can exclude attributes before predicting and join the predictions with the input),
"SG Endpoint" and "Inference" (an endpoint needs AWS credentials; two or more instances
across Availability Zones, target-tracking auto scaling), "Step functions" (orchestration with
retries outside the code and an auditable history) and "Security" (KMS for volumes and
outputs, network isolation). Resources:

- one SageMaker model whose serial chain is three containers: the scikit-learn 1.2-1 image
  running ``preprocess.py`` (scales the 8 numbers, one-hot encodes the plan), the XGBoost
  3.0-5 image with a model trained on those features, and the scikit-learn image running
  ``postprocess.py`` (scores to ``label,score``); the code and its JSON parameters travel in
  each step's ``model.tar.gz`` under ``code/``, since network-isolated containers download
  nothing; the model runs network isolated in the isolated VPC's subnets in two zones,
- a real-time endpoint for it: two or more instances, target tracking with cooldowns, 5xx
  and latency alarms to a KMS-encrypted SNS topic,
- a data bucket (KMS, TLS only, EventBridge notifications on) with ``input/`` and
  ``output/`` prefixes,
- a state machine that checks there is input, then runs a batch transform job
  synchronously: records are ``id,f1..f8,plan``; the input filter drops the id, the output is
  joined to the input record, and the output filter keeps ``id,label,score``; the job's
  volume and output are encrypted with the stack's key and its instances run in the model's
  VPC; API throttling is retried with backoff, and any failure is published to the alert
  topic; execution history goes to an encrypted log group, traces to X-Ray,
- two EventBridge rules that start it: an object created under ``input/`` (that object is
  transformed) and a schedule (the whole prefix; ``inference-pipeline.schedule``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.aws_facts import PIPELINE_MAX_CONTAINERS, PIPELINE_MIN_CONTAINERS
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.dead_letters import alarmed_dead_letters
from ml_refarch.constructs.hosting import (
    Container,
    ModelArtifact,
    xgboost_image_uri,
)
from ml_refarch.constructs.images import framework_image_uri
from ml_refarch.constructs.model_endpoint import HostingFoundation, ModelEndpoint, ServedModel
from ml_refarch.constructs.workflow import (
    AuditedWorkflow,
    audited_workflow,
    caught,
    notify_failure,
    retried,
    starter_role,
    states_resource,
    sync_job_events,
)
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.inference_pipeline.artifacts import (
    PIPELINE_CODE_DIR,
    PIPELINE_RECIPE,
    POSTPROCESS_STEP,
    PREPROCESS_STEP,
    PipelineStepArtifact,
)
from ml_refarch.stacks.inference_pipeline.outputs import Outputs
from ml_refarch.stacks.inference_pipeline.settings import InferencePipelineSettings

INPUT_PREFIX = "input/"
OUTPUT_PREFIX = "output/"
CSV = "text/csv"
#: Batch records are ``id,f1,...,f8,plan``: the model sees everything but the id.
INPUT_FILTER = "$[1:]"
#: Joined records are ``id,f1,...,f8,plan,label,score``: keep the id and the prediction.
OUTPUT_FILTER = "$[0,-2,-1]"
BATCH_STRATEGIES = {"multirecord": "MultiRecord", "singlerecord": "SingleRecord"}
#: The rule Step Functions manages to learn when a transform job ends (``.sync``).
#: Errors of the S3 listing worth retrying (throttling surfaces as an S3Exception).
LISTING_RETRY_ERRORS = ["S3.S3Exception", "States.Timeout"]
#: How long a run may take: one transform of the whole input prefix.
RUN_TIMEOUT = cdk.Duration.hours(24)


class PipelineChainError(ValueError):
    """The chain of containers is not something SageMaker accepts as a serial pipeline."""


@dataclass(frozen=True)
class PipelineStep:
    """One container of the chain, named for messages and the diagram."""

    name: str
    container: Container


def chain_containers(steps: Sequence[PipelineStep]) -> list[Container]:
    """The containers of a serial inference pipeline, in order.

    Raises:
        PipelineChainError: unless there are 2 to 15 steps (notes, "Inference pipelines").
    """
    if not PIPELINE_MIN_CONTAINERS <= len(steps) <= PIPELINE_MAX_CONTAINERS:
        names = ", ".join(step.name for step in steps) or "none"
        raise PipelineChainError(
            f"a serial inference pipeline runs {PIPELINE_MIN_CONTAINERS} to "
            f"{PIPELINE_MAX_CONTAINERS} containers; this chain has {len(steps)} ({names}). "
            "Merge steps into fewer images, or serve a single container as a plain model"
        )
    return [step.container for step in steps]


def script_step_environment(step: PipelineStepArtifact) -> dict[str, str]:
    """Script mode of the scikit-learn container with the code inside the artifact."""
    return {
        "SAGEMAKER_PROGRAM": step.program,
        "SAGEMAKER_SUBMIT_DIRECTORY": f"/opt/ml/model/{PIPELINE_CODE_DIR}",
        # The next container reads CSV whatever the caller accepts.
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": CSV,
    }


class InferencePipelineStack(PatternStack):
    """A three-container inference pipeline: real-time endpoint and scheduled batch transform.

    Attributes:
        foundation: key, isolated VPC, execution role, alert topic.
        bucket: ``input/`` records to transform, ``output/`` predictions.
        steps: the chain, in order.
        model: the pipeline model.
        endpoint: the real-time endpoint.
        state_machine: the batch transform workflow.
        rules: the EventBridge rules that start it, by name.
    """

    def build(self, settings: InferencePipelineSettings) -> None:
        preprocess = ModelArtifact(self, "PreprocessArtifact", model_name=PREPROCESS_STEP.name)
        predictor = ModelArtifact(self, "PredictorArtifact", model_name=PIPELINE_RECIPE.name)
        postprocess = ModelArtifact(self, "PostprocessArtifact", model_name=POSTPROCESS_STEP.name)
        self.foundation = HostingFoundation(
            self,
            "Hosting",
            defaults=self.defaults,
            purpose="inference pipeline",
            artifacts=[preprocess, predictor, postprocess],
        )
        self.bucket = self._data_bucket()
        self._grant_job_data_access()

        self.steps = self._pipeline_steps(preprocess, predictor, postprocess)
        hosted = ModelEndpoint(
            self,
            "Default",
            foundation=self.foundation,
            models=[
                ServedModel(
                    name="pipeline",
                    containers=chain_containers(self.steps),
                    construct_id="Pipeline",
                )
            ],
            hosting=settings,
            # SageMaker checks the role can read every artifact when it creates the model.
            models_wait_for=[self.foundation.role_policy],
        )
        self.model = hosted.models["pipeline"]
        self.endpoint = hosted.endpoint

        workflow = self._workflow()
        self.state_machine = workflow.state_machine
        self.rules = self._rules()
        self._declare_outputs(workflow.log_group)

    def _data_bucket(self) -> s3.Bucket:
        """Batch input and output, announcing its new objects to EventBridge."""
        bucket = SecureBucket(
            self,
            "Data",
            **self.defaults.bucket_props(),
            encryption_key=self.foundation.key,
            contents="records to transform and their predictions",
            no_replication_because=(
                "The bucket holds copies of records scored in batch and their predictions, "
                "which a rerun of the transform recreates; replication is left to the team."
            ),
            # S3 -> EventBridge with the bucket's own property: no notification custom resource.
            event_bridge=True,
        ).bucket
        return bucket

    def _pipeline_steps(
        self, preprocess: ModelArtifact, predictor: ModelArtifact, postprocess: ModelArtifact
    ) -> tuple[PipelineStep, ...]:
        """Scikit-learn preprocessing, the XGBoost predictor, scikit-learn postprocessing."""
        sklearn_image = framework_image_uri(self, image_scope="inference")
        return (
            PipelineStep(
                "preprocess",
                Container(
                    image=sklearn_image,
                    model_data_url=preprocess.s3_url,
                    environment=script_step_environment(PREPROCESS_STEP),
                ),
            ),
            PipelineStep(
                "xgboost",
                Container(
                    image=xgboost_image_uri(self),
                    model_data_url=predictor.s3_url,
                    environment={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": CSV},
                ),
            ),
            PipelineStep(
                "postprocess",
                Container(
                    image=sklearn_image,
                    model_data_url=postprocess.s3_url,
                    environment=script_step_environment(POSTPROCESS_STEP),
                ),
            ),
        )

    def _workflow(self) -> AuditedWorkflow:
        return audited_workflow(
            self,
            "BatchTransform",
            definition=self._definition(),
            description="Inference pipeline batch transform: find input, transform, alert, log",
            statements=self._workflow_statements(),
            wildcard_reason=(
                "Every run names its transform job from the execution's id (transform-<hash>), "
                "so the job ARN ends in a wildcard after that fixed prefix."
            ),
            wildcard_findings=[
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                "<AWS::AccountId>:transform-job/transform-*]"
            ],
            alert_topic=self.foundation.topic,
            encryption_key=self.foundation.key,
            log_retention=self.defaults.log_retention,
            log_removal_policy=self.defaults.removal_policy,
            timeout=RUN_TIMEOUT,
        )

    def _declare_outputs(self, log_group: logs.ILogGroup) -> None:
        self.output(
            Outputs.ENDPOINT_NAME, self.endpoint.endpoint_name, "Invoke with raw CSV records"
        )
        self.output(Outputs.MODEL_NAME, self.model.model_name, "The three-container pipeline model")
        self.output(Outputs.BUCKET_NAME, self.bucket.bucket_name, "Batch input and output bucket")
        self.output(
            Outputs.INPUT_URI,
            self.bucket.s3_url_for_object(INPUT_PREFIX),
            "Upload id,f1..f8,plan CSV here",
        )
        self.output(
            Outputs.OUTPUT_URI,
            self.bucket.s3_url_for_object(OUTPUT_PREFIX),
            "Predictions (id,label,score), one folder per run",
        )
        self.output(
            Outputs.STATE_MACHINE_ARN,
            self.state_machine.state_machine_arn,
            "The batch transform workflow",
        )
        self.output(Outputs.TOPIC_ARN, self.foundation.topic.topic_arn, "Alarms and failed runs")
        self.output(Outputs.LOG_GROUP_NAME, log_group.log_group_name, "Execution history")

    # --- data access of the jobs -----------------------------------------------------------

    def _grant_job_data_access(self) -> None:
        """Transform jobs (as the model's role) list and read input/ and write output/."""
        bucket = self.bucket
        policy = self.foundation.role_policy
        policy.add_statements(
            iam.PolicyStatement(
                sid="ListInput",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{INPUT_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                sid="ReadInput",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{INPUT_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="WriteOutput",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(f"{OUTPUT_PREFIX}*")],
            ),
        )
        bucket_id = self.get_logical_id(bucket.node.default_child)
        acknowledge(
            policy,
            "Batch transform jobs read whatever objects land under input/ and write one output "
            "folder per run under output/, so the object ARNs end in a wildcard below each "
            "prefix of the one data bucket.",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{INPUT_PREFIX}*]",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{OUTPUT_PREFIX}*]",
        )

    # --- the state machine ----------------------------------------------------------------

    def transform_request(self) -> dict[str, Any]:
        """The CreateTransformJob parameters, as the Transform state sends them."""
        settings = self.settings
        key_arn = self.foundation.key.key_arn
        bucket_uri = f"s3://{self.bucket.bucket_name}/"
        return {
            "TransformJobName.$": "$.run.job",
            "ModelName": self.model.model_name,
            "BatchStrategy": BATCH_STRATEGIES[settings.batch_strategy],
            "MaxPayloadInMB": settings.max_payload_mib,
            "MaxConcurrentTransforms": settings.max_concurrent_transforms,
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri.$": f"States.Format('{bucket_uri}{{}}', $.run.inputKey)",
                    }
                },
                "ContentType": CSV,
                "SplitType": "Line",
                "CompressionType": "None",
            },
            "TransformOutput": {
                "S3OutputPath.$": f"States.Format('{bucket_uri}{OUTPUT_PREFIX}{{}}/', $.run.job)",
                "Accept": CSV,
                "AssembleWith": "Line",
                "KmsKeyId": key_arn,
            },
            # The instances run in the model's VPC (its VpcConfig), network isolated.
            "TransformResources": {
                "InstanceType": settings.transform_instance_type,
                "InstanceCount": settings.transform_instance_count,
                "VolumeKmsKeyId": key_arn,
            },
            "DataProcessing": {
                "InputFilter": INPUT_FILTER,
                "JoinSource": "Input",
                "OutputFilter": OUTPUT_FILTER,
            },
            "Tags": self.request_tags,
        }

    def _definition(self) -> sfn.IChainable:
        """Default the input to the whole prefix, name the run, find input, transform it."""
        notify = notify_failure(
            self,
            topic=self.foundation.topic,
            subject="ml-refarch batch transform failed",
            error="TransformFailed",
        )

        # Uploads pass the object's key; the schedule and manual runs may pass nothing.
        default_input = sfn.Pass(
            self, "WholeInputPrefix", result=sfn.Result.from_object({"inputKey": INPUT_PREFIX})
        )
        name_the_run = sfn.Pass(
            self,
            "NameTheRun",
            parameters={
                # One job per execution: its name comes from the execution's id.
                "job.$": "States.Format('transform-{}', States.Hash($$.Execution.Id, 'MD5'))",
                "inputKey.$": "$.inputKey",
            },
            result_path="$.run",
        )
        find_input = self._find_input_state(notify)
        transform = self._transform_state(notify)
        name_the_run.next(find_input).next(
            sfn.Choice(self, "AnyInput")
            .when(
                sfn.Condition.number_equals("$.found.count", 0),
                sfn.Succeed(self, "NothingToTransform"),
            )
            .otherwise(transform.next(sfn.Succeed(self, "Transformed")))
        )
        default_input.next(name_the_run)
        return (
            sfn.Choice(self, "InputGiven")
            .when(sfn.Condition.is_present("$.inputKey"), name_the_run)
            .otherwise(default_input)
        )

    def _find_input_state(self, notify: sfn.State) -> sfn.CustomState:
        """Is there any object under the run's input key? (a listing of at most one)"""
        find_input = sfn.CustomState(
            self,
            "FindInput",
            state_json={
                "Type": "Task",
                "Resource": states_resource("aws-sdk:s3:listObjectsV2"),
                "Parameters": {
                    "Bucket": self.bucket.bucket_name,
                    "Prefix.$": "$.run.inputKey",
                    "MaxKeys": 1,
                },
                "ResultSelector": {"count.$": "$.KeyCount"},
                "ResultPath": "$.found",
            },
        )
        retried(find_input, errors=LISTING_RETRY_ERRORS, interval_seconds=2, max_attempts=3)
        return caught(find_input, notify)

    def _transform_state(self, notify: sfn.State) -> sfn.CustomState:
        """The batch transform job, waited for until it ends."""
        transform = sfn.CustomState(
            self,
            "Transform",
            state_json={
                "Type": "Task",
                "Resource": states_resource("sagemaker:createTransformJob.sync"),
                "Parameters": self.transform_request(),
                "ResultSelector": {
                    "job.$": "$.TransformJobName",
                    "status.$": "$.TransformJobStatus",
                    "output.$": "$.TransformOutput.S3OutputPath",
                },
                "ResultPath": "$.transform",
            },
        )
        # Throttling and capacity limits clear up; a job that fails on its data does not.
        return caught(retried(transform), notify)

    def _workflow_statements(self) -> list[iam.PolicyStatement]:
        """What the states call, besides alerts, logs and traces."""
        arn = self.arn_prefix("sagemaker")
        return [
            iam.PolicyStatement(
                sid="FindInput",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{INPUT_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                sid="Transform",
                actions=[
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                resources=[f"{arn}:transform-job/transform-*"],
            ),
            sync_job_events(self, "transform"),
        ]

    # --- what starts it -------------------------------------------------------------------

    def _rules(self) -> dict[str, events.Rule]:
        """Start a run on each upload under input/, and on the schedule if there is one."""
        starter = self._starter_role()
        self.dead_letters = self._dead_letter_queue()

        def target(run_input: events.RuleTargetInput) -> targets.SfnStateMachine:
            return targets.SfnStateMachine(
                self.state_machine,
                input=run_input,
                role=starter.without_policy_updates(),
                retry_attempts=8,
                max_event_age=cdk.Duration.hours(2),
                dead_letter_queue=self.dead_letters,
            )

        rules = {
            "upload": events.Rule(
                self,
                "OnUpload",
                description="Transform each CSV object created under input/",
                event_pattern=events.EventPattern(
                    source=["aws.s3"],
                    detail_type=["Object Created"],
                    detail={
                        "bucket": {"name": [self.bucket.bucket_name]},
                        "object": {"key": [{"prefix": INPUT_PREFIX}]},
                    },
                ),
                targets=[
                    target(
                        events.RuleTargetInput.from_object(
                            {"inputKey": events.EventField.from_path("$.detail.object.key")}
                        )
                    )
                ],
            )
        }
        if self.settings.schedule_expression is not None:
            rules["schedule"] = events.Rule(
                self,
                "OnSchedule",
                description="Transform the whole input/ prefix on a schedule",
                schedule=events.Schedule.expression(self.settings.schedule_expression),
                targets=[target(events.RuleTargetInput.from_object({"inputKey": INPUT_PREFIX}))],
            )
        return rules

    def _starter_role(self) -> iam.Role:
        return starter_role(
            self,
            "Starter",
            description="EventBridge rules that start the inference pipeline batch transform",
            sid="StartRun",
            state_machine=self.state_machine,
            same_account=False,
        )

    def _dead_letter_queue(self) -> sqs.Queue:
        """Events EventBridge could not deliver (after its retries) wait here, and an alarm
        says so."""
        return alarmed_dead_letters(
            self,
            "UndeliveredStarts",
            key=self.foundation.key,
            topic=self.foundation.topic,
            no_redrive_because=(
                "This queue is itself the dead-letter queue of the two EventBridge targets that "
                "start the batch transform (their DeadLetterConfig), which the rule packs do not "
                "recognise; a queue behind a dead-letter queue would only move the same messages."
            ),
            no_redrive_rules=[
                "AwsSolutions-SQS3",
                "Serverless-SQSRedrivePolicy",
                "ControlTower-sqs_dlq_check",
            ],
            alarm_id="UndeliveredStartsAlarm",
            alarm_description="EventBridge could not start the batch transform workflow",
        )
