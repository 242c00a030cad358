"""Redshift Serverless: what Redshift and SageMaker do as a namespace's roles, and what the
Data API custom resource's role calls.

- Streaming ingestion: Redshift reads a Kinesis data stream as a role the namespace lists,
  with ``kinesis:DescribeStreamSummary``, ``GetShardIterator``, ``GetRecords`` and
  ``DescribeStream`` on the stream and ``ListStreams``/``ListShards`` on ``*``, and decrypts
  an encrypted stream's records with its key ("Getting started with streaming ingestion from
  Amazon Kinesis Data Streams",
  https://docs.aws.amazon.com/redshift/latest/dg/materialized-view-streaming-ingestion-getting-started.html).
  The namespace does not say which stream an ``EXTERNAL SCHEMA ... FROM KINESIS`` names, so
  every stream of the template is one the role may be asked to read; a role is read as
  Redshift's when its trust policy admits ``redshift.amazonaws.com`` or
  ``redshift-serverless.amazonaws.com`` (a Serverless namespace's role names both: "Granting
  permissions to Amazon Redshift Serverless",
  https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-security-other-services.html).
- Redshift ML: for ``CREATE MODEL`` Redshift unloads training data to the ``S3_BUCKET`` and
  SageMaker runs the training job as the same role, which therefore also trusts
  ``sagemaker.amazonaws.com``: SageMaker jobs, the training image from ECR, logs and metrics,
  the role passed to SageMaker, and the bucket's objects and listing ("Cluster and configure
  setup for Amazon Redshift ML administration",
  https://docs.aws.amazon.com/redshift/latest/dg/admin-setup.html). The bucket too is named
  only in SQL: every bucket of the template that the role's policies name is one.
- ``Custom::RedshiftSql`` (the Data API custom resource): its function's role reads the
  namespace (``redshift-serverless:GetNamespace``, for ``adminPasswordSecretArn``), runs
  statements in the workgroup (``redshift-data:ExecuteStatement``) and follows them
  (``DescribeStatement``), and reads the admin secret Redshift manages, decrypting it with
  the namespace's ``AdminPasswordSecretKmsKeyId`` through Secrets Manager: the Data API reads
  the secret with the caller's permissions ("Authorizing access to the Amazon Redshift Data
  API", https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-access.html). The secret's
  ARN is documented only as ``GetNamespace``'s ``adminPasswordSecretArn`` (CloudFormation
  offers no ``Fn::GetAtt`` for it) and its name not at all; the scenario's example secret
  follows the name Redshift gives it in practice, ``redshift!<namespace>-<user>-<suffix>``
  ("GetNamespace",
  https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_GetNamespace.html;
  "AWS::RedshiftServerless::Namespace",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-redshiftserverless-namespace.html).
"""

from __future__ import annotations

from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.scenarios import Call, Scenario

STREAMING = (
    "https://docs.aws.amazon.com/redshift/latest/dg/"
    "materialized-view-streaming-ingestion-getting-started.html"
)
REDSHIFT_ML = "https://docs.aws.amazon.com/redshift/latest/dg/admin-setup.html"
DATA_API = "https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-access.html"

