"""Streaming: Kinesis data streams bill by the hour; Firehose only by the data it moves.

- ``AWS::Kinesis::Stream``: per shard-hour when provisioned, per stream-hour when on-demand;
  the data written is usage-based (PUT payload units, or per GB on demand).
- ``AWS::KinesisFirehose::DeliveryStream``: per GB ingested, and per GB converted when it
  converts records to a columnar format.
"""

from __future__ import annotations

from collections.abc import Iterator

from ml_refarch.aws_facts import FIREHOSE_SERIALIZER_FORMATS, KINESIS_DEFAULT_STREAM_MODE
from ml_refarch.cfn import integer, properties_of, walk_mappings
from ml_refarch.cost.lines import CostLine, Group, Usage, plural, show
from ml_refarch.cost.prices import KINESIS_ON_DEMAND_STREAM_HOUR, KINESIS_SHARD_HOUR
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer


@pricer("AWS::Kinesis::Stream")
def kinesis_streams(streams: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    shards, on_demand = Group(), Group()
    for logical_id, resource in streams:
        properties = properties_of(resource)
        details = properties.get("StreamModeDetails")
        if details is None:
            mode = KINESIS_DEFAULT_STREAM_MODE
        elif isinstance(details, dict):
            mode = details.get("StreamMode", KINESIS_DEFAULT_STREAM_MODE)
        else:
            mode = None
        if mode == "ON_DEMAND":
            on_demand.quantity += 1
            on_demand.resources.append(logical_id)
            yield Usage("kinesis", "Kinesis on-demand data written and read per GB")
            continue
        yield Usage("kinesis", "Kinesis PUT payload units (25 KB each)")
        if mode != "PROVISIONED":
            # Provisioned with one shard is the cheaper of the two modes idle.
            shards.unresolved(
                f"{logical_id}: stream mode is {show(details)}, counted as 1 provisioned shard"
            )
            count = 1
        else:
            count = integer(properties.get("ShardCount"))
            if count is None:
                shards.unresolved(
                    f"{logical_id}: ShardCount is {show(properties.get('ShardCount'))}, "
                    "counted as 1"
                )
                count = 1
        shards.quantity += count
        shards.resources.append(logical_id)
    if shards.resources:
        usd = context.prices.usd(KINESIS_SHARD_HOUR)
        yield CostLine(
            item=f"{shards.at_least}{plural(shards.quantity, 'Kinesis shard')}",
            quantity=shards.quantity,
            unit=context.per_hour(usd, "shard-hour"),
            monthly_usd=context.hourly(shards.quantity, usd),
            note=shards.note(", ".join(shards.resources)),
        )
    if on_demand.resources:
        usd = context.prices.usd(KINESIS_ON_DEMAND_STREAM_HOUR)
        yield CostLine(
            item=plural(on_demand.quantity, "Kinesis on-demand stream"),
            quantity=on_demand.quantity,
            unit=context.per_hour(usd, "stream-hour"),
            monthly_usd=context.hourly(on_demand.quantity, usd),
            note=", ".join(on_demand.resources),
        )


@pricer("AWS::KinesisFirehose::DeliveryStream")
def firehose_delivery_streams(streams: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    for _, resource in streams:
        destination = properties_of(resource).get("ExtendedS3DestinationConfiguration")
        formats = [
            FIREHOSE_SERIALIZER_FORMATS.get(name, name)
            for node in walk_mappings(destination)
            if isinstance(node.get("Serializer"), dict)
            for name in node["Serializer"]
        ]
        converted = [
            node
            for node in walk_mappings(destination)
            if isinstance(node.get("DataFormatConversionConfiguration"), dict)
            and node["DataFormatConversionConfiguration"].get("Enabled", True) is not False
        ]
        if converted:
            target = " and ".join(formats) or "a columnar format"
            yield Usage("firehose", f"Firehose per GB ingested and per GB converted to {target}")
        else:
            yield Usage("firehose", "Firehose per GB ingested")
