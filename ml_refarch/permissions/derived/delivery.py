"""Firehose delivery streams and API Gateway: the roles those services act as.

- A Firehose delivery stream's role, per "Controlling access with Amazon Data Firehose"
  (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html): writes the S3
  destination (``s3:AbortMultipartUpload``, ``GetBucketLocation``, ``GetObject``,
  ``ListBucket``, ``ListBucketMultipartUploads``, ``PutObject``), with the bucket's KMS key
  through S3 (``kms:GenerateDataKey``, ``kms:Decrypt``); reads a Kinesis source stream
  (``kinesis:DescribeStream``, ``GetShardIterator``, ``GetRecords``, ``ListShards``) and
  decrypts with its key through Kinesis; reads the Glue table of record format conversion
  (``glue:GetTable``, ``GetTableVersion``, ``GetTableVersions`` on catalog, database and
  table); writes error logs (``logs:PutLogEvents``); invokes a Lambda processor
  (``lambda:InvokeFunction``, ``lambda:GetFunctionConfiguration``).
- An API Gateway method with an AWS integration and ``Credentials``: API Gateway calls the
  service as that role ("Integration" of ``AWS::ApiGateway::Method``,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-apigateway-method-integration.html);
  for ``runtime.sagemaker`` ``path/endpoints/NAME/invocations`` that is
  ``sagemaker:InvokeEndpoint`` on the endpoint.
- ``AWS::ApiGateway::Account``'s ``CloudWatchRoleArn``: API Gateway writes execution logs to
  ``API-Gateway-Execution-Logs_{rest-api-id}/{stage}`` with the actions "Set up CloudWatch
  logging for REST APIs in API Gateway" lists
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
"""

from __future__ import annotations

import re
from typing import Any

from ml_refarch import cfn
from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.derived.definitions import render_text
from ml_refarch.permissions.scenarios import Call, Scenario

FIREHOSE = "https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html"
APIGW_INTEGRATION = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
    "aws-properties-apigateway-method-integration.html"
)
APIGW_LOGS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html"

S3_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:PutObject",
)
KINESIS_ACTIONS = (
    "kinesis:DescribeStream",
    "kinesis:GetShardIterator",
    "kinesis:GetRecords",
    "kinesis:ListShards",
)
GLUE_ACTIONS = ("glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions")
APIGW_LOG_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)
_PREFIX = "arn:${AWS::Partition}"
_HERE = "${AWS::Region}:${AWS::AccountId}"


def _ref(resource: Resource, value: Any, kind: str, attribute: str = "") -> str | None:
    found = resource.resource_of(cfn.raw(value), kind)
    if found is None:
        return None
    return "${" + found + (f".{attribute}" if attribute else "") + "}"


def _encryption_key(resource: Resource, logical_id: str, path: str) -> str | None:
    properties = cfn.properties_of(cfn.resources(resource.template)[logical_id])
    for entry in cfn.as_list(cfn.raw(cfn.get(properties, path.split("|")[0]))):
        key = cfn.get(entry, path.split("|")[1]) if "|" in path else entry
        found = _ref(resource, key, "AWS::KMS::Key", "Arn")
        if found:
            return found
    return None


def _destination_calls(resource: Resource, config: Any) -> list[Call]:
    bucket = resource.resource_of(cfn.raw(cfn.get(config, "BucketARN")), "AWS::S3::Bucket")
    if bucket is None:
        return []
    arn = "${" + bucket + ".Arn}"
    calls = [Call(a, arn if "Bucket" in a else f"{arn}/data/part-0") for a in S3_ACTIONS]
    key = _ref(
        resource,
        cfn.get(config, "EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN"),
        "AWS::KMS::Key",
        "Arn",
    ) or _encryption_key(
        resource,
        bucket,
        "BucketEncryption.ServerSideEncryptionConfiguration|"
        "ServerSideEncryptionByDefault.KMSMasterKeyID",
    )
    if key:
        context = {
            "kms:ViaService": "s3.${AWS::Region}.amazonaws.com",
            "kms:EncryptionContext:aws:s3:arn": arn,
        }
        calls += [Call("kms:GenerateDataKey", key, context), Call("kms:Decrypt", key, context)]
    group = _ref(
        resource, cfn.get(config, "CloudWatchLoggingOptions.LogGroupName"), "AWS::Logs::LogGroup"
    )
    stream = cfn.get(config, "CloudWatchLoggingOptions.LogStreamName")
    if cfn.truthy(cfn.get(config, "CloudWatchLoggingOptions.Enabled")) and group:
        name = stream if isinstance(stream, str) else "stream"
        calls.append(
            Call("logs:PutLogEvents", f"{_PREFIX}:logs:{_HERE}:log-group:{group}:log-stream:{name}")
        )
    schema = cfn.get(config, "DataFormatConversionConfiguration.SchemaConfiguration")
    if (
        cfn.truthy(cfn.get(config, "DataFormatConversionConfiguration.Enabled")) is not False
        and schema
    ):
        database, table = cfn.get(schema, "DatabaseName"), cfn.get(schema, "TableName")
        if isinstance(database, str) and isinstance(table, str):
            for target in ("catalog", f"database/{database}", f"table/{database}/{table}"):
                calls += [Call(a, f"{_PREFIX}:glue:{_HERE}:{target}") for a in GLUE_ACTIONS]
    for processor in cfn.as_list(cfn.get(config, "ProcessingConfiguration.Processors")):
        for parameter in cfn.as_list(cfn.get(processor, "Parameters")):
            if cfn.get(parameter, "ParameterName") == "LambdaArn":
                function = _ref(
                    resource, cfn.get(parameter, "ParameterValue"), "AWS::Lambda::Function", "Arn"
                )
                if function:
                    calls += [
                        Call("lambda:InvokeFunction", function),
                        Call("lambda:GetFunctionConfiguration", function),
                    ]
    return calls


