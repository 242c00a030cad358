"""Does a resource the stand-in says it created really exist? One service call per type.

Each check gets the stand-in's clients, the resource's physical id (from
ListStackResources) and the template's properties with ``Ref`` and ``Fn::GetAtt ...GroupId``
replaced by physical ids, and raises when the service does not know the resource. Types
without a check here are reported as "created, not verified".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ml_refarch.rehearsal.stand_in import Clients


class NotFound(Exception):
    """The service does not know a resource the stand-in listed as created."""


Check = Callable[[Clients, str, Mapping[str, Any]], None]


def _name(physical_id: str) -> str:
    """The name at the end of an ARN (SageMaker resources are listed by ARN)."""
    return physical_id.rsplit("/", 1)[-1]


def _expect(found: bool, what: str) -> None:
    if not found:
        raise NotFound(what)


def _subnet_association(clients: Clients, route_table_id: str, props: Mapping) -> None:
    tables = clients("ec2").describe_route_tables(RouteTableIds=[route_table_id])
    subnets = {a.get("SubnetId") for t in tables["RouteTables"] for a in t["Associations"]}
    _expect(
        props.get("SubnetId") in subnets,
        f"{route_table_id} has no association with "
        f"{props.get('SubnetId')} (associations: {sorted(filter(None, subnets))})",
    )


def _ingress_rule(clients: Clients, _: str, props: Mapping) -> None:
    group_id = props.get("GroupId")
    groups = clients("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    for permission in groups[0]["IpPermissions"]:
        if permission["IpProtocol"] != str(props.get("IpProtocol")):
            continue
        if permission.get("FromPort") != props.get("FromPort") or permission.get(
            "ToPort"
        ) != props.get("ToPort"):
            continue
        sources = {pair["GroupId"] for pair in permission.get("UserIdGroupPairs", [])}
        sources |= {cidr["CidrIp"] for cidr in permission.get("IpRanges", [])}
        sources |= {cidr["CidrIpv6"] for cidr in permission.get("Ipv6Ranges", [])}
        wanted = props.get("SourceSecurityGroupId") or props.get("CidrIp") or props.get("CidrIpv6")
        if wanted in sources:
            return
    raise NotFound(f"{group_id} has no ingress rule {dict(props)}")


def _log_group(clients: Clients, name: str, _: Mapping) -> None:
    groups = clients("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    _expect(any(group["logGroupName"] == name for group in groups), f"no log group {name}")


def _inline_policy(clients: Clients, name: str, props: Mapping) -> None:
    roles = props.get("Roles") or []
    _expect(bool(roles), f"inline policy {name} names no role to look it up on")
    for role in roles:
        clients("iam").get_role_policy(RoleName=role, PolicyName=name)


def _call(service: str, method: str, parameter: str, *, as_list: bool = False) -> Check:
    """A check that calls ``method`` with the physical id (a list of one, if ``as_list``).

    SageMaker lists resources by ARN and takes names, so ARNs are cut to their name. A list
    call must return the resource, not an empty list.
    """

    def check(clients: Clients, physical_id: str, _: Mapping[str, Any]) -> None:
        value = _name(physical_id) if service == "sagemaker" else physical_id
        response = getattr(clients(service), method)(**{parameter: [value] if as_list else value})
        if as_list:
            found = [v for v in response.values() if isinstance(v, list) and v]
            _expect(bool(found), f"{method}({parameter}=[{value!r}]) returned nothing")

    return check


def _api_child(method: str, parameter: str) -> Check:
    """A check of an API Gateway resource that belongs to the API in ``RestApiId``."""

    def check(clients: Clients, physical_id: str, props: Mapping[str, Any]) -> None:
        getattr(clients("apigateway"), method)(
            restApiId=props.get("RestApiId"), **{parameter: physical_id}
        )

    return check


def _api_deployment(clients: Clients, _: str, props: Mapping[str, Any]) -> None:
    # moto lists deployments without a physical id: look for one with this description.
    rest_api_id = props.get("RestApiId")
    items = clients("apigateway").get_deployments(restApiId=rest_api_id)["items"]
    description = props.get("Description")
    _expect(
        any(description in (None, item.get("description")) for item in items),
        f"API {rest_api_id} has no deployment described {description!r}",
    )


def _api_method(clients: Clients, _: str, props: Mapping[str, Any]) -> None:
    # moto lists methods without a physical id; a method is found by API, resource and
    # verb. A ResourceId that resolves to nothing is Fn::GetAtt [Api, RootResourceId].
    api = clients("apigateway")
    rest_api_id = props.get("RestApiId")
    resource_id = (
        props.get("ResourceId") or api.get_rest_api(restApiId=rest_api_id)["rootResourceId"]
    )
    api.get_method(restApiId=rest_api_id, resourceId=resource_id, httpMethod=props["HttpMethod"])


def service_of(resource_type: str) -> str:
    """The boto3 service name of a resource type this module checks (``AWS::EC2::VPC``: ec2)."""
    return resource_type.split("::")[1].lower()


CHECKS: dict[str, Check] = {
    "AWS::ApiGateway::Deployment": _api_deployment,
    "AWS::ApiGateway::Method": _api_method,
    "AWS::ApiGateway::Resource": _api_child("get_resource", "resourceId"),
    "AWS::ApiGateway::RestApi": _call("apigateway", "get_rest_api", "restApiId"),
    "AWS::DynamoDB::Table": _call("dynamodb", "describe_table", "TableName"),
    "AWS::EC2::FlowLog": _call("ec2", "describe_flow_logs", "FlowLogIds", as_list=True),
    "AWS::EC2::RouteTable": _call("ec2", "describe_route_tables", "RouteTableIds", as_list=True),
    "AWS::EC2::SecurityGroup": _call("ec2", "describe_security_groups", "GroupIds", as_list=True),
    "AWS::EC2::SecurityGroupIngress": _ingress_rule,
    "AWS::EC2::Subnet": _call("ec2", "describe_subnets", "SubnetIds", as_list=True),
    "AWS::EC2::SubnetRouteTableAssociation": _subnet_association,
    "AWS::EC2::VPC": _call("ec2", "describe_vpcs", "VpcIds", as_list=True),
    "AWS::EC2::VPCEndpoint": _call("ec2", "describe_vpc_endpoints", "VpcEndpointIds", as_list=True),
    "AWS::Events::Rule": lambda clients, name, props: clients("events").describe_rule(
        Name=name, EventBusName=props.get("EventBusName") or "default"
    ),
    "AWS::IAM::ManagedPolicy": _call("iam", "get_policy", "PolicyArn"),
    "AWS::IAM::Policy": _inline_policy,
    "AWS::IAM::Role": _call("iam", "get_role", "RoleName"),
    "AWS::KMS::Key": _call("kms", "describe_key", "KeyId"),
    "AWS::Kinesis::Stream": _call("kinesis", "describe_stream_summary", "StreamName"),
    "AWS::Lambda::Function": _call("lambda", "get_function", "FunctionName"),
    "AWS::Logs::LogGroup": _log_group,
    "AWS::S3::Bucket": _call("s3", "head_bucket", "Bucket"),
    "AWS::SNS::Topic": _call("sns", "get_topic_attributes", "TopicArn"),
    "AWS::SQS::Queue": _call("sqs", "get_queue_attributes", "QueueUrl"),
    "AWS::SageMaker::Endpoint": _call("sagemaker", "describe_endpoint", "EndpointName"),
    "AWS::SageMaker::EndpointConfig": _call(
        "sagemaker", "describe_endpoint_config", "EndpointConfigName"
    ),
    "AWS::SageMaker::Model": _call("sagemaker", "describe_model", "ModelName"),
    "AWS::SageMaker::NotebookInstance": _call(
        "sagemaker", "describe_notebook_instance", "NotebookInstanceName"
    ),
    "AWS::SageMaker::NotebookInstanceLifecycleConfig": _call(
        "sagemaker",
        "describe_notebook_instance_lifecycle_config",
        "NotebookInstanceLifecycleConfigName",
    ),
    "AWS::StepFunctions::StateMachine": _call(
        "stepfunctions", "describe_state_machine", "stateMachineArn"
    ),
}


def resolve_references(value: Any, physical_ids: Mapping[str, str]) -> Any:
    """``value`` with ``Ref`` and ``Fn::GetAtt [X, GroupId]`` replaced by physical ids.

    Other intrinsic functions become ``None``: the checks only need ids.
    """
    if isinstance(value, dict):
        if "Ref" in value:
            return physical_ids.get(value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"][:2]
            return physical_ids.get(logical_id) if attribute == "GroupId" else None
        if any(key.startswith("Fn::") for key in value):
            return None
        return {key: resolve_references(item, physical_ids) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_references(item, physical_ids) for item in value]
    return value
