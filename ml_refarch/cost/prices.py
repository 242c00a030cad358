"""The price table: one region's dated list prices, read and checked from a JSON file.

Prices come from ``ml_refarch/data/prices-us-east-1.json``: approximate us-east-1 public list
prices as of 2026-11-25, with 730 hours a month. Other regions price differently, and list
prices change: check the AWS pricing pages before relying on a figure. An instance type or
FSx tier missing from the table is a :class:`MissingPriceError` naming the file to add it to.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

#: The price table kept in the repository.
PRICES_PATH = Path(__file__).resolve().parents[1] / "data" / "prices-us-east-1.json"

_REPO_ROOT = Path(__file__).resolve().parents[2]

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
            f"no price for {what} {kind!r} in {display_path(self.path)}: add "
            f'"{kind}": <USD per {self.prices[key].unit}> under prices.{key}.usd_by_type '
            f"(listed: {known})"
        )


def display_path(path: Path) -> str:
    """``path`` relative to the repository when inside it, for messages."""
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
        raise ValueError(f"cannot read price table {display_path(source)}: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"price table {display_path(source)} is not valid JSON: {error}") from None
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ValueError(f"price table {display_path(source)}: expected a JSON object at the top")
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
        lines = [
            f"invalid price table {display_path(source)} ({count} problem{'s' * (count != 1)}):"
        ]
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
