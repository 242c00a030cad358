"""VPC flow logs published to CloudWatch Logs: what the flow-log service does as the role.

"IAM role for publishing flow logs to CloudWatch Logs" (Amazon VPC User Guide,
:data:`FLOW_LOGS_ROLE`) lists what the role's policy must allow: ``logs:CreateLogGroup``,
``CreateLogStream``, ``PutLogEvents``, ``DescribeLogGroups`` and ``DescribeLogStreams``
(one stream per network interface in the group). ``CreateLogGroup`` only matters when the
group does not exist yet ("a new log group that will be created when you create this flow
log"), so it is asked for only when the template does not create the group.

``DescribeLogGroups`` lists the account's groups: its request is on the region's
``log-group:*``, not on one group ("When you specify the logs:DescribeLogGroups ...
permission, be sure to set the ARN of its Resource line to use a * wildcard, instead of
specifying only a single log group name", "Logs sent to CloudWatch Logs", CloudWatch Logs
User Guide, :data:`DESCRIBE_LOG_GROUPS`).

The key of an encrypted flow-log group is the Logs service's business
(:mod:`.logs_and_functions`).
"""

from __future__ import annotations

from ml_refarch.permissions.derive import Resource, derives
from ml_refarch.permissions.scenarios import Call, Scenario
from ml_refarch.permissions.values import ACCOUNT, REGION

FLOW_LOGS_ROLE = "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-cwl.html"
DESCRIBE_LOG_GROUPS = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-CWL.html"
)


def _group(resource: Resource) -> tuple[str, bool] | None:
    """``${...}`` text for the flow log's group name, and whether the template creates it."""
    value = resource.properties.get("LogGroupName")
    if value is None:
        destination = resource.text(resource.properties.get("LogDestination"))
        if destination is None or ":log-group:" not in destination:
            return None
        return destination.split(":log-group:", 1)[1].split(":", 1)[0], False
    group = resource.resource_of(value, "AWS::Logs::LogGroup")
    if group is not None:
        return "${" + group + "}", True
    text = resource.text(value)
    return (text, False) if text is not None else None


@derives("AWS::EC2::FlowLog")
def flow_log_role(resource: Resource) -> list[Scenario]:
    role = resource.role_of(resource.properties.get("DeliverLogsPermissionArn"))
    kind = resource.properties.get("LogDestinationType", "cloud-watch-logs")
    found = _group(resource) if kind == "cloud-watch-logs" else None
    if role is None or found is None:
        return []
    name, created = found
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
    stream = f"{group_arn}:log-stream:eni-0123456789abcdef0-all"
    calls = [
        Call("logs:CreateLogStream", stream),
        Call("logs:PutLogEvents", stream),
        Call("logs:DescribeLogStreams", f"{group_arn}:*"),
        Call("logs:DescribeLogGroups", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"),
    ]
    if not created:
        calls.append(Call("logs:CreateLogGroup", f"{group_arn}:*"))
    return [
        resource.scenario(
            "VPC Flow Logs publishes flow records to the log group",
            role,
            FLOW_LOGS_ROLE,
            calls,
            on_behalf_of="VPC Flow Logs",
        )
    ]
