"""Pattern ``isolated-notebook``: a SageMaker notebook instance with no internet access.

Notes sections "Sagemaker notebook" (lifecycle configurations install libraries) and
"Security" (notebooks are internet-enabled by default; without internet the VPC needs
PrivateLink endpoints or a NAT gateway). Resources:

- an isolated VPC with the SageMaker, STS, logs, ECR, notebook and CodeArtifact endpoints,
- a notebook instance: direct internet access and root access disabled, KMS volume, IMDSv2,
  its own security group, a lifecycle configuration that installs packages on create and
  start from CodeArtifact (PyPI upstream) or from an S3 wheelhouse,
- a data-scientist role whose guardrails deny SageMaker jobs and models outside the VPC or
  without encryption, and presigned notebook URLs from outside the VPC endpoints,
- a job execution role, a KMS-encrypted data bucket, and the CodeArtifact domain/repository.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from ml_refarch.compliance.acknowledge import acknowledge
from ml_refarch.constructs.notebook_environment import NotebookEnvironment
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.isolated_notebook.outputs import Outputs
from ml_refarch.stacks.isolated_notebook.settings import IsolatedNotebookSettings

_Hook = sagemaker.CfnNotebookInstanceLifecycleConfig.NotebookInstanceLifecycleHookProperty


class IsolatedNotebookStack(PatternStack):
    """A VPC-only notebook instance with guarded permissions and offline package installs.

    Attributes:
        notebook_environment: key, VPC, bucket, roles and package source.
        notebook: the notebook instance (L1).
        lifecycle: its lifecycle configuration (L1).
    """

    def build(self, settings: IsolatedNotebookSettings) -> None:
        self.notebook_environment = NotebookEnvironment(
            self,
            "Environment",
            defaults=self.defaults,
            name=self.node.id.lower(),
            package_source=settings.package_source,
            packages=settings.packages,
            lifecycle_target="notebook-instance",
            guard_presigned_urls=True,
        )
        environment = self.notebook_environment
        script = cdk.Fn.base64(environment.lifecycle_script)
        self.lifecycle = sagemaker.CfnNotebookInstanceLifecycleConfig(
            self,
            "Lifecycle",
            # The same script on create and on start: packages on the ML volume survive a
            # stop, but the pip configuration in the home directory does not.
            on_create=[_Hook(content=script)],
            on_start=[_Hook(content=script)],
        )
        self.notebook = sagemaker.CfnNotebookInstance(
            self,
            "Notebook",
            instance_type=settings.instance_type,
            role_arn=environment.data_scientist_role.role_arn,
            subnet_id=environment.network.subnets[0].subnet_id,
            security_group_ids=[environment.network.workload_security_group.security_group_id],
            kms_key_id=environment.key.key_id,
            direct_internet_access="Disabled",
            root_access="Disabled",
            volume_size_in_gb=settings.volume_size_gib,
            lifecycle_config_name=self.lifecycle.attr_notebook_instance_lifecycle_config_name,
            instance_metadata_service_configuration=(
                sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
                    minimum_instance_metadata_service_version="2"
                )
            ),
        )
        # The lifecycle script calls CodeArtifact or S3 with the role's permissions, and
        # the instance writes the script's output with them, so they must be attached
        # before the notebook first starts.
        for dependency in [*environment.permissions, self._lifecycle_logs_policy()]:
            self.notebook.node.add_dependency(dependency)

        self.output(
            Outputs.NOTEBOOK_NAME, self.notebook.attr_notebook_instance_name, "Notebook instance"
        )
        self.output(
            Outputs.LIFECYCLE_CONFIG_NAME,
            self.lifecycle.attr_notebook_instance_lifecycle_config_name,
            "Lifecycle configuration",
        )
        self.output(
            Outputs.NOTEBOOK_ENDPOINT_ID,
            environment.network.endpoints["SageMakerNotebook"].vpc_endpoint_id,
            "VPC endpoint presigned notebook URLs must come through",
        )
        environment.add_outputs(self, settings.package_source)

    def _lifecycle_logs_policy(self) -> iam.ManagedPolicy:
        """The notebook instance writes its lifecycle configuration's output to the
        ``/aws/sagemaker/NotebookInstances`` log group, stream ``<notebook>/<hook>``, with
        the notebook's role (CreateNotebookInstanceLifecycleConfig, SageMaker API Reference;
        the logs actions of "CreateNotebookInstance API: Execution Role Permissions")."""
        group = (
            f"arn:{self.partition}:logs:{self.region}:{self.account}"
            ":log-group:/aws/sagemaker/NotebookInstances"
        )
        policy = iam.ManagedPolicy(
            self,
            "LifecycleLogsPolicy",
            description="Notebook instance: write the lifecycle configuration's output",
            roles=[self.notebook_environment.data_scientist_role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteLifecycleConfigurationLogs",
                    actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{group}:*"],
                )
            ],
        )
        acknowledge(
            policy,
            "SageMaker names one stream per notebook and lifecycle hook in the "
            "/aws/sagemaker/NotebookInstances group, so the role may write any stream of "
            "that one group (the notebook's generated name cannot appear in its own role's "
            "policy without a dependency cycle).",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:/aws/sagemaker/NotebookInstances:*]",
        )
        return policy
