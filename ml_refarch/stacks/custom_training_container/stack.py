"""Pattern ``custom-training-container``: your own training image, built in the cloud.

Notes sections "Docker" (a training container in the ``/opt/ml`` layout whose entry point
``SAGEMAKER_PROGRAM`` names), "Data input" (File, FastFile or Pipe input) and "Security"
(KMS everywhere, isolated subnets, network isolation). Resources:

- the committed Dockerfile, its entry point and the project's training script, shipped as
  an S3 asset: the build context;
- a CodeBuild project that builds it (Docker needs privileged mode) in the isolated
  subnets, with the stack's key for its artifacts and logs in an encrypted log group; it
  reaches the base image through an ECR pull through cache of ECR Public, Python packages
  through a CodeArtifact repository that proxies PyPI, and ECR, CodeArtifact and
  CloudWatch Logs through interface endpoints (S3 through the gateway): "Use VPC
  endpoints" (https://docs.aws.amazon.com/codebuild/latest/userguide/use-vpc-endpoints-with-codebuild.html);
- the image's ECR repository: KMS, scan on push, immutable tags (the tag is a digest of
  the build context), untagged images expire after a day;
- a state machine that builds the image (``codebuild:startBuild.sync``) and then runs a
  training job with it (``sagemaker:createTrainingJob.sync``) in the input mode the settings
  choose, network isolated in the VPC, KMS for volume and output; failures go to an
  encrypted SNS topic. The smoke check starts it.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from ml_refarch.aws_facts import CODEBUILD_VPC_ACTIONS
from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs import SecureBucket
from ml_refarch.constructs.digest_name import stack_digest_name
from ml_refarch.constructs.execution_role import SageMakerExecutionRole
from ml_refarch.constructs.image_cache import CachedImage, ecr_public_cache
from ml_refarch.constructs.isolated_vpc import IsolatedVpc
from ml_refarch.constructs.package_repository import PackageRepository
from ml_refarch.constructs.service_role import service_role
from ml_refarch.constructs.workflow import (
    audited_workflow,
    caught,
    notify_failure,
    retried,
    states_resource,
    sync_job_events,
    sync_training_job,
    training_job_state,
)
from ml_refarch.stacks.base import PATTERN_TAG, PatternStack
from ml_refarch.stacks.custom_training_container.image import (
    BASE_IMAGE_REPOSITORY,
    base_image_tags,
    buildspec,
    image_tag,
    write_build_context,
)
from ml_refarch.stacks.custom_training_container.outputs import Outputs
from ml_refarch.stacks.custom_training_container.settings import (
    CustomTrainingContainerSettings,
)
from ml_refarch.training import S3Input, TrainingJobSpec, training_job_request

S = ec2.InterfaceVpcEndpointAwsService

#: What the build calls from the isolated subnets (S3, for the source and image layers,
#: through the gateway endpoint every IsolatedVpc has).
BUILD_SERVICES: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "EcrApi": S.ECR,
    "EcrDocker": S.ECR_DOCKER,
    "Logs": S.CLOUDWATCH_LOGS,
    "CodeArtifactApi": S.CODEARTIFACT_API,
    "CodeArtifactRepositories": S.CODEARTIFACT_REPOSITORIES,
}
#: CodeBuild's managed image with Docker ("Docker images provided by CodeBuild",
#: https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-available.html).
BUILD_IMAGE = "aws/codebuild/standard:7.0"
#: Base images the cache keeps (the Dockerfile's stages use two tags).
BASE_IMAGES_KEPT = 4
UNTAGGED_IMAGE_DAYS = 1
#: The rule Step Functions manages to learn when a build started with ``.sync`` ends
#: ("IAM policies for AWS CodeBuild",
#: https://docs.aws.amazon.com/step-functions/latest/dg/codebuild-iam.html).
CODEBUILD_SYNC_RULE = "StepFunctionsGetEventsForCodeBuildStartBuildRule"


class CustomTrainingContainerStack(PatternStack):
    """The image build, its repository and the workflow that builds and trains.

    Attributes:
        repository: the training image's ECR repository.
        project: the CodeBuild project (L1).
        image_uri: the image the training job runs (repository URI and the context's tag).
        training_role: the role training jobs run as.
        state_machine: build, then train.
    """

    def build(self, settings: CustomTrainingContainerSettings) -> None:
        self.key = self.data_key("build artifacts and logs, images, training data, alerts")
        self.network = IsolatedVpc(
            self,
            "Network",
            **self.defaults.vpc_props(),
            encryption_key=self.key,
            services=BUILD_SERVICES,
        )
        self.bucket = SecureBucket(
            self,
            "Training",
            **self.defaults.bucket_props(),
            encryption_key=self.key,
            contents="training data and model artifacts",
            no_replication_because=(
                "Training data is a copy of a source the team keeps elsewhere and artifacts "
                "can be retrained; replication is left to the team."
            ),
        ).bucket
        self.base_image = ecr_public_cache(
            self,
            image=f"{BASE_IMAGE_REPOSITORY}:{base_image_tags()[-1]}",
            encryption_key=self.key,
            removal_policy=self.defaults.removal_policy,
            images_kept=BASE_IMAGES_KEPT,
        )
        self.repository = self._repository()
        self.image_uri = f"{self.repository.repository_uri}:{image_tag()}"
        self.topic = sns.Topic(
            self,
            "Failures",
            display_name="ml-refarch custom container failures",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.project = self._project(settings)
        self.training_role = SageMakerExecutionRole(
            self,
            "TrainingRole",
            data_bucket=self.bucket,
            encryption_key=self.key,
            description="Training jobs that run the custom image",
        ).role
        workflow = audited_workflow(
            self,
            "Workflow",
            definition=self._definition(settings),
            description="Custom container: build the image, then train with it; alerts; logs",
            statements=self._workflow_statements(),
            wildcard_reason=(
                "Every run names its own training job (from a UUID), so the job ARN ends in "
                "a wildcard; the build project is named exactly."
            ),
            wildcard_findings=[
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                "<AWS::AccountId>:training-job/*]",
            ],
            alert_topic=self.topic,
            encryption_key=self.key,
            log_retention=self.defaults.log_retention,
            log_removal_policy=self.defaults.removal_policy,
            timeout=cdk.Duration.seconds(
                settings.build_timeout_minutes * 60 + settings.max_runtime_seconds + 3600
            ),
        )
        self.state_machine = workflow.state_machine
        self._declare_outputs(settings)

    # --- the image --------------------------------------------------------------------------

    def _repository(self) -> ecr.Repository:
        return ecr.Repository(
            self,
            "TrainingImages",
            # Lower case, as ECR requires; the digest covers the create-only encryption
            # settings, so a change of them names a new repository.
            repository_name=stack_digest_name(
                self, {"encryption": "KMS", "key": self.key.node.path}, max_length=64
            ).lower(),
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=self.key,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            removal_policy=self.defaults.removal_policy,
            empty_on_delete=self.defaults.removal_policy == cdk.RemovalPolicy.DESTROY,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description="Untagged images (replaced layers of failed pushes) expire",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=cdk.Duration.days(UNTAGGED_IMAGE_DAYS),
                )
            ],
        )

    def _context(self) -> s3_assets.Asset:
        """The build context, written into the app's output directory at synth."""
        directory = Path(cdk.Stage.of(self).outdir) / "ml-refarch-sources" / self.node.id
        return s3_assets.Asset(
            self, "BuildContext", path=str(write_build_context(directory / "container"))
        )

    def _project(self, settings: CustomTrainingContainerSettings) -> codebuild.CfnProject:
        context = self._context()
        log_group = self.log_group("BuildLogs", self.key)
        packages = PackageRepository(
            self,
            "Packages",
            domain_name=stack_digest_name(self, "codeartifact", max_length=50).lower(),
            encryption_key=self.key,
        )
        role = self._build_role(context, log_group, self.base_image)
        packages.read_policy.attach_to_role(role)
        variables = {
            "REGISTRY": self.base_image.registry,
            "REPOSITORY_URI": self.repository.repository_uri,
            "IMAGE_TAG": image_tag(),
            "BASE_REGISTRY": f"{self.base_image.registry}/{self.base_image.prefix}",
            "CODEARTIFACT_DOMAIN": packages.domain_name,
            "CODEARTIFACT_OWNER": self.account,
            "CODEARTIFACT_REPOSITORY": packages.repository_name,
        }
        project = codebuild.CfnProject(
            self,
            "ImageBuild",
            description="Builds the custom training image from the committed Dockerfile",
            service_role=role.role_arn,
            encryption_key=self.key.key_arn,
            source=codebuild.CfnProject.SourceProperty(
                type="S3",
                location=f"{context.s3_bucket_name}/{context.s3_object_key}",
                build_spec=cdk.Fn.to_json_string(buildspec()),
            ),
            artifacts=codebuild.CfnProject.ArtifactsProperty(type="NO_ARTIFACTS"),
            environment=codebuild.CfnProject.EnvironmentProperty(
                type="LINUX_CONTAINER",
                image=BUILD_IMAGE,
                compute_type=settings.build_compute_type,
                privileged_mode=True,
                environment_variables=[
                    codebuild.CfnProject.EnvironmentVariableProperty(name=name, value=value)
                    for name, value in variables.items()
                ],
            ),
            vpc_config=codebuild.CfnProject.VpcConfigProperty(
                vpc_id=self.network.vpc.vpc_id,
                subnets=[subnet.subnet_id for subnet in self.network.subnets],
                security_group_ids=[self.network.workload_security_group.security_group_id],
            ),
            logs_config=codebuild.CfnProject.LogsConfigProperty(
                cloud_watch_logs=codebuild.CfnProject.CloudWatchLogsConfigProperty(
                    status="ENABLED", group_name=log_group.log_group_name
                ),
                s3_logs=codebuild.CfnProject.S3LogsConfigProperty(status="DISABLED"),
            ),
            timeout_in_minutes=settings.build_timeout_minutes,
        )
        project.node.add_dependency(role)
        acknowledge(
            project,
            "Building a Docker image inside CodeBuild needs the Docker daemon, which runs only "
            "in privileged mode; the build runs the committed Dockerfile in isolated subnets.",
            "ControlTower-codebuild_project_environment_privileged_check",
        )
        acknowledge(
            project,
            "The source is the build context uploaded as an S3 asset by cdk deploy, not a "
            "GitHub or Bitbucket repository: there is no repository URL or OAuth to use.",
            controls.CODEBUILD_SOURCE_REPO_URL,
        )
        return project

    def _build_role(
        self, context: s3_assets.Asset, log_group: logs.ILogGroup, base: CachedImage
    ) -> iam.Role:
        stack = self
        interfaces = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:network-interface/*"
        subnet_arns = [
            f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:subnet/{subnet.subnet_id}"
            for subnet in self.network.subnets
        ]
        role, policy = service_role(
            self,
            "Build",
            service="codebuild.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            description="The image build: read the context, pull the base, push the image",
            statements=[
                iam.PolicyStatement(
                    sid="Source",
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[context.bucket.arn_for_objects(context.s3_object_key)],
                ),
                iam.PolicyStatement(
                    sid="SourceBucket",
                    actions=["s3:GetBucketAcl", "s3:GetBucketLocation"],
                    resources=[context.bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="BuildLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    sid="RegistryToken", actions=["ecr:GetAuthorizationToken"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="PullBase",
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage",
                        "ecr:BatchImportUpstreamImage",
                    ],
                    resources=[base.repository.repository_arn],
                ),
                iam.PolicyStatement(
                    sid="PushImage",
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:InitiateLayerUpload",
                        "ecr:UploadLayerPart",
                        "ecr:CompleteLayerUpload",
                        "ecr:PutImage",
                        "ecr:DescribeImages",
                        "ecr:BatchGetImage",
                    ],
                    resources=[self.repository.repository_arn],
                ),
                iam.PolicyStatement(
                    sid="Key",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
                    resources=[self.key.key_arn],
                ),
                iam.PolicyStatement(
                    sid="VpcNetworkInterfaces",
                    actions=list(CODEBUILD_VPC_ACTIONS),
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="VpcNetworkInterfacePermission",
                    actions=["ec2:CreateNetworkInterfacePermission"],
                    resources=[interfaces],
                    conditions={
                        "StringEquals": {
                            "ec2:Subnet": subnet_arns,
                            "ec2:AuthorizedService": "codebuild.amazonaws.com",
                        }
                    },
                ),
            ],
        )
        acknowledge(
            policy,
            "ecr:GetAuthorizationToken and the EC2 actions CodeBuild needs to place a build in "
            "the VPC support no resource-level permissions; pushes and pulls are scoped to the "
            "two repositories.",
            "AwsSolutions-IAM5[Resource::*]",
            checkov=("CKV_AWS_111",),
        )
        acknowledge(
            policy,
            "CodeBuild names each build's network interface itself; the permission is limited "
            "to the stack's subnets and to CodeBuild by conditions.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-interface/*]",
        )
        acknowledge(
            policy,
            "CodeBuild encrypts build output with the project's key and asks for a data key "
            "of either spec (GenerateDataKey, GenerateDataKeyWithoutPlaintext).",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        )
        return role

    # --- the workflow -----------------------------------------------------------------------

    def _training_spec(self, settings: CustomTrainingContainerSettings) -> TrainingJobSpec:
        return TrainingJobSpec(
            role_arn=self.training_role.role_arn,
            image_uri=self.image_uri,
            output_s3_uri=self.bucket.s3_url_for_object("output/"),
            kms_key_id=self.key.key_arn,
            train_input=S3Input(self.bucket.s3_url_for_object("data/train/")),
            validation_input=S3Input(self.bucket.s3_url_for_object("data/validation/")),
            instance_type=settings.instance_type,
            volume_size_gib=settings.volume_size_gib,
            max_runtime_seconds=settings.max_runtime_seconds,
            use_spot=False,
            max_wait_seconds=None,
            subnet_ids=tuple(subnet.subnet_id for subnet in self.network.subnets),
            security_group_ids=(self.network.workload_security_group.security_group_id,),
            network_isolation=True,
            hyperparameters={"epochs": "10", "learning_rate": "0.01"},
            tags={PATTERN_TAG: self.pattern_id},
            input_mode=settings.input_mode,
        )

    def _definition(self, settings: CustomTrainingContainerSettings) -> sfn.IChainable:
        """Name the run, build the image (a no-op when its tag exists), train with it."""
        notify = notify_failure(
            self,
            topic=self.topic,
            subject="ml-refarch custom container workflow failed",
            error="WorkflowFailed",
        )
        name_the_run = sfn.Pass(
            self, "NameTheRun", parameters={"id.$": "States.UUID()"}, result_path="$.run"
        )
        build = sfn.CustomState(
            self,
            "BuildImage",
            state_json={
                "Type": "Task",
                "Resource": states_resource("codebuild:startBuild.sync"),
                "Parameters": {"ProjectName": self.project.ref},
                "ResultSelector": {"build.$": "$.Build.Id", "status.$": "$.Build.BuildStatus"},
                "ResultPath": "$.built",
            },
        )
        training = training_job_request(self._training_spec(settings), "named-per-run")
        del training["TrainingJobName"]
        train = training_job_state(self, "Train", training)
        for state in (build, train):
            caught(retried(state), notify)
        return name_the_run.next(build).next(train).next(sfn.Succeed(self, "Trained"))

    def _workflow_statements(self) -> list[iam.PolicyStatement]:
        arn = self.arn_prefix("sagemaker")
        project_arn = f"{self.arn_prefix('codebuild')}:project/{self.project.ref}"
        rules = f"{self.arn_prefix('events')}:rule"
        return [
            iam.PolicyStatement(
                sid="BuildImage",
                actions=["codebuild:StartBuild", "codebuild:StopBuild", "codebuild:BatchGetBuilds"],
                resources=[project_arn],
            ),
            iam.PolicyStatement(
                sid="BuildEvents",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[f"{rules}/{CODEBUILD_SYNC_RULE}"],
            ),
            sync_training_job(arn),
            iam.PolicyStatement(
                sid="PassTrainingRole",
                actions=["iam:PassRole"],
                resources=[self.training_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            sync_job_events(self, "training"),
        ]

    def _declare_outputs(self, settings: CustomTrainingContainerSettings) -> None:
        self.output(Outputs.STATE_MACHINE_ARN, self.state_machine.state_machine_arn, "Workflow")
        self.output(Outputs.BUILD_PROJECT_NAME, self.project.ref, "CodeBuild image build")
        self.output(Outputs.REPOSITORY_URI, self.repository.repository_uri, "Image repository")
        self.output(Outputs.IMAGE_URI, self.image_uri, "The image the training job runs")
        self.output(Outputs.BUCKET_NAME, self.bucket.bucket_name, "Training bucket")
        self.output(
            Outputs.DATA_URI, self.bucket.s3_url_for_object("data/"), "train/ and validation/"
        )
        self.output(Outputs.OUTPUT_URI, self.bucket.s3_url_for_object("output/"), "Model artifacts")
        self.output(Outputs.TOPIC_ARN, self.topic.topic_arn, "Failure notifications")
        self.output(Outputs.INPUT_MODE, settings.input_mode, "The training job's input mode")
