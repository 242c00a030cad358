"""The PySpark job (job/prepare_features.py) on the committed sample rows, with a local
Spark, and its PutRecord writer with a fake client."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ml_refarch.stacks.feature_store_spark.job import prepare_features as job

SAMPLE = Path(job.__file__).resolve().parent / "sample"
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
OPTIONS = {
    "feature_group": "customers",
    "record_identifier": "customer_id",
    "event_time_feature": "event_time",
    "event_time": "2026-12-01T00:00:00Z",
}


@pytest.fixture(scope="module")
def features(spark):
    orders, customers = job.read_lake(spark, SAMPLE.as_uri())
    return {
        row["customer_id"]: row.asDict()
        for row in job.customer_features(orders, customers, AS_OF).collect()
    }


def test_one_row_per_customer_with_every_feature(features):
    assert sorted(features) == ["c001", "c002", "c003", "c004", "c005", "c006"]
    for row in features.values():
        assert list(row) == ["customer_id", *(name for name, _ in job.FEATURES)]


def test_only_complete_orders_count_towards_spend(features):
    c001, c002, c005 = features["c001"], features["c002"], features["c005"]
    assert (c001["order_count"], c001["total_spend"]) == (3, pytest.approx(119.75, rel=1e-9))
    assert c001["avg_order_value"] == pytest.approx(39.92, rel=1e-9)
    # One returned order: counted apart, not spent.
    assert (c002["order_count"], c002["returned_or_cancelled"]) == (1, 1)
    assert c002["total_spend"] == pytest.approx(120.0, rel=1e-9)
    assert (c005["order_count"], c005["returned_or_cancelled"]) == (1, 1)


def test_days_count_from_the_last_complete_order_or_the_signup(features):
    assert features["c001"]["days_since_last_order"] == 3  # 2026-11-28
    assert features["c002"]["days_since_last_order"] == 173  # 2026-06-11, the return is later
    # No orders at all: from the signup date, no spend and no average.
    c006 = features["c006"]
    assert (c006["order_count"], c006["total_spend"], c006["avg_order_value"]) == (0, 0.0, 0.0)
    assert c006["days_since_last_order"] == c006["tenure_days"] == 182


def test_orders_after_the_event_time_are_left_out(spark):
    orders, customers = job.read_lake(spark, SAMPLE.as_uri())
    earlier = datetime(2026, 11, 1, tzinfo=UTC)
    rows = {
        r["customer_id"]: r for r in job.customer_features(orders, customers, earlier).collect()
    }
    assert rows["c003"]["order_count"] == 0  # both orders on 2026-11-30
    assert rows["c001"]["order_count"] == 2


def test_a_row_becomes_a_record_with_identifier_event_time_and_strings():
    row = {"customer_id": "c9", "order_count": 2, "total_spend": 10.5, "avg_order_value": None}
    record = job.to_record(
        row, record_identifier="id", event_time_feature="ts", event_time="2026-12-01T00:00:00Z"
    )
    assert record == [
        {"FeatureName": "id", "ValueAsString": "c9"},
        {"FeatureName": "ts", "ValueAsString": "2026-12-01T00:00:00Z"},
        {"FeatureName": "order_count", "ValueAsString": "2"},
        {"FeatureName": "total_spend", "ValueAsString": "10.5"},
    ]


class ClientError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class FakeFeatureStore:
    def __init__(self, failures: list[str] | None = None):
        self.failures = list(failures or [])
        self.records: list[tuple[str, list]] = []

    def put_record(self, *, FeatureGroupName, Record):
        if self.failures:
            raise ClientError(self.failures.pop(0))
        self.records.append((FeatureGroupName, Record))


def test_a_partition_is_written_record_by_record_and_throttling_is_retried():
    client, waits = FakeFeatureStore(["ThrottlingException", "ThrottlingException"]), []
    rows = [{"customer_id": "a", "order_count": 1}, {"customer_id": "b", "order_count": 0}]
    assert job.put_partition(rows, client, sleep=waits.append, **OPTIONS) == 2
    assert [record[0]["ValueAsString"] for _, record in client.records] == ["a", "b"]
    assert {name for name, _ in client.records} == {"customers"}
    assert len(waits) == 2 and waits[0] < waits[1]


def test_a_record_refused_for_good_fails_the_job_with_its_identifier():
    client = FakeFeatureStore(["ValidationError"])
    with pytest.raises(RuntimeError, match="PutRecord of a into customers failed"):
        job.put_partition([{"customer_id": "a"}], client, sleep=lambda _: None, **OPTIONS)


def test_retries_stop_after_the_last_attempt():
    client = FakeFeatureStore(["ThrottlingException"] * job.MAX_ATTEMPTS)
    with pytest.raises(RuntimeError):
        job.put_partition([{"customer_id": "a"}], client, sleep=lambda _: None, **OPTIONS)


def test_the_event_time_must_be_iso_8601_utc():
    assert job.parse_event_time("2026-12-01T00:00:00Z") == AS_OF
    assert job.parse_event_time("2026-12-01T00:00:00.250Z").microsecond == 250000
    with pytest.raises(ValueError, match=r"yyyy-mm-ddThh:mm:ss\[.SSS\]Z"):
        job.parse_event_time("2026-12-01 00:00")
