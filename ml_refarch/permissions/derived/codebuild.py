"""CodeBuild projects: what CodeBuild does as a project's service role when a build runs.

- It downloads an S3 source (``s3:GetObject``, ``s3:GetObjectVersion`` on the object,
  ``s3:GetBucketAcl`` and ``s3:GetBucketLocation`` on the bucket) and writes the build's
  output to the CloudWatch Logs group of ``LogsConfig`` (``logs:CreateLogStream``,
  ``logs:PutLogEvents``): "Allow CodeBuild to interact with other AWS services"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html).
- With ``EncryptionKey`` it encrypts build output with that key (``kms:GenerateDataKey``,
  ``kms:Decrypt``): same page.
- With ``VpcConfig`` it places the build in one of the subnets through a network
  interface it creates (:data:`ml_refarch.aws_facts.CODEBUILD_VPC_ACTIONS`, and
  ``ec2:CreateNetworkInterfacePermission`` on the interface for that subnet, authorized
  for CodeBuild): "Allow CodeBuild access to AWS services required to create a VPC
  network interface"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-identity-based-access-control.html).

What the buildspec's commands call (a registry login, pushes) runs as the same role but is
the project's code: the pattern's ``scenarios.toml`` says it.
"""

from __future__ import annotations

from ml_refarch.aws_facts import CODEBUILD_VPC_ACTIONS
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT, REGION

SERVICE_ROLE = "https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html"
VPC_ROLE = (
    "https://docs.aws.amazon.com/codebuild/latest/userguide/"
    "auth-and-access-control-iam-identity-based-access-control.html"
)
SOURCE_BUCKET_ACTIONS = ("s3:GetBucketAcl", "s3:GetBucketLocation")
SOURCE_OBJECT_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")


def _source_calls(resource: Resource) -> list[Call]:
    if resource.get("Source.Type") != "S3":
        return []
    location = resource.text(resource.get("Source.Location"))
    if not location or "/" not in location:
        return []
    bucket, key = location.split("/", 1)
    bucket_arn = f"arn:${{AWS::Partition}}:s3:::{bucket}"
    return [Call(action, f"{bucket_arn}/{key}") for action in SOURCE_OBJECT_ACTIONS] + [
        Call(action, bucket_arn) for action in SOURCE_BUCKET_ACTIONS
    ]


def _log_calls(resource: Resource) -> list[Call]:
    if resource.get("LogsConfig.CloudWatchLogs.Status") != "ENABLED":
        return []
    group = resource.get("LogsConfig.CloudWatchLogs.GroupName")
    logical_id = resource.resource_of(group, "AWS::Logs::LogGroup")
    name = "${" + logical_id + "}" if logical_id else resource.text(group)
    if name is None:
        return []
    stream = f"arn:${{AWS::Partition}}:logs:{REGION}:{ACCOUNT}:log-group:{name}:log-stream:build"
    return [Call("logs:CreateLogStream", stream), Call("logs:PutLogEvents", stream)]


def _key_calls(resource: Resource) -> list[Call]:
    key = resource.resource_of(resource.get("EncryptionKey"), "AWS::KMS::Key")
    if key is None:
        return []
    return [Call(action, "${" + key + ".Arn}") for action in ("kms:GenerateDataKey", "kms:Decrypt")]


def _vpc_calls(resource: Resource) -> list[Call]:
    subnets = resource.get("VpcConfig.Subnets")
    if not isinstance(subnets, list) or not subnets:
        return []
    subnet = resource.text(subnets[0])
    interface = f"arn:${{AWS::Partition}}:ec2:{REGION}:{ACCOUNT}:network-interface/eni-run"
    context = {
        "ec2:Subnet": f"arn:${{AWS::Partition}}:ec2:{REGION}:{ACCOUNT}:subnet/{subnet}",
        "ec2:AuthorizedService": "codebuild.amazonaws.com",
    }
    return [Call(action, "*") for action in CODEBUILD_VPC_ACTIONS] + [
        Call("ec2:CreateNetworkInterfacePermission", interface, context)
    ]


@derives("AWS::CodeBuild::Project")
def project(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("ServiceRole"))
    if role is None:
        return []
    found = [
        ("CodeBuild fetches the source and writes the build log", SERVICE_ROLE, _source_calls),
        ("CodeBuild encrypts the build's output with the project key", SERVICE_ROLE, _key_calls),
        ("CodeBuild places the build in the project's VPC", VPC_ROLE, _vpc_calls),
    ]
    scenarios = []
    for name, doc, calls_of in found:
        calls = calls_of(resource)
        if calls_of is _source_calls:
            calls += _log_calls(resource)
        if calls:
            scenarios.append(
                resource.scenario(name, role, doc, calls, on_behalf_of="CodeBuild, running a build")
            )
    return scenarios
