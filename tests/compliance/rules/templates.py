"""Small CloudFormation templates for rule tests: one resource ``Subject`` under test, and
its neighbours, as plain template dicts (no CDK app, so they cost nothing to build)."""

from __future__ import annotations

import copy
from typing import Any

REMOVE = object()
KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
REGION_PREFIX = "com.amazonaws.eu-west-1."
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def res(resource_type: str, **properties: Any) -> dict[str, Any]:
    return {"Type": resource_type, "Properties": properties}


def set_path(resources: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``resources`` with ``LogicalId.Property...`` set (REMOVE deletes it)."""
    result = copy.deepcopy(resources)
    logical_id, *parts = path.split(".")
    node: Any = result[logical_id]["Properties"]
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    leaf = parts[-1]
    if isinstance(node, list):
        node[int(leaf)] = value
    elif value is REMOVE:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return result


def value_at(resources: dict[str, Any], path: str) -> Any:
    logical_id, *parts = path.split(".")
    node: Any = resources[logical_id]["Properties"]
    for part in parts:
        if isinstance(node, list):
            node = node[int(part)]
        elif part in node:
            node = node[part]
        else:
            return REMOVE
    return node


def notebook(**properties: Any) -> dict[str, Any]:
    return res("AWS::SageMaker::NotebookInstance", InstanceType="ml.t3.medium", **properties)


def two_vpcs(*, s3: bool = True) -> dict[str, dict[str, Any]]:
    """VpcA (no endpoints) with SubnetA, VpcB with SageMaker endpoints and SubnetB."""
    resources = {
        "VpcA": res("AWS::EC2::VPC", CidrBlock="10.0.0.0/16"),
        "VpcB": res("AWS::EC2::VPC", CidrBlock="10.1.0.0/16"),
        "SubnetA": res("AWS::EC2::Subnet", VpcId={"Ref": "VpcA"}, CidrBlock="10.0.0.0/24"),
        "SubnetB": res("AWS::EC2::Subnet", VpcId={"Ref": "VpcB"}, CidrBlock="10.1.0.0/24"),
    }
    for name, service, kind in (
        ("Api", "sagemaker.api", "Interface"),
        ("Runtime", "sagemaker.runtime", "Interface"),
        ("S3", "s3", "Gateway"),
    ):
        if service != "s3" or s3:
            resources[name] = res(
                "AWS::EC2::VPCEndpoint",
                VpcId={"Ref": "VpcB"},
                ServiceName=REGION_PREFIX + service,
                VpcEndpointType=kind,
            )
    return resources


def model(**properties: Any) -> dict[str, Any]:
    return res(
        "AWS::SageMaker::Model", ExecutionRoleArn="arn:aws:iam::123456789012:role/m", **properties
    )


def subnets_in(*zones: str) -> dict[str, dict[str, Any]]:
    return {
        f"S{index}": res(
            "AWS::EC2::Subnet", VpcId="vpc-1", CidrBlock="10.0.0.0/24", AvailabilityZone=zone
        )
        for index, zone in enumerate(zones, start=1)
    }


def instance_variant(**overrides: Any) -> dict[str, Any]:
    return {
        "VariantName": "A",
        "ModelName": "m",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 2,
        **overrides,
    }


def endpoint_config(*variants: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return res("AWS::SageMaker::EndpointConfig", ProductionVariants=list(variants), **properties)


def serverless_variant(**settings: Any) -> dict[str, Any]:
    return {
        "VariantName": "S",
        "ModelName": "m",
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5, **settings},
    }


def scaled_endpoint(policy_type: str, resource_id: Any = None) -> dict[str, dict[str, Any]]:
    endpoint_name = {"Fn::GetAtt": ["Subject", "EndpointName"]}
    return {
        "Subject": res(
            "AWS::SageMaker::Endpoint",
            EndpointConfigName={"Fn::GetAtt": ["Config", "EndpointConfigName"]},
        ),
        "Config": endpoint_config(instance_variant()),
        "Target": res(
            "AWS::ApplicationAutoScaling::ScalableTarget",
            ServiceNamespace="sagemaker",
            ScalableDimension=VARIANT_DIMENSION,
            MinCapacity=2,
            MaxCapacity=4,
            ResourceId=resource_id
            or {"Fn::Join": ["", ["endpoint/", endpoint_name, "/variant/A"]]},
        ),
        "Policy": res(
            "AWS::ApplicationAutoScaling::ScalingPolicy",
            PolicyType=policy_type,
            ScalingTargetId={"Ref": "Target"},
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 100,
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        ),
    }


def training_machine(**overrides: Any) -> dict[str, dict[str, Any]]:
    """A state machine with one training job passing every JB rule, ``overrides`` applied
    (dotted paths below the request, REMOVE deletes)."""
    request = {
        "RoleArn": "arn:aws:iam::123456789012:role/jobs",
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out", "KmsKeyId": KEY},
        "ResourceConfig": {
            "InstanceCount": 2,
            "InstanceType": "ml.m5.xlarge",
            "VolumeKmsKeyId": KEY,
        },
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {"S3Uri": "s3://bucket/checkpoints"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
    }
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
        "Parameters": request,
        "End": True,
    }
    resources = {
        "Subject": res(
            "AWS::StepFunctions::StateMachine",
            RoleArn="arn:aws:iam::123456789012:role/machine",
            Definition={"StartAt": "Train", "States": {"Train": state}},
        )
    }
    for path, value in overrides.items():
        resources = set_path(resources, f"Subject.{JOB}.{path}", value)
    return resources


JOB = "Definition.States.Train.Parameters"


def converting_firehose(**overrides: Any) -> dict[str, dict[str, Any]]:
    destination = {
        "BucketARN": "arn:aws:s3:::bucket",
        "RoleARN": "arn:aws:iam::123456789012:role/firehose",
        "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 300},
        "ErrorOutputPrefix": "errors/",
        "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": KEY}},
        "DataFormatConversionConfiguration": {"Enabled": True},
    }
    resources = {
        "Subject": res(
            "AWS::KinesisFirehose::DeliveryStream", ExtendedS3DestinationConfiguration=destination
        )
    }
    for path, value in overrides.items():
        resources = set_path(resources, f"Subject.ExtendedS3DestinationConfiguration.{path}", value)
    return resources


def lustre(**properties: Any) -> dict[str, Any]:
    return res("AWS::FSx::FileSystem", FileSystemType="LUSTRE", StorageCapacity=1200, **properties)


def lustre_with_ingress(source: Any, from_port: int = 988) -> dict[str, dict[str, Any]]:
    ingress = {
        "IpProtocol": "tcp",
        "FromPort": from_port,
        "ToPort": 988,
        "SourceSecurityGroupId": source,
    }
    return {
        "Subject": lustre(SecurityGroupIds=[{"Fn::GetAtt": ["Sg", "GroupId"]}]),
        "Sg": res(
            "AWS::EC2::SecurityGroup", GroupDescription="lustre", SecurityGroupIngress=[ingress]
        ),
        "OtherSg": res("AWS::EC2::SecurityGroup", GroupDescription="other"),
    }


INVOKE_URI = "arn:aws:apigateway:eu-west-1:runtime.sagemaker:path//endpoints/e/invocations"


def api(**stage: Any) -> dict[str, dict[str, Any]]:
    return {
        "Subject": res(
            "AWS::ApiGateway::Method",
            HttpMethod="POST",
            AuthorizationType="NONE",
            RestApiId={"Ref": "Api"},
            ResourceId="r",
            Integration={"Type": "AWS", "Uri": INVOKE_URI},
        ),
        "Api": res("AWS::ApiGateway::RestApi", Name="api"),
        "OtherApi": res("AWS::ApiGateway::RestApi", Name="other"),
        "Stage": res("AWS::ApiGateway::Stage", RestApiId={"Ref": "Api"}, **stage),
    }


def domain(**properties: Any) -> dict[str, Any]:
    base = {
        "AuthMode": "IAM",
        "DomainName": "d",
        "DefaultUserSettings": {"ExecutionRole": "arn:aws:iam::123456789012:role/studio"},
        "SubnetIds": ["subnet-1"],
        "VpcId": "vpc-1",
        **properties,
    }
    return res("AWS::SageMaker::Domain", **base)


THROTTLED = [{"HttpMethod": "*", "ResourcePath": "/*", "ThrottlingRateLimit": 10}]
BUCKET_SSE = [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
MODEL_IN_BUCKET = {"Fn::Join": ["", ["s3://", {"Ref": "Subject"}, "/model.tar.gz"]]}
VPC_CONFIG = {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]}
CONTAINER = {"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/i:1"}
