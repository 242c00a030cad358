"""Networking: VPC interface endpoints and NAT gateways bill by the hour while they exist.

- ``AWS::EC2::VPCEndpoint`` of type ``Interface``: per endpoint per Availability Zone per
  hour, one AZ per subnet (gateway endpoints are free);
- ``AWS::EC2::NatGateway``: per gateway-hour.

Data processed through either is usage-based.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ml_refarch.aws_facts import VPC_ENDPOINT_DEFAULT_TYPE, endpoint_service_short_name
from ml_refarch.cfn import joined_text, properties_of
from ml_refarch.cost.lines import CostLine, Group, Usage, plural, show, unit_price, unpriced
from ml_refarch.cost.prices import INTERFACE_ENDPOINT_AZ_HOUR, NAT_GATEWAY_HOUR
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer


@pricer("AWS::EC2::VPCEndpoint")
def interface_endpoints(endpoints: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    group = Group()
    az_counts: set[int] = set()
    services: list[str] = []
    unresolved: list[CostLine] = []
    usd = context.prices.usd(INTERFACE_ENDPOINT_AZ_HOUR)
    for logical_id, resource in endpoints:
        properties = properties_of(resource)
        endpoint_type = properties.get("VpcEndpointType", VPC_ENDPOINT_DEFAULT_TYPE)
        if not isinstance(endpoint_type, str):
            unresolved.append(
                unpriced(
                    "VPC endpoint of unresolved type",
                    f"{logical_id}: VpcEndpointType is {show(endpoint_type)}, not counted; an "
                    f"interface endpoint bills {unit_price(usd)} per AZ-hour, a gateway "
                    "endpoint nothing",
                )
            )
            continue
        if endpoint_type != "Interface":
            continue  # gateway endpoints (S3, DynamoDB) are free
        subnets = properties.get("SubnetIds")
        if isinstance(subnets, list) and subnets:
            # An interface endpoint takes at most one subnet per AZ: subnets count AZs.
            azs = len(subnets)
        else:
            azs = 1
            group.unresolved(f"{logical_id}: SubnetIds is {show(subnets)}, counted as 1 AZ")
        az_counts.add(azs)
        group.quantity += azs
        group.resources.append(logical_id)
        services.append(_service_name(properties.get("ServiceName")) or logical_id)
    if group.resources:
        count = len(group.resources)
        if len(az_counts) == 1 and not group.lower_bound:
            item = f"{plural(count, 'interface endpoint')} x {plural(az_counts.pop(), 'AZ')}"
        else:
            item = (
                f"{plural(count, 'interface endpoint')} in "
                f"{group.at_least}{plural(group.quantity, 'endpoint-AZ')}"
            )
        yield CostLine(
            item=item,
            quantity=group.quantity,
            unit=context.per_hour(usd, "endpoint-AZ-hour"),
            monthly_usd=context.hourly(group.quantity, usd),
            note=group.note(", ".join(services)),
        )
        yield Usage("interface-endpoint", "interface endpoint data processed per GB")
    yield from unresolved


def _service_name(value: Any) -> str | None:
    """``com.amazonaws.<region>.sagemaker.api`` -> ``sagemaker.api``; None if unreadable."""
    text = joined_text(value)
    return None if text is None else endpoint_service_short_name(text)


@pricer("AWS::EC2::NatGateway")
def nat_gateways(gateways: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    usd = context.prices.usd(NAT_GATEWAY_HOUR)
    yield CostLine(
        item=plural(len(gateways), "NAT gateway"),
        quantity=len(gateways),
        unit=context.per_hour(usd, "gateway-hour"),
        monthly_usd=context.hourly(len(gateways), usd),
        note=", ".join(logical_id for logical_id, _ in gateways),
    )
    yield Usage("nat", "NAT gateway data processed per GB")
