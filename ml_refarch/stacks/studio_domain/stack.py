"""Pattern ``studio-domain``: SageMaker Studio in VPC-only mode with a guarded user self.profile.

Notes sections "Sagemaker notebook" and "Security", applied to Studio, the successor of
notebook instances: the domain's apps reach AWS only through the VPC's endpoints, its home
file system is encrypted with a customer-managed key, the user profile runs as the guarded
data-scientist role, and a JupyterLab lifecycle configuration installs the team's packages
from CodeArtifact or an S3 wheelhouse. Resources: those of the notebook environment, the
domain, one user profile and the lifecycle configuration; the execution role's Studio policy;
in profiles that destroy data, the custom resource that removes the home EFS SageMaker keeps.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_sagemaker as sagemaker

from ml_refarch.constructs.digest_name import DigestName
from ml_refarch.constructs.notebook_environment import NotebookEnvironment
from ml_refarch.constructs.studio_home_cleanup import StudioHomeCleanup
from ml_refarch.stacks.base import PatternStack
from ml_refarch.stacks.studio_domain.outputs import Outputs
from ml_refarch.stacks.studio_domain.settings import StudioDomainSettings


class StudioDomainStack(PatternStack):
    """A VPC-only Studio domain, one user profile and a JupyterLab lifecycle configuration.

    Attributes:
        notebook_environment: key, VPC, bucket, roles and package source.
        domain: the Studio domain (L1).
        user_profile: the user profile (L1).
        lifecycle: the JupyterLab lifecycle configuration (L1).
        home_cleanup: the custom resource that deletes the domain's home EFS after the
            domain, where the profile destroys data and may run custom resources; else None.
    """

    def build(self, settings: StudioDomainSettings) -> None:
        self.notebook_environment = NotebookEnvironment(
            self,
            "Environment",
            defaults=self.defaults,
            name=self.node.id.lower(),
            package_source=settings.package_source,
            packages=settings.packages,
            lifecycle_target="studio",
            # Studio mounts its home file system over NFS, and its apps talk to each other
            # on high ports, both within the domain's security group.
            internal_ports=(ec2.Port.tcp(2049), ec2.Port.tcp_range(8192, 65535)),
        )
        environment = self.notebook_environment
        network = environment.network
        security_groups = [network.workload_security_group.security_group_id]
        self.lifecycle = sagemaker.CfnStudioLifecycleConfig(
            self,
            "Lifecycle",
            studio_lifecycle_config_name=f"{self.node.id.lower()}-install-packages",
            studio_lifecycle_config_app_type="JupyterLab",
            studio_lifecycle_config_content=cdk.Fn.base64(environment.lifecycle_script),
        )
        # Every property of a lifecycle configuration is create-only: a new script or tag
        # replaces it, which needs a new name.
        DigestName(
            self.lifecycle,
            name_property="StudioLifecycleConfigName",
            prefix=f"{self.node.id.lower()}-install-packages",
        )
        lifecycle_arn = self.lifecycle.attr_studio_lifecycle_config_arn
        jupyter_lab = sagemaker.CfnDomain.JupyterLabAppSettingsProperty(
            default_resource_spec=sagemaker.CfnDomain.ResourceSpecProperty(
                lifecycle_config_arn=lifecycle_arn
            ),
            lifecycle_config_arns=[lifecycle_arn],
        )
        self.domain = sagemaker.CfnDomain(
            self,
            "Domain",
            domain_name=self.node.id.lower(),
            auth_mode="IAM",
            # Apps get no SageMaker-managed internet: all traffic stays in the VPC.
            app_network_access_type="VpcOnly",
            vpc_id=network.vpc.vpc_id,
            subnet_ids=[subnet.subnet_id for subnet in network.subnets],
            kms_key_id=environment.key.key_arn,
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=environment.data_scientist_role.role_arn,
                security_groups=security_groups,
                jupyter_lab_app_settings=jupyter_lab,
            ),
        )
        for dependency in environment.permissions:
            self.domain.node.add_dependency(dependency)
        # What users do in Studio (spaces, apps, the domain key's grants), in a policy of its
        # own: it names the domain, so it follows the domain; the notebook pattern's role,
        # which shares the construct, does not get it.
        environment.guarded_role.allow_studio(
            domain_id=self.domain.attr_domain_id,
            domain_key=environment.key,
            studio_vpc_endpoint_ids=[
                network.endpoints["SageMakerApi"].vpc_endpoint_id,
                network.endpoints["SageMakerNotebook"].vpc_endpoint_id,
            ],
        )
        self.home_cleanup: StudioHomeCleanup | None = None
        if self.defaults.removes_leftovers:
            self.home_cleanup = StudioHomeCleanup(
                self,
                "HomeCleanup",
                network=network,
                encryption_key=environment.key,
                log_retention=self.defaults.log_retention,
                removal_policy=self.defaults.removal_policy,
            )
            self.home_cleanup.before(self.domain)
        self.user_profile = sagemaker.CfnUserProfile(
            self,
            "UserProfile",
            domain_id=self.domain.attr_domain_id,
            user_profile_name=settings.user_profile_name,
            user_settings=sagemaker.CfnUserProfile.UserSettingsProperty(
                execution_role=environment.data_scientist_role.role_arn,
                security_groups=security_groups,
            ),
        )

        self.output(Outputs.DOMAIN_ID, self.domain.attr_domain_id, "Studio domain")
        self.output(Outputs.DOMAIN_URL, self.domain.attr_url, "Studio URL (through the VPC only)")
        self.output(Outputs.USER_PROFILE_NAME, settings.user_profile_name, "Studio user profile")
        self.output(
            Outputs.HOME_EFS_ID, self.domain.attr_home_efs_file_system_id, "Home file system"
        )
        self.output(
            Outputs.LIFECYCLE_CONFIG_ARN, lifecycle_arn, "JupyterLab lifecycle configuration"
        )
        environment.add_outputs(self, settings.package_source)
