"""Does a resource the stand-in says it created really exist? One service call per type.

Each check is registered for its resource types with :func:`existence_check` (or
:func:`lookup`, for a check that is one describe call), the way compliance rules register
with ``@rule``. It gets the stand-in's clients, the resource's physical id (from
ListStackResources) and the template's properties with ``Ref`` and ``Fn::GetAtt ...GroupId``
replaced by physical ids (:func:`resolved_properties`), and raises when the service does not
know the resource.

:func:`disposition` sorts a resource type in one place: *skipped* (moto's CloudFormation does
not model it, so it creates nothing), *checked* (a check is registered), or *unverified*
(modelled, but no check). The stand-in's server uses :func:`skipped_by_stand_in` too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from ml_refarch.cfn import resolve_ids
from ml_refarch.rehearsal.stand_in import Clients


class NotFound(Exception):
    """The service does not know a resource the stand-in listed as created."""


Check = Callable[[Clients, str, Mapping[str, Any]], None]

#: Existence checks by resource type, filled by :func:`existence_check` and :func:`lookup`.
CHECKS: dict[str, Check] = {}

SKIPPED = "skipped"
CHECKED = "checked"
UNVERIFIED = "unverified"

_CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"

#: Types the pinned moto's CloudFormation does not model, so the rehearsal skips them (it
#: finds them itself through :func:`disposition`; a test keeps this list true). moto has no
#: Redshift Serverless backend at all; cfn-lint's schemas do know both types. moto's
#: SageMaker backend models neither the model registry's groups nor its versions in
#: CloudFormation (moto 5.2.5); cfn-lint's schemas know both. moto has a CodeBuild backend,
#: but its CloudFormation does not create projects.
KNOWN_SKIPPED = (
    "AWS::RedshiftServerless::Namespace",
    "AWS::RedshiftServerless::Workgroup",
    "AWS::SageMaker::ModelPackageGroup",
    "AWS::SageMaker::ModelPackage",
    # moto has EMR Serverless and SageMaker feature group APIs (CreateApplication,
    # StartJobRun, CreateFeatureGroup) but no CloudFormation model of either type, and no
    # Feature Store runtime (PutRecord, GetRecord); cfn-lint's schemas know both types.
    "AWS::EMRServerless::Application",
    "AWS::SageMaker::FeatureGroup",
    "AWS::CodeBuild::Project",
    # moto has a Lex V2 model-building backend (CreateBot, CreateBotAlias, resource
    # policies) but no CloudFormation model of the AWS::Lex::* types, no bot versions and
    # no Lex V2 runtime (RecognizeText); cfn-lint's schemas know all three types.
    "AWS::Lex::Bot",
    "AWS::Lex::BotVersion",
    "AWS::Lex::BotAlias",
)

#: ``Fn::GetAtt`` attributes that equal the resource's physical id: a security group's
#: physical id is its group id (CloudFormation's AWS::EC2::SecurityGroup reference, "Return
#: values": https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html).
_ID_ATTRIBUTES = frozenset({"GroupId"})


def existence_check(*resource_types: str) -> Callable[[Check], Check]:
    """Register the decorated function as the existence check of ``resource_types``."""

    def register(check: Check) -> Check:
        for resource_type in resource_types:
            if resource_type in CHECKS:
                raise ValueError(f"{resource_type} has an existence check already")
            CHECKS[resource_type] = check
        return check

    return register


def is_custom_resource(resource_type: str) -> bool:
    """A custom resource: a Lambda function of the stack answers for it."""
    return resource_type.startswith("Custom::") or resource_type == _CUSTOM_RESOURCE


def skipped_by_stand_in(resource_type: str, modelled: Collection[str]) -> bool:
    """moto's CloudFormation creates nothing for this type (it only warns); ``modelled`` are
    the types it creates."""
    return resource_type not in modelled and not is_custom_resource(resource_type)


def disposition(resource_type: str, modelled: Collection[str]) -> str:
    """:data:`SKIPPED`, :data:`CHECKED` or :data:`UNVERIFIED` (see the module docstring)."""
    if skipped_by_stand_in(resource_type, modelled):
        return SKIPPED
    return CHECKED if resource_type in CHECKS else UNVERIFIED


def resolved_properties(resource: Mapping[str, Any], physical_ids: Mapping[str, str]) -> Any:
    """The resource's properties as its check reads them: references become physical ids."""
    return resolve_ids(resource.get("Properties", {}), physical_ids, id_attributes=_ID_ATTRIBUTES)


