"""Pattern ``batch-jobs``: AWS Batch on managed Spot EC2 and on Fargate, started two ways.

Notes sections "AWS Batch" (managed compute environments that scale to the jobs, Spot for
cost, jobs as Docker images, schedules that submit them), "Step functions" (orchestration
with retries and alerts) and "EBS" (encrypted volumes). Resources:

- an isolated VPC whose interface endpoints are the ones Batch jobs need there: Amazon ECS
  (``ecs``, ``ecs-agent``, ``ecs-telemetry``: the EC2 container agent), Amazon ECR (``api``
  and ``dkr``, with the S3 gateway for image layers) and CloudWatch Logs ("Considerations
  for AWS Batch", interface VPC endpoints,
  https://docs.aws.amazon.com/batch/latest/userguide/vpc-endpoint-considerations.html:
  Fargate jobs need no ECS endpoints; ``awslogs`` in a VPC without internet needs the Logs
  endpoint);
- a managed Spot EC2 compute environment (minimum 0 vCPUs, so no instance runs idle; the
  allocation strategy, maximum vCPUs and instance families from settings; IMDSv2 and
  encrypted root volumes through a launch template) and a Fargate compute environment,
  each with a job queue and its priority; both managed through Batch's service-linked role
  ``AWSServiceRoleForBatch`` (no ``ServiceRole``: "Using service-linked roles for AWS
  Batch", https://docs.aws.amazon.com/batch/latest/userguide/using-service-linked-roles.html);
- the job's ECR Public image, reached through a pull through cache rule (ECR Public has no
  VPC endpoint) into a KMS-encrypted repository the stack owns, so ``cdk destroy`` removes
  the cached image too;
- one container job per platform with the same retry strategy (RETRY when the status
  reason starts with ``Host EC2``, as a reclaimed Spot instance's does; EXIT otherwise:
  "Automated job retries", https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html),
  attempt timeout and logs in an encrypted log group;
- an EventBridge Scheduler schedule that submits the Spot job (universal target
  ``aws-sdk:batch:submitJob``) and a state machine that runs the Fargate job
  (``batch:submitJob.sync``) with retries, and alerts an encrypted SNS topic on failure.
"""

from __future__ import annotations

import math

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.image_cache import ecr_public_cache
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.constructs.service_role import service_role
from ml_refarch.constructs.workflow import (
    audited_workflow,
    caught,
    notify_failure,
    retried,
    states_resource,
)
from ml_refarch.settings import NO_SCHEDULE
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.batch_jobs.outputs import Outputs
from ml_refarch.stacks.batch_jobs.settings import BatchJobsSettings

S = ec2.InterfaceVpcEndpointAwsService

#: The interface endpoints Batch jobs in isolated subnets call (see the module docstring).
BATCH_JOB_SERVICES: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Ecs": S.ECS,
    "EcsAgent": S.ECS_AGENT,
    "EcsTelemetry": S.ECS_TELEMETRY,
    "EcrApi": S.ECR,
    "EcrDocker": S.ECR_DOCKER,
    "Logs": S.CLOUDWATCH_LOGS,
}

#: What the ECS container agent on a Spot instance calls (the registering, polling and
#: reporting actions of the AmazonEC2ContainerServiceforEC2Role managed policy).
CONTAINER_AGENT_ACTIONS = [
    "ecs:RegisterContainerInstance",
    "ecs:DeregisterContainerInstance",
    "ecs:DiscoverPollEndpoint",
    "ecs:Poll",
    "ecs:StartTelemetrySession",
    "ecs:SubmitContainerStateChange",
    "ecs:SubmitTaskStateChange",
]

#: Step Functions names a service's API errors ``<Service>.<Exception>``. Batch's API
#: raises ``ServerException`` for its own faults and ``ClientException`` for bad requests
#: (AWS Batch API Reference, "Common errors" of each action), and throttles with
#: ``TooManyRequestsException`` (AWS re:Post, "aws-batch-requests-error"): the first and
#: the last clear up on a retry, a bad request does not.
BATCH_RETRYABLE_ERRORS = ["Batch.ServerException", "Batch.TooManyRequestsException"]

