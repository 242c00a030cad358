"""The role SageMaker assumes to run jobs and host models for one stack."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_refarch.aws_facts import SAGEMAKER_VPC_ACTIONS
from ml_refarch.compliance.acknowledge import acknowledge


class SageMakerExecutionRole(Construct):
    """An execution role for SageMaker jobs and models, scoped to one bucket and one key.

    The permissions are those SageMaker documents for jobs in a VPC: read and write the data
    bucket, use the key (including grants, which SageMaker creates for encrypted volumes),
    write its logs and metrics, pull container images, and manage the network interfaces it
    places in the VPC. One customer-managed policy holds them (no inline policies).

    Args:
        data_bucket: the bucket jobs read inputs from and write outputs to. ``None`` for a
            role that reads only what ``extra_statements`` allow (a model served from
            artifacts elsewhere).
        encryption_key: the key of the bucket, the volumes and the outputs.
        description: what the role is for.
        extra_statements: further permissions a pattern's jobs need (FSx, say). Default: none.

    Attributes:
        role: the IAM role.
        policy: its managed policy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_bucket: s3.IBucket | None,
        encryption_key: kms.IKey,
        description: str,
        extra_statements: Sequence[iam.PolicyStatement] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description=description,
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                *_data_statements(data_bucket, encryption_key),
                *_service_statements(stack),
                *extra_statements,
            ],
        )
        if data_bucket is not None:
            bucket_id = stack.get_logical_id(data_bucket.node.default_child)
            acknowledge(
                self.policy,
                "Jobs read and write objects whose keys they choose under the one data bucket, "
                "so the object ARN ends in a wildcard.",
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]",
            )
        acknowledge(
            self.policy,
            "SageMaker names each job's log group under /aws/sagemaker/ (TrainingJobs, "
            "ProcessingJobs, Endpoints/<name>), so the role may write only below that prefix.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:/aws/sagemaker/*]",
        )
        acknowledge(
            self.policy,
            "cloudwatch:PutMetricData, ecr:GetAuthorizationToken and the EC2 network-interface "
            "actions SageMaker needs in a VPC support no resource-level permissions; metrics "
            "are limited to the /aws/sagemaker/ namespaces by condition, and images come from "
            "AWS-owned repositories whose ARNs vary by region and algorithm.",
            "AwsSolutions-IAM5[Resource::*]",
            checkov=("CKV_AWS_109", "CKV_AWS_111"),
        )


def _data_statements(
    data_bucket: s3.IBucket | None, encryption_key: kms.IKey
) -> list[iam.PolicyStatement]:
    """The data bucket (if any) and the key, including the grants SageMaker creates for
    encrypted volumes."""
    bucket_statements = (
        [
            iam.PolicyStatement(
                sid="DataBucket",
                actions=["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                resources=[data_bucket.bucket_arn, data_bucket.arn_for_objects("*")],
            )
        ]
        if data_bucket is not None
        else []
    )
    return [
        *bucket_statements,
        iam.PolicyStatement(
            sid="DataKey",
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            resources=[encryption_key.key_arn],
        ),
        iam.PolicyStatement(
            sid="DataKeyGrantsForVolumes",
            actions=["kms:CreateGrant"],
            resources=[encryption_key.key_arn],
            # SageMaker grants the key to the volumes it attaches, an AWS resource; a grant
            # to a principal of the job's choosing would hand the key on ("AWS KMS condition
            # keys", kms:GrantIsForAWSResource).
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    ]


def _service_statements(stack: cdk.Stack) -> list[iam.PolicyStatement]:
    """What SageMaker does in the account for a job in a VPC: write its logs and metrics,
    pull container images, manage the network interfaces it places in the VPC."""
    sagemaker_logs = (
        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:/aws/sagemaker/*"
    )
    return [
        iam.PolicyStatement(
            sid="Logs",
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            resources=[sagemaker_logs],
        ),
        iam.PolicyStatement(
            sid="Metrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        ),
        iam.PolicyStatement(
            sid="Images",
            actions=[
                "ecr:GetAuthorizationToken",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="VpcNetworkInterfaces",
            actions=list(SAGEMAKER_VPC_ACTIONS),
            resources=["*"],
        ),
    ]
