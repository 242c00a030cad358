"""Running the MLSpecialty pack on small stacks built for one rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from ml_refarch.compliance.ml_pack import MLSpecialtyChecks


def mls_findings(build: Callable[[cdk.Stack], object]) -> list[str]:
    """Sorted MLSpecialty finding ids (``MLS-NB1``, ``MLS-MZ1[Variant::A]``) for a new stack."""
    app = cdk.App()
    stack = cdk.Stack(app, "RuleTest")
    build(stack)
    report = MLSpecialtyChecks().validate_scope(stack)
    return sorted(
        violation.rule_name
        for violation in report.violations
        for _ in violation.violating_resources
    )


def with_overrides(
    construct: Callable[..., object],
    stack: cdk.Stack,
    construct_id: str,
    properties: dict[str, Any],
    overrides: dict[str, Any],
) -> object:
    """``construct(stack, construct_id, **properties)`` with ``overrides`` applied; an
    override of ``None`` removes the property."""
    merged = {**properties, **overrides}
    return construct(stack, construct_id, **{k: v for k, v in merged.items() if v is not None})


def isolated_vpc(stack: cdk.Stack, *, endpoints: bool = True) -> ec2.Vpc:
    """A two-AZ VPC with isolated subnets and, optionally, the SageMaker endpoints."""
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    if endpoints:
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        vpc.add_interface_endpoint("Api", service=ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API)
        vpc.add_interface_endpoint(
            "Runtime", service=ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME
        )
    return vpc
