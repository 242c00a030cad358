"""The delivery pipeline stack, ``MlRefArch-Delivery``: CDK Pipelines over the patterns.

Source: a CodeConnections repository. Synth: the README's set-up and ``cdk synth`` with the
app's settings. Then the compliance check over the whole assembly (every stage's templates),
failing the pipeline on findings, with its JUnit report as a CodeBuild test report. Then the
waves of :attr:`DeliverySettings.waves`: sandbox stages, a manual approval, production
stages. Every CodeBuild project runs in the stack's VPC (private subnets behind one NAT
gateway: the set-up downloads packages), logs to a KMS-encrypted log group, and encrypts its
artifacts with the artifact bucket's KMS key (``crossAccountKeys``), which the target
accounts' deployment roles may use.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import pipelines
from constructs import Construct

from ml_refarch.app import project_context
from ml_refarch.catalog import by_id
from ml_refarch.config import given_settings, stage_config
from ml_refarch.constructs.encryption_key import customer_managed_key, grants_only_for_aws_services
from ml_refarch.constructs.log_group import encrypted_log_group
from ml_refarch.delivery import STACK_NAME
from ml_refarch.delivery.acknowledgments import (
    acknowledge_artifact_bucket,
    acknowledge_pipeline,
    acknowledge_vpc,
)
from ml_refarch.delivery.settings import DeliverySettings, Wave
from ml_refarch.delivery.stage import PatternStage

#: Where the check step writes its reports (the step's output directory).
REPORTS_DIRECTORY = "reports"
SARIF_FILE = f"{REPORTS_DIRECTORY}/check.sarif"
JUNIT_FILE = f"{REPORTS_DIRECTORY}/check.xml"
#: The CodeBuild report group (``<project>-<name>``) the JUnit file goes to.
REPORT_NAME = "compliance"
#: The README's set-up (``make setup``: .venv and the pinned CDK CLI); the check step adds
#: the test tools (cfn-lint, checkov's own venv). ``make`` targets are idempotent.
SETUP_COMMANDS = ("make setup",)
CHECK_SETUP_COMMANDS = ("make setup .venv/.dev",)
#: The venv's Node and CLI first, as the Makefile does.
PATH_COMMAND = 'export PATH="$PWD/.venv/bin:$PATH"'
#: How long pipeline artifacts are kept: a run needs them for its own duration (a manual
#: approval waits at most 7 days, "Approve or reject an approval action in CodePipeline":
#: https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-approve-or-reject.html).
ARTIFACT_DAYS = 30
#: CodeBuild's Ubuntu standard image (Python 3.11 and make among its tools).
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0


def synth_command(settings: Mapping[str, Any], committed: Mapping[str, Any]) -> str:
    """``npx cdk synth`` with the settings the app was given on the command line, so the
    pipeline builds the app it is part of (the same stages, patterns and pattern settings).

    A setting whose value is the one ``committed`` (``cdk.json``'s context) holds is left to
    ``cdk.json``: given with ``-c`` it would win over a later change to ``cdk.json``, and a
    push could never change it.
    """
    parts = ["npx", "cdk", "synth", "--quiet"]
    for key, value in sorted(settings.items()):
        if key in committed and committed[key] == value:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(str(item) for item in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        parts += ["-c", f"{key}={value}"]
    return " ".join(shlex.quote(part) for part in parts)


def check_command(assembly: str = "cdk.out") -> str:
    """The check step's command: every pack, cfn-lint and checkov, strict, with reports."""
    return (
        f"python -m ml_refarch check {assembly} --strict --sarif {SARIF_FILE} --junit {JUNIT_FILE}"
    )


class DeliveryStack(cdk.Stack):
    """The pipeline, its build network and logs, and the stages of every wave.

    Attributes:
        pipeline: the CDK Pipelines ``CodePipeline`` (built in the constructor).
        check: the check step.
        stages: every stage by id, in pipeline order.
    """

    def __init__(self, scope: Construct, settings: DeliverySettings) -> None:
        home = settings.pipeline
        super().__init__(
            scope,
            STACK_NAME,
            env=cdk.Environment(account=home.account, region=home.region),
            description=(
                "ml-refarch delivery pipeline: checks the pattern stacks, then deploys them "
                "to sandbox and production accounts and regions (docs/delivery.md)."
            ),
            termination_protection=True,
        )
        key = customer_managed_key(
            self,
            "LogsKey",
            description=f"{STACK_NAME}: build logs and VPC flow logs",
            removal_policy=cdk.RemovalPolicy.RETAIN,
            allow_cloudwatch_logs=True,
        )
        log_group = self._log_group("BuildLogs", key)
        vpc, security_group = self._network(key)
        self.replication = {
            region: ReplicationStack(scope, home.account, region)
            for region in sorted({t.region for w in settings.waves for t in w.targets})
            if region != home.region
        }
        source = pipelines.CodePipelineSource.connection(
            settings.repository, settings.branch, connection_arn=settings.connection_arn
        )
        synth = pipelines.ShellStep(
            "Synth",
            input=source,
            install_commands=list(SETUP_COMMANDS),
            commands=[PATH_COMMAND, synth_command(given_settings(scope), project_context())],
            primary_output_directory="cdk.out",
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=synth,
            cross_account_keys=True,
            enable_key_rotation=True,
            pipeline_type=codepipeline.PipelineType.V2,
            publish_assets_in_parallel=False,
            cross_region_replication_buckets={
                region: stack.bucket for region, stack in self.replication.items()
            },
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(
                    build_image=BUILD_IMAGE, compute_type=codebuild.ComputeType.SMALL
                ),
                vpc=vpc,
                subnet_selection=ec2.SubnetSelection(
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ),
                security_groups=[security_group],
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)
                ),
            ),
        )
        self.check = self._check_step(source, synth)
        self.stages: dict[str, PatternStage] = {}
        for index, wave in enumerate(settings.waves):
            self._add_wave(scope, wave, first=index == 0)
        self.pipeline.build_pipeline()
        self._artifact_bucket()
        # CDK writes the pipeline's stage role ARNs as Fn::Join with an empty delimiter;
        # cfn-lint prefers Fn::Sub (E3703), a matter of style the template cannot change.
        self.pipeline.pipeline.node.default_child.add_metadata(
            "cfn-lint", {"config": {"ignore_checks": ["E3703"]}}
        )
        acknowledge_pipeline([self, *self.replication.values()])

    @property
    def availability_zones(self) -> list[str]:
        """The region's first two zones as CloudFormation lists them (``Fn::GetAZs``): the
        synth needs no look-up, so no credentials, though the stack is pinned."""
        zones = cdk.Fn.get_azs()
        return [cdk.Fn.select(index, zones) for index in range(2)]

    def _log_group(self, construct_id: str, key: kms.IKey) -> logs.LogGroup:
        """A log group kept a year (what Control Tower asks for) and kept after the stack:
        the pipeline's history outlives a redeployment of it."""
        return encrypted_log_group(
            self,
            construct_id,
            encryption_key=key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _artifact_bucket(self) -> None:
        """CDK Pipelines' artifact bucket: its artifacts expire, its key's grants are for AWS
        services only."""
        bucket = self.pipeline.pipeline.artifact_bucket
        assert isinstance(bucket, s3.Bucket) and bucket.encryption_key is not None
        bucket.add_lifecycle_rule(
            expiration=cdk.Duration.days(ARTIFACT_DAYS),
            abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
        )
        grants_only_for_aws_services(bucket.encryption_key)
        acknowledge_artifact_bucket(bucket, "The pipeline's artifact bucket")

    def _network(self, key: kms.IKey) -> tuple[ec2.Vpc, ec2.SecurityGroup]:
        """Private subnets whose only way out is one NAT gateway (the set-up downloads from
        PyPI and npm), flow logs, and the builds' group: HTTPS out, nothing in."""
        vpc = ec2.Vpc(
            self,
            "BuildVpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    map_public_ip_on_launch=False,  # only the NAT gateway, with its own EIP
                ),
                ec2.SubnetConfiguration(
                    name="builds", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ),
            ],
            restrict_default_security_group=True,
        )
        flow_logs = self._log_group("FlowLogs", key)
        vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
        )
        security_group = ec2.SecurityGroup(
            self,
            "BuildSecurityGroup",
            vpc=vpc,
            description="CodeBuild projects of the delivery pipeline: HTTPS out only",
            allow_all_outbound=False,
        )
        security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "package registries, AWS APIs, Git host"
        )
        acknowledge_vpc(vpc, security_group)
        return vpc, security_group

    def _check_step(
        self, source: pipelines.CodePipelineSource, synth: pipelines.ShellStep
    ) -> pipelines.CodeBuildStep:
        """``check`` over the synthesized assembly; exit 1 (findings) or 2 fails the build,
        so the pipeline stops before any stage. The JUnit report is a CodeBuild test
        report; both reports are the step's output artifact."""
        return pipelines.CodeBuildStep(
            "Check",
            input=source,
            additional_inputs={"cdk.out": synth},
            install_commands=list(CHECK_SETUP_COMMANDS),
            commands=[PATH_COMMAND, f"mkdir -p {REPORTS_DIRECTORY}", check_command()],
            primary_output_directory=REPORTS_DIRECTORY,
            partial_build_spec=codebuild.BuildSpec.from_object(
                {
                    "reports": {
                        REPORT_NAME: {
                            "files": [JUNIT_FILE.removeprefix(REPORTS_DIRECTORY + "/")],
                            "base-directory": REPORTS_DIRECTORY,
                            "file-format": "JUNITXML",
                        }
                    }
                }
            ),
        )

    def _add_wave(self, scope: Construct, wave: Wave, *, first: bool) -> None:
        pre: list[pipelines.Step] = [self.check] if first else []
        if wave.approval:
            pre.append(
                pipelines.ManualApprovalStep(
                    f"Promote{wave.name}",
                    comment=f"Deploy to the {wave.name.lower()} wave: "
                    + ", ".join(map(str, wave.targets)),
                )
            )
        added = self.pipeline.add_wave(wave.name, pre=pre)
        config = stage_config(scope, wave.profile)
        names = [by_id(p).stack_name for p in wave.patterns] if wave.patterns else None
        for target in wave.targets:
            stage = PatternStage(
                scope,
                wave.stage_id(target),
                env=cdk.Environment(account=target.account, region=target.region),
                config=config,
                stack_names=names,
            )
            added.add_stage(stage)
            self.stages[stage.node.id] = stage


