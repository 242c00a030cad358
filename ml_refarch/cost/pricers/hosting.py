"""SageMaker hosting: a real-time endpoint bills its instances by the hour while it exists.

- ``AWS::SageMaker::Endpoint``: the instance variants (production and shadow) of the
  ``AWS::SageMaker::EndpointConfig`` it uses, found in the same template: instances x
  instance-hours. A configuration no endpoint uses costs nothing. Data processed in and out
  is usage-based.
- ``AWS::SageMaker::EndpointConfig`` serverless variants bill per request and GB-second;
  provisioned concurrency bills while configured (named, not priced).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ml_refarch.cfn import integer, properties_of, ref_target
from ml_refarch.cost.lines import CostLine, Group, Usage, plural, show, unpriced
from ml_refarch.cost.prices import ENDPOINT_INSTANCE_HOUR
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer

ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"


@pricer("AWS::SageMaker::Endpoint")
def endpoints(live: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    configs = dict(context.of_type(ENDPOINT_CONFIG))
    groups: dict[str, Group] = {}
    for logical_id, resource in live:
        reference = properties_of(resource).get("EndpointConfigName")
        config_id = _config_id(reference, configs)
        if config_id not in configs:
            yield unpriced(
                "endpoint with a configuration outside the template",
                f"{logical_id}: EndpointConfigName is {show(reference)}, not counted; its "
                "instances bill per hour while it exists",
            )
            continue
        yield from _count_instances(logical_id, config_id, configs[config_id], groups)
    for instance_type, group in sorted(groups.items()):
        usd = context.prices.usd_for(
            ENDPOINT_INSTANCE_HOUR, instance_type, "SageMaker endpoint instance type"
        )
        yield CostLine(
            item=(f"{group.at_least}{plural(group.quantity, 'endpoint instance')} {instance_type}"),
            quantity=group.quantity,
            unit=context.per_hour(usd, "instance-hour"),
            monthly_usd=context.hourly(group.quantity, usd),
            note=group.note(", ".join(group.resources)),
        )
    yield Usage("endpoint-data", "SageMaker endpoint data processed in and out")


def _config_id(reference: Any, configs: dict[str, dict]) -> str | None:
    """The configuration an endpoint names: by reference, or by its literal name."""
    config_id = ref_target(reference)
    if config_id is None and isinstance(reference, str):
        config_id = next(
            (
                cid
                for cid, config in configs.items()
                if properties_of(config).get("EndpointConfigName") == reference
            ),
            None,
        )
    return config_id


def _count_instances(
    logical_id: str, config_id: str, config: dict, groups: dict[str, Group]
) -> Iterator[CostLine]:
    """Add a configuration's instance variants to ``groups`` by instance type.

    Yields a line for each variant whose instance type is left to deploy time.
    """
    properties = properties_of(config)
    variants = [
        variant
        for key in ("ProductionVariants", "ShadowProductionVariants")
        for variant in (properties.get(key) or [])
        if isinstance(variant, dict)
    ]
    for variant in variants:
        if "ServerlessConfig" in variant:
            continue  # billed per request and GB-second: usage-based
        instance_type = variant.get("InstanceType")
        where = f"{logical_id} ({config_id}, variant {variant.get('VariantName', '?')})"
        if not isinstance(instance_type, str):
            yield unpriced(
                "endpoint instances of unresolved type",
                f"{where}: InstanceType is {show(instance_type)}, not counted",
            )
            continue
        count = integer(variant.get("InitialInstanceCount"))
        group = groups.setdefault(instance_type, Group())
        if count is None:
            group.unresolved(
                f"{where}: InitialInstanceCount is "
                f"{show(variant.get('InitialInstanceCount'))}, counted as 1"
            )
            count = 1
        group.quantity += count
        group.resources.append(where)


@pricer(ENDPOINT_CONFIG)
def serverless_variants(configs: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    serverless = [
        variant["ServerlessConfig"]
        for _, config in configs
        for variant in (properties_of(config).get("ProductionVariants") or [])
        if isinstance(variant, dict) and "ServerlessConfig" in variant
    ]
    if serverless:
        yield Usage("serverless", "SageMaker serverless inference per request and GB-second")
    if any(isinstance(c, dict) and c.get("ProvisionedConcurrency") for c in serverless):
        # Warm workers bill by the hour even with no requests; the table has no price.
        yield Usage(
            "serverless",
            "SageMaker serverless provisioned concurrency per GB-second while configured, "
            "requests or not (not priced here)",
        )
