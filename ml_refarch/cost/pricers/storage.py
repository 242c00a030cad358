"""Storage and keys: FSx for Lustre capacity and KMS keys bill by the month while they exist.

- ``AWS::FSx::FileSystem`` (Lustre): provisioned GiB x the GB-month price of its deployment
  type and, for ``PERSISTENT_2``, its throughput tier; backups are usage-based;
- ``AWS::KMS::Key`` and ``AWS::KMS::ReplicaKey``: per key-month; requests are usage-based;
- ``AWS::S3::Bucket`` and CloudWatch Logs (log groups, VPC flow logs): usage-based only;
- ``AWS::DynamoDB::Table``: on-demand (``PAY_PER_REQUEST``) tables bill only by use: request
  units, storage, point-in-time recovery storage and exports to S3 per GB ("Amazon DynamoDB
  pricing for on-demand capacity", https://aws.amazon.com/dynamodb/pricing/on-demand/); a
  provisioned table bills its capacity by the hour, which is left unpriced and said.
"""

from __future__ import annotations

from collections.abc import Iterator

from ml_refarch.aws_facts import LUSTRE_DEFAULT_DEPLOYMENT_TYPE, LUSTRE_MIN_STORAGE_GIB
from ml_refarch.cfn import integer, properties_of
from ml_refarch.cost.lines import CostLine, Group, Usage, plural, show, unit_price, unpriced
from ml_refarch.cost.prices import (
    FSX_LUSTRE_GB_MONTH,
    KMS_KEY_MONTH,
    LOGS_INGESTED_GB,
    MissingPriceError,
    PriceTable,
    display_path,
)
from ml_refarch.cost.registry import Entry, Priced, TemplateContext, pricer


