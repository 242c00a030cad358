"""Lambda functions and CloudWatch Logs: what a function's role and the Logs service do.

- A function's execution role writes the function's logs (CreateLogStream, PutLogEvents
  on its log group): "Sending Lambda function logs to CloudWatch Logs"
  (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html).
- A function in a VPC: Lambda creates and deletes its network interfaces with the execution
  role's permissions: "Giving Lambda functions access to resources in an Amazon VPC"
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
- A dead-letter target: Lambda sends failed asynchronous events with the execution role:
  "Adding a dead-letter queue"
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
- A log group encrypted with a customer managed key: CloudWatch Logs (the regional service
  principal) encrypts and decrypts with the key, with the log group's ARN as encryption
  context, and only the key policy can allow it: "Encrypt log data in CloudWatch Logs using
  AWS Key Management Service"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
"""

from __future__ import annotations

from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT, REGION

LAMBDA_LOGS = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html"
LAMBDA_VPC = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html"
LAMBDA_DLQ = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"
LOGS_KMS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"

#: What Lambda calls to attach a function to a VPC (the AWSLambdaVPCAccessExecutionRole
#: managed policy lists the same actions).
VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def log_stream_arn(group: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:stream"


def _log_group_name(resource: Resource) -> str:
    """``${...}`` text for the function's log group: its LoggingConfig's, else the default
    ``/aws/lambda/<function name>``."""
    group = resource.get("LoggingConfig.LogGroup")
    target = resource.resource_of(group, "AWS::Logs::LogGroup") if group else None
    if target:
        return "${" + target + "}"
    if isinstance(group, str):
        return group
    return "/aws/lambda/${" + resource.logical_id + "}"


@derives("AWS::Lambda::Function")
def function_role(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("Role"))
    if role is None:
        return []
    group = _log_group_name(resource)
    scenarios = [
        resource.scenario(
            "the function writes its logs",
            role,
            LAMBDA_LOGS,
            [
                Call("logs:CreateLogStream", log_stream_arn(group)),
                Call("logs:PutLogEvents", log_stream_arn(group)),
            ],
            on_behalf_of="Lambda, running the function",
        )
    ]
    if resource.properties.get("VpcConfig"):
        scenarios.append(
            resource.scenario(
                "Lambda connects the function to its VPC",
                role,
                LAMBDA_VPC,
                [Call(action, "*") for action in VPC_ACTIONS],
                on_behalf_of="Lambda, for the function",
            )
        )
    target = resource.get("DeadLetterConfig.TargetArn")
    queue = resource.resource_of(target, "AWS::SQS::Queue") if target else None
    topic = resource.resource_of(target, "AWS::SNS::Topic") if target else None
    if queue or topic:
        call = (
            Call("sqs:SendMessage", "${" + queue + ".Arn}")
            if queue
            else Call("sns:Publish", "${" + topic + "}")
        )
        scenarios.append(
            resource.scenario(
                "Lambda sends a failed event to the dead-letter target",
                role,
                LAMBDA_DLQ,
                [call],
                on_behalf_of="Lambda, for the function",
            )
        )
    return scenarios


@derives("AWS::Logs::LogGroup")
def log_group_key(resource: Resource) -> list[Scenario]:
    key = resource.resource_of(resource.properties.get("KmsKeyId"), "AWS::KMS::Key")
    if key is None:
        return []
    context = {
        "kms:EncryptionContext:aws:logs:arn": (
            f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:${{{resource.logical_id}}}"
        )
    }
    return [
        resource.scenario(
            "CloudWatch Logs encrypts and reads the group's events with its key",
            f"service:logs.{REGION}.amazonaws.com",
            LOGS_KMS,
            [
                Call(action, "${" + key + ".Arn}", context)
                for action in ("kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt")
            ],
            on_behalf_of="the log group",
        )
    ]
