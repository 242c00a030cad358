"""PySpark job of the ``feature-store-spark`` pattern: customer features into a feature group.

EMR Serverless runs this file (``spark-submit``, uploaded as an asset). It reads two CSV
datasets shaped like a data lake's curated zone (``orders/`` and ``customers/`` under one
prefix, with headers), computes one row of features per customer as of the run's event
time, and writes each row to a SageMaker Feature Store feature group with ``PutRecord``.

The transform (:func:`customer_features`) is a function of DataFrames and runs in the
tests on the committed sample rows (``sample/``) with a local Spark. Turning a row into a
record (:func:`to_record`) and writing a partition (:func:`put_partition`) are plain Python
with the client passed in, tested with a fake client.

How records reach the feature group: ``PutRecord`` through boto3, one client per
partition (``foreachPartition``). With the online store on, ``PutRecord`` writes the online
store and Feature Store copies the record to the offline store within 15 minutes; that is
also what the Feature Store Spark connector does by default ("Batch ingestion with Amazon
SageMaker Feature Store Spark",
https://docs.aws.amazon.com/sagemaker/latest/dg/batch-ingestion-spark-connector-setup.html),
but the connector is a JAR and a Python library that the EMR Serverless release does not
ship, which workers in isolated subnets could not download.

Arguments: ``--input s3://.../lake/ --feature-group NAME --event-time 2026-12-01T00:00:00Z
--record-identifier customer_id --event-time-feature event_time [--region REGION]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

#: The features the job writes besides the record identifier and the event time, in the
#: order of the feature group's definitions: (name, Feature Store type).
FEATURES: tuple[tuple[str, str], ...] = (
    ("order_count", "Integral"),
    ("total_spend", "Fractional"),
    ("avg_order_value", "Fractional"),
    ("days_since_last_order", "Integral"),
    ("returned_or_cancelled", "Integral"),
    ("tenure_days", "Integral"),
    ("churned", "Integral"),
)
#: The label among :data:`FEATURES` (the training job's first CSV column).
LABEL = "churned"
#: Statuses of an order that counts towards spend.
COMPLETE = "COMPLETE"
#: PutRecord errors worth another try (throttling and service faults).
RETRYABLE_ERRORS = frozenset(
    {"ThrottlingException", "ServiceUnavailable", "InternalFailure", "InternalServerError"}
)
MAX_ATTEMPTS = 5


def parse_event_time(text: str) -> datetime:
    """An ISO 8601 UTC time, ``2026-12-01T00:00:00Z`` or with milliseconds (Step Functions'
    ``$$.Execution.StartTime``): the two forms Feature Store accepts for a String event
    time feature."""
    for form in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            # timezone.utc, not datetime.UTC: EMR 7 releases ship Python 3.9 as well as 3.11.
            return datetime.strptime(text, form).replace(tzinfo=timezone.utc)  # noqa: UP017
        except ValueError:
            continue
    raise ValueError(f"event time {text!r} is not yyyy-mm-ddThh:mm:ss[.SSS]Z")


def customer_features(orders: Any, customers: Any, as_of: datetime) -> Any:
    """One row per customer: the record identifier ``customer_id`` and :data:`FEATURES`.

    ``orders``: ``order_id, customer_id, order_ts`` (ISO 8601 UTC), ``amount``, ``status``;
    ``customers``: ``customer_id, signup_date`` (yyyy-mm-dd), ``churned`` (0/1). Orders
    after ``as_of`` are left out; a customer without orders has zero counts and spend, and
    counts the days since the last order from the signup date.
    """
    from pyspark.sql import functions as F

    as_of_ts = F.lit(as_of.strftime("%Y-%m-%d %H:%M:%S.%f")).cast("timestamp")
    placed = F.to_timestamp("order_ts", "yyyy-MM-dd'T'HH:mm:ssX")
    complete = F.col("status") == F.lit(COMPLETE)
    amount = F.col("amount").cast("double")
    per_customer = (
        orders.withColumn("placed", placed)
        .where(F.col("placed") <= as_of_ts)
        .groupBy("customer_id")
        .agg(
            F.sum(F.when(complete, 1).otherwise(0)).alias("order_count"),
            F.sum(F.when(complete, amount).otherwise(0.0)).alias("total_spend"),
            F.sum(F.when(complete, 0).otherwise(1)).alias("returned_or_cancelled"),
            F.max(F.when(complete, F.col("placed"))).alias("last_order"),
        )
    )
    signup = F.to_date("signup_date", "yyyy-MM-dd")
    joined = customers.join(per_customer, "customer_id", "left")
    order_count = F.coalesce(F.col("order_count"), F.lit(0)).cast("long")
    total_spend = F.round(F.coalesce(F.col("total_spend"), F.lit(0.0)), 2)
    last_activity = F.coalesce(F.to_date("last_order"), signup)
    return joined.select(
        F.col("customer_id").cast("string").alias("customer_id"),
        order_count.alias("order_count"),
        total_spend.alias("total_spend"),
        F.when(order_count > 0, F.round(total_spend / order_count, 2))
        .otherwise(F.lit(0.0))
        .alias("avg_order_value"),
        F.datediff(F.to_date(as_of_ts), last_activity).cast("long").alias("days_since_last_order"),
        F.coalesce(F.col("returned_or_cancelled"), F.lit(0))
        .cast("long")
        .alias("returned_or_cancelled"),
        F.datediff(F.to_date(as_of_ts), signup).cast("long").alias("tenure_days"),
        F.col("churned").cast("long").alias("churned"),
    ).orderBy("customer_id")


def to_record(
    row: Mapping[str, Any], *, record_identifier: str, event_time_feature: str, event_time: str
) -> list[dict[str, str]]:
    """A feature row as a PutRecord ``Record``: every feature as ``ValueAsString``, the
    row's ``customer_id`` under the record identifier's name; missing values left out (a
    feature group accepts records without them)."""
    record = [
        {"FeatureName": record_identifier, "ValueAsString": str(row["customer_id"])},
        {"FeatureName": event_time_feature, "ValueAsString": event_time},
    ]
    for name, _ in FEATURES:
        value = row.get(name)
        if value is not None:
            record.append({"FeatureName": name, "ValueAsString": _as_string(value)})
    return record


def _as_string(value: Any) -> str:
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def put_partition(
    rows: Iterable[Mapping[str, Any]],
    client: Any,
    *,
    feature_group: str,
    record_identifier: str,
    event_time_feature: str,
    event_time: str,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """PutRecord every row of a partition; retry throttling and faults with backoff.

    Returns the number of records written; raises ``RuntimeError`` naming the first record
    that failed for good, so the job run fails and the workflow alerts.
    """
    written = 0
    for row in rows:
        record = to_record(
            row,
            record_identifier=record_identifier,
            event_time_feature=event_time_feature,
            event_time=event_time,
        )
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                client.put_record(FeatureGroupName=feature_group, Record=record)
                break
            except Exception as error:  # botocore's ClientError, without importing botocore
                code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
                if code not in RETRYABLE_ERRORS or attempt == MAX_ATTEMPTS:
                    raise RuntimeError(
                        f"PutRecord of {row['customer_id']} into {feature_group} failed: {error}"
                    ) from error
                sleep(min(2.0**attempt / 10, 5.0))
        written += 1
    return written


def read_lake(spark: Any, prefix: str) -> tuple[Any, Any]:
    """The ``orders/`` and ``customers/`` CSV datasets under ``prefix`` (all strings)."""
    base = prefix.rstrip("/")
    orders = spark.read.option("header", "true").csv(f"{base}/orders/")
    customers = spark.read.option("header", "true").csv(f"{base}/customers/")
    return orders, customers


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--feature-group", required=True)
    parser.add_argument("--event-time", required=True)
    parser.add_argument("--record-identifier", required=True)
    parser.add_argument("--event-time-feature", required=True)
    parser.add_argument("--region", default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    arguments = _arguments(argv)
    as_of = parse_event_time(arguments.event_time)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("feature-store-spark").getOrCreate()
    orders, customers = read_lake(spark, arguments.input)
    features = customer_features(orders, customers, as_of)
    options = {
        "feature_group": arguments.feature_group,
        "record_identifier": arguments.record_identifier,
        "event_time_feature": arguments.event_time_feature,
        "event_time": arguments.event_time,
    }
    region = arguments.region

    def write(rows: Iterable[Any]) -> None:
        import boto3

        client = boto3.client("sagemaker-featurestore-runtime", region_name=region)
        put_partition((row.asDict() for row in rows), client, **options)

    features.foreachPartition(write)
    print(f"wrote {features.count()} records to {arguments.feature_group}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
