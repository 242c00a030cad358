"""The delivery stack's acknowledgments, each on the resource it covers, with its reason.

Most of the pipeline's resources are CDK Pipelines' own (the artifact bucket, the action
roles and their policies, the CodeBuild projects, the cross-region replication buckets); they
exist only once the pipeline is built. :func:`acknowledge_pipeline` runs the cdk-nag packs
over the built stacks and acknowledges each finding that one of :data:`KNOWN` explains, on
the finding's own resource, with that entry's reason. A finding no entry explains is left
alone, so the synth fails on it: a new kind of finding needs a new reason here, never a
blanket one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge, acknowledge_cdk_provider
from ml_refarch.compliance.control_tower import RULE_PREFIX as CT
from ml_refarch.compliance.packs import make_packs


@dataclass(frozen=True)
class Known:
    """A kind of finding on the pipeline's resources and why it is accepted.

    Attributes:
        rule: a regular expression the rule id (with any ``[...]`` detail) must match.
        path: one the resource's construct path must match (``search``).
        reason: why the finding is accepted there.
        checkov: checkov checks skipped on the same resource for the same reason.
    """

    rule: str
    path: str
    reason: str
    checkov: tuple[str, ...] = ()

    def covers(self, rule_id: str, path: str) -> bool:
        return bool(re.fullmatch(self.rule, rule_id) and re.search(self.path, path))


_ARTIFACTS = r"/Pipeline/Pipeline/ArtifactsBucket/Resource$"
_REPLICATION = r"/CrossRegionCodePipelineReplicationBucket/Resource$"
_ROLE_POLICIES = r"/(Role|CodePipelineActionRole|FileRole|CodeBuildActionRole)/DefaultPolicy/"
_PROJECT_POLICIES = r"/PolicyDocument/Resource$"
_PROJECTS = r"/Pipeline/(Pipeline/.+|UpdatePipeline/SelfMutation|Assets/FileAsset\d*)/Resource$"
_IAM5 = r"AwsSolutions-IAM5\[{}\]"
_INLINE = r"(HIPAA\.Security|NIST\.800\.53\.R5|PCI\.DSS\.321)-IAMNoInlinePolicy"
_BUCKET_RULES = (
    r"AwsSolutions-S1|(HIPAA\.Security|NIST\.800\.53\.R5|PCI\.DSS\.321)-"
    r"S3Bucket(Logging|Replication|Versioning)Enabled"
)

KNOWN: tuple[Known, ...] = (
    Known(
        _BUCKET_RULES,
        _ARTIFACTS,
        "The pipeline's artifact bucket holds only build inputs and outputs that every run "
        "writes anew from the repository (source zip, cdk.out, reports): it is KMS-encrypted "
        "with the cross-account key, TLS-only and private; access logs, versions or a "
        "replica would keep copies of throwaway artifacts. CodePipeline records every "
        "execution itself.",
    ),
    Known(
        _BUCKET_RULES,
        _REPLICATION,
        "CDK Pipelines' replication bucket in a target region carries the same throwaway "
        "artifacts to the region's CloudFormation actions, KMS-encrypted with the region's "
        "own key; it is a copy by design, and its artifacts are rewritten on every run.",
    ),
    Known(
        _IAM5.format(r"Action::(s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*)"),
        _ROLE_POLICIES,
        "CDK Pipelines' grant of the artifact bucket to this action: the wildcards are the "
        "S3 action groups of bucket.grantReadWrite on the pipeline's own artifact bucket and "
        "its objects, nothing else.",
    ),
    Known(
        _IAM5.format(r"Action::kms:(GenerateDataKey|ReEncrypt)\*"),
        _ROLE_POLICIES,
        "The artifact key's grant that goes with the artifact bucket: GenerateDataKey* and "
        "ReEncrypt* on the pipeline's own cross-account key only.",
    ),
    Known(
        _IAM5.format(
            r"Resource::(<PipelineArtifactsBucket[0-9A-F]+\.Arn>|arn:aws:s3:::[a-z0-9-]+)/\*"
        ),
        _ROLE_POLICIES,
        "Object keys of the pipeline's own artifact (or replication) bucket: every run "
        "writes new artifact keys, so the actions need the bucket's objects, not one key.",
    ),
    Known(
        _IAM5.format(
            r"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/\*"
        ),
        _ROLE_POLICIES,
        "CodeBuild in a VPC creates a network interface per build with a new id; CDK scopes "
        "ec2:CreateNetworkInterfacePermission to the build subnets and to CodeBuild, so the "
        "wildcard is only over interface ids.",
    ),
    Known(
        _IAM5.format(r"Resource::arn:aws:codebuild:[a-z0-9-]+:\d{12}:report-group/.*"),
        _ROLE_POLICIES,
        "CodeBuild creates the project's report groups (named after the project) on the "
        "first report; the wildcard is over the report names of this project (all "
        "report groups only for the asset project, whose name CDK Pipelines generates).",
    ),
    Known(
        _IAM5.format(r"Resource::arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:/aws/codebuild/.*"),
        _ROLE_POLICIES,
        "CodeBuild's default log group of the project, which CDK grants besides the "
        "project's own encrypted log group; the wildcard is over its log streams (one per "
        "build).",
    ),
    Known(
        _IAM5.format(r"Resource::\*"),
        _ROLE_POLICIES + "|" + _PROJECT_POLICIES,
        "Actions that take no resource (ec2:DescribeNetworkInterfaces and the other "
        "describe calls CodeBuild makes to attach a build to the VPC, "
        "cloudformation:DescribeStacks for self-mutation) or the cdk-assets and "
        "self-mutation lookups of the bootstrap roles, which CDK limits by role name and "
        "the aws:ResourceTag condition.",
        checkov=("CKV_AWS_111",),
    ),
    Known(
        _IAM5.format(r"Resource::arn:\*:iam::\d{12}:role/\*"),
        r"/UpdatePipeline/SelfMutation/Role/DefaultPolicy/",
        "Self-mutation assumes the CDK bootstrap roles of every target account to deploy "
        "the pipeline; CDK limits sts:AssumeRole to roles tagged aws-cdk:bootstrap-role.",
    ),
    Known(
        _INLINE,
        _ROLE_POLICIES + "|" + _PROJECT_POLICIES + "|/FlowLog/IAMRole/DefaultPolicy/",
        "The policy CDK generates for this one role from its grants (the pipeline's "
        "actions, builds and flow log): each role has its own, scoped to its resources; a "
        "managed policy would be shared by nothing.",
    ),
    Known(
        r"(HIPAA\.Security|PCI\.DSS\.321)-CodeBuildProjectSourceRepoUrl",
        _PROJECTS,
        "The project's source is the pipeline's artifact (CodePipeline type), never a "
        "repository URL; the CodeConnections connection holds the repository's credentials.",
    ),
)


def acknowledge_artifact_bucket(bucket: IConstruct, what: str) -> None:
    """The Control Tower controls an artifact bucket of the pipeline does not meet, and why."""
    acknowledge(
        bucket,
        f"{what} holds only artifacts every run writes anew from the repository (source, "
        "cdk.out, reports), KMS-encrypted, TLS-only and private, expired by a lifecycle "
        "rule: logs, versions, object lock or event notifications would keep or announce "
        "throwaway copies; CodePipeline records each execution and its artifacts itself.",
        f"{CT}-s3_bucket_logging_enabled_check",
        f"{CT}-s3_bucket_object_lock_enabled_check",
        f"{CT}-s3_bucket_versioning_enabled_check",
        f"{CT}-s3_event_notifications_enabled_check",
        checkov=("CKV_AWS_18", "CKV_AWS_21"),
    )


def acknowledge_vpc(vpc: ec2.Vpc, security_group: ec2.ISecurityGroup) -> None:
    """The build VPC's public side (the NAT gateway's route to the internet gateway) and
    CDK's handler that closes the default security group."""
    acknowledge(
        vpc,
        "CDK's restrictDefaultSecurityGroup custom resource removes every rule from the "
        "build VPC's default security group during deployment; the template cannot show it.",
        controls.VPC_DEFAULT_SG_CLOSED,
    )
    acknowledge_cdk_provider(
        vpc,
        "Custom::VpcRestrictDefaultSGCustomResourceProvider",
        purpose="removes every rule from the build VPC's default security group",
        calls="the EC2 security-group API",
    )
    for subnet in vpc.public_subnets:
        route = subnet.node.try_find_child("DefaultRoute")
        if route is not None:
            acknowledge(
                route,
                "The public subnet's route to the internet gateway carries only the NAT "
                "gateway's traffic: builds run in the private subnets, with no public "
                "address, and reach PyPI, npm and the Git host through the NAT gateway.",
                controls.VPC_NO_ROUTE_TO_IGW,
            )


def acknowledge_pipeline(stacks: Iterable[cdk.Stack]) -> None:
    """Acknowledge each finding of :data:`KNOWN` on the built pipeline's ``stacks``."""
    for stack in stacks:
        by_path = {c.node.path: c for c in stack.node.find_all()}
        found: dict[str, dict[str, Known]] = {}
        for pack in make_packs().values():
            for violation in pack.validate_scope(stack).violations:
                for resource in violation.violating_resources:
                    known = next(
                        (
                            k
                            for k in KNOWN
                            if k.covers(violation.rule_name, resource.construct_path)
                        ),
                        None,
                    )
                    if known is not None:
                        found.setdefault(resource.construct_path, {})[violation.rule_name] = known
        for path, rules in found.items():
            _acknowledge_each(by_path[path], rules)


def _acknowledge_each(resource: IConstruct, rules: dict[str, Known]) -> None:
    """One acknowledgment per reason, of every rule id it explains on ``resource``."""
    by_known: dict[Known, list[str]] = {}
    for rule_id, known in rules.items():
        by_known.setdefault(known, []).append(rule_id)
    for known, rule_ids in by_known.items():
        acknowledge(resource, known.reason, *sorted(rule_ids), checkov=known.checkov)