#: Images the cache repository keeps (older ones expire).
IMAGES_KEPT = 5
#: The job's command: it prints where it ran, so its log shows the attempt and platform.
JOB_COMMAND = [
    "sh",
    "-c",
    "echo ml-refarch batch job $AWS_BATCH_JOB_ID attempt $AWS_BATCH_JOB_ATTEMPT "
    "on $AWS_BATCH_CE_NAME",
]


class BatchJobsStack(PatternStack):
    """Batch compute, queues and jobs, a schedule and a workflow that start them.

    Attributes:
        spot_queue / fargate_queue: the job queues (``CfnJobQueue``).
        spot_job / fargate_job: the job definitions.
        execution_role: the role the agents pull images and write logs as.
        job_role: the role the job's code runs as.
        instance_role: the role of the Spot instances' profile.
        state_machine: the workflow that runs the Fargate job.
        topic: where failures are reported.
    """

    def build(self, settings: BatchJobsSettings) -> None:
        self.key = self.data_key("job logs, cached images, results, alerts")
        self.network = IsolatedVpc(
            self,
            "Network",
            **self.defaults.vpc_props(),
            encryption_key=self.key,
            services=BATCH_JOB_SERVICES,
        )
        self.results = SecureBucket(
            self,
            "Results",
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents="what batch jobs write",
            no_replication_because=(
                "Job results can be recomputed by running the jobs again; replication is "
                "left to the team."
            ),
        ).bucket
        self.job_log_group = self.log_group("JobLogs", self.key)
        self.image_uri = self._image_cache(settings.image)
        self.execution_role, self.job_role = self._job_roles()
        spot_environment = self._spot_environment(settings)
        fargate_environment = self._fargate_environment(settings)
        self.spot_queue = self._queue("Spot", spot_environment, settings.spot_queue_priority)
        self.fargate_queue = self._queue(
            "Fargate", fargate_environment, settings.fargate_queue_priority
        )
        self.spot_job = self._job_definition("SpotJob", settings, fargate=False)
        self.fargate_job = self._job_definition("FargateJob", settings, fargate=True)
        self.topic = sns.Topic(
            self,
            "Failures",
            display_name="ml-refarch batch job failures",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.schedule = None if settings.schedule == NO_SCHEDULE else self._schedule(settings)
        workflow = self._workflow(settings)
        self.state_machine = workflow.state_machine
        self._declare_outputs(workflow.log_group)

    # --- the image ------------------------------------------------------------------------

    def _image_cache(self, image: str) -> str:
        """A pull through cache of ECR Public and the repository the image lands in; returns
        the image's URI in this account's registry."""
        cached = ecr_public_cache(
            self,
            image=image,
            encryption_key=self.key,
            removal_policy=self.defaults.removal_policy,
            images_kept=IMAGES_KEPT,
        )
        self.image_repository = cached.repository
        return cached.uri

    # --- roles ----------------------------------------------------------------------------

    def _job_roles(self) -> tuple[iam.Role, iam.Role]:
        repository = self.image_repository.repository_arn
        execution_role, execution_policy = service_role(
            self,
            "JobExecution",
            service="ecs-tasks.amazonaws.com",
            description="Batch jobs' agents: pull the cached image, write the job logs",
            statements=[
                iam.PolicyStatement(
                    sid="PullImage",
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage",
                        "ecr:BatchImportUpstreamImage",
                    ],
                    resources=[repository],
                ),
                iam.PolicyStatement(
                    sid="RegistryToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="JobLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{self.job_log_group.log_group_arn}"],
                ),
            ],
        )
        job_role, job_policy = service_role(
            self,
            "Job",
            service="ecs-tasks.amazonaws.com",
            description="What batch jobs' code runs as: write results",
            statements=[
                iam.PolicyStatement(
                    sid="WriteResults",
                    actions=["s3:PutObject"],
                    resources=[self.results.arn_for_objects("results/*")],
                ),
                iam.PolicyStatement(
                    sid="ResultsKey",
                    actions=["kms:GenerateDataKey"],
                    resources=[self.key.key_arn],
                ),
            ],
        )
        acknowledge(
            execution_policy,
            "ecr:GetAuthorizationToken has no resource-level permissions; the token only "
            "lets the agents call ECR, whose pulls the repository statement scopes.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        bucket_id = self.get_logical_id(self.results.node.default_child)
        acknowledge(
            job_policy,
            "Each job writes its own objects, named per job, under results/.",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/results/*]",
        )
        return execution_role, job_role

    # --- compute --------------------------------------------------------------------------

    def _spot_environment(self, settings: BatchJobsSettings) -> batch.CfnComputeEnvironment:
        instance_role, instance_policy = service_role(
            self,
            "SpotInstance",
            service="ec2.amazonaws.com",
            description="Batch Spot instances: the ECS container agent joins and reports",
            statements=[iam.PolicyStatement(actions=CONTAINER_AGENT_ACTIONS, resources=["*"])],
        )
        acknowledge(
            instance_policy,
            "Batch creates the ECS cluster and container instances with names of its own; "
            "the agent's calls cannot name them in advance.",
            "AwsSolutions-IAM5[Resource::*]",
            checkov=("CKV_AWS_111",),
        )
        self.instance_role = instance_role
        profile = iam.CfnInstanceProfile(
            self, "SpotInstanceProfile", roles=[instance_role.role_name]
        )
        launch_template = ec2.CfnLaunchTemplate(
            self,
            "SpotLaunchTemplate",
            launch_template_data=ec2.CfnLaunchTemplate.LaunchTemplateDataProperty(
                monitoring=ec2.CfnLaunchTemplate.MonitoringProperty(enabled=True),
                metadata_options=ec2.CfnLaunchTemplate.MetadataOptionsProperty(
                    http_tokens="required", http_endpoint="enabled"
                ),
                block_device_mappings=[
                    ec2.CfnLaunchTemplate.BlockDeviceMappingProperty(
                        device_name="/dev/xvda",
                        ebs=ec2.CfnLaunchTemplate.EbsProperty(
                            encrypted=True, volume_type="gp3", volume_size=30
                        ),
                    )
                ],
            ),
        )
        return batch.CfnComputeEnvironment(
            self,
            "SpotEnvironment",
            type="MANAGED",
            state="ENABLED",
            compute_resources=batch.CfnComputeEnvironment.ComputeResourcesProperty(
                type="SPOT",
                allocation_strategy=settings.allocation_strategy.upper(),
                minv_cpus=0,
                maxv_cpus=settings.max_vcpus,
                instance_types=list(settings.instance_families),
                instance_role=profile.attr_arn,
                subnets=[subnet.subnet_id for subnet in self.network.subnets],
                security_group_ids=[self.network.workload_security_group.security_group_id],
                ec2_configuration=[
                    batch.CfnComputeEnvironment.Ec2ConfigurationObjectProperty(
                        image_type="ECS_AL2023"
                    )
                ],
                launch_template=batch.CfnComputeEnvironment.LaunchTemplateSpecificationProperty(
                    launch_template_id=launch_template.ref,
                    version=launch_template.attr_latest_version_number,
                ),
            ),
        )

    def _fargate_environment(self, settings: BatchJobsSettings) -> batch.CfnComputeEnvironment:
        return batch.CfnComputeEnvironment(
            self,
            "FargateEnvironment",
            type="MANAGED",
            state="ENABLED",
            compute_resources=batch.CfnComputeEnvironment.ComputeResourcesProperty(
                type="FARGATE",
                maxv_cpus=settings.fargate_max_vcpus,
                subnets=[subnet.subnet_id for subnet in self.network.subnets],
                security_group_ids=[self.network.workload_security_group.security_group_id],
            ),
        )

    def _queue(
        self, name: str, environment: batch.CfnComputeEnvironment, priority: int
    ) -> batch.CfnJobQueue:
        return batch.CfnJobQueue(
            self,
            f"{name}Queue",
            priority=priority,
            state="ENABLED",
            compute_environment_order=[
                batch.CfnJobQueue.ComputeEnvironmentOrderProperty(
                    order=1, compute_environment=environment.ref
                )
            ],
        )

    def _job_definition(
        self, construct_id: str, settings: BatchJobsSettings, *, fargate: bool
    ) -> batch.CfnJobDefinition:
        # EC2 jobs reserve whole vCPUs; Fargate takes its fractional values.
        vcpus = settings.job_vcpus if fargate else str(max(1, math.ceil(float(settings.job_vcpus))))
        container = {
            "image": self.image_uri,
            "command": JOB_COMMAND,
            "resource_requirements": [
                batch.CfnJobDefinition.ResourceRequirementProperty(type="VCPU", value=vcpus),
                batch.CfnJobDefinition.ResourceRequirementProperty(
                    type="MEMORY", value=str(settings.job_memory_mib)
                ),
            ],
            "execution_role_arn": self.execution_role.role_arn,
            "job_role_arn": self.job_role.role_arn,
            "readonly_root_filesystem": True,
            "privileged": False,
            "environment": [
                batch.CfnJobDefinition.EnvironmentProperty(
                    name="RESULTS_URI", value=self.results.s3_url_for_object("results/")
                )
            ],
            "log_configuration": batch.CfnJobDefinition.LogConfigurationProperty(
                log_driver="awslogs",
                options={
                    "awslogs-group": self.job_log_group.log_group_name,
                    "awslogs-region": self.region,
                    "awslogs-stream-prefix": "job",
                },
            ),
        }
        if fargate:
            container["network_configuration"] = (
                batch.CfnJobDefinition.NetworkConfigurationProperty(assign_public_ip="DISABLED")
            )
            container["fargate_platform_configuration"] = (
                batch.CfnJobDefinition.FargatePlatformConfigurationProperty(
                    platform_version="LATEST"
                )
            )
        job = batch.CfnJobDefinition(
            self,
            construct_id,
            type="container",
            platform_capabilities=["FARGATE" if fargate else "EC2"],
            container_properties=batch.CfnJobDefinition.ContainerPropertiesProperty(**container),
            retry_strategy=batch.CfnJobDefinition.RetryStrategyProperty(
                attempts=settings.attempts,
                evaluate_on_exit=[
                    batch.CfnJobDefinition.EvaluateOnExitProperty(
                        action="RETRY", on_status_reason="Host EC2*"
                    ),
                    batch.CfnJobDefinition.EvaluateOnExitProperty(action="EXIT", on_reason="*"),
                ],
            ),
            timeout=batch.CfnJobDefinition.TimeoutProperty(
                attempt_duration_seconds=settings.attempt_timeout_seconds
            ),
            propagate_tags=True,
        )
        job.node.add_dependency(self.image_repository)
        return job

    # --- starting jobs --------------------------------------------------------------------

    def _submit_statement(self, queue: batch.CfnJobQueue, job: batch.CfnJobDefinition):
        return iam.PolicyStatement(
            sid="SubmitJob", actions=["batch:SubmitJob"], resources=[queue.ref, job.ref]
        )

    def _schedule(self, settings: BatchJobsSettings) -> scheduler.CfnSchedule:
        role, _ = service_role(
            self,
            "Schedule",
            service="scheduler.amazonaws.com",
            description="The schedule: submit the Spot job",
            statements=[self._submit_statement(self.spot_queue, self.spot_job)],
            conditions={"StringEquals": {"aws:SourceAccount": self.account}},
        )
        return scheduler.CfnSchedule(
            self,
            "SubmitSchedule",
            schedule_expression=settings.schedule,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            description="Submits the batch-jobs Spot job",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=f"arn:{self.partition}:scheduler:::aws-sdk:batch:submitJob",
                role_arn=role.role_arn,
                input=cdk.Stack.of(self).to_json_string(
                    {
                        "JobName": "scheduled",
                        "JobQueue": self.spot_queue.ref,
                        "JobDefinition": self.spot_job.ref,
                    }
                ),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=3600
                ),
            ),
        )

    def _workflow(self, settings: BatchJobsSettings):
        notify = notify_failure(
            self, topic=self.topic, subject="ml-refarch batch job failed", error="JobFailed"
        )
        run_job = sfn.CustomState(
            self,
            "RunJob",
            state_json={
                "Type": "Task",
                "Resource": states_resource("batch:submitJob.sync"),
                "Parameters": {
                    "JobName": "workflow",
                    "JobQueue": self.fargate_queue.ref,
                    "JobDefinition": self.fargate_job.ref,
                },
                "ResultSelector": {"jobId.$": "$.JobId", "status.$": "$.Status"},
                "ResultPath": "$.job",
            },
        )
        caught(retried(run_job, errors=BATCH_RETRYABLE_ERRORS), notify)
        stack = cdk.Stack.of(self)
        rule = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule"
        return audited_workflow(
            self,
            "Workflow",
            definition=run_job.next(sfn.Succeed(self, "Done")),
            description="Batch workflow: run the Fargate job; failure alerts; logs",
            statements=[
                self._submit_statement(self.fargate_queue, self.fargate_job),
                # DescribeJobs has no resource-level permissions (Step Functions, "IAM
                # policies for AWS Batch"): the shared Resource::* acknowledgment covers it.
                iam.PolicyStatement(
                    sid="DescribeJobs", actions=["batch:DescribeJobs"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="StopJob",
                    actions=["batch:TerminateJob"],
                    resources=[f"{self.arn_prefix('batch')}:job/*"],
                ),
                iam.PolicyStatement(
                    sid="SyncJobEvents",
                    actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    resources=[f"{rule}/StepFunctionsGetEventsForBatchJobsRule"],
                ),
            ],
            wildcard_reason=(
                "Batch makes a job's id when the job is submitted, so the job the workflow "
                "stops when a run is cancelled cannot be named in advance."
            ),
            wildcard_findings=[
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:"
                "<AWS::AccountId>:job/*]"
            ],
            alert_topic=self.topic,
            encryption_key=self.key,
            log_retention=self.defaults.log_retention,
            log_removal_policy=self.defaults.removal_policy,
            # Every attempt of the job, plus time to get capacity.
            timeout=cdk.Duration.seconds(
                settings.attempt_timeout_seconds * settings.attempts + 3600
            ),
        )

    def _declare_outputs(self, log_group: logs.ILogGroup) -> None:
        self.output(Outputs.SPOT_QUEUE_ARN, self.spot_queue.ref, "Spot job queue")
        self.output(Outputs.FARGATE_QUEUE_ARN, self.fargate_queue.ref, "Fargate job queue")
        self.output(Outputs.SPOT_JOB_DEFINITION_ARN, self.spot_job.ref, "Job for the Spot queue")
        self.output(
            Outputs.FARGATE_JOB_DEFINITION_ARN, self.fargate_job.ref, "Job for the Fargate queue"
        )
        self.output(Outputs.STATE_MACHINE_ARN, self.state_machine.state_machine_arn, "Workflow")
        self.output(Outputs.TOPIC_ARN, self.topic.topic_arn, "Failure notifications")
        self.output(Outputs.JOB_LOG_GROUP_NAME, self.job_log_group.log_group_name, "Job logs")
        if self.schedule is not None:
            self.output(Outputs.SCHEDULE_NAME, self.schedule.ref, "Submits the Spot job")
