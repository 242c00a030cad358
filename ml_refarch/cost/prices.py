"""What each stack costs a month while idle, estimated from its synthesized template.

Idle means deployed with nothing flowing through it: no records written, no jobs running,
no requests served. What bills then is capacity that exists by the hour or month whether
used or not, and :func:`estimate_stack` prices it from the template's resources:

- ``AWS::KMS::Key``: per key-month;
- ``AWS::EC2::VPCEndpoint`` of type ``Interface``: per endpoint per Availability Zone per
  hour, one AZ per subnet (gateway endpoints are free);
- ``AWS::EC2::NatGateway``: per gateway-hour;
- ``AWS::Kinesis::Stream``: per shard-hour when provisioned, per stream-hour when on-demand;
- ``AWS::FSx::FileSystem`` (Lustre): provisioned GiB x the GB-month price of its deployment
  type and, for ``PERSISTENT_2``, its throughput tier;
- ``AWS::SageMaker::NotebookInstance``: instance-hours as if always in service, plus its
  ML storage volume (a stopped notebook costs only the volume);
- ``AWS::SageMaker::EndpointConfig`` instance variants of an ``AWS::SageMaker::Endpoint``
  in the same template: instances x instance-hours.
- ``AWS::WAFv2::WebACL``: per web ACL-month plus per rule-month (a managed rule group counts
  as one rule).

Everything billed by use is left out of the totals and named per stack instead, from the
resource types present: S3 storage and requests, CloudWatch Logs ingestion, Firehose and
Kinesis data, Lambda invocations, Step Functions state transitions, SageMaker training and
tuning, Studio apps and EFS, CodeArtifact, SNS, data processed by endpoints, and the
endpoint a state machine deploys (it exists outside the stack, so it is named with what
it costs an hour rather than counted).
A Model Monitor schedule is named there too, with its runs a month and their instances: it
starts a processing job on every tick whether or not traffic came, but nothing runs between
ticks.

Prices come from ``ml_refarch/data/prices-us-east-1.json``: approximate us-east-1 public list
prices as of 2026-11-25, with 730 hours a month. Other regions price differently, and list
prices change: check the AWS pricing pages before relying on a figure.

A value CloudFormation resolves only at deploy time (``Ref``, ``Fn::GetAtt``, ...) never
fails the estimate: a quantity falls back to its smallest possible value and the line says
"at least"; an instance type that cannot be read is left unpriced with a note. An instance
type or FSx tier missing from the price table is an error naming the file to add it to.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ml_refarch.aws_facts import monitoring_runs_per_day
from ml_refarch.cfn import referenced_ids

#: The price table kept in the repository.
PRICES_PATH = Path(__file__).resolve().parent / "data" / "prices-us-east-1.json"

#: ``make synth`` warns about stacks that cost more than this a month idle.
IDLE_WARNING_THRESHOLD_USD = 50.0

_REPO_ROOT = Path(__file__).resolve().parents[1]

# Price table keys, and whether each holds one price ("usd") or prices by type.
KMS_KEY_MONTH = "kms_key_month"
INTERFACE_ENDPOINT_AZ_HOUR = "vpc_interface_endpoint_az_hour"
NAT_GATEWAY_HOUR = "nat_gateway_hour"
KINESIS_SHARD_HOUR = "kinesis_shard_hour"
KINESIS_ON_DEMAND_STREAM_HOUR = "kinesis_on_demand_stream_hour"
FSX_LUSTRE_GB_MONTH = "fsx_lustre_gb_month"
NOTEBOOK_INSTANCE_HOUR = "sagemaker_notebook_instance_hour"
ML_STORAGE_GB_MONTH = "sagemaker_ml_storage_gb_month"
ENDPOINT_INSTANCE_HOUR = "sagemaker_endpoint_instance_hour"
LOGS_INGESTED_GB = "cloudwatch_logs_ingested_gb"
WAF_WEB_ACL_MONTH = "waf_web_acl_month"
WAF_RULE_MONTH = "waf_rule_month"

REQUIRED_PRICES: dict[str, str] = {
    KMS_KEY_MONTH: "usd",
    INTERFACE_ENDPOINT_AZ_HOUR: "usd",
    NAT_GATEWAY_HOUR: "usd",
    KINESIS_SHARD_HOUR: "usd",
    KINESIS_ON_DEMAND_STREAM_HOUR: "usd",
    FSX_LUSTRE_GB_MONTH: "usd_by_type",
    NOTEBOOK_INSTANCE_HOUR: "usd_by_type",
    ML_STORAGE_GB_MONTH: "usd",
    ENDPOINT_INSTANCE_HOUR: "usd_by_type",
    LOGS_INGESTED_GB: "usd",
    WAF_WEB_ACL_MONTH: "usd",
    WAF_RULE_MONTH: "usd",
}

_REQUIRED_TOP_LEVEL = ("region", "currency", "as_of", "source", "note", "hours_per_month")

# The smallest value a quantity can take, used when the template leaves it to deploy time.
_NOTEBOOK_DEFAULT_VOLUME_GB = 5  # SageMaker's default when VolumeSizeInGB is absent
_MIN_LUSTRE_GIB = 1200


# --------------------------------------------------------------------------------------
# The price table


class MissingPriceError(LookupError):
    """The template uses an instance type or tier the price table does not list."""


@dataclass(frozen=True)
class Price:
    """One entry of the price table: a single price, or prices by instance type or tier."""

    unit: str
    note: str
    usd: float | None = None
    usd_by_type: Mapping[str, float] | None = None
    usage: bool = False


@dataclass(frozen=True)
class PriceTable:
    """One region's list prices, as dated in the repository's JSON file."""

    region: str
    currency: str
    as_of: str
    source: str
    note: str
    hours_per_month: float
    prices: Mapping[str, Price]
    path: Path = PRICES_PATH

    def usd(self, key: str) -> float:
        """The single price of ``key``."""
        value = self.prices[key].usd
        assert value is not None, f"{key} has prices by type, not one price"
        return value

    def usd_for(self, key: str, kind: str, what: str) -> float:
        """The price of ``kind`` (an instance type or tier) under ``key``.

        Raises:
            MissingPriceError: naming the type, the price table file and where to add it.
        """
        by_type = self.prices[key].usd_by_type or {}
        if kind in by_type:
            return by_type[kind]
        known = ", ".join(sorted(by_type)) or "none"
        raise MissingPriceError(
            f"no price for {what} {kind!r} in {_display(self.path)}: add "
            f'"{kind}": <USD per {self.prices[key].unit}> under prices.{key}.usd_by_type '
            f"(listed: {known})"
        )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(_REPO_ROOT))
    except ValueError:
        return str(path)


def _is_price(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Read and validate a price table (the repository's us-east-1 table by default).

    Raises:
        ValueError: listing every problem found: unreadable file, bad JSON, missing keys,
            prices that are not non-negative numbers.
    """
    source = Path(path) if path is not None else PRICES_PATH
    try:
        raw = json.loads(source.read_text())
    except OSError as error:
        raise ValueError(f"cannot read price table {_display(source)}: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"price table {_display(source)} is not valid JSON: {error}") from None
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ValueError(f"price table {_display(source)}: expected a JSON object at the top")
    for key in _REQUIRED_TOP_LEVEL:
        if key not in raw:
            problems.append(f"missing key {key!r}")
        elif key == "hours_per_month":
            if not _is_price(raw[key]) or raw[key] == 0:
                problems.append(f"hours_per_month: expected a positive number, got {raw[key]!r}")
        elif not isinstance(raw[key], str) or not raw[key].strip():
            problems.append(f"{key}: expected a non-empty string, got {raw[key]!r}")
    if isinstance(raw.get("currency"), str) and raw["currency"] != "USD":
        # Every figure is printed in dollars; another currency needs another formatter.
        problems.append(f"currency: only 'USD' is supported, got {raw['currency']!r}")
    if isinstance(raw.get("as_of"), str):
        try:
            date.fromisoformat(raw["as_of"])
        except ValueError:
            problems.append(f"as_of: expected a date as YYYY-MM-DD, got {raw['as_of']!r}")
    prices: dict[str, Price] = {}
    entries = raw.get("prices")
    if not isinstance(entries, dict):
        problems.append("missing key 'prices' (an object of price entries)")
        entries = {}
    for key in REQUIRED_PRICES:
        if key not in entries:
            problems.append(f"prices: missing entry {key!r}")
    for key, entry in entries.items():
        price, entry_problems = _read_price(key, entry)
        problems += entry_problems
        if price is not None:
            prices[key] = price
    for key, shape in REQUIRED_PRICES.items():
        if key in prices and getattr(prices[key], shape) is None:
            problems.append(f"prices.{key}: expected {shape!r}")
    if problems:
        count = len(problems)
        lines = [f"invalid price table {_display(source)} ({count} problem{'s' * (count != 1)}):"]
        raise ValueError("\n".join(lines + [f"  - {problem}" for problem in problems]))
    return PriceTable(
        region=raw["region"],
        currency=raw["currency"],
        as_of=raw["as_of"],
        source=raw["source"],
        note=raw["note"],
        hours_per_month=float(raw["hours_per_month"]),
        prices=MappingProxyType(prices),
        path=source,
    )


def _read_price(key: str, entry: Any) -> tuple[Price | None, list[str]]:
    where = f"prices.{key}"
    if not isinstance(entry, dict):
        return None, [f"{where}: expected an object with unit, note and usd or usd_by_type"]
    problems = [
        f"{where}: missing or empty {name!r}"
        for name in ("unit", "note")
        if not isinstance(entry.get(name), str) or not entry[name].strip()
    ]
    if ("usd" in entry) == ("usd_by_type" in entry):
        problems.append(f"{where}: expected exactly one of 'usd' and 'usd_by_type'")
    if "usd" in entry and not _is_price(entry["usd"]):
        problems.append(f"{where}.usd: expected a non-negative number, got {entry['usd']!r}")
    by_type = entry.get("usd_by_type")
    if "usd_by_type" in entry:
        if not isinstance(by_type, dict) or not by_type:
            problems.append(f"{where}.usd_by_type: expected a non-empty object")
        else:
            problems += [
                f"{where}.usd_by_type.{kind}: expected a non-negative number, got {value!r}"
                for kind, value in by_type.items()
                if not _is_price(value)
            ]
    if "usage" in entry and not isinstance(entry["usage"], bool):
        problems.append(f"{where}.usage: expected true or false")
    if problems:
        return None, problems
    return (
        Price(
            unit=entry["unit"],
            note=entry["note"],
            usd=float(entry["usd"]) if "usd" in entry else None,
            usd_by_type=(
                MappingProxyType({k: float(v) for k, v in by_type.items()})
                if by_type is not None
                else None
            ),
            usage=entry.get("usage", False),
        ),
        [],
    )


# --------------------------------------------------------------------------------------
# Estimates


@dataclass(frozen=True)
class CostLine:
    """One idle cost of a stack.

    Attributes:
        item: what bills, with how many (``7 interface endpoints x 2 AZs``).
        quantity: the number of priced units (endpoint-AZs, shards, GiB, instances).
        unit: the unit price and, for hourly prices, the hours a month
            (``$0.01/endpoint-AZ-hour x 730 h``).
        monthly_usd: quantity x unit price (x hours), in USD a month.
        note: which resources, and anything the template left unresolved.
    """

    item: str
    quantity: float
    unit: str
    monthly_usd: float
    note: str = ""


@dataclass(frozen=True)
class StackCost:
    """A stack's idle cost lines and the usage-based costs they leave out."""

    stack_name: str
    lines: list[CostLine]
    usage_based: list[str] = field(default_factory=list)

    @property
    def monthly_usd(self) -> float:
        """The idle total in USD a month."""
        return sum(line.monthly_usd for line in self.lines)


def estimate_stack(template: dict, prices: PriceTable, stack_name: str = "template") -> StackCost:
    """Idle monthly cost of one synthesized template, and the usage-based costs it omits.

    Raises:
        MissingPriceError: an instance type or FSx tier the price table does not list.
    """
    resources = template.get("Resources") or {}
    by_type: dict[str, list[tuple[str, dict]]] = {}
    for logical_id in sorted(resources):
        resource = resources[logical_id]
        if isinstance(resource, dict):
            by_type.setdefault(str(resource.get("Type")), []).append((logical_id, resource))
    estimate = _Estimate(prices, by_type)
    lines = [
        *estimate.interface_endpoints(),
        *estimate.nat_gateways(),
        *estimate.kinesis_streams(),
        *estimate.lustre_file_systems(),
        *estimate.notebook_instances(),
        *estimate.endpoints(),
        *estimate.web_acls(),
        *estimate.kms_keys(),
    ]
    # Biggest first: the line to act on leads.
    lines.sort(key=lambda line: (-round(line.monthly_usd, 6), line.item))
    return StackCost(stack_name, lines, estimate.usage_based())


def estimate_assembly(templates: Mapping[str, dict], prices: PriceTable) -> list[StackCost]:
    """:func:`estimate_stack` for every template, sorted by stack name."""
    return [estimate_stack(templates[name], prices, name) for name in sorted(templates)]


def over_threshold(
    costs: Iterable[StackCost], threshold_usd: float = IDLE_WARNING_THRESHOLD_USD
) -> list[StackCost]:
    """The stacks whose idle cost exceeds ``threshold_usd`` a month, in the order given."""
    return [cost for cost in costs if cost.monthly_usd > threshold_usd]


# --------------------------------------------------------------------------------------
# Reports


def cost_lines(costs: Iterable[StackCost]) -> list[str]:
    """A readable terminal report: per stack, each idle cost, then what is left out."""
    costs = list(costs)
    out: list[str] = []
    for cost in costs:
        out.append(f"{cost.stack_name}: about {_money(cost.monthly_usd)} a month idle")
        if not cost.lines:
            out.append("  nothing bills while idle")
        item_width = max((len(line.item) for line in cost.lines), default=0)
        unit_width = max((len(line.unit) for line in cost.lines), default=0)
        for line in cost.lines:
            out.append(
                f"  {line.item:<{item_width}}  {line.quantity:>6g} x {line.unit:<{unit_width}}"
                f"  {_money(line.monthly_usd):>10}"
            )
            if line.note:
                out.append(f"      {line.note}")
        if cost.usage_based:
            out.append("  usage-based, not included:")
            out += [f"    - {item}" for item in cost.usage_based]
        out.append("")
    total = sum(cost.monthly_usd for cost in costs)
    out.append(f"Total idle: about {_money(total)} a month for {len(costs)} stacks")
    return out


def cost_table_markdown(costs: Iterable[StackCost], profile: str, prices: PriceTable) -> str:
    """The idle costs as the Markdown table the README carries, header line included.

    Rows are sorted by stack name and every figure is rounded to cents, so the same
    templates and price table always give the same text.
    """
    hours = f"{prices.hours_per_month:g}"
    rows = [
        f"Idle cost per month for the `{profile}` profile, estimated from the synthesized "
        f"templates at {prices.region} list prices as of {prices.as_of} ({hours} hours a "
        "month); usage-based costs are named, not included.",
        "",
        "| Stack | Idle per month (USD) | What costs money idle | Usage-based, not included |",
        "| --- | ---: | --- | --- |",
    ]
    for cost in sorted(costs, key=lambda c: c.stack_name):
        idle = "; ".join(f"{line.item} ({_money(line.monthly_usd)})" for line in cost.lines)
        usage = "; ".join(cost.usage_based)
        rows.append(
            f"| `{cost.stack_name}` | {cost.monthly_usd:,.2f} | {_cell(idle or 'nothing')} | "
            f"{_cell(usage or 'nothing')} |"
        )
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def _unit_price(usd: float) -> str:
    """$1.00, $0.14, $0.015: cents, or more digits when the price has them."""
    if round(usd, 2) == usd:
        return f"${usd:,.2f}"
    return "$" + f"{usd:.4f}".rstrip("0")


def _plural(count: float, noun: str, plural: str | None = None) -> str:
    return f"{count:g} {noun if count == 1 else (plural or noun + 's')}"


# --------------------------------------------------------------------------------------
# Reading templates


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 80 else text[:77] + "..."


def _integer(value: Any) -> int | None:
    """An integer literal (CloudFormation also accepts digits in a string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


#: Resource types that only hang policies on a role; they do not make it a job role.
_ROLE_PLUMBING = frozenset(
    {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile"}
)
#: Resource types that use a SageMaker role to host or watch models, not to train.
_HOSTING_ROLE_USERS = frozenset(
    {
        "AWS::SageMaker::Model",
        "AWS::SageMaker::DataQualityJobDefinition",
        "AWS::SageMaker::ModelQualityJobDefinition",
        "AWS::SageMaker::ModelBiasJobDefinition",
        "AWS::SageMaker::ModelExplainabilityJobDefinition",
        "AWS::SageMaker::MonitoringSchedule",
    }
)


def _referenced_id(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("Ref"), str):
            return value["Ref"]
        target = value.get("Fn::GetAtt")
        if isinstance(target, list) and target and isinstance(target[0], str):
            return target[0]
        if isinstance(target, str):
            return target.split(".", 1)[0]
    return None


_TOKEN = "__unresolved__"

#: The job definitions a monitoring schedule names.
_MONITORING_JOB_DEFINITIONS = (
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::ModelBiasJobDefinition",
    "AWS::SageMaker::ModelExplainabilityJobDefinition",
)

_SERIALIZERS = {"ParquetSerDe": "Parquet", "OrcSerDe": "ORC"}


def _joined_strings(value: Any) -> str | None:
    """A string property's text, with the string parts of an ``Fn::Join`` joined.

    CDK renders a state machine definition as ``Fn::Join`` of JSON text and tokens; the
    tokens sit inside JSON strings, so a placeholder keeps the text parseable.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        join = value.get("Fn::Join")
        if isinstance(join, list) and len(join) == 2 and isinstance(join[1], list):
            separator = join[0] if isinstance(join[0], str) else ""
            return separator.join(p if isinstance(p, str) else _TOKEN for p in join[1])
        sub = value.get("Fn::Sub")
        if isinstance(sub, str):
            return sub
        if isinstance(sub, list) and sub and isinstance(sub[0], str):
            return sub[0]
    return None


def _walk(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from _walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child)


def _task_action(resource: str) -> str:
    """``arn:...:states:::sagemaker:createTrainingJob.sync`` -> ``createTrainingJob``."""
    return resource.rsplit(":", 1)[-1].split(".", 1)[0]


@dataclass
class _Group:
    """Resources priced alike, gathered into one cost line."""

    quantity: float = 0
    resources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Some quantity was left to deploy time and counted at its minimum.
    lower_bound: bool = False

    @property
    def at_least(self) -> str:
        return "at least " if self.lower_bound else ""

    def unresolved(self, note: str) -> None:
        self.notes.append(note)
        self.lower_bound = True

    def note(self, prefix: str = "") -> str:
        parts = [prefix] if prefix else []
        parts += self.notes
        return "; ".join(parts)


class _Estimate:
    """The cost lines and usage-based items of one template's resources."""

    def __init__(self, prices: PriceTable, by_type: dict[str, list[tuple[str, dict]]]):
        self.prices = prices
        self.by_type = by_type
        self.hours = prices.hours_per_month

    def of_type(self, *types: str) -> list[tuple[str, dict]]:
        found = [entry for resource_type in types for entry in self.by_type.get(resource_type, [])]
        return sorted(found, key=lambda entry: entry[0])

    @staticmethod
    def properties(resource: dict) -> dict:
        properties = resource.get("Properties")
        return properties if isinstance(properties, dict) else {}

    def hourly(self, quantity: float, usd: float) -> float:
        return quantity * usd * self.hours

    def per_hour(self, usd: float, unit: str) -> str:
        return f"{_unit_price(usd)}/{unit} x {self.hours:g} h"

    # Idle costs -------------------------------------------------------------------------

    def kms_keys(self) -> list[CostLine]:
        keys = self.of_type("AWS::KMS::Key", "AWS::KMS::ReplicaKey")
        if not keys:
            return []
        usd = self.prices.usd(KMS_KEY_MONTH)
        return [
            CostLine(
                item=_plural(len(keys), "KMS key"),
                quantity=len(keys),
                unit=f"{_unit_price(usd)}/key-month",
                monthly_usd=len(keys) * usd,
                note=", ".join(logical_id for logical_id, _ in keys),
            )
        ]

    def interface_endpoints(self) -> list[CostLine]:
        group = _Group()
        az_counts: set[int] = set()
        services: list[str] = []
        unpriced: list[CostLine] = []
        usd = self.prices.usd(INTERFACE_ENDPOINT_AZ_HOUR)
        for logical_id, resource in self.of_type("AWS::EC2::VPCEndpoint"):
            properties = self.properties(resource)
            endpoint_type = properties.get("VpcEndpointType", "Gateway")  # the default
            if not isinstance(endpoint_type, str):
                unpriced.append(
                    CostLine(
                        item="VPC endpoint of unresolved type",
                        quantity=0,
                        unit="unpriced",
                        monthly_usd=0.0,
                        note=(
                            f"{logical_id}: VpcEndpointType is {_show(endpoint_type)}, not "
                            f"counted; an interface endpoint bills {_unit_price(usd)} per "
                            "AZ-hour, a gateway endpoint nothing"
                        ),
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
                group.unresolved(f"{logical_id}: SubnetIds is {_show(subnets)}, counted as 1 AZ")
            az_counts.add(azs)
            group.quantity += azs
            group.resources.append(logical_id)
            services.append(self.service_name(properties.get("ServiceName")) or logical_id)
        if not group.resources:
            return unpriced
        count = len(group.resources)
        if len(az_counts) == 1 and not group.lower_bound:
            item = f"{_plural(count, 'interface endpoint')} x {_plural(az_counts.pop(), 'AZ')}"
        else:
            item = (
                f"{_plural(count, 'interface endpoint')} in "
                f"{group.at_least}{_plural(group.quantity, 'endpoint-AZ')}"
            )
        return [
            CostLine(
                item=item,
                quantity=group.quantity,
                unit=self.per_hour(usd, "endpoint-AZ-hour"),
                monthly_usd=self.hourly(group.quantity, usd),
                note=group.note(", ".join(services)),
            ),
            *unpriced,
        ]

    @staticmethod
    def service_name(value: Any) -> str | None:
        """``com.amazonaws.<region>.sagemaker.api`` -> ``sagemaker.api``."""
        text = _joined_strings(value)
        if text is None:
            return None
        for prefix in ("com.amazonaws.", "aws.sagemaker.", "aws.api."):
            if text.startswith(prefix):
                rest = text[len(prefix) :]
                return rest.split(".", 1)[1] if "." in rest else rest
        return text

    def nat_gateways(self) -> list[CostLine]:
        gateways = self.of_type("AWS::EC2::NatGateway")
        if not gateways:
            return []
        usd = self.prices.usd(NAT_GATEWAY_HOUR)
        return [
            CostLine(
                item=_plural(len(gateways), "NAT gateway"),
                quantity=len(gateways),
                unit=self.per_hour(usd, "gateway-hour"),
                monthly_usd=self.hourly(len(gateways), usd),
                note=", ".join(logical_id for logical_id, _ in gateways),
            )
        ]

    def kinesis_streams(self) -> list[CostLine]:
        shards, on_demand = _Group(), _Group()
        for logical_id, resource in self.of_type("AWS::Kinesis::Stream"):
            properties = self.properties(resource)
            details = properties.get("StreamModeDetails")
            mode = details.get("StreamMode", "PROVISIONED") if isinstance(details, dict) else None
            if details is None:
                mode = "PROVISIONED"  # CloudFormation's default
            if mode == "ON_DEMAND":
                on_demand.quantity += 1
                on_demand.resources.append(logical_id)
                continue
            if mode != "PROVISIONED":
                # Provisioned with one shard is the cheaper of the two modes idle.
                shards.unresolved(
                    f"{logical_id}: stream mode is {_show(details)}, counted as 1 provisioned shard"
                )
                count = 1
            else:
                count = _integer(properties.get("ShardCount"))
                if count is None:
                    shards.unresolved(
                        f"{logical_id}: ShardCount is {_show(properties.get('ShardCount'))}, "
                        "counted as 1"
                    )
                    count = 1
            shards.quantity += count
            shards.resources.append(logical_id)
        lines = []
        if shards.resources:
            usd = self.prices.usd(KINESIS_SHARD_HOUR)
            lines.append(
                CostLine(
                    item=f"{shards.at_least}{_plural(shards.quantity, 'Kinesis shard')}",
                    quantity=shards.quantity,
                    unit=self.per_hour(usd, "shard-hour"),
                    monthly_usd=self.hourly(shards.quantity, usd),
                    note=shards.note(", ".join(shards.resources)),
                )
            )
        if on_demand.resources:
            usd = self.prices.usd(KINESIS_ON_DEMAND_STREAM_HOUR)
            lines.append(
                CostLine(
                    item=_plural(on_demand.quantity, "Kinesis on-demand stream"),
                    quantity=on_demand.quantity,
                    unit=self.per_hour(usd, "stream-hour"),
                    monthly_usd=self.hourly(on_demand.quantity, usd),
                    note=", ".join(on_demand.resources),
                )
            )
        return lines

    def lustre_file_systems(self) -> list[CostLine]:
        groups: dict[tuple[str, str], _Group] = {}
        unpriced: list[CostLine] = []
        for logical_id, resource in self.of_type("AWS::FSx::FileSystem"):
            properties = self.properties(resource)
            file_system_type = properties.get("FileSystemType")
            lustre = properties.get("LustreConfiguration")
            lustre = lustre if isinstance(lustre, dict) else {}
            deployment = lustre.get("DeploymentType", "SCRATCH_1")  # CloudFormation's default
            if not isinstance(file_system_type, str) or not isinstance(deployment, str):
                unpriced.append(
                    CostLine(
                        item="FSx file system of unresolved type",
                        quantity=0,
                        unit="unpriced",
                        monthly_usd=0.0,
                        note=(
                            f"{logical_id}: FileSystemType {_show(file_system_type)}, "
                            f"DeploymentType {_show(deployment)}, not counted; its capacity "
                            "bills per GB-month whether used or not"
                        ),
                    )
                )
                continue
            if file_system_type != "LUSTRE":
                raise MissingPriceError(
                    f"no price for FSx file system {logical_id} of type {file_system_type!r}: "
                    f"{_display(self.prices.path)} prices only FSx for Lustre "
                    f"(prices.{FSX_LUSTRE_GB_MONTH}); add an entry for it and read it in "
                    "ml_refarch/cost.py"
                )
            kind, label = deployment, deployment
            notes: list[str] = []
            if deployment.startswith("PERSISTENT"):
                throughput = _integer(lustre.get("PerUnitStorageThroughput"))
                label = f"{deployment} at {throughput} MB/s/TiB"
                if throughput is None:
                    throughput = self.lowest_tier(deployment)
                    label = f"{deployment} at {throughput}+ MB/s/TiB"
                    notes.append(
                        f"{logical_id}: PerUnitStorageThroughput is "
                        f"{_show(lustre.get('PerUnitStorageThroughput'))}, priced at the "
                        f"lowest tier, {throughput} MB/s/TiB"
                    )
                kind = f"{deployment}/{throughput}"
            # Fails early, naming the file, when the tier is not in the table.
            self.prices.usd_for(FSX_LUSTRE_GB_MONTH, kind, "FSx for Lustre deployment")
            group = groups.setdefault((kind, label), _Group())
            capacity = _integer(properties.get("StorageCapacity"))
            if capacity is None:
                capacity = _MIN_LUSTRE_GIB
                group.unresolved(
                    f"{logical_id}: StorageCapacity is "
                    f"{_show(properties.get('StorageCapacity'))}, counted as the "
                    f"{_MIN_LUSTRE_GIB} GiB minimum"
                )
            group.quantity += capacity
            group.resources.append(logical_id)
            group.notes += notes
        lines = []
        for (kind, label), group in sorted(groups.items()):
            usd = self.prices.usd_for(FSX_LUSTRE_GB_MONTH, kind, "FSx for Lustre deployment")
            count = len(group.resources)
            systems = "" if count == 1 else f"{count} file systems, "
            lines.append(
                CostLine(
                    item=(
                        f"FSx for Lustre {label}, {systems}{group.at_least}{group.quantity:g} GiB"
                    ),
                    quantity=group.quantity,
                    unit=f"{_unit_price(usd)}/GB-month",
                    monthly_usd=group.quantity * usd,
                    note=group.note(", ".join(group.resources)),
                )
            )
        return lines + unpriced

    def lowest_tier(self, deployment: str) -> int:
        by_type = self.prices.prices[FSX_LUSTRE_GB_MONTH].usd_by_type or {}
        tiers = [
            int(tier)
            for kind in by_type
            for dep, _, tier in [kind.partition("/")]
            if dep == deployment and tier.isdigit()
        ]
        if not tiers:
            raise MissingPriceError(
                f"no price for FSx for Lustre deployment {deployment!r} at any throughput in "
                f"{_display(self.prices.path)}: add '{deployment}/<MB/s/TiB>' under "
                f"prices.{FSX_LUSTRE_GB_MONTH}.usd_by_type"
            )
        return min(tiers)

    def notebook_instances(self) -> list[CostLine]:
        instances: dict[str, _Group] = {}
        storage = _Group()
        unpriced: list[CostLine] = []
        for logical_id, resource in self.of_type("AWS::SageMaker::NotebookInstance"):
            properties = self.properties(resource)
            instance_type = properties.get("InstanceType")
            if isinstance(instance_type, str):
                group = instances.setdefault(instance_type, _Group())
                group.quantity += 1
                group.resources.append(logical_id)
            else:
                unpriced.append(
                    CostLine(
                        item="notebook instance of unresolved type, in service",
                        quantity=1,
                        unit="unpriced",
                        monthly_usd=0.0,
                        note=(
                            f"{logical_id}: InstanceType is {_show(instance_type)}, not "
                            "counted; look up its hourly price"
                        ),
                    )
                )
            volume = properties.get("VolumeSizeInGB")
            size = _integer(volume)
            if volume is None:
                size = _NOTEBOOK_DEFAULT_VOLUME_GB
            elif size is None:
                storage.unresolved(
                    f"{logical_id}: VolumeSizeInGB is {_show(volume)}, counted as the "
                    f"{_NOTEBOOK_DEFAULT_VOLUME_GB} GB minimum"
                )
                size = _NOTEBOOK_DEFAULT_VOLUME_GB
            storage.quantity += size
            storage.resources.append(logical_id)
        lines = list(unpriced)
        for instance_type, group in sorted(instances.items()):
            usd = self.prices.usd_for(
                NOTEBOOK_INSTANCE_HOUR, instance_type, "SageMaker notebook instance type"
            )
            lines.append(
                CostLine(
                    item=(
                        f"{_plural(group.quantity, 'notebook instance')} {instance_type}, "
                        "in service"
                    ),
                    quantity=group.quantity,
                    unit=self.per_hour(usd, "instance-hour"),
                    monthly_usd=self.hourly(group.quantity, usd),
                    note=(
                        f"{', '.join(group.resources)}; nothing while stopped: a stopped "
                        "notebook costs only its volume"
                    ),
                )
            )
        if storage.resources:
            usd = self.prices.usd(ML_STORAGE_GB_MONTH)
            lines.append(
                CostLine(
                    item=f"notebook ML storage, {storage.at_least}{storage.quantity:g} GB",
                    quantity=storage.quantity,
                    unit=f"{_unit_price(usd)}/GB-month",
                    monthly_usd=storage.quantity * usd,
                    note=storage.note(f"{', '.join(storage.resources)}; billed while stopped too"),
                )
            )
        return lines

    def endpoints(self) -> list[CostLine]:
        configs = dict(self.of_type("AWS::SageMaker::EndpointConfig"))
        groups: dict[str, _Group] = {}
        lines: list[CostLine] = []
        for logical_id, resource in self.of_type("AWS::SageMaker::Endpoint"):
            reference = self.properties(resource).get("EndpointConfigName")
            config_id = _referenced_id(reference)
            if config_id is None and isinstance(reference, str):
                config_id = next(
                    (
                        cid
                        for cid, config in configs.items()
                        if self.properties(config).get("EndpointConfigName") == reference
                    ),
                    None,
                )
            if config_id not in configs:
                lines.append(
                    CostLine(
                        item="endpoint with a configuration outside the template",
                        quantity=0,
                        unit="unpriced",
                        monthly_usd=0.0,
                        note=(
                            f"{logical_id}: EndpointConfigName is {_show(reference)}, not "
                            "counted; its instances bill per hour while it exists"
                        ),
                    )
                )
                continue
            config = self.properties(configs[config_id])
            variants = [
                variant
                for key in ("ProductionVariants", "ShadowProductionVariants")
                for variant in (config.get(key) or [])
                if isinstance(variant, dict)
            ]
            for variant in variants:
                if "ServerlessConfig" in variant:
                    continue  # billed per request and GB-second: usage-based
                instance_type = variant.get("InstanceType")
                where = f"{logical_id} ({config_id}, variant {variant.get('VariantName', '?')})"
                if not isinstance(instance_type, str):
                    lines.append(
                        CostLine(
                            item="endpoint instances of unresolved type",
                            quantity=0,
                            unit="unpriced",
                            monthly_usd=0.0,
                            note=f"{where}: InstanceType is {_show(instance_type)}, not counted",
                        )
                    )
                    continue
                count = _integer(variant.get("InitialInstanceCount"))
                group = groups.setdefault(instance_type, _Group())
                if count is None:
                    group.unresolved(
                        f"{where}: InitialInstanceCount is "
                        f"{_show(variant.get('InitialInstanceCount'))}, counted as 1"
                    )
                    count = 1
                group.quantity += count
                group.resources.append(where)
        for instance_type, group in sorted(groups.items()):
            usd = self.prices.usd_for(
                ENDPOINT_INSTANCE_HOUR, instance_type, "SageMaker endpoint instance type"
            )
            lines.append(
                CostLine(
                    item=(
                        f"{group.at_least}{_plural(group.quantity, 'endpoint instance')} "
                        f"{instance_type}"
                    ),
                    quantity=group.quantity,
                    unit=self.per_hour(usd, "instance-hour"),
                    monthly_usd=self.hourly(group.quantity, usd),
                    note=group.note(", ".join(group.resources)),
                )
            )
        return lines

    def web_acls(self) -> list[CostLine]:
        acls = self.of_type("AWS::WAFv2::WebACL")
        if not acls:
            return []
        acl_usd = self.prices.usd(WAF_WEB_ACL_MONTH)
        rule_usd = self.prices.usd(WAF_RULE_MONTH)
        rules = _Group()
        for logical_id, resource in acls:
            listed = self.properties(resource).get("Rules", [])
            if isinstance(listed, list):
                rules.quantity += len(listed)
            else:
                rules.unresolved(f"{logical_id}: Rules is {_show(listed)}, counted as none")
            rules.resources.append(logical_id)
        names = ", ".join(rules.resources)
        lines = [
            CostLine(
                item=_plural(len(acls), "WAF web ACL"),
                quantity=len(acls),
                unit=f"{_unit_price(acl_usd)}/web-ACL-month",
                monthly_usd=len(acls) * acl_usd,
                note=names,
            )
        ]
        if rules.quantity or rules.lower_bound:
            lines.append(
                CostLine(
                    item=f"{rules.at_least}{_plural(rules.quantity, 'WAF rule')}",
                    quantity=rules.quantity,
                    unit=f"{_unit_price(rule_usd)}/rule-month",
                    monthly_usd=rules.quantity * rule_usd,
                    note=rules.note(f"{names}; a managed rule group counts as one rule"),
                )
            )
        return lines

    # Usage-based costs ------------------------------------------------------------------

    def usage_based(self) -> list[str]:
        """What bills by use, named from the resource types present, in a fixed order."""
        items: list[str] = []
        has = self.by_type.__contains__
        if has("AWS::S3::Bucket"):
            items.append("S3 storage and requests")
        if has("AWS::Logs::LogGroup") or has("AWS::EC2::FlowLog"):
            usd = _unit_price(self.prices.usd(LOGS_INGESTED_GB))
            flow_logs = ", VPC flow logs included" if has("AWS::EC2::FlowLog") else ""
            items.append(f"CloudWatch Logs ingestion ({usd}/GB{flow_logs}) and storage")
        if has("AWS::KMS::Key") or has("AWS::KMS::ReplicaKey"):
            items.append("KMS requests")
        items += self.kinesis_usage()
        items += self.firehose_usage()
        if self.runtime_functions():
            items.append("Lambda invocations and GB-seconds")
        workflow = self.state_machine_usage()
        items += workflow["state_machine"]
        if workflow["training"] or self.sagemaker_can_run_jobs():
            items.append("SageMaker training and tuning instance-hours")
        if workflow["transform"]:
            items.append("SageMaker batch transform instance-hours per run")
        items += self.monitoring_usage()
        items += workflow["endpoints"]
        if has("AWS::SageMaker::Endpoint"):
            items.append("SageMaker endpoint data processed in and out")
        serverless = [
            variant["ServerlessConfig"]
            for _, config in self.of_type("AWS::SageMaker::EndpointConfig")
            for variant in (self.properties(config).get("ProductionVariants") or [])
            if isinstance(variant, dict) and "ServerlessConfig" in variant
        ]
        if serverless:
            items.append("SageMaker serverless inference per request and GB-second")
        if any(isinstance(c, dict) and c.get("ProvisionedConcurrency") for c in serverless):
            # Warm workers bill by the hour even with no requests; the table has no price.
            items.append(
                "SageMaker serverless provisioned concurrency per GB-second while configured, "
                "requests or not (not priced here)"
            )
        if has("AWS::SageMaker::Domain"):
            items.append("Studio app instance-hours while apps run, and home EFS storage")
        if any(
            self.properties(resource).get("VpcEndpointType") == "Interface"
            for _, resource in self.of_type("AWS::EC2::VPCEndpoint")
        ):
            items.append("interface endpoint data processed per GB")
        if has("AWS::EC2::NatGateway"):
            items.append("NAT gateway data processed per GB")
        if has("AWS::ApiGateway::RestApi"):
            items.append("API Gateway REST API requests (per million) and data transfer out")
        if has("AWS::WAFv2::WebACL"):
            items.append("WAF requests inspected (per million)")
        if has("AWS::SNS::Topic"):
            items.append("SNS publishes and deliveries")
        if has("AWS::CodeArtifact::Domain") or has("AWS::CodeArtifact::Repository"):
            items.append("CodeArtifact storage and requests")
        if any(
            self.lustre_backups(resource) for _, resource in self.of_type("AWS::FSx::FileSystem")
        ):
            items.append("FSx for Lustre backups per GB-month")
        return list(dict.fromkeys(items))

    def monitoring_usage(self) -> list[str]:
        """Model Monitor schedules: a processing job on every tick, whether traffic came or not.

        Not idle capacity (nothing runs between ticks) but not use either: the schedule
        alone starts the runs, so the line says how many and on what instances.
        """
        definitions = {
            properties.get("JobDefinitionName"): properties
            for resource_type in _MONITORING_JOB_DEFINITIONS
            for _, resource in self.of_type(resource_type)
            for properties in [self.properties(resource)]
        }
        items = []
        for logical_id, resource in self.of_type("AWS::SageMaker::MonitoringSchedule"):
            config = self.properties(resource).get("MonitoringScheduleConfig") or {}
            expression = (config.get("ScheduleConfig") or {}).get("ScheduleExpression")
            try:
                runs = f"about {monitoring_runs_per_day(expression) * self.hours / 24:.0f}"
            except ValueError:
                runs = "an unreadable number of"
            job = definitions.get(config.get("MonitoringJobDefinitionName")) or {}
            cluster = (job.get("JobResources") or {}).get("ClusterConfig") or {}
            count = _integer(cluster.get("InstanceCount"))
            instance_type = cluster.get("InstanceType")
            instances = (
                f"{count} x {instance_type}"
                if count is not None and isinstance(instance_type, str)
                else "instances not readable from the template"
            )
            limit = _integer((job.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds"))
            items.append(
                f"Model Monitor schedule {logical_id} ({_show(expression)}): {runs} "
                f"processing runs a month on {instances}, billed per second of each run"
                + (f" (at most {limit} s)" if limit is not None else "")
            )
        return items

    def runtime_functions(self) -> list[str]:
        """Lambda functions other than custom resource handlers.

        A custom resource's handler runs only while the stack deploys, updates or deletes,
        so it is not a cost of use.
        """
        handlers = {
            _referenced_id(self.properties(resource).get("ServiceToken"))
            for resource_type, resources in self.by_type.items()
            if resource_type.startswith("Custom::")
            or resource_type == "AWS::CloudFormation::CustomResource"
            for _, resource in resources
        }
        return [
            logical_id
            for logical_id, _ in self.of_type("AWS::Lambda::Function")
            if logical_id not in handlers
        ]

    def lustre_backups(self, resource: dict) -> bool:
        days = _integer(self.properties(resource).get("AutomaticBackupRetentionDays"))
        return bool(days)

    def kinesis_usage(self) -> list[str]:
        items = []
        for _, resource in self.of_type("AWS::Kinesis::Stream"):
            details = self.properties(resource).get("StreamModeDetails")
            if isinstance(details, dict) and details.get("StreamMode") == "ON_DEMAND":
                items.append("Kinesis on-demand data written and read per GB")
            else:
                items.append("Kinesis PUT payload units (25 KB each)")
        return items

    def firehose_usage(self) -> list[str]:
        items = []
        for _, resource in self.of_type("AWS::KinesisFirehose::DeliveryStream"):
            destination = self.properties(resource).get("ExtendedS3DestinationConfiguration")
            formats = [
                _SERIALIZERS.get(name, name)
                for node in _walk(destination)
                if isinstance(node.get("Serializer"), dict)
                for name in node["Serializer"]
            ]
            converted = [
                node
                for node in _walk(destination)
                if isinstance(node.get("DataFormatConversionConfiguration"), dict)
                and node["DataFormatConversionConfiguration"].get("Enabled", True) is not False
            ]
            if converted:
                target = " and ".join(formats) or "a columnar format"
                items.append(f"Firehose per GB ingested and per GB converted to {target}")
            else:
                items.append("Firehose per GB ingested")
        return items

    def sagemaker_can_run_jobs(self) -> bool:
        """A role SageMaker can assume that notebooks and callers can start jobs with.

        A role only models and monitoring job definitions use serves hosting, not training:
        it does not count. A role nothing in the stack uses (a job role for scripts), or one
        a notebook or Studio domain uses, does.
        """
        for logical_id, resource in self.of_type("AWS::IAM::Role"):
            document = self.properties(resource).get("AssumeRolePolicyDocument")
            trusted = False
            for node in _walk(document):
                service = node.get("Service")
                services = service if isinstance(service, list) else [service]
                trusted = trusted or "sagemaker.amazonaws.com" in services
            if not trusted:
                continue
            users = {
                other["Type"]
                for entries in self.by_type.values()
                for other_id, other in entries
                if other_id != logical_id
                and other.get("Type") not in _ROLE_PLUMBING
                and logical_id in referenced_ids(other.get("Properties"))
            }
            if not users or users - _HOSTING_ROLE_USERS:
                return True
        return False

    def state_machine_usage(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {
            "state_machine": [],
            "training": [],
            "endpoints": [],
            "transform": [],
        }
        for logical_id, resource in self.of_type("AWS::StepFunctions::StateMachine"):
            properties = self.properties(resource)
            if properties.get("StateMachineType") == "EXPRESS":
                found["state_machine"].append("Step Functions Express requests and duration")
            else:
                found["state_machine"].append("Step Functions state transitions")
            tracing = properties.get("TracingConfiguration")
            if isinstance(tracing, dict) and tracing.get("Enabled") is True:
                found["state_machine"].append("X-Ray traces recorded and scanned")
            text = _definition_text(properties)
            if text is None:
                continue
            try:
                definition = json.loads(text)
            except ValueError:
                definition = None
            actions = self.task_actions(definition) if definition is not None else set()
            if definition is None:
                # Unparseable text: fall back to looking for the action names.
                actions = {
                    action
                    for action in (
                        "createTrainingJob",
                        "createHyperParameterTuningJob",
                        "createEndpointConfig",
                    )
                    if action in text
                }
                if "createEndpoint" in text.replace("createEndpointConfig", ""):
                    actions.add("createEndpoint")
            if actions & {"createTrainingJob", "createHyperParameterTuningJob"}:
                found["training"].append(logical_id)
            if "createEndpoint" in actions:
                found["endpoints"] += self.deployed_endpoints(definition)
            if "createTransformJob" in actions or (
                definition is None and "createTransformJob" in text
            ):
                found["transform"].append(logical_id)
        return found

    @staticmethod
    def task_actions(definition: Any) -> set[str]:
        return {
            _task_action(node["Resource"])
            for node in _walk(definition)
            if isinstance(node.get("Resource"), str)
        }

    def deployed_endpoints(self, definition: Any) -> list[str]:
        """Usage items for the endpoints a state machine creates outside its stack."""
        generic = (
            "the endpoint the state machine deploys, outside the stack: instances x their "
            "hourly price while it exists (count and type not readable from the definition)"
        )
        items = []
        for node in _walk(definition):
            resource = node.get("Resource")
            if not isinstance(resource, str) or _task_action(resource) != "createEndpointConfig":
                continue
            parameters = node.get("Parameters") or node.get("Arguments") or {}
            variants = (
                parameters.get("ProductionVariants") if isinstance(parameters, dict) else None
            )
            if not isinstance(variants, list) or not variants:
                return [generic]
            parts, hourly_usd = [], 0.0
            for variant in variants:
                if not isinstance(variant, dict):
                    return [generic]
                count = _integer(variant.get("InitialInstanceCount"))
                instance_type = variant.get("InstanceType")
                if (
                    count is None
                    or not isinstance(instance_type, str)
                    or not instance_type.startswith("ml.")
                ):
                    return [generic]
                usd = self.prices.usd_for(
                    ENDPOINT_INSTANCE_HOUR, instance_type, "SageMaker endpoint instance type"
                )
                parts.append(f"{count} x {instance_type} at {_unit_price(usd)}/hour")
                hourly_usd += count * usd
            items.append(
                "the endpoint the state machine deploys, outside the stack: "
                f"{' + '.join(parts)} = {_unit_price(round(hourly_usd, 4))} an hour, about "
                f"{_money(hourly_usd * self.hours)} a month while it exists"
            )
        return list(dict.fromkeys(items)) or [generic]


def _definition_text(properties: dict) -> str | None:
    if "DefinitionString" in properties:
        return _joined_strings(properties["DefinitionString"])
    if isinstance(properties.get("Definition"), dict):
        return json.dumps(properties["Definition"])
    return None
