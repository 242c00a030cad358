"""The role a Redshift Serverless namespace lists: streaming ingestion and Redshift ML.

Redshift assumes it to read the Kinesis stream of a streaming-ingestion view ("Getting
started with streaming ingestion from Amazon Kinesis Data Streams",
https://docs.aws.amazon.com/redshift/latest/dg/materialized-view-streaming-ingestion-getting-started.html:
``ReadStream`` on the stream, ``ListStreams``/``ListShards`` on ``*``, and the stream's key
for an encrypted stream) and to unload training data for ``CREATE MODEL``; SageMaker AI
assumes it to run the training job ("Cluster and configure setup for Amazon Redshift ML
administration", https://docs.aws.amazon.com/redshift/latest/dg/admin-setup.html: a trust
policy for Redshift and ``sagemaker.amazonaws.com``, SageMaker jobs, ECR
images, logs and metrics, the S3 bucket of ``S3_BUCKET``, the KMS key, and ``iam:PassRole``
on the role itself). The page's policy grants ``sagemaker:*Job*`` and the bucket on ``*``;
here the jobs are this account's and region's, and the bucket is the stack's.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_refarch.compliance.acknowledge import acknowledge

#: Redshift Serverless assumes a namespace's role as either Redshift principal ("Granting
#: permissions to Amazon Redshift Serverless",
#: https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-security-other-services.html);
#: SageMaker assumes it for the CREATE MODEL training job (admin-setup page).
TRUSTED_SERVICES = (
    "redshift.amazonaws.com",
    "redshift-serverless.amazonaws.com",
    "sagemaker.amazonaws.com",
)
READ_STREAM = (
    "kinesis:DescribeStreamSummary",
    "kinesis:GetShardIterator",
    "kinesis:GetRecords",
    "kinesis:DescribeStream",
)
LIST_STREAMS = ("kinesis:ListStreams", "kinesis:ListShards")
#: What SageMaker does as the role for a CREATE MODEL training job (admin-setup page).
TRAINING_JOB_SUPPORT = (
    "cloudwatch:PutMetricData",
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetAuthorizationToken",
    "ecr:GetDownloadUrlForLayer",
)
TRAINING_LOGS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
)
#: The jobs CREATE MODEL starts and follows (training, AutoML for AUTO ON, and the Neo
#: compilation that makes a model run inside Redshift).
JOB_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:CreateAutoMLJob",
    "sagemaker:DescribeAutoMLJob",
    "sagemaker:StopAutoMLJob",
    "sagemaker:CreateCompilationJob",
    "sagemaker:DescribeCompilationJob",
    "sagemaker:StopCompilationJob",
)
JOB_RESOURCES = ("training-job/*", "automl-job/*", "compilation-job/*")
BUCKET_OBJECTS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:DeleteObject", "s3:PutObject")
BUCKET_LISTING = ("s3:GetBucketLocation", "s3:ListBucket")
KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


def redshift_role(
    scope: Construct,
    name: str,
    *,
    stream: kinesis.IStream,
    bucket: s3.IBucket,
    key: kms.IKey,
) -> tuple[iam.Role, iam.ManagedPolicy]:
    """``<name>Role``, assumed by Redshift and SageMaker, and its managed policy."""
    stack = cdk.Stack.of(scope)
    role = iam.Role(
        scope,
        f"{name}Role",
        assumed_by=iam.CompositePrincipal(
            *(iam.ServicePrincipal(service) for service in TRUSTED_SERVICES)
        ),
        description="Redshift: read the stream, unload for CREATE MODEL; SageMaker: train",
    )
    jobs = [
        stack.format_arn(
            service="sagemaker", resource=resource, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
        )
        for resource in JOB_RESOURCES
    ]
    training_logs = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name="/aws/sagemaker/*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
    policy = iam.ManagedPolicy(
        scope,
        f"{name}Policy",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="ReadStream", actions=list(READ_STREAM), resources=[stream.stream_arn]
            ),
            iam.PolicyStatement(sid="ListStream", actions=list(LIST_STREAMS), resources=["*"]),
            iam.PolicyStatement(sid="UseKey", actions=list(KEY_USE), resources=[key.key_arn]),
            iam.PolicyStatement(
                sid="GrantKeyToServices",
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            iam.PolicyStatement(sid="TrainingJobs", actions=list(JOB_ACTIONS), resources=jobs),
            iam.PolicyStatement(
                sid="TrainingImagesAndMetrics", actions=list(TRAINING_JOB_SUPPORT), resources=["*"]
            ),
            iam.PolicyStatement(
                sid="TrainingLogs", actions=list(TRAINING_LOGS), resources=[training_logs]
            ),
            iam.PolicyStatement(
                sid="PassSelfToSageMaker",
                actions=["iam:PassRole"],
                resources=[role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="ModelBucketObjects",
                actions=list(BUCKET_OBJECTS),
                resources=[bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                sid="ModelBucket", actions=list(BUCKET_LISTING), resources=[bucket.bucket_arn]
            ),
        ],
    )
    _acknowledge(policy, bucket)
    return role, policy


def _acknowledge(policy: iam.ManagedPolicy, bucket: s3.IBucket) -> None:
    stack = cdk.Stack.of(policy)
    bucket_id = stack.get_logical_id(bucket.node.default_child)
    acknowledge(
        policy,
        "ListStreams and ListShards are granted on * as the streaming-ingestion page gives "
        "them; ECR's GetAuthorizationToken and CloudWatch PutMetricData support no "
        "resource-level permissions, and the training image lives in an AWS-owned "
        "repository SageMaker picks per region.",
        "AwsSolutions-IAM5[Resource::*]",
    )
    acknowledge(
        policy,
        "CREATE MODEL names its SageMaker jobs and their log streams when it runs; the role "
        "may act only on training, AutoML and compilation jobs of this account and region "
        "and on the /aws/sagemaker log groups they write.",
        *(
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
            f"<AWS::AccountId>:{resource}]"
            for resource in JOB_RESOURCES
        ),
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
        "<AWS::AccountId>:log-group:/aws/sagemaker/*]",
    )
    acknowledge(
        policy,
        "CREATE MODEL unloads training data under a prefix it names per model and SageMaker "
        "writes artifacts beside it; the bucket is this stack's and holds nothing else.",
        f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]",
    )