@pricer("AWS::S3::Bucket")
def buckets(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    yield Usage("s3", "S3 storage and requests")


@pricer("AWS::DynamoDB::Table")
def tables(tables_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    provisioned = [
        logical_id
        for logical_id, resource in tables_
        if properties_of(resource).get("BillingMode", "PROVISIONED") != "PAY_PER_REQUEST"
    ]
    if provisioned:
        yield unpriced(
            plural(len(provisioned), "provisioned DynamoDB table"),
            f"{', '.join(provisioned)}: read and write capacity units bill by the hour",
            len(provisioned),
        )
    yield Usage(
        "dynamodb",
        "DynamoDB request units, storage, point-in-time recovery storage and exports (per GB)",
    )


@pricer("AWS::Logs::LogGroup", "AWS::EC2::FlowLog")
def logs(_: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    usd = unit_price(context.prices.usd(LOGS_INGESTED_GB))
    flow_logs = ", VPC flow logs included" if context.has("AWS::EC2::FlowLog") else ""
    yield Usage("logs", f"CloudWatch Logs ingestion ({usd}/GB{flow_logs}) and storage")


@pricer("AWS::KMS::Key", "AWS::KMS::ReplicaKey")
def kms_keys(keys: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    usd = context.prices.usd(KMS_KEY_MONTH)
    yield CostLine(
        item=plural(len(keys), "KMS key"),
        quantity=len(keys),
        unit=f"{unit_price(usd)}/key-month",
        monthly_usd=len(keys) * usd,
        note=", ".join(logical_id for logical_id, _ in keys),
    )
    yield Usage("kms", "KMS requests")


@pricer("AWS::FSx::FileSystem")
def lustre_file_systems(file_systems: list[Entry], context: TemplateContext) -> Iterator[Priced]:
    groups: dict[tuple[str, str], Group] = {}
    unresolved: list[CostLine] = []
    for logical_id, resource in file_systems:
        properties = properties_of(resource)
        file_system_type = properties.get("FileSystemType")
        lustre = properties.get("LustreConfiguration")
        lustre = lustre if isinstance(lustre, dict) else {}
        deployment = lustre.get("DeploymentType", LUSTRE_DEFAULT_DEPLOYMENT_TYPE)
        if not isinstance(file_system_type, str) or not isinstance(deployment, str):
            unresolved.append(
                unpriced(
                    "FSx file system of unresolved type",
                    f"{logical_id}: FileSystemType {show(file_system_type)}, DeploymentType "
                    f"{show(deployment)}, not counted; its capacity bills per GB-month whether "
                    "used or not",
                )
            )
            continue
        if file_system_type != "LUSTRE":
            raise MissingPriceError(
                f"no price for FSx file system {logical_id} of type {file_system_type!r}: "
                f"{display_path(context.prices.path)} prices only FSx for Lustre "
                f"(prices.{FSX_LUSTRE_GB_MONTH}); add an entry for it and read it in "
                f"{__name__.replace('.', '/')}.py"
            )
        kind, label, notes = _lustre_tier(logical_id, deployment, lustre, context.prices)
        # Fails early, naming the file, when the tier is not in the table.
        context.prices.usd_for(FSX_LUSTRE_GB_MONTH, kind, "FSx for Lustre deployment")
        group = groups.setdefault((kind, label), Group())
        capacity = integer(properties.get("StorageCapacity"))
        if capacity is None:
            capacity = LUSTRE_MIN_STORAGE_GIB
            group.unresolved(
                f"{logical_id}: StorageCapacity is {show(properties.get('StorageCapacity'))}, "
                f"counted as the {LUSTRE_MIN_STORAGE_GIB} GiB minimum"
            )
        group.quantity += capacity
        group.resources.append(logical_id)
        group.notes += notes
    for (kind, label), group in sorted(groups.items()):
        usd = context.prices.usd_for(FSX_LUSTRE_GB_MONTH, kind, "FSx for Lustre deployment")
        count = len(group.resources)
        systems = "" if count == 1 else f"{count} file systems, "
        yield CostLine(
            item=f"FSx for Lustre {label}, {systems}{group.at_least}{group.quantity:g} GiB",
            quantity=group.quantity,
            unit=f"{unit_price(usd)}/GB-month",
            monthly_usd=group.quantity * usd,
            note=group.note(", ".join(group.resources)),
        )
    yield from unresolved
    if any(
        integer(properties_of(resource).get("AutomaticBackupRetentionDays"))
        for _, resource in file_systems
    ):
        yield Usage("fsx-backup", "FSx for Lustre backups per GB-month")


def _lustre_tier(
    logical_id: str, deployment: str, lustre: dict, prices: PriceTable
) -> tuple[str, str, list[str]]:
    """The price table key of a Lustre file system, its label, and notes on what it assumed."""
    if not deployment.startswith("PERSISTENT"):
        return deployment, deployment, []
    notes: list[str] = []
    throughput = integer(lustre.get("PerUnitStorageThroughput"))
    label = f"{deployment} at {throughput} MB/s/TiB"
    if throughput is None:
        throughput = _lowest_tier(deployment, prices)
        label = f"{deployment} at {throughput}+ MB/s/TiB"
        notes.append(
            f"{logical_id}: PerUnitStorageThroughput is "
            f"{show(lustre.get('PerUnitStorageThroughput'))}, priced at the lowest tier, "
            f"{throughput} MB/s/TiB"
        )
    return f"{deployment}/{throughput}", label, notes


def _lowest_tier(deployment: str, prices: PriceTable) -> int:
    by_type = prices.prices[FSX_LUSTRE_GB_MONTH].usd_by_type or {}
    tiers = [
        int(tier)
        for kind in by_type
        for dep, _, tier in [kind.partition("/")]
        if dep == deployment and tier.isdigit()
    ]
    if not tiers:
        raise MissingPriceError(
            f"no price for FSx for Lustre deployment {deployment!r} at any throughput in "
            f"{display_path(prices.path)}: add '{deployment}/<MB/s/TiB>' under "
            f"prices.{FSX_LUSTRE_GB_MONTH}.usd_by_type"
        )
    return min(tiers)
