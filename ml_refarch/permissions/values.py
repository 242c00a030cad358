"""Concrete stand-ins for what a template's references resolve to at deploy time.

Evaluating a policy offline needs strings where the template has ``Ref`` and ``Fn::GetAtt``:
every resource gets a name derived from its logical id, and ARNs built the way the
service builds them (the "Amazon Resource Names" formats of the Service Authorization
Reference), in one made-up account and region. A property that fixes the name (such as
``BucketName``) is used instead when it is a plain string.

What each reference of a type returns is on the type's page of the CloudFormation template
reference ("Return values"): for example ``Ref`` of an ``AWS::SNS::Topic`` is its ARN, of an
``AWS::SQS::Queue`` its URL, of an ``AWS::SageMaker::Model`` its ARN.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
PARTITION = "aws"

PSEUDO_PARAMETERS: dict[str, str] = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/stack/0000",
}


def _arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def _uuid(logical_id: str) -> str:
    digest = hashlib.sha256(logical_id.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _short_id(prefix: str, logical_id: str) -> str:
    return f"{prefix}-{hashlib.sha256(logical_id.encode()).hexdigest()[:17]}"


#: type -> (name property, function (name, logical id) -> {"": Ref, attribute: value}).
Naming = Callable[[str, str], dict[str, str]]


def _sagemaker(kind: str, name_attribute: str) -> Naming:
    def values(name: str, _: str) -> dict[str, str]:
        arn = _arn("sagemaker", f"{kind}/{name.lower()}")
        return {"": arn, name_attribute: name, f"{kind.title().replace('-', '')}Arn": arn}

    return values


_TYPES: dict[str, tuple[str, Naming]] = {
    "AWS::S3::Bucket": (
        "BucketName",
        lambda name, _: {
            "": name,
            "Arn": f"arn:{PARTITION}:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
        },
    ),
    "AWS::KMS::Key": (
        "",
        lambda _, logical_id: {
            "": _uuid(logical_id),
            "KeyId": _uuid(logical_id),
            "Arn": _arn("kms", f"key/{_uuid(logical_id)}"),
        },
    ),
    "AWS::KMS::Alias": ("AliasName", lambda name, _: {"": name}),
    "AWS::IAM::Role": (
        "RoleName",
        lambda name, _: {
            "": name,
            "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "RoleId": f"AROA{name.upper()[:17]}",
        },
    ),
    "AWS::IAM::ManagedPolicy": (
        "ManagedPolicyName",
        lambda name, _: {"": f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{name}"},
    ),
    "AWS::Logs::LogGroup": (
        "LogGroupName",
        lambda name, _: {"": name, "Arn": _arn("logs", f"log-group:{name}:*")},
    ),
    "AWS::Lambda::Function": (
        "FunctionName",
        lambda name, _: {"": name, "Arn": _arn("lambda", f"function:{name}")},
    ),
    "AWS::Lambda::LayerVersion": (
        "LayerName",
        lambda name, _: {"": _arn("lambda", f"layer:{name}:1")},
    ),
    "AWS::SNS::Topic": (
        "TopicName",
        lambda name, _: {"": _arn("sns", name), "TopicArn": _arn("sns", name), "TopicName": name},
    ),
    "AWS::SQS::Queue": (
        "QueueName",
        lambda name, _: {
            "": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
            "Arn": _arn("sqs", name),
            "QueueName": name,
            "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
        },
    ),
    "AWS::Kinesis::Stream": (
        "Name",
        lambda name, _: {"": name, "Arn": _arn("kinesis", f"stream/{name}")},
    ),
    "AWS::KinesisFirehose::DeliveryStream": (
        "DeliveryStreamName",
        lambda name, _: {"": name, "Arn": _arn("firehose", f"deliverystream/{name}")},
    ),
    "AWS::StepFunctions::StateMachine": (
        "StateMachineName",
        lambda name, _: {
            "": _arn("states", f"stateMachine:{name}"),
            "Arn": _arn("states", f"stateMachine:{name}"),
            "Name": name,
        },
    ),
    "AWS::Events::Rule": (
        "Name",
        lambda name, _: {"": name, "Arn": _arn("events", f"rule/{name}")},
    ),
    "AWS::CloudWatch::Alarm": (
        "AlarmName",
        lambda name, _: {"": name, "Arn": _arn("cloudwatch", f"alarm:{name}")},
    ),
    "AWS::Glue::Database": ("", lambda name, _: {"": name}),
    "AWS::Glue::Table": ("", lambda name, _: {"": name}),
    "AWS::DynamoDB::Table": (
        "TableName",
        lambda name, _: {"": name, "Arn": _arn("dynamodb", f"table/{name}")},
    ),
    "AWS::ECR::Repository": (
        "RepositoryName",
        lambda name, _: {"": name, "Arn": _arn("ecr", f"repository/{name}")},
    ),
    "AWS::CodeArtifact::Domain": (
        "DomainName",
        lambda name, _: {
            "": _arn("codeartifact", f"domain/{name}"),
            "Name": name,
            "Arn": _arn("codeartifact", f"domain/{name}"),
            "Owner": ACCOUNT,
        },
    ),
    "AWS::CodeArtifact::Repository": (
        "RepositoryName",
        lambda name, _: {
            "": _arn("codeartifact", f"repository/domain/{name}"),
            "Name": name,
            "Arn": _arn("codeartifact", f"repository/domain/{name}"),
        },
    ),
    "AWS::SageMaker::Model": ("ModelName", _sagemaker("model", "ModelName")),
    "AWS::SageMaker::EndpointConfig": (
        "EndpointConfigName",
        _sagemaker("endpoint-config", "EndpointConfigName"),
    ),
    "AWS::SageMaker::Endpoint": ("EndpointName", _sagemaker("endpoint", "EndpointName")),
    "AWS::SageMaker::NotebookInstance": (
        "NotebookInstanceName",
        _sagemaker("notebook-instance", "NotebookInstanceName"),
    ),
    "AWS::SageMaker::Domain": (
        "",
        lambda _, logical_id: {
            "": _arn("sagemaker", f"domain/{_short_id('d', logical_id)}"),
            "DomainId": _short_id("d", logical_id),
            "DomainArn": _arn("sagemaker", f"domain/{_short_id('d', logical_id)}"),
        },
    ),
    "AWS::SageMaker::Pipeline": (
        "PipelineName",
        lambda name, _: {"": name, "Arn": _arn("sagemaker", f"pipeline/{name.lower()}")},
    ),
    "AWS::EC2::VPC": ("", lambda _, logical_id: {"": _short_id("vpc", logical_id)}),
    "AWS::EC2::Subnet": ("", lambda _, logical_id: {"": _short_id("subnet", logical_id)}),
    "AWS::EC2::SecurityGroup": (
        "",
        lambda _, logical_id: {
            "": _short_id("sg", logical_id),
            "GroupId": _short_id("sg", logical_id),
        },
    ),
    "AWS::EC2::VPCEndpoint": ("", lambda _, logical_id: {"": _short_id("vpce", logical_id)}),
    "AWS::FSx::FileSystem": ("", lambda _, logical_id: {"": _short_id("fs", logical_id)}),
    "AWS::ApiGateway::RestApi": (
        "",
        lambda _, logical_id: {"": logical_id.lower()[:10], "RootResourceId": "root"},
    ),
    # Ref is the name; the ARNs end in the namespace's or workgroup's id (a UUID).
    "AWS::RedshiftServerless::Namespace": (
        "NamespaceName",
        lambda name, logical_id: {
            "": name,
            "Namespace.NamespaceName": name,
            "Namespace.NamespaceArn": _arn("redshift-serverless", f"namespace/{_uuid(logical_id)}"),
        },
    ),
    "AWS::RedshiftServerless::Workgroup": (
        "WorkgroupName",
        lambda name, logical_id: {
            "": name,
            "Workgroup.WorkgroupName": name,
            "Workgroup.WorkgroupArn": _arn("redshift-serverless", f"workgroup/{_uuid(logical_id)}"),
        },
    ),
    "AWS::IAM::InstanceProfile": (
        "InstanceProfileName",
        lambda name, _: {
            "": name,
            "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:instance-profile/{name}",
        },
    ),
    "AWS::Batch::ComputeEnvironment": (
        "ComputeEnvironmentName",
        lambda name, _: {
            "": _arn("batch", f"compute-environment/{name}"),
            "ComputeEnvironmentArn": _arn("batch", f"compute-environment/{name}"),
        },
    ),
    "AWS::Batch::JobQueue": (
        "JobQueueName",
        lambda name, _: {
            "": _arn("batch", f"job-queue/{name}"),
            "JobQueueArn": _arn("batch", f"job-queue/{name}"),
        },
    ),
    # Ref of a job definition is its ARN with the revision (the first one here).
    "AWS::Batch::JobDefinition": (
        "JobDefinitionName",
        lambda name, _: {
            "": _arn("batch", f"job-definition/{name}:1"),
            "JobDefinitionArn": _arn("batch", f"job-definition/{name}:1"),
        },
    ),
    # Ref of a feature group is its name; it has no ARN attribute.
    "AWS::SageMaker::FeatureGroup": ("FeatureGroupName", lambda name, _: {"": name}),
    # Ref of an EMR Serverless application is its id; its ARN ends in /applications/<id>.
    "AWS::EMRServerless::Application": (
        "",
        lambda _, logical_id: {
            "": _short_id("app", logical_id),
            "ApplicationId": _short_id("app", logical_id),
            "Arn": _arn("emr-serverless", f"/applications/{_short_id('app', logical_id)}"),
        },
    ),
    "AWS::Athena::WorkGroup": ("Name", lambda name, _: {"": name}),
    "AWS::Scheduler::Schedule": (
        "Name",
        lambda name, _: {"": name, "Arn": _arn("scheduler", f"schedule/default/{name}")},
    ),
}


def _name(logical_id: str, properties: Mapping[str, Any], name_property: str) -> str:
    given = properties.get(name_property) if name_property else None
    return given if isinstance(given, str) else logical_id.lower()


def _default(resource_type: str, name: str) -> dict[str, str]:
    service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "x"
    return {"": name, "Arn": _arn(service, name)}


def reference_values(template: Mapping[str, Any]) -> dict[str, str]:
    """What ``Ref`` and ``Fn::GetAtt`` of each resource and parameter stand for.

    Keys are ``logical_id`` (``Ref``) and ``logical_id.Attribute``; pseudo parameters are
    included. A parameter stands for its default value, or its name when it has none.
    """
    values = dict(PSEUDO_PARAMETERS)
    for name, parameter in template.get("Parameters", {}).items():
        default = parameter.get("Default")
        values[name] = default if isinstance(default, str) else name.lower()
    for logical_id, resource in template.get("Resources", {}).items():
        resource_type = resource.get("Type", "")
        properties = resource.get("Properties", {}) or {}
        name_property, naming = _TYPES.get(resource_type, ("", None))
        name = _name(logical_id, properties, name_property)
        returned = naming(name, logical_id) if naming else _default(resource_type, name)
        for attribute, value in returned.items():
            values[f"{logical_id}.{attribute}" if attribute else logical_id] = value
    return values