def service_of(resource_type: str) -> str:
    """The boto3 service name of a resource type this module checks (``AWS::EC2::VPC``: ec2)."""
    return resource_type.split("::")[1].lower()


def _name(physical_id: str) -> str:
    """The name at the end of an ARN (SageMaker resources are listed by ARN)."""
    return physical_id.rsplit("/", 1)[-1]


def _expect(found: bool, what: str) -> None:
    if not found:
        raise NotFound(what)


def lookup(resource_type: str, method: str, parameter: str, *, as_list: bool = False) -> None:
    """Register a check that calls ``method`` of the type's service with the physical id
    as ``parameter`` (a list of one, if ``as_list``).

    SageMaker lists resources by ARN and takes names, so ARNs are cut to their name. A list
    call must return the resource, not an empty list.
    """
    service = service_of(resource_type)

    @existence_check(resource_type)
    def check(clients: Clients, physical_id: str, _: Mapping[str, Any]) -> None:
        value = _name(physical_id) if service == "sagemaker" else physical_id
        response = getattr(clients(service), method)(**{parameter: [value] if as_list else value})
        if as_list:
            found = [v for v in response.values() if isinstance(v, list) and v]
            _expect(bool(found), f"{method}({parameter}=[{value!r}]) returned nothing")


# --- API Gateway ---------------------------------------------------------------------------

lookup("AWS::ApiGateway::RestApi", "get_rest_api", "restApiId")


@existence_check("AWS::ApiGateway::Resource")
def _api_resource(clients: Clients, physical_id: str, props: Mapping[str, Any]) -> None:
    clients("apigateway").get_resource(restApiId=props.get("RestApiId"), resourceId=physical_id)


@existence_check("AWS::ApiGateway::Deployment")
def _api_deployment(clients: Clients, _: str, props: Mapping[str, Any]) -> None:
    # moto lists deployments without a physical id: look for one with this description.
    rest_api_id = props.get("RestApiId")
    items = clients("apigateway").get_deployments(restApiId=rest_api_id)["items"]
    description = props.get("Description")
    _expect(
        any(description in (None, item.get("description")) for item in items),
        f"API {rest_api_id} has no deployment described {description!r}",
    )


@existence_check("AWS::ApiGateway::Method")
def _api_method(clients: Clients, _: str, props: Mapping[str, Any]) -> None:
    # moto lists methods without a physical id; a method is found by API, resource and
    # verb. A ResourceId that resolves to nothing is Fn::GetAtt [Api, RootResourceId].
    api = clients("apigateway")
    rest_api_id = props.get("RestApiId")
    resource_id = (
        props.get("ResourceId") or api.get_rest_api(restApiId=rest_api_id)["rootResourceId"]
    )
    api.get_method(restApiId=rest_api_id, resourceId=resource_id, httpMethod=props["HttpMethod"])


# --- EC2 -----------------------------------------------------------------------------------

lookup("AWS::EC2::FlowLog", "describe_flow_logs", "FlowLogIds", as_list=True)
lookup("AWS::EC2::LaunchTemplate", "describe_launch_templates", "LaunchTemplateIds", as_list=True)
lookup("AWS::EC2::RouteTable", "describe_route_tables", "RouteTableIds", as_list=True)
lookup("AWS::EC2::SecurityGroup", "describe_security_groups", "GroupIds", as_list=True)
lookup("AWS::EC2::Subnet", "describe_subnets", "SubnetIds", as_list=True)
lookup("AWS::EC2::VPC", "describe_vpcs", "VpcIds", as_list=True)
lookup("AWS::EC2::VPCEndpoint", "describe_vpc_endpoints", "VpcEndpointIds", as_list=True)