READ_STREAM = (
    "kinesis:DescribeStreamSummary",
    "kinesis:GetShardIterator",
    "kinesis:GetRecords",
    "kinesis:DescribeStream",
)
LIST_STREAMS = ("kinesis:ListStreams", "kinesis:ListShards")
TRAINING_SUPPORT = (
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
BUCKET_OBJECTS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:DeleteObject", "s3:PutObject")
BUCKET_LISTING = ("s3:GetBucketLocation", "s3:ListBucket")
KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")

REDSHIFT_PRINCIPALS = {"redshift.amazonaws.com", "redshift-serverless.amazonaws.com"}

_HERE = "${AWS::Region}:${AWS::AccountId}"
_PREFIX = "arn:${AWS::Partition}"
#: What a CREATE MODEL names, as one example of each.
MODEL_PREFIX = "models/model_1"
TRAINING_JOB = f"{_PREFIX}:sagemaker:{_HERE}:training-job/model-1-training"
COMPILATION_JOB = f"{_PREFIX}:sagemaker:{_HERE}:compilation-job/model-1-compilation"
TRAINING_LOG_STREAM = (
    f"{_PREFIX}:logs:{_HERE}:log-group:/aws/sagemaker/TrainingJobs"
    ":log-stream:model-1-training/algo-1"
)
TRAINING_IMAGE = "arn:aws:ecr:${AWS::Region}:123456789012:repository/sagemaker-xgboost"


def _trusted_services(resource: Resource, role: str) -> set[str]:
    trust = resource.properties_of(role).get("AssumeRolePolicyDocument")
    services: set[str] = set()
    for statement in cfn.as_list(cfn.get(trust, "Statement")):
        for service in cfn.as_list(cfn.get(statement, "Principal.Service")):
            if isinstance(service, str):
                services.add(service)
    return services


def _namespace_roles(resource: Resource) -> list[str]:
    found = []
    for value in [*cfn.as_list(resource.get("IamRoles")), resource.get("DefaultIamRoleArn")]:
        role = resource.role_of(value) if value is not None else None
        if role and role not in found:
            found.append(role)
    return found


def _key_of(resource: Resource, logical_id: str, path: str) -> str | None:
    value = cfn.raw(cfn.get(resource.properties_of(logical_id), path))
    key = resource.resource_of(value, "AWS::KMS::Key")
    return "${" + key + ".Arn}" if key else None


def _streaming_calls(resource: Resource) -> list[Call]:
    calls: list[Call] = []
    for stream in sorted(resource.of_type("AWS::Kinesis::Stream")):
        arn = "${" + stream + ".Arn}"
        calls += [Call(action, arn) for action in READ_STREAM]
        key = _key_of(resource, stream, "StreamEncryption.KeyId")
        if key:
            context = {
                "kms:ViaService": "kinesis.${AWS::Region}.amazonaws.com",
                "kms:EncryptionContext:aws:kinesis:arn": arn,
            }
            calls.append(Call("kms:Decrypt", key, context))
    if calls:
        calls += [Call(action, "*") for action in LIST_STREAMS]
    return calls


def _policy_names(resource: Resource, role: str, logical_id: str) -> bool:
    """Whether a managed policy attached to ``role`` refers to ``logical_id``."""
    for policy in resource.of_type("AWS::IAM::ManagedPolicy").values():
        properties = cfn.properties_of(policy)
        attached = {resource.role_of(value) for value in cfn.as_list(properties.get("Roles"))}
        if role in attached and logical_id in cfn.referenced_ids(
            properties.get("PolicyDocument"), with_sub=True
        ):
            return True
    return False


def _model_calls(resource: Resource, role: str) -> list[Call]:
    calls = [Call(action, "*") for action in TRAINING_SUPPORT[:1] + TRAINING_SUPPORT[3:4]]
    calls += [
        Call(action, TRAINING_IMAGE)
        for action in ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage")
    ]
    calls += [Call("ecr:GetDownloadUrlForLayer", TRAINING_IMAGE)]
    calls += [
        Call("sagemaker:CreateTrainingJob", TRAINING_JOB),
        Call("sagemaker:DescribeTrainingJob", TRAINING_JOB),
        Call("sagemaker:CreateCompilationJob", COMPILATION_JOB),
        Call("sagemaker:DescribeCompilationJob", COMPILATION_JOB),
        Call(
            "iam:PassRole",
            "${" + role + ".Arn}",
            {"iam:PassedToService": "sagemaker.amazonaws.com"},
        ),
    ]
    calls += [Call(action, TRAINING_LOG_STREAM) for action in TRAINING_LOGS]
    for bucket in sorted(resource.of_type("AWS::S3::Bucket")):
        if not _policy_names(resource, role, bucket):
            continue
        arn = "${" + bucket + ".Arn}"
        calls += [Call(action, f"{arn}/{MODEL_PREFIX}/data.csv") for action in BUCKET_OBJECTS]
        calls += [Call(action, arn) for action in BUCKET_LISTING]
        key = _key_of(
            resource,
            bucket,
            "BucketEncryption.ServerSideEncryptionConfiguration",
        ) or _bucket_key(resource, bucket)
        if key:
            calls += [Call(action, key) for action in KEY_USE]
    return calls


def _bucket_key(resource: Resource, bucket: str) -> str | None:
    rules = cfn.raw(
        cfn.get(
            resource.properties_of(bucket), "BucketEncryption.ServerSideEncryptionConfiguration"
        )
    )
    for rule in cfn.as_list(rules):
        key = resource.resource_of(
            cfn.raw(cfn.get(rule, "ServerSideEncryptionByDefault.KMSMasterKeyID")),
            "AWS::KMS::Key",
        )
        if key:
            return "${" + key + ".Arn}"
    return None


@derives("AWS::RedshiftServerless::Namespace")
def namespace_roles(resource: Resource) -> list[Scenario]:
    scenarios = []
    for role in _namespace_roles(resource):
        services = _trusted_services(resource, role)
        if not services & REDSHIFT_PRINCIPALS:
            continue
        streaming = _streaming_calls(resource)
        if streaming:
            scenarios.append(
                resource.scenario(
                    "Redshift reads the stream of a streaming-ingestion view",
                    role,
                    STREAMING,
                    streaming,
                    on_behalf_of="Redshift, refreshing the materialized view",
                )
            )
        if "sagemaker.amazonaws.com" in services:
            scenarios.append(
                resource.scenario(
                    "CREATE MODEL unloads training data and SageMaker trains the model",
                    role,
                    REDSHIFT_ML,
                    _model_calls(resource, role),
                    on_behalf_of="Redshift and SageMaker AI, running CREATE MODEL",
                )
            )
    return scenarios


def _named(resource: Resource, value: Any, resource_type: str) -> str | None:
    return resource.resource_of(cfn.raw(value), resource_type)


@derives("Custom::RedshiftSql")
def sql_runner(resource: Resource) -> list[Scenario]:
    function = _named(resource, resource.get("ServiceToken"), "AWS::Lambda::Function")
    role = resource.role_of(resource.properties_of(function).get("Role")) if function else None
    namespace = _named(
        resource, resource.get("NamespaceName"), "AWS::RedshiftServerless::Namespace"
    )
    workgroup = _named(
        resource, resource.get("WorkgroupName"), "AWS::RedshiftServerless::Workgroup"
    )
    if role is None or namespace is None or workgroup is None:
        return []
    name = resource.text(resource.properties_of(namespace).get("NamespaceName"))
    user = resource.text(resource.properties_of(namespace).get("AdminUsername")) or "admin"
    secret = f"{_PREFIX}:secretsmanager:{_HERE}:secret:redshift!{name}-{user}-AbCdEf"
    calls = [
        Call("redshift-serverless:GetNamespace", "${" + namespace + ".Namespace.NamespaceArn}"),
        Call("redshift-data:ExecuteStatement", "${" + workgroup + ".Workgroup.WorkgroupArn}"),
        Call("redshift-data:DescribeStatement", "*"),
        Call("secretsmanager:GetSecretValue", secret),
    ]
    key = _key_of(resource, namespace, "AdminPasswordSecretKmsKeyId")
    if key:
        context = {"kms:ViaService": "secretsmanager.${AWS::Region}.amazonaws.com"}
        calls.append(Call("kms:Decrypt", key, context))
    return [
        resource.scenario(
            "the function runs the stack's SQL through the Data API as the admin user",
            role,
            DATA_API,
            calls,
            on_behalf_of="Lambda, answering CloudFormation for the custom resource",
        )
    ]
