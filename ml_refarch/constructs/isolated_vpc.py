"""A VPC for SageMaker workloads with no route to the internet, only VPC endpoints.

Notes section "Security": a notebook (or job, or endpoint) without internet access reaches
AWS services through interface endpoints (PrivateLink) or a NAT gateway. This construct takes
the endpoint route: isolated subnets in two or more Availability Zones, the interface
endpoints SageMaker workloads call, an S3 gateway endpoint, and flow logs.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_refarch.compliance import controls
from ml_refarch.compliance.acknowledge import acknowledge, acknowledge_cdk_provider
from ml_refarch.constructs.log_group import encrypted_log_group
from ml_refarch.constructs.service_role import service_role

S = ec2.InterfaceVpcEndpointAwsService

#: What anything SageMaker runs in the VPC calls: the SageMaker API and runtime, STS for
#: credentials, and CloudWatch Logs.
CORE_SERVICES: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "SageMakerApi": S.SAGEMAKER_API,
    "SageMakerRuntime": S.SAGEMAKER_RUNTIME,
    "Sts": S.STS,
    "Logs": S.CLOUDWATCH_LOGS,
}

#: Added for containers that run in the VPC (endpoints, jobs): image pulls and metrics.
CONTAINER_SERVICES: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "Monitoring": S.CLOUDWATCH_MONITORING,
    "EcrApi": S.ECR,
    "EcrDocker": S.ECR_DOCKER,
}

#: The default set: every service a SageMaker workload in the VPC may call.
SAGEMAKER_WORKLOAD_SERVICES = {**CORE_SERVICES, **CONTAINER_SERVICES}

#: Added for notebooks: the notebook endpoint (Jupyter through PrivateLink) and CodeArtifact,
#: from which the lifecycle configuration installs packages.
NOTEBOOK_SERVICES: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "SageMakerNotebook": S.SAGEMAKER_NOTEBOOK,
    "CodeArtifactApi": S.CODEARTIFACT_API,
    "CodeArtifactRepositories": S.CODEARTIFACT_REPOSITORIES,
}


class IsolatedVpc(Construct):
    """Isolated subnets, VPC endpoints open only to the workload security group, flow logs.

    Args:
        encryption_key: encrypts the flow-log group; its policy must allow CloudWatch Logs.
        max_azs: the most Availability Zones to spread subnets over (CDK caps
            environment-agnostic stacks at two).
        interface_endpoint_azs: the zones (the VPC's first ones) each interface endpoint
            has a network interface in; every subnet still reaches it over the VPC's local
            route. Default: every zone of the VPC.
        log_retention / removal_policy: of the flow-log group.
        custom_resources: let CDK remove every rule from the VPC's default security group at
            deployment (a Lambda-backed custom resource). When false the group keeps its
            default rules, which only the local deploy rehearsal accepts.
        services: the interface endpoints, by construct id; each bills per AZ-hour, so a
            pattern asks for what it uses. Default: :data:`SAGEMAKER_WORKLOAD_SERVICES`.
        internal_ports: ports members of the workload group may open to each other (NFS for
            Studio's home file system, Lustre, distributed training). Default: none.

    Attributes:
        vpc: the VPC (isolated subnets only: no internet or NAT gateway).
        workload_security_group: the group SageMaker resources use; the endpoints accept
            HTTPS from it and from nothing else. Members may reach each other on
            ``internal_ports`` only; nothing else may connect in; outbound is HTTPS.
        endpoints: the interface endpoints by construct id.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        max_azs: int,
        interface_endpoint_azs: int | None = None,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        custom_resources: bool,
        services: dict[str, ec2.InterfaceVpcEndpointAwsService] | None = None,
        internal_ports: Sequence[ec2.Port] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = self._vpc(max_azs=max_azs, custom_resources=custom_resources)
        self.workload_security_group = self._workload_security_group(internal_ports)
        self.endpoints = self._interface_endpoints(services, interface_endpoint_azs)
        self._flow_logs(encryption_key, log_retention, removal_policy)

    @property
    def subnets(self) -> Sequence[ec2.ISubnet]:
        return self.vpc.isolated_subnets

    def _vpc(self, *, max_azs: int, custom_resources: bool) -> ec2.Vpc:
        """Isolated subnets and the S3 gateway; the default security group closed (or, for
        the local target only, acknowledged)."""
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            # A Lambda-backed custom resource; the local target cannot run one.
            restrict_default_security_group=custom_resources,
        )
        if custom_resources:
            # CDK strips every rule from the default security group at deployment, through
            # a custom resource; a template alone cannot show that.
            acknowledge(
                vpc,
                "CDK's restrictDefaultSecurityGroup custom resource removes every rule from "
                "this VPC's default security group during deployment; the template cannot "
                "express it.",
                controls.VPC_DEFAULT_SG_CLOSED,
            )
            acknowledge_cdk_provider(
                self,
                "Custom::VpcRestrictDefaultSGCustomResourceProvider",
                purpose="removes every rule from the VPC's default security group",
                calls="the EC2 security-group API",
            )
        else:
            acknowledge(
                vpc,
                "Local deploy rehearsal only (target=local): the stand-in cannot run CDK's "
                "handler that empties the default security group, and nothing there is real "
                "traffic; every template for AWS closes the group.",
                controls.VPC_DEFAULT_SG_CLOSED,
            )
            # The local target names its zones (see PatternStack.availability_zones); CDK's
            # template validator and cfn-lint warn about every hard-coded zone (W3010).
            for subnet in vpc.isolated_subnets:
                acknowledge(
                    subnet,
                    "Local deploy rehearsal only: the stand-in's zones are named so that no "
                    "zone look-up is needed; templates for AWS ask for them.",
                    "CloudFormation-Validate::W3010",
                )
                subnet.node.default_child.add_metadata(
                    "cfn-lint", {"config": {"ignore_checks": ["W3010"]}}
                )
        return vpc

    def _workload_security_group(self, internal_ports: Sequence[ec2.Port]) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "WorkloadSecurityGroup",
            vpc=self.vpc,
            description="SageMaker workloads: HTTPS to the VPC endpoints and S3, and each other",
            allow_all_outbound=False,
        )
        # HTTPS to any address: the subnets route only to the VPC endpoints and the S3
        # gateway (whose addresses are a region-specific prefix list), so that is all it
        # reaches.
        group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "VPC endpoints and the S3 gateway"
        )
        for port in internal_ports:
            group.connections.allow_internally(port, "between SageMaker workloads")
        return group

    def _interface_endpoints(
        self, services: dict[str, ec2.InterfaceVpcEndpointAwsService] | None, azs: int | None
    ) -> dict[str, ec2.InterfaceVpcEndpoint]:
        endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        chosen = SAGEMAKER_WORKLOAD_SERVICES if services is None else services
        if azs is not None and azs < 1:
            raise ValueError(f"interface_endpoint_azs must be at least 1 (or None), got {azs}")
        # One isolated subnet per zone: the first ``azs`` subnets are the first zones.
        chosen_subnets = self.subnets if azs is None else self.subnets[:azs]
        subnets = ec2.SubnetSelection(subnets=list(chosen_subnets))
        for endpoint_id, service in chosen.items():
            endpoint = self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                private_dns_enabled=True,
                # Not open to the whole VPC: only the workload group may connect.
                open=False,
                subnets=subnets,
            )
            endpoint.connections.allow_default_port_from(
                self.workload_security_group, "HTTPS from SageMaker workloads"
            )
            endpoints[endpoint_id] = endpoint
        return endpoints

    def _flow_logs(
        self,
        encryption_key: kms.IKey,
        retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        log_group = encrypted_log_group(
            self,
            "FlowLogs",
            encryption_key=encryption_key,
            retention=retention,
            removal_policy=removal_policy,
        )
        stack = cdk.Stack.of(self)
        all_groups = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
        role, policy = service_role(
            self,
            "FlowLog",
            service="vpc-flow-logs.amazonaws.com",
            description="VPC flow logs: write to this VPC's flow-log group",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[log_group.log_group_arn],
                ),
                # A list call: its request is on the region's log-group:*, not on one
                # group ("Logs sent to CloudWatch Logs", CloudWatch Logs User Guide).
                iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=[all_groups]),
            ],
        )
        acknowledge(
            policy,
            "VPC Flow Logs lists the account's log groups (logs:DescribeLogGroups, which "
            '"IAM role for publishing flow logs to CloudWatch Logs" requires); the list '
            "call is authorized on log-group:* only, and reveals names, not log events.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:*]",
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                log_group, role.without_policy_updates()
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
