"""The price table: the dated us-east-1 list, and a bad table as one clear error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_refarch.cost import PRICES_PATH, PriceTable, load_prices

HOURS = 730


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_prices()


def test_price_table_is_the_dated_us_east_1_list(prices):
    assert (prices.region, prices.currency, prices.as_of) == ("us-east-1", "USD", "2026-11-25")
    assert prices.hours_per_month == HOURS
    assert "check" in prices.note.lower() and "approximate" in prices.note.lower()
    assert prices.usd("kms_key_month") == 1.0
    assert prices.usd("vpc_interface_endpoint_az_hour") == 0.01
    assert prices.usd("nat_gateway_hour") == 0.045
    assert prices.usd("kinesis_shard_hour") == 0.015
    assert prices.usd("kinesis_on_demand_stream_hour") == 0.04
    assert prices.usd("sagemaker_ml_storage_gb_month") == 0.14
    assert prices.usd("cloudwatch_logs_ingested_gb") == 0.5
    assert prices.prices["cloudwatch_logs_ingested_gb"].usage is True
    lustre = prices.prices["fsx_lustre_gb_month"].usd_by_type
    assert lustre == {
        "SCRATCH_2": 0.14,
        "PERSISTENT_2/125": 0.145,
        "PERSISTENT_2/250": 0.21,
        "PERSISTENT_2/500": 0.34,
        "PERSISTENT_2/1000": 0.6,
    }
    notebooks = prices.prices["sagemaker_notebook_instance_hour"].usd_by_type
    for instance_type, usd in {
        "ml.t3.medium": 0.05,
        "ml.t3.large": 0.1,
        "ml.m5.large": 0.115,
        "ml.m5.xlarge": 0.23,
    }.items():
        assert notebooks[instance_type] == usd
    endpoints = prices.prices["sagemaker_endpoint_instance_hour"].usd_by_type
    for instance_type, usd in {
        "ml.m5.large": 0.115,
        "ml.c5.large": 0.102,
        "ml.m5.xlarge": 0.23,
    }.items():
        assert endpoints[instance_type] == usd
    for entry in prices.prices.values():
        assert entry.unit and entry.note


@pytest.fixture
def table_json() -> dict:
    return json.loads(PRICES_PATH.read_text())


def write(tmp_path, data: Any) -> Any:
    path = tmp_path / "prices.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.pop("as_of"), "missing key 'as_of'"),
        (lambda t: t.update(as_of="25/11/2026"), "as_of: expected a date"),
        (lambda t: t.update(hours_per_month=0), "hours_per_month: expected a positive number"),
        (lambda t: t.update(currency="EUR"), "only 'USD'"),
        (lambda t: t["prices"].pop("nat_gateway_hour"), "missing entry 'nat_gateway_hour'"),
        (lambda t: t["prices"]["kms_key_month"].update(usd=-1), "kms_key_month.usd: expected"),
        (lambda t: t["prices"]["kms_key_month"].update(usd="1.00"), "non-negative number"),
        (lambda t: t["prices"]["kms_key_month"].update(usd=True), "non-negative number"),
        (lambda t: t["prices"]["kms_key_month"].pop("unit"), "missing or empty 'unit'"),
        (
            lambda t: t["prices"]["sagemaker_notebook_instance_hour"]["usd_by_type"].update(
                {"ml.t3.medium": None}
            ),
            "usd_by_type.ml.t3.medium: expected a non-negative number",
        ),
        (
            lambda t: t["prices"]["kms_key_month"].update(usd_by_type={"a": 1}),
            "exactly one of 'usd' and 'usd_by_type'",
        ),
        (
            lambda t: t["prices"]["fsx_lustre_gb_month"].update(usd=0.14, usd_by_type=None),
            "fsx_lustre_gb_month",
        ),
    ],
)
def test_a_bad_price_table_is_a_clear_value_error(tmp_path, table_json, change, message):
    change(table_json)
    with pytest.raises(ValueError, match="invalid price table") as error:
        load_prices(write(tmp_path, table_json))
    assert message in str(error.value)


def test_price_table_problems_are_reported_together(tmp_path, table_json):
    del table_json["region"]
    table_json["prices"]["nat_gateway_hour"]["usd"] = -0.045
    with pytest.raises(ValueError) as error:
        load_prices(write(tmp_path, table_json))
    assert "2 problems" in str(error.value)
    assert "'region'" in str(error.value) and "nat_gateway_hour" in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"), [("{not json", "not valid JSON"), ("[]", "object")]
)
def test_an_unreadable_price_table_is_a_value_error(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        load_prices(write(tmp_path, content))
    with pytest.raises(ValueError, match="cannot read"):
        load_prices(tmp_path / "missing.json")
