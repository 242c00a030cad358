"""What a VPC-only notebook (instance or Studio) needs around it.

Shared by the notebook-instance and Studio patterns: a key, an isolated VPC
with the endpoints notebooks call, a data bucket, a job execution role, a guarded
data-scientist role, the package source, and the lifecycle script that installs packages.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ml_refarch.constructs.defaults import ResourceDefaults
from ml_refarch.constructs.encryption_key import customer_managed_key
from ml_refarch.constructs.execution_role import SageMakerExecutionRole
from ml_refarch.constructs.guardrails import GuardedRole
from ml_refarch.constructs.isolated_vpc import CORE_SERVICES, NOTEBOOK_SERVICES, IsolatedVpc
from ml_refarch.constructs.package_repository import PackageRepository
from ml_refarch.constructs.secure_bucket import SecureBucket
from ml_refarch.lifecycle import render_script
from ml_refarch.smoke.outputs import NotebookOutputs

WHEELHOUSE_PREFIX = "wheelhouse/"


class NotebookEnvironment(Construct):
    """Key, isolated VPC, data bucket, roles, package source and lifecycle script.

    Args:
        defaults: removal, versioning, logging and spread of what it creates.
        name: a lower-case name for account-unique resources (the CodeArtifact domain).
        package_source: ``codeartifact`` or ``s3-wheelhouse``.
        packages: requirement specifiers the lifecycle script installs.
        lifecycle_target: ``notebook-instance`` or ``studio`` (who runs the script).
        guard_presigned_urls: deny presigned notebook and domain URLs unless the request
            comes through this VPC's SageMaker API or notebook endpoint. Default: false.
        internal_ports: ports the notebook's security group opens to itself. Default: none.

    Attributes:
        key, network, data_bucket, execution_role, data_scientist_role: as named.
        packages: the CodeArtifact repository, or ``None`` with an S3 wheelhouse.
        lifecycle_script: the rendered script (with deploy-time tokens) for base64 content.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: ResourceDefaults,
        name: str,
        package_source: str,
        packages: Sequence[str],
        lifecycle_target: str,
        guard_presigned_urls: bool = False,
        internal_ports: Sequence[ec2.Port] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        codeartifact_source = package_source == "codeartifact"
        self.key = customer_managed_key(
            self,
            "Key",
            description=f"{name}: notebook storage, data bucket, logs and packages",
            removal_policy=defaults.removal_policy,
            allow_cloudwatch_logs=True,
        )
        self.network = self._network(
            defaults, codeartifact_source=codeartifact_source, internal_ports=internal_ports
        )
        self.data_bucket = SecureBucket(
            self,
            "Data",
            **defaults.bucket_props(),
            encryption_key=self.key,
            contents="notebook datasets and the package wheelhouse",
            no_replication_because=(
                "The bucket holds working copies for notebook experiments and, optionally, a "
                "wheelhouse that can be rebuilt; cross-region replication is left to the team."
            ),
        ).bucket
        self.execution_role = SageMakerExecutionRole(
            self,
            "JobRole",
            data_bucket=self.data_bucket,
            encryption_key=self.key,
            description=f"{name}: SageMaker jobs and models started from notebooks",
        ).role
        self.guarded_role = self._guarded_role(name, guard_presigned_urls=guard_presigned_urls)
        self.data_scientist_role = self.guarded_role.role
        self.packages, self.lifecycle_script = self._package_source(
            name, package_source=package_source, packages=packages, target=lifecycle_target
        )

    def _network(
        self,
        defaults: ResourceDefaults,
        *,
        codeartifact_source: bool,
        internal_ports: Sequence[ec2.Port],
    ) -> IsolatedVpc:
        # Notebooks start jobs through the API; SageMaker pulls job images itself, so the
        # container endpoints (ECR, metrics) would only add cost here.
        services = {
            **CORE_SERVICES,
            **{
                endpoint_id: service
                for endpoint_id, service in NOTEBOOK_SERVICES.items()
                if codeartifact_source or not endpoint_id.startswith("CodeArtifact")
            },
        }
        return IsolatedVpc(
            self,
            "Network",
            **defaults.vpc_props(),
            encryption_key=self.key,
            services=services,
            internal_ports=internal_ports,
        )

    def _guarded_role(self, name: str, *, guard_presigned_urls: bool) -> GuardedRole:
        endpoint_ids = None
        if guard_presigned_urls:
            endpoint_ids = [
                self.network.endpoints["SageMakerApi"].vpc_endpoint_id,
                self.network.endpoints["SageMakerNotebook"].vpc_endpoint_id,
            ]
        return GuardedRole(
            self,
            "DataScientist",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            job_execution_role=self.execution_role,
            data_bucket=self.data_bucket,
            encryption_key=self.key,
            notebook_vpc_endpoint_ids=endpoint_ids,
            description=f"{name}: data scientist, SageMaker inside the VPC only",
        )

    def _package_source(
        self, name: str, *, package_source: str, packages: Sequence[str], target: str
    ) -> tuple[PackageRepository | None, str]:
        """The CodeArtifact repository (or none, with the S3 wheelhouse), and the lifecycle
        script that installs ``packages`` from that source."""
        stack = cdk.Stack.of(self)
        repository: PackageRepository | None = None
        settings: dict = {"package_source": package_source, "packages": tuple(packages)}
        if package_source == "codeartifact":
            repository = PackageRepository(
                self,
                "Packages",
                domain_name=name,
                encryption_key=self.key,
                readers=[self.data_scientist_role],
            )
            settings.update(
                codeartifact_domain=repository.domain_name,
                codeartifact_domain_owner=stack.account,
                codeartifact_repository=repository.repository_name,
            )
        else:
            settings["wheelhouse_s3_uri"] = self.wheelhouse_uri
        return repository, render_script(target=target, region=stack.region, **settings)

    @property
    def wheelhouse_uri(self) -> str:
        return self.data_bucket.s3_url_for_object(WHEELHOUSE_PREFIX)

    @property
    def permissions(self) -> list[Construct]:
        """The policies that must be attached before a notebook runs its lifecycle script."""
        policies: list[Construct] = [self.guarded_role.policy]
        if self.packages is not None:
            policies.append(self.packages.read_policy)
        return policies

    def add_outputs(self, stack: cdk.Stack, package_source: str) -> None:
        """The outputs the smoke checks and a data scientist need, shared by both patterns."""

        def output(name: str, value: str, description: str) -> None:
            cdk.CfnOutput(stack, name, value=value, description=description)

        output(NotebookOutputs.DATA_BUCKET_NAME, self.data_bucket.bucket_name, "Data bucket")
        output(
            NotebookOutputs.JOB_ROLE_ARN, self.execution_role.role_arn, "Role for jobs and models"
        )
        output(
            NotebookOutputs.DATA_SCIENTIST_ROLE_ARN,
            self.data_scientist_role.role_arn,
            "Notebook role",
        )
        output(
            NotebookOutputs.SUBNET_IDS,
            cdk.Fn.join(",", [subnet.subnet_id for subnet in self.network.subnets]),
            "Isolated subnets for jobs (comma-separated)",
        )
        output(
            NotebookOutputs.SECURITY_GROUP_ID,
            self.network.workload_security_group.security_group_id,
            "Security group for jobs",
        )
        output(NotebookOutputs.KEY_ARN, self.key.key_arn, "KMS key for volumes and outputs")
        output(NotebookOutputs.PACKAGE_SOURCE, package_source, "Where packages come from")
        if self.packages is not None:
            output(
                NotebookOutputs.CODE_ARTIFACT_DOMAIN,
                self.packages.domain_name,
                "CodeArtifact domain",
            )
            output(
                NotebookOutputs.CODE_ARTIFACT_REPOSITORY,
                self.packages.repository_name,
                "Repository",
            )
        else:
            output(NotebookOutputs.WHEELHOUSE_URI, self.wheelhouse_uri, "Upload wheels here")