@existence_check("AWS::EC2::SubnetRouteTableAssociation")
def _subnet_association(clients: Clients, route_table_id: str, props: Mapping) -> None:
    tables = clients("ec2").describe_route_tables(RouteTableIds=[route_table_id])
    subnets = {a.get("SubnetId") for t in tables["RouteTables"] for a in t["Associations"]}
    _expect(
        props.get("SubnetId") in subnets,
        f"{route_table_id} has no association with "
        f"{props.get('SubnetId')} (associations: {sorted(filter(None, subnets))})",
    )


@existence_check("AWS::EC2::SecurityGroupIngress")
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


# --- IAM, KMS, logs and events -------------------------------------------------------------

lookup("AWS::IAM::InstanceProfile", "get_instance_profile", "InstanceProfileName")
lookup("AWS::IAM::ManagedPolicy", "get_policy", "PolicyArn")
lookup("AWS::IAM::Role", "get_role", "RoleName")
lookup("AWS::KMS::Key", "describe_key", "KeyId")


@existence_check("AWS::IAM::Policy")
def _inline_policy(clients: Clients, name: str, props: Mapping) -> None:
    roles = props.get("Roles") or []
    _expect(bool(roles), f"inline policy {name} names no role to look it up on")
    for role in roles:
        clients("iam").get_role_policy(RoleName=role, PolicyName=name)


@existence_check("AWS::Logs::LogGroup")
def _log_group(clients: Clients, name: str, _: Mapping) -> None:
    groups = clients("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    _expect(any(group["logGroupName"] == name for group in groups), f"no log group {name}")


@existence_check("AWS::Events::Rule")
def _event_rule(clients: Clients, name: str, props: Mapping) -> None:
    clients("events").describe_rule(Name=name, EventBusName=props.get("EventBusName") or "default")


# --- data, messaging, compute --------------------------------------------------------------

lookup("AWS::Batch::ComputeEnvironment", "describe_compute_environments", "computeEnvironments",
       as_list=True)  # fmt: skip
lookup("AWS::Batch::JobQueue", "describe_job_queues", "jobQueues", as_list=True)
lookup("AWS::Batch::JobDefinition", "describe_job_definitions", "jobDefinitions", as_list=True)
lookup("AWS::DynamoDB::Table", "describe_table", "TableName")
lookup("AWS::ECR::Repository", "describe_repositories", "repositoryNames", as_list=True)
lookup("AWS::Kinesis::Stream", "describe_stream_summary", "StreamName")
lookup("AWS::Lambda::Function", "get_function", "FunctionName")
lookup("AWS::S3::Bucket", "head_bucket", "Bucket")
lookup("AWS::SNS::Topic", "get_topic_attributes", "TopicArn")
lookup("AWS::SQS::Queue", "get_queue_attributes", "QueueUrl")
lookup("AWS::StepFunctions::StateMachine", "describe_state_machine", "stateMachineArn")

# --- SageMaker -----------------------------------------------------------------------------

lookup("AWS::SageMaker::Endpoint", "describe_endpoint", "EndpointName")
lookup("AWS::SageMaker::EndpointConfig", "describe_endpoint_config", "EndpointConfigName")
lookup("AWS::SageMaker::Model", "describe_model", "ModelName")
lookup("AWS::SageMaker::NotebookInstance", "describe_notebook_instance", "NotebookInstanceName")
lookup(
    "AWS::SageMaker::NotebookInstanceLifecycleConfig",
    "describe_notebook_instance_lifecycle_config",
    "NotebookInstanceLifecycleConfigName",
)