class ReplicationStack(cdk.Stack):
    """The pipeline account's artifact bucket in one target region other than the
    pipeline's: CodePipeline copies each artifact there for the region's actions
    (what CDK Pipelines would add as its own support stack), KMS-encrypted with a key of
    the region whose alias the cross-account deploy roles are granted.

    Attributes:
        bucket: the replication bucket (its ``encryption_key`` is the key's alias).
    """

    def __init__(self, scope: Construct, account: str, region: str) -> None:
        super().__init__(
            scope,
            f"{STACK_NAME}-Replication-{region}",
            env=cdk.Environment(account=account, region=region),
            description=f"ml-refarch delivery pipeline: artifact replication bucket in {region}.",
        )
        key = customer_managed_key(
            self,
            "ReplicationKey",
            description=f"{STACK_NAME}: pipeline artifacts replicated to {region}",
            # Kept with the bucket it encrypts (as CDK Pipelines keeps its artifact bucket).
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # A fixed name, so the pipeline (another region) can name the key; an alias has no
        # other create-only property.
        alias = kms.Alias(
            self,
            "ReplicationKeyAlias",
            alias_name=f"alias/mlrefarch-delivery-replication-{region}",
            target_key=key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "CrossRegionCodePipelineReplicationBucket",
            bucket_name=cdk.PhysicalName.GENERATE_IF_NEEDED,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=alias,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(ARTIFACT_DAYS),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
        )
        acknowledge_artifact_bucket(self.bucket, f"The pipeline's replication bucket in {region}")
