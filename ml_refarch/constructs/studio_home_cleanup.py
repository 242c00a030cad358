"""A custom resource that removes the home EFS a deleted Studio domain leaves in its VPC.

SageMaker creates a home EFS file system for each Studio domain, with mount targets in the
domain's subnets and two NFS security groups, and keeps all of them when the domain is
deleted: ``DeleteDomain``'s ``RetentionPolicy.HomeEfsFileSystem`` defaults to ``Retain``
(SageMaker API reference, "DeleteDomain", "RetentionPolicy") and ``AWS::SageMaker::Domain``
cannot ask for ``Delete`` (cloudformation-coverage-roadmap issue 1085). Their network
interfaces then keep CloudFormation from deleting the subnets and the VPC. The handler is
``lambdas/studio_home_cleanup/handler.py``; its docstring says what it deletes and when.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_refarch.compliance.acknowledge import (
    acknowledge,
)
from ml_refarch.constructs.deploy_time_function import deploy_time_function
from ml_refarch.constructs.isolated_vpc import IsolatedVpc

#: The tag SageMaker puts on what it creates for a domain, valued with the domain's ARN
#: ("AWS managed policies for SageMaker notebooks": the notebooks service role may delete
#: only file systems with this tag).
MANAGED_BY_TAG = "ManagedByAmazonSageMakerResource"


class StudioHomeCleanup(Construct):
    """Deletes the home EFS of the Studio domains of ``network`` once they are deleted.

    The custom resource depends on the VPC's subnets, and the caller makes the domain
    depend on it (:meth:`before`), so CloudFormation deletes the domain, then this resource
    (whose handler removes the mount targets, the file system and the NFS groups), then the
    subnets and the VPC. Create and Update do nothing.

    Args:
        network: the domain's VPC; the handler acts only on what is in it.
        encryption_key: encrypts the handler's log group (its policy allows CloudWatch Logs).
        log_retention: retention of the handler's log group.
        removal_policy: removal of the handler's log group.

    Attributes:
        function: the handler; resource: the custom resource.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: IsolatedVpc,
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        vpc = network.vpc
        self.function, policy = deploy_time_function(
            self,
            handler="studio_home_cleanup",
            description="On stack delete: remove the home EFS a deleted Studio domain left",
            role_description=(
                "Studio home cleanup: delete a deleted domain's home EFS and NFS groups"
            ),
            statements=lambda log_group: self._statements(stack, vpc.vpc_id, log_group),
            # Deleting mount targets takes minutes; the handler keeps 30 s to answer.
            timeout=cdk.Duration.minutes(15),
            reason=(
                "The Studio home cleanup runs only while CloudFormation deletes the stack, is "
                "invoked once per request and answers CloudFormation itself (a failure fails "
                "the deletion, so a DLQ has nothing to catch), and calls only the public EC2, "
                "EFS and SageMaker APIs, so it needs no VPC, reserved concurrency or tracing."
            ),
            encryption_key=encryption_key,
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        self._acknowledge_policy(policy)
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type="Custom::StudioHomeCleanup",
            properties={"VpcId": vpc.vpc_id},
        )
        # Deleted before the subnets (where the mount targets are) and after its handler,
        # role and policy (which the handler needs to run).
        for subnet in network.subnets:
            self.resource.node.add_dependency(subnet)
        self.resource.node.add_dependency(policy)

    def before(self, domain: cdk.CfnResource) -> None:
        """Make ``domain`` depend on this resource, so it is deleted first."""
        domain.node.add_dependency(self.resource)

    @staticmethod
    def _statements(
        stack: cdk.Stack, vpc_id: str, log_group: logs.ILogGroup
    ) -> list[iam.PolicyStatement]:
        def arn(service: str, resource: str) -> str:
            return stack.format_arn(
                service=service, resource=resource, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
            )

        in_this_vpc = {"ArnEquals": {"ec2:Vpc": arn("ec2", f"vpc/{vpc_id}")}}
        domains = arn("sagemaker", "domain/*")
        return [
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
            # Describe calls of EC2 and the file-system listing support no resource-level
            # permissions ("Actions, resources, and condition keys" of EC2 and EFS).
            iam.PolicyStatement(
                sid="FindLeftovers",
                actions=[
                    "ec2:DescribeSecurityGroups",
                    "elasticfilesystem:DescribeFileSystems",
                    "elasticfilesystem:DescribeMountTargets",
                ],
                resources=["*"],
            ),
            # Whether the domain still exists: its home is then left alone.
            iam.PolicyStatement(
                sid="CheckDomainDeleted",
                actions=["sagemaker:DescribeDomain"],
                resources=[domains],
            ),
            # Only file systems SageMaker created for a domain of this account and region.
            # DeleteMountTarget also needs ec2:DeleteNetworkInterface on the mount target's
            # interface (EFS API reference, "DeleteMountTarget").
            iam.PolicyStatement(
                sid="DeleteHomeFileSystems",
                actions=[
                    "elasticfilesystem:DeleteMountTarget",
                    "elasticfilesystem:DeleteFileSystem",
                ],
                resources=[arn("elasticfilesystem", "file-system/*")],
                conditions={"StringLike": {f"aws:ResourceTag/{MANAGED_BY_TAG}": domains}},
            ),
            iam.PolicyStatement(
                sid="DeleteMountTargetInterfacesAndNfsGroups",
                actions=[
                    "ec2:DeleteNetworkInterface",
                    "ec2:RevokeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupEgress",
                    "ec2:DeleteSecurityGroup",
                ],
                resources=[
                    arn("ec2", "network-interface/*"),
                    arn("ec2", "security-group/*"),
                ],
                conditions=in_this_vpc,
            ),
        ]

    def _acknowledge_policy(self, policy: iam.ManagedPolicy) -> None:
        acknowledge(
            policy,
            "Listing security groups, file systems and mount targets supports no "
            "resource-level permissions; the handler only reads them to find the home EFS "
            "and NFS groups of this stack's deleted Studio domain.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        acknowledge(
            policy,
            "SageMaker names the domain, its home file system and the network interfaces "
            "and NFS groups at deploy time; deletion is limited to file systems tagged "
            "ManagedByAmazonSageMakerResource with a domain of this account and region, and "
            "to interfaces and groups in this stack's VPC (ec2:Vpc), and the handler skips "
            "any domain that still exists.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
            "<AWS::AccountId>:domain/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticfilesystem:<AWS::Region>:"
            "<AWS::AccountId>:file-system/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-interface/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:security-group/*]",
        )