@derives("AWS::KinesisFirehose::DeliveryStream")
def delivery_stream(resource: Resource) -> list[Scenario]:
    scenarios = []
    source = resource.properties.get("KinesisStreamSourceConfiguration")
    source_role = resource.role_of(cfn.raw(cfn.get(source, "RoleARN"))) if source else None
    stream = (
        resource.resource_of(cfn.raw(cfn.get(source, "KinesisStreamARN")), "AWS::Kinesis::Stream")
        if source
        else None
    )
    if source_role and stream:
        arn = "${" + stream + ".Arn}"
        calls = [Call(a, arn) for a in KINESIS_ACTIONS]
        key = _encryption_key(resource, stream, "StreamEncryption.KeyId")
        if key:
            context = {
                "kms:ViaService": "kinesis.${AWS::Region}.amazonaws.com",
                "kms:EncryptionContext:aws:kinesis:arn": arn,
            }
            calls.append(Call("kms:Decrypt", key, context))
        scenarios.append(
            resource.scenario(
                "Firehose reads the source stream",
                source_role,
                FIREHOSE,
                calls,
                on_behalf_of="Firehose, for the delivery stream",
            )
        )
    for name in ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration"):
        config = resource.properties.get(name)
        role = resource.role_of(cfn.raw(cfn.get(config, "RoleARN"))) if config else None
        calls = _destination_calls(resource, config) if role else []
        if calls:
            scenarios.append(
                resource.scenario(
                    "Firehose delivers to the S3 destination",
                    role,
                    FIREHOSE,
                    calls,
                    on_behalf_of="Firehose, for the delivery stream",
                )
            )
    return scenarios


_SAGEMAKER_RUNTIME = re.compile(r":runtime\.sagemaker:path/endpoints/([^/]+)/invocations$")


@derives("AWS::ApiGateway::Method")
def method_integration(resource: Resource) -> list[Scenario]:
    role = resource.role_of(cfn.raw(resource.get("Integration.Credentials")))
    uri = render_text(resource.get("Integration.Uri"))
    match = _SAGEMAKER_RUNTIME.search(uri or "")
    if role is None or match is None:
        return []
    name = match.group(1)
    placeholder = re.fullmatch(r"\$\{([A-Za-z0-9]+)\.EndpointName\}", name)
    # SageMaker writes names in lower case in its ARNs, which IAM matches case-sensitively;
    # an endpoint of the template is named by its Ref, the ARN SageMaker reports.
    endpoint = (
        "${" + placeholder.group(1) + "}"
        if placeholder
        else f"{_PREFIX}:sagemaker:{_HERE}:endpoint/{name.lower()}"
    )
    return [
        resource.scenario(
            "API Gateway invokes the SageMaker endpoint",
            role,
            APIGW_INTEGRATION,
            [Call("sagemaker:InvokeEndpoint", endpoint)],
            on_behalf_of="API Gateway, for a request to the method",
        )
    ]


@derives("AWS::ApiGateway::Account")
def account_logs_role(resource: Resource) -> list[Scenario]:
    role = resource.role_of(cfn.raw(resource.properties.get("CloudWatchRoleArn")))
    if role is None:
        return []
    apis = sorted(resource.of_type("AWS::ApiGateway::RestApi")) or ["api"]
    stages = [
        cfn.properties_of(s).get("StageName")
        for s in resource.of_type("AWS::ApiGateway::Stage").values()
    ]
    stage = next((s for s in stages if isinstance(s, str)), "prod")
    api = "${" + apis[0] + "}" if apis != ["api"] else "api"
    group = f"{_PREFIX}:logs:{_HERE}:log-group:API-Gateway-Execution-Logs_{api}/{stage}"
    stream_actions = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents")
    calls = [
        Call(a, f"{group}:log-stream:run" if a in stream_actions else f"{group}:*")
        for a in APIGW_LOG_ACTIONS
    ]
    return [
        resource.scenario(
            "API Gateway writes execution logs",
            role,
            APIGW_LOGS,
            calls,
            on_behalf_of="API Gateway, for the account's REST API stages",
        )
    ]
