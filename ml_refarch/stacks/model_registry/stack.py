"""Pattern ``model-registry``: a model registry, approval events and Inference Recommender.

Notes sections "Sagemaker tools" and "Inference recommender" ("register model in model
registry, benchmark different endpoint configs, collect and visualize metrics to decide on
instance types"). Resources:

- a SageMaker model package group (``AWS::SageMaker::ModelPackageGroup``) without a resource
  policy: a group's policy is for other accounts ("Share models across accounts",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-ram.html), and every
  principal here is of this account;
- the committed model (``churn-v1`` by default) registered as a version of the group
  (``AWS::SageMaker::ModelPackage``): the XGBoost inference image, the artifact, its model
  quality statistics (with their SHA-256 content digest), its domain and task (which
  Inference Recommender requires of a package), with the approval status from settings
  (``PendingManualApproval`` by default). Model packages of a registry "do not support tags"
  (Model Registry FAQ, https://docs.aws.amazon.com/sagemaker/latest/dg/modelregistryfaq.html),
  so the version carries the pattern in ``CustomerMetadataProperties`` instead;
- an EventBridge rule on ``SageMaker Model Package State Change`` events of the group whose
  approval status is ``Approved`` ("SageMaker model package state change",
  https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html),
  with two targets: the encrypted SNS topic, so people learn a version was approved, and
  the state machine, which benchmarks the approved version with a default job, so the
  instance types to deploy it on are known before anyone deploys it;
- a state machine that stages the committed sample payload in the results bucket (a
  ``.tar.gz`` object under the stack's key, which the job's ``PayloadConfig`` names) and
  starts an Inference Recommender job through the AWS SDK integration
  (``CreateInferenceRecommendationsJob``: a default job on the instance types from settings,
  or an advanced job with the traffic phases, latency and throughput stopping conditions and
  resource limit from settings), polls ``DescribeInferenceRecommendationsJob`` at most
  ``max_polls`` times, stops the job when the polling runs out, writes the job's description
  (its recommendations) to the results bucket under the stack's key, and alerts the topic on
  any failure; every task retries throttling;
- the role the job passes to SageMaker: it reads the artifact and the staged payload and
  runs the benchmark endpoints in the stack's isolated VPC with volumes under the stack's
  key (``InputConfig.VpcConfig``, ``VolumeKmsKeyId``).

Why not CloudFormation for the job: Inference Recommender jobs have no CloudFormation type
(``../shared/aws-service-status.md``), and a job is a run, not a resource the stack keeps.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.execution_role import SageMakerExecutionRole
from ml_refarch.constructs.hosting import ModelArtifact, xgboost_image_uri
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.constructs.model_endpoint import AlertTopic
from ml_refarch.constructs.workflow import (
    RETRYABLE_ERRORS,
    Polling,
    audited_workflow,
    bounded_polling,
    caught,
    notify_failure,
    retried_task,
    starter_role,
    states_resource,
)
from ml_refarch.model_artifacts import XGBOOST_VERSION
from ml_refarch.stacks.base import PATTERN_TAG, PROFILE_TAG, PatternStack
from ml_refarch.stacks.model_registry import registration
from ml_refarch.stacks.model_registry.outputs import Outputs
from ml_refarch.stacks.model_registry.requests import JobPlace, job_request
from ml_refarch.stacks.model_registry.settings import ModelRegistrySettings

#: The EventBridge detail type of model package changes, and the status it reacts to.
PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
APPROVED = "Approved"
#: Job names start here (a UUID follows); a name is at most 64 characters.
JOB_NAME_PREFIX = "recommend-"
RESULTS_PREFIX = "recommendations/"
#: Where each run stages the sample payload: Inference Recommender wants "a single gzip
#: compressed tar archive (.tar.gz suffix)" (RecommendationJobPayloadConfig), and CDK names
#: a file asset's object by its hash and last extension only (``.gz``).
PAYLOAD_KEY = "payloads/sample-payload.tar.gz"
#: Terminal job statuses (DescribeInferenceRecommendationsJob, ``Status``).
JOB_FAILED_STATUSES = ("FAILED", "STOPPED", "DELETED")
#: SDK integration errors are ``<Service>.<Exception>``; SageMaker throttles with
#: ``ThrottlingException`` ("Common Errors", SageMaker API Reference).
RECOMMENDER_RETRYABLE = [*RETRYABLE_ERRORS, "SageMaker.ThrottlingException"]
S3_RETRYABLE = ["S3.SdkClientException", "S3.S3Exception"]


class ModelRegistryStack(PatternStack):
    """A registered model, the rule that reacts to its approval, and the recommender runs.

    Attributes:
        group: the model package group (L1). package: the registered version (L1).
        group_name: the group's name.
        recommender_role: the role Inference Recommender jobs run as.
        results: the bucket of the jobs' results. topic: approvals and failures.
        state_machine: the recommender workflow. approval_rule: the EventBridge rule.
    """

    def build(self, settings: ModelRegistrySettings) -> None:
        self.key = self.data_key("recommender results, benchmark volumes, alerts and logs")
        self.network = IsolatedVpc(
            self, "Network", **self.defaults.vpc_props(), encryption_key=self.key, services={}
        )
        self.results = SecureBucket(
            self,
            "Results",
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents="Inference Recommender results",
            no_replication_because=(
                "Each result is the description of a job that can be run again; replication "
                "is left to the team."
            ),
        ).bucket
        self.topic = AlertTopic(
            self,
            "Alerts",
            encryption_key=self.key,
            display_name="ml-refarch model registry: approvals and recommender failures",
            publishing_services=["events.amazonaws.com"],
        ).topic
        self.artifact = ModelArtifact(self, "Artifact", model_name=settings.model)
        self.payload = s3_assets.Asset(self, "SamplePayload", path=str(registration.PAYLOAD_PATH))
        self.metrics = s3_assets.Asset(
            self, "ModelQuality", path=str(registration.metrics_path(settings.model))
        )
        self.group_name = f"{self.node.id.lower()}-models"
        self.group, self.package = self._registry(settings)
        self.recommender_role = self._recommender_role()
        workflow = self._workflow(settings)
        self.state_machine = workflow.state_machine
        self.approval_rule = self._approval_rule()
        self._declare_outputs(workflow.log_group)

    # --- the registry ---------------------------------------------------------------------

    def _registry(
        self, settings: ModelRegistrySettings
    ) -> tuple[sagemaker.CfnModelPackageGroup, sagemaker.CfnModelPackage]:
        # The name and the description are the group's only create-only properties, and
        # neither depends on settings, so the fixed name never blocks a replacement.
        group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelGroup",
            model_package_group_name=self.group_name,
            model_package_group_description="ml-refarch: versions of the committed churn model",
        )
        group.apply_removal_policy(self.defaults.removal_policy)
        instance_types = list(
            dict.fromkeys([*settings.default_instance_types, *settings.advanced_instance_types])
        )
        package = sagemaker.CfnModelPackage(
            self,
            "ModelVersion",
            model_package_group_name=group.model_package_group_name,
            model_package_description=f"The committed model {settings.model}",
            model_approval_status=settings.approval_status,
            inference_specification=sagemaker.CfnModelPackage.InferenceSpecificationProperty(
                containers=[
                    sagemaker.CfnModelPackage.ModelPackageContainerDefinitionProperty(
                        image=xgboost_image_uri(self),
                        model_data_url=self.artifact.s3_url,
                        framework="XGBOOST",
                        framework_version=XGBOOST_VERSION,
                    )
                ],
                supported_content_types=[registration.PAYLOAD_CONTENT_TYPE],
                supported_response_mime_types=["text/csv"],
                supported_realtime_inference_instance_types=instance_types,
            ),
            model_metrics=sagemaker.CfnModelPackage.ModelMetricsProperty(
                model_quality=sagemaker.CfnModelPackage.ModelQualityProperty(
                    statistics=sagemaker.CfnModelPackage.MetricsSourceProperty(
                        content_type=registration.METRICS_CONTENT_TYPE,
                        s3_uri=self.metrics.s3_object_url,
                        content_digest=registration.content_digest(
                            registration.metrics_path(settings.model)
                        ),
                    )
                )
            ),
            domain="MACHINE_LEARNING",
            task="CLASSIFICATION",
            customer_metadata_properties={PATTERN_TAG: self.pattern_id, "model": settings.model},
        )
        package.node.add_dependency(group)
        package.apply_removal_policy(self.defaults.removal_policy)
        for tag in (PATTERN_TAG, PROFILE_TAG):
            cdk.Tags.of(package).remove(tag)
        return group, package

    def _recommender_role(self) -> iam.Role:
        role = SageMakerExecutionRole(
            self,
            "Recommender",
            data_bucket=None,
            encryption_key=self.key,
            description="Inference Recommender jobs: read the model and payload, run endpoints",
            extra_statements=[
                self.artifact.read_statement(),
                iam.PolicyStatement(
                    sid="SamplePayload",
                    actions=["s3:GetObject"],
                    resources=[self.results.arn_for_objects(PAYLOAD_KEY)],
                ),
            ],
        )
        return role.role

    # --- the workflow ---------------------------------------------------------------------

    def _job_place(self) -> JobPlace:
        return JobPlace(
            role_arn=self.recommender_role.role_arn,
            key_arn=self.key.key_arn,
            subnet_ids=[subnet.subnet_id for subnet in self.network.subnets],
            security_group_ids=[self.network.workload_security_group.security_group_id],
            payload_url=self.results.s3_url_for_object(PAYLOAD_KEY),
            payload_content_type=registration.PAYLOAD_CONTENT_TYPE,
            tags=self.request_tags,
        )

    def _start_job(self, settings: ModelRegistrySettings, job_type: str) -> sfn.CustomState:
        return retried_task(
            self,
            f"Start{job_type}Job",
            states_resource("aws-sdk:sagemaker:createInferenceRecommendationsJob"),
            {
                "Parameters": job_request(settings, job_type, self._job_place()),
                "ResultSelector": {"arn.$": "$.JobArn"},
                "ResultPath": "$.started",
            },
            RECOMMENDER_RETRYABLE,
        )

    def _definition(self, settings: ModelRegistrySettings) -> sfn.IChainable:
        """Name the job, pick the version, start a default or advanced job, poll, save."""
        notify = notify_failure(
            self,
            topic=self.topic,
            subject="ml-refarch Inference Recommender run failed",
            error="RecommenderFailed",
        )
        name_the_job = sfn.Pass(
            self,
            "NameTheJob",
            parameters={"name.$": f"States.Format('{JOB_NAME_PREFIX}{{}}', States.UUID())"},
            result_path="$.job",
        )
        given = sfn.Pass(
            self,
            "UseGivenVersion",
            parameters={"arn.$": "$.modelPackageArn"},
            result_path="$.package",
        )
        registered = sfn.Pass(
            self,
            "UseRegisteredVersion",
            parameters={"arn": self.package.attr_model_package_arn},
            result_path="$.package",
        )
        start_default, start_advanced = (
            caught(self._start_job(settings, job_type), notify)
            for job_type in ("Default", "Advanced")
        )
        poll = self._polling(settings, notify)
        start_default.next(poll)
        start_advanced.next(poll)
        choose_job = (
            sfn.Choice(self, "DefaultOrAdvanced")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.jobType"),
                    sfn.Condition.string_equals("$.jobType", "Advanced"),
                ),
                start_advanced,
            )
            .otherwise(start_default)
        )
        stage = caught(self._stage_payload(), notify)
        stage.next(choose_job)
        given.next(stage)
        registered.next(stage)
        return name_the_job.next(
            sfn.Choice(self, "WhichVersion")
            .when(sfn.Condition.is_present("$.modelPackageArn"), given)
            .otherwise(registered)
        )

    def _stage_payload(self) -> sfn.CustomState:
        """Copy the committed sample payload to a ``.tar.gz`` key under the stack's key."""
        return retried_task(
            self,
            "StagePayload",
            states_resource("aws-sdk:s3:copyObject"),
            {
                "Parameters": {
                    "Bucket": self.results.bucket_name,
                    "Key": PAYLOAD_KEY,
                    "CopySource": f"{self.payload.s3_bucket_name}/{self.payload.s3_object_key}",
                    "ServerSideEncryption": "aws:kms",
                    "SSEKMSKeyId": self.key.key_arn,
                },
                "ResultPath": None,
            },
            S3_RETRYABLE,
        )

    def _polling(self, settings: ModelRegistrySettings, notify: sfn.IChainable) -> sfn.IChainable:
        """At most ``max_polls`` describes; then save the result, or stop the job and alert."""
        job_name = {"JobName.$": "$.job.name"}
        describe = caught(
            retried_task(
                self,
                "DescribeJob",
                states_resource("aws-sdk:sagemaker:describeInferenceRecommendationsJob"),
                {"Parameters": job_name, "ResultPath": "$.described"},
                RECOMMENDER_RETRYABLE,
            ),
            notify,
        )
        stop = caught(
            retried_task(
                self,
                "StopJob",
                states_resource("aws-sdk:sagemaker:stopInferenceRecommendationsJob"),
                {"Parameters": job_name, "ResultPath": None},
                RECOMMENDER_RETRYABLE,
            ),
            notify,
        )
        stop.next(notify)
        save, name_the_result = self._save_results()
        caught(save, notify)
        status = "$.described.Status"
        ended = (
            sfn.Choice(self, "JobEnded")
            .when(sfn.Condition.string_equals(status, "COMPLETED"), name_the_result)
            .when(
                sfn.Condition.or_(
                    *(sfn.Condition.string_equals(status, s) for s in JOB_FAILED_STATUSES)
                ),
                notify,
            )
        )
        name_the_result.next(save).next(sfn.Succeed(self, "Done", output_path="$.results"))
        polling = Polling("WaitForJob", settings.poll_interval_seconds, settings.max_polls)
        return bounded_polling(self, polling, describe=describe, choice=ended, give_up=stop)

    def _save_results(self) -> tuple[sfn.CustomState, sfn.Pass]:
        """The job's description, recommendations included, as JSON under the stack's key."""
        name_the_result = sfn.Pass(
            self,
            "NameTheResult",
            parameters={
                "bucket": self.results.bucket_name,
                "key.$": f"States.Format('{RESULTS_PREFIX}{{}}.json', $.job.name)",
                "jobName.$": "$.job.name",
            },
            result_path="$.results",
        )
        save = retried_task(
            self,
            "SaveResults",
            states_resource("aws-sdk:s3:putObject"),
            {
                "Parameters": {
                    "Bucket": self.results.bucket_name,
                    "Key.$": f"States.Format('{RESULTS_PREFIX}{{}}.json', $.job.name)",
                    "Body.$": "States.JsonToString($.described)",
                    "ContentType": "application/json",
                    "ServerSideEncryption": "aws:kms",
                    "SSEKMSKeyId": self.key.key_arn,
                },
                "ResultPath": None,
            },
            S3_RETRYABLE,
        )
        return save, name_the_result

    def _workflow(self, settings: ModelRegistrySettings):
        job = f"{self.arn_prefix('sagemaker')}:inference-recommendations-job/{JOB_NAME_PREFIX}*"
        return audited_workflow(
            self,
            "Workflow",
            definition=self._definition(settings),
            description="Inference Recommender workflow: start, poll, save results; alerts",
            statements=[
                iam.PolicyStatement(
                    sid="RecommenderJobs",
                    actions=[
                        "sagemaker:CreateInferenceRecommendationsJob",
                        "sagemaker:DescribeInferenceRecommendationsJob",
                        "sagemaker:StopInferenceRecommendationsJob",
                        "sagemaker:AddTags",
                    ],
                    resources=[job],
                ),
                iam.PolicyStatement(
                    sid="PassRecommenderRole",
                    actions=["iam:PassRole"],
                    resources=[self.recommender_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="SaveResults",
                    actions=["s3:PutObject"],
                    resources=[
                        self.results.arn_for_objects(f"{RESULTS_PREFIX}*"),
                        self.results.arn_for_objects(PAYLOAD_KEY),
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadPayload",
                    actions=["s3:GetObject"],
                    resources=[self.payload.bucket.arn_for_objects(self.payload.s3_object_key)],
                ),
            ],
            wildcard_reason=(
                "Every run names its own Inference Recommender job (recommend-<UUID>) and "
                "writes its result under recommendations/<job name>.json."
            ),
            wildcard_findings=[
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                f"<AWS::AccountId>:inference-recommendations-job/{JOB_NAME_PREFIX}*]",
                f"AwsSolutions-IAM5[Resource::<{self._logical_id(self.results)}.Arn>/"
                f"{RESULTS_PREFIX}*]",
            ],
            alert_topic=self.topic,
            encryption_key=self.key,
            log_retention=self.defaults.log_retention,
            log_removal_policy=self.defaults.removal_policy,
            timeout=cdk.Duration.seconds(settings.polling_seconds + 3600),
        )

    def _logical_id(self, construct) -> str:
        return self.get_logical_id(construct.node.default_child)

    # --- the approval rule ----------------------------------------------------------------

    def _approval_rule(self) -> events.Rule:
        starter = starter_role(
            self,
            "ApprovalStarter",
            description="The approval rule starts the Inference Recommender workflow",
            sid="StartRecommender",
            state_machine=self.state_machine,
        )
        rule = events.Rule(
            self,
            "OnApproval",
            description="A version of the model group was approved: notify and benchmark it",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[PACKAGE_STATE_CHANGE],
                detail={
                    "ModelPackageGroupName": [self.group_name],
                    "ModelApprovalStatus": [APPROVED],
                },
            ),
            targets=[
                targets.SnsTopic(
                    self.topic,
                    message=events.RuleTargetInput.from_object(
                        {
                            "approved": events.EventField.from_path("$.detail.ModelPackageArn"),
                            "group": events.EventField.from_path("$.detail.ModelPackageGroupName"),
                        }
                    ),
                    retry_attempts=8,
                    max_event_age=cdk.Duration.hours(2),
                ),
                targets.SfnStateMachine(
                    self.state_machine,
                    input=events.RuleTargetInput.from_object(
                        {
                            "modelPackageArn": events.EventField.from_path(
                                "$.detail.ModelPackageArn"
                            ),
                            "jobType": "Default",
                            "startedBy": "approval",
                        }
                    ),
                    role=starter.without_policy_updates(),
                    retry_attempts=8,
                    max_event_age=cdk.Duration.hours(2),
                ),
            ],
        )
        acknowledge(
            rule,
            "An approval event EventBridge cannot deliver after 8 retries over 2 hours loses "
            "nothing a queue would keep: the approval stays recorded on the version "
            "(ModelApprovalStatus), and the workflow can be started on it by hand.",
            "Serverless-EventBusDLQ",
        )
        return rule

    def _declare_outputs(self, log_group: logs.ILogGroup) -> None:
        self.output(Outputs.MODEL_PACKAGE_GROUP_NAME, self.group_name, "The model group")
        self.output(
            Outputs.MODEL_PACKAGE_ARN,
            self.package.attr_model_package_arn,
            "The registered version (approve it to benchmark it)",
        )
        self.output(Outputs.STATE_MACHINE_ARN, self.state_machine.state_machine_arn, "Workflow")
        self.output(Outputs.TOPIC_ARN, self.topic.topic_arn, "Approvals and failures")
        self.output(Outputs.RESULTS_BUCKET_NAME, self.results.bucket_name, "Recommender results")
        self.output(
            Outputs.RESULTS_URI,
            self.results.s3_url_for_object(RESULTS_PREFIX),
            "One JSON per job: its description and recommendations",
        )
        self.output(Outputs.LOG_GROUP_NAME, log_group.log_group_name, "Execution history")
        self.output(
            Outputs.RECOMMENDER_ROLE_ARN, self.recommender_role.role_arn, "Role of the jobs"
        )
