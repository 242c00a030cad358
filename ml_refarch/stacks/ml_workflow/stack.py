"""Pattern ``ml-workflow``: a Step Functions workflow that trains (or tunes) and deploys.

Notes sections "Step functions" (orchestration with error handling and retries outside the
code, an auditable execution history), "Sagemaker" (managed spot training with checkpoints),
"Security" (KMS for volumes and outputs, network isolation, inter-node encryption in a VPC)
and "Automatic model tuning" (a logarithmic range for the learning rate). Resources:

- a state machine: name the run, then train (``createTrainingJob.sync``, spot with
  checkpoints) or tune (``createHyperParameterTuningJob.sync``, learning rate 0.0001-1.0 on
  a logarithmic scale, early stopping) and take the best job, create the model and an
  endpoint configuration, and create the endpoint or update it if it exists; API errors
  are retried with backoff, and any failure is published to an encrypted SNS topic,
- execution history in an encrypted log group (level ALL) and X-Ray tracing,
- the training bucket, an isolated VPC, the job execution role, and the training code as
  an asset.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.execution_role import SageMakerExecutionRole
from ml_refarch.constructs.images import framework_image_uri
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.constructs.model_endpoint import ALL_TRAFFIC
from ml_refarch.constructs.workflow import (
    AuditedWorkflow,
    audited_workflow,
    caught,
    notify_failure,
    retried,
    states_resource,
    sync_job_events,
    training_job_state,
)
from ml_refarch.stacks.base import PATTERN_TAG, PatternStack
from ml_refarch.stacks.ml_workflow.outputs import Outputs
from ml_refarch.stacks.ml_workflow.settings import MlWorkflowSettings
from ml_refarch.training import (
    CODE_CHANNEL,
    ENTRY_POINT,
    S3Input,
    TrainingJobSpec,
    training_job_request,
    tuning_job_request,
    write_source_tarball,
)

#: What the aws-sdk DescribeEndpoint integration raises for an endpoint that does not exist.
ENDPOINT_MISSING_ERRORS = ["SageMaker.SageMakerException", "SageMaker.ResourceNotFoundException"]


class MlWorkflowStack(PatternStack):
    """The training-to-endpoint workflow and what it needs.

    Attributes:
        state_machine: the workflow.
        topic: where failures are reported.
        bucket: training data, checkpoints and model artifacts.
        execution_role: the role jobs, models and the endpoint run as.
        training_spec: the job every run trains (names and checkpoint paths are per run).
    """

    def build(self, settings: MlWorkflowSettings) -> None:
        self.key = self.data_key("training data, volumes, outputs, logs, alerts")
        self.network = self._network(distributed=settings.instance_count > 1)
        self.bucket = SecureBucket(
            self,
            "Training",
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents="training data, checkpoints and model artifacts",
            no_replication_because=(
                "Training data is a copy of a source the team keeps elsewhere, checkpoints are "
                "transient and artifacts can be retrained; replication is left to the team."
            ),
        ).bucket
        code = self._training_code()
        self.execution_role = self._job_role(code)
        self.topic = sns.Topic(
            self,
            "Failures",
            display_name="ml-refarch workflow failures",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.endpoint_name = f"{self.node.id.lower()}-endpoint"
        subnets = [subnet.subnet_id for subnet in self.network.subnets]
        security_groups = [self.network.workload_security_group.security_group_id]
        self.training_spec = self._training_spec(settings, code, subnets, security_groups)
        workflow = self._workflow(settings, subnets, security_groups)
        self.state_machine = workflow.state_machine
        self._declare_outputs(workflow.log_group)

    def _network(self, *, distributed: bool) -> IsolatedVpc:
        network = IsolatedVpc(
            self,
            "Network",
            **self.defaults.vpc_props(),
            encryption_key=self.key,
            # Network-isolated jobs and endpoints need only the S3 gateway.
            services={},
            internal_ports=(ec2.Port.all_tcp(),) if distributed else (),
        )
        if distributed:
            acknowledge(
                network.workload_security_group,
                "Distributed training exchanges data between the job's instances on ports "
                "the framework picks; they are open only between members of this group.",
                controls.EC2_RESTRICTED_COMMON_PORTS,
            )
        return network

    def _training_code(self) -> s3_assets.Asset:
        """The training code, as the sourcedir.tar.gz SageMaker's framework containers run."""
        return s3_assets.Asset(
            self,
            "TrainingCode",
            # Built into the app's output directory, which cdk synth (or the caller) owns.
            path=str(
                write_source_tarball(
                    Path(cdk.Stage.of(self).outdir) / "ml-refarch-sources" / self.node.id
                )
            ),
        )

    def _job_role(self, code: s3_assets.Asset) -> iam.Role:
        return SageMakerExecutionRole(
            self,
            "JobRole",
            data_bucket=self.bucket,
            encryption_key=self.key,
            description="Training jobs, models and the endpoint of the ML workflow",
            extra_statements=[
                iam.PolicyStatement(
                    sid="TrainingCode",
                    actions=["s3:GetObject"],
                    resources=[code.bucket.arn_for_objects(code.s3_object_key)],
                ),
                # The code channel is an S3Prefix channel: SageMaker lists what is under
                # the prefix (the one object) before it downloads it.
                iam.PolicyStatement(
                    sid="TrainingCodeList",
                    actions=["s3:ListBucket"],
                    resources=[code.bucket.bucket_arn],
                    conditions={"StringEquals": {"s3:prefix": code.s3_object_key}},
                ),
            ],
        ).role

    def _training_spec(
        self,
        settings: MlWorkflowSettings,
        code: s3_assets.Asset,
        subnets: list[str],
        security_groups: list[str],
    ) -> TrainingJobSpec:
        return TrainingJobSpec(
            role_arn=self.execution_role.role_arn,
            image_uri=framework_image_uri(self, image_scope="training"),
            output_s3_uri=self.bucket.s3_url_for_object("output/"),
            kms_key_id=self.key.key_arn,
            train_input=S3Input(self.bucket.s3_url_for_object("data/train/")),
            validation_input=S3Input(self.bucket.s3_url_for_object("data/validation/")),
            instance_type=settings.instance_type,
            instance_count=settings.instance_count,
            max_runtime_seconds=settings.max_runtime_seconds,
            use_spot=settings.use_spot,
            max_wait_seconds=settings.max_wait_seconds if settings.use_spot else None,
            checkpoint_s3_uri=self.bucket.s3_url_for_object("checkpoints/"),
            subnet_ids=tuple(subnets),
            security_group_ids=tuple(security_groups),
            network_isolation=True,
            hyperparameters={"epochs": "10", "learning_rate": "0.01"},
            tags={PATTERN_TAG: self.pattern_id},
            code_input=S3Input(f"s3://{code.s3_bucket_name}/{code.s3_object_key}"),
        )

    def _workflow(
        self, settings: MlWorkflowSettings, subnets: list[str], security_groups: list[str]
    ) -> AuditedWorkflow:
        return audited_workflow(
            self,
            "Workflow",
            state_machine_name=f"{self.node.id}-train-and-deploy",
            definition=self._definition(subnets, security_groups),
            description="ML workflow: SageMaker jobs, model, endpoint; failure alerts; logs",
            statements=self._workflow_statements(),
            wildcard_reason=(
                "Every run names its own training and tuning jobs, models and endpoint "
                "configurations (from a UUID), so their ARNs end in a wildcard; the endpoint "
                "itself is named exactly."
            ),
            wildcard_findings=[
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                "<AWS::AccountId>:training-job/*]",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                "<AWS::AccountId>:hyper-parameter-tuning-job/*]",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                "<AWS::AccountId>:model/*]",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                "<AWS::AccountId>:endpoint-config/*]",
            ],
            alert_topic=self.topic,
            encryption_key=self.key,
            log_retention=self.defaults.log_retention,
            log_removal_policy=self.defaults.removal_policy,
            # The longest path: a spot job's wait, plus the rest of the workflow.
            timeout=cdk.Duration.seconds(
                max(settings.max_wait_seconds, settings.max_runtime_seconds) * 2 + 3600
            ),
        )

    def _declare_outputs(self, log_group: logs.ILogGroup) -> None:
        self.output(Outputs.STATE_MACHINE_ARN, self.state_machine.state_machine_arn, "The workflow")
        self.output(
            Outputs.TOPIC_ARN, self.topic.topic_arn, "Failure notifications (subscribe here)"
        )
        self.output(Outputs.BUCKET_NAME, self.bucket.bucket_name, "Training bucket")
        self.output(
            Outputs.DATA_URI, self.bucket.s3_url_for_object("data/"), "train/ and validation/"
        )
        self.output(Outputs.ENDPOINT_NAME, self.endpoint_name, "The endpoint the workflow deploys")
        self.output(Outputs.LOG_GROUP_NAME, log_group.log_group_name, "Execution history")
        self.output(
            Outputs.JOB_ROLE_ARN, self.execution_role.role_arn, "Role of jobs and the endpoint"
        )

    # --- the state machine ----------------------------------------------------------------

    def _task(self, state_id: str, resource: str, state: dict[str, Any]) -> sfn.CustomState:
        task = sfn.CustomState(
            self, state_id, state_json={"Type": "Task", "Resource": resource, **state}
        )
        return retried(task)

    def _definition(self, subnets: list[str], security_groups: list[str]) -> sfn.IChainable:
        """Name the run, train or tune (then take the best job), and deploy."""
        notify = notify_failure(
            self, topic=self.topic, subject="ml-refarch workflow failed", error="WorkflowFailed"
        )

        def catching(task: sfn.CustomState) -> sfn.CustomState:
            return caught(task, notify)

        name_the_run = sfn.Pass(
            self,
            "NameTheRun",
            parameters={
                "id.$": "States.UUID()",
                "short.$": "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0)",
            },
            result_path="$.run",
        )
        train = catching(self._train_state())
        tune, best = (catching(state) for state in self._tune_states())
        deploy = self._deploy_states(catching, subnets, security_groups)
        return name_the_run.next(
            sfn.Choice(self, "TrainOrTune")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.mode"),
                    sfn.Condition.string_equals("$.mode", "tune"),
                ),
                tune.next(best).next(deploy),
            )
            .otherwise(train.next(deploy))
        )

    def _train_state(self) -> sfn.CustomState:
        """One training job, named and checkpointed per run."""
        training = training_job_request(self.training_spec, "named-per-run")
        del training["TrainingJobName"]
        training["CheckpointConfig"] = {
            "S3Uri.$": f"States.Format('{self.training_spec.checkpoint_s3_uri}{{}}/', $.run.id)",
            "LocalPath": training["CheckpointConfig"]["LocalPath"],
        }
        return retried(training_job_state(self, "Train", training))

    def _tune_states(self) -> tuple[sfn.CustomState, sfn.CustomState]:
        """A tuning job, then its best training job's artifacts."""
        settings = self.settings
        tuning = tuning_job_request(
            self.training_spec,
            "named-per-run",
            max_jobs=settings.tuning_max_jobs,
            max_parallel_jobs=settings.tuning_max_parallel_jobs,
        )
        del tuning["HyperParameterTuningJobName"]
        tune = self._task(
            "Tune",
            states_resource("sagemaker:createHyperParameterTuningJob.sync"),
            {
                "Parameters": {
                    # Tuning job names are at most 32 characters: a UUID's first block.
                    "HyperParameterTuningJobName.$": "States.Format('tune-{}', $.run.short)",
                    **tuning,
                },
                "ResultSelector": {"best.$": "$.BestTrainingJob.TrainingJobName"},
                "ResultPath": "$.tuned",
            },
        )
        best = self._task(
            "DescribeBestJob",
            states_resource("aws-sdk:sagemaker:describeTrainingJob"),
            {
                "Parameters": {"TrainingJobName.$": "$.tuned.best"},
                "ResultSelector": {
                    "job.$": "$.TrainingJobName",
                    "artifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
                },
                "ResultPath": "$.trained",
            },
        )
        return tune, best

    def _deploy_states(
        self,
        catching: Callable[[sfn.CustomState], sfn.CustomState],
        subnets: list[str],
        security_groups: list[str],
    ) -> sfn.Chain:
        """Model, endpoint configuration, then create the endpoint or update it."""
        model = catching(self._model_state(subnets, security_groups))
        endpoint_config = catching(self._endpoint_config_state())
        find_endpoint = self._task(
            "FindEndpoint",
            states_resource("aws-sdk:sagemaker:describeEndpoint"),
            {
                "Parameters": {"EndpointName": self.endpoint_name},
                "ResultSelector": {"status.$": "$.EndpointStatus"},
                "ResultPath": "$.existing",
            },
        )
        create_endpoint, update_endpoint = (catching(state) for state in self._endpoint_states())
        find_endpoint.add_catch(
            create_endpoint, errors=ENDPOINT_MISSING_ERRORS, result_path="$.missing"
        )
        catching(find_endpoint)
        done = sfn.Succeed(self, "Deployed")
        deploy = model.next(endpoint_config).next(find_endpoint).next(update_endpoint).next(done)
        create_endpoint.next(done)
        return deploy

    def _model_state(self, subnets: list[str], security_groups: list[str]) -> sfn.CustomState:
        return self._task(
            "CreateModel",
            states_resource("sagemaker:createModel"),
            {
                "Parameters": {
                    "ModelName.$": "States.Format('model-{}', $.run.id)",
                    "ExecutionRoleArn": self.execution_role.role_arn,
                    "EnableNetworkIsolation": True,
                    "VpcConfig": {"Subnets": subnets, "SecurityGroupIds": security_groups},
                    "PrimaryContainer": {
                        "Image": framework_image_uri(self, image_scope="inference"),
                        "ModelDataUrl.$": "$.trained.artifacts",
                        # The artifact carries the entry point (model_fn) under code/.
                        "Environment": {
                            "SAGEMAKER_PROGRAM": ENTRY_POINT,
                            "SAGEMAKER_SUBMIT_DIRECTORY": f"/opt/ml/model/{CODE_CHANNEL}",
                        },
                    },
                    "Tags": self.request_tags,
                },
                "ResultPath": None,
            },
        )

    def _endpoint_config_state(self) -> sfn.CustomState:
        settings = self.settings
        return self._task(
            "CreateEndpointConfig",
            states_resource("sagemaker:createEndpointConfig"),
            {
                "Parameters": {
                    "EndpointConfigName.$": "States.Format('config-{}', $.run.id)",
                    "KmsKeyId": self.key.key_arn,
                    "ProductionVariants": [
                        {
                            "VariantName": ALL_TRAFFIC,
                            "ModelName.$": "States.Format('model-{}', $.run.id)",
                            "InitialInstanceCount": settings.endpoint_instance_count,
                            "InstanceType": settings.endpoint_instance_type,
                        }
                    ],
                    "Tags": self.request_tags,
                },
                "ResultPath": None,
            },
        )

    def _endpoint_states(self) -> tuple[sfn.CustomState, sfn.CustomState]:
        """Create the named endpoint, or update it to the run's configuration."""
        create_endpoint = self._task(
            "CreateEndpoint",
            states_resource("sagemaker:createEndpoint"),
            {
                "Parameters": {
                    "EndpointName": self.endpoint_name,
                    "EndpointConfigName.$": "States.Format('config-{}', $.run.id)",
                    "Tags": self.request_tags,
                },
                "ResultPath": None,
            },
        )
        update_endpoint = self._task(
            "UpdateEndpoint",
            states_resource("sagemaker:updateEndpoint"),
            {
                "Parameters": {
                    "EndpointName": self.endpoint_name,
                    "EndpointConfigName.$": "States.Format('config-{}', $.run.id)",
                },
                "ResultPath": None,
            },
        )
        return create_endpoint, update_endpoint

    # --- the workflow's role ---------------------------------------------------------------

    def _workflow_statements(self) -> list[iam.PolicyStatement]:
        """What the states call, besides alerts, logs and traces."""
        arn = self.arn_prefix("sagemaker")
        return [
            iam.PolicyStatement(
                sid="TrainAndTune",
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:CreateHyperParameterTuningJob",
                    "sagemaker:DescribeHyperParameterTuningJob",
                    "sagemaker:StopHyperParameterTuningJob",
                    "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                resources=[f"{arn}:training-job/*", f"{arn}:hyper-parameter-tuning-job/*"],
            ),
            iam.PolicyStatement(
                sid="Deploy",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:AddTags",
                ],
                resources=[
                    f"{arn}:model/*",
                    f"{arn}:endpoint-config/*",
                    f"{arn}:endpoint/{self.endpoint_name}",
                ],
            ),
            # CreateEndpoint and UpdateEndpoint attach volumes encrypted with the endpoint
            # configuration's key, so the caller's role must be allowed to use it
            # (CreateEndpointConfig, KmsKeyId: "The KMS key policy must grant permission to
            # the IAM role that you specify in your CreateEndpoint and UpdateEndpoint
            # requests"); SageMaker uses the key through a grant made for it.
            iam.PolicyStatement(
                sid="DeployVolumeKeyGrant",
                actions=["kms:CreateGrant"],
                resources=[self.key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            iam.PolicyStatement(
                sid="DeployVolumeKey", actions=["kms:DescribeKey"], resources=[self.key.key_arn]
            ),
            iam.PolicyStatement(
                sid="PassJobRole",
                actions=["iam:PassRole"],
                resources=[self.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            sync_job_events(self, "training", "tuning"),
        ]
