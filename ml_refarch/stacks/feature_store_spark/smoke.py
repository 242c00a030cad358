"""Smoke test of a deployed ``MlRefArch-FeatureStoreSpark`` stack: sample lake in, record out.

Uploads the committed sample lake (``job/sample/orders/`` and ``customers/``) to the lake
prefix, starts the workflow, follows it until it ends (the Spark job, the wait for the
offline store, the export and the training job: allow up to two hours), then reads every
sample customer back from the online store with ``GetRecord`` and compares the order
counts with the sample. The training job's model is where the workflow says.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke feature-store-spark [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.feature_store_spark.job.prepare_features import COMPLETE, FEATURES
from ml_refarch.stacks.feature_store_spark.outputs import Outputs

SAMPLE = Path(__file__).resolve().parent / "job" / "sample"
DATASETS = ("orders", "customers")


def sample_files() -> list[tuple[str, Path]]:
    """(key under the lake prefix, file) of every committed sample file."""
    return [
        (f"{dataset}/{path.name}", path)
        for dataset in DATASETS
        for path in sorted((SAMPLE / dataset).glob("*.csv"))
    ]


def expected_order_counts() -> dict[str, int]:
    """Complete orders per sample customer (every sample order is in the past)."""
    counts: Counter[str] = Counter()
    with (SAMPLE / "orders" / "part-0000.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            counts[row["customer_id"]] += row["status"] == COMPLETE
    with (SAMPLE / "customers" / "part-0000.csv").open(newline="") as handle:
        return {row["customer_id"]: counts[row["customer_id"]] for row in csv.DictReader(handle)}


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise smoke.SmokeFailure(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def record_checks(runtime: Any, group: str, identifier: str) -> list[smoke.Check]:
    """GetRecord of each sample customer: found, every feature there, the right count."""
    checks = []
    for customer, count in expected_order_counts().items():
        response = runtime.get_record(
            FeatureGroupName=group, RecordIdentifierValueAsString=customer
        )
        values = {f["FeatureName"]: f["ValueAsString"] for f in response.get("Record", [])}
        missing = [name for name, _ in FEATURES if name not in values]
        checks.append(
            smoke.Check(
                f"GetRecord {customer}: every feature, {count} complete orders",
                values.get(identifier) == customer
                and not missing
                and values.get("order_count") == str(count),
                f"order_count={values.get('order_count')}, missing {missing}"
                if values
                else "no record",
            )
        )
    return checks


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, upload {len(sample_files())} sample "
        "lake files, start the feature workflow, follow it (Spark job, offline store wait, "
        "export, training) and read every sample customer back with GetRecord"
    )


def run(run: Run) -> list[smoke.Check]:
    log, outputs = run.log, run.outputs
    s3, sfn, runtime = (
        run.client(name) for name in ("s3", "stepfunctions", "sagemaker-featurestore-runtime")
    )
    bucket, prefix = split_s3_uri(outputs[Outputs.LAKE_URI])
    for key, path in sample_files():
        s3.put_object(Bucket=bucket, Key=f"{prefix}{key}", Body=path.read_bytes())
    log(f"uploaded {len(sample_files())} sample files to s3://{bucket}/{prefix}")
    execution = sfn.start_execution(
        stateMachineArn=outputs[Outputs.STATE_MACHINE_ARN],
        input=json.dumps({"startedBy": "smoke"}),
    )
    log(f"started {execution['executionArn']}")
    description = smoke.follow_execution(
        sfn, execution["executionArn"], run.deadline(), run.args.poll_seconds, log
    )
    status = description["status"]
    if status not in smoke.FINAL_EXECUTION_STATUSES:
        status = "TIMEOUT"
    detail = description.get("cause") or description.get("error") or ""
    checks = [smoke.Check("workflow succeeded", status == "SUCCEEDED", f"{status} {detail}")]
    if status == "SUCCEEDED":
        trained = json.loads(description.get("output") or "{}").get("trained", {})
        checks.append(
            smoke.Check(
                "the training job wrote a model",
                str(trained.get("artifacts", "")).startswith("s3://"),
                str(trained.get("artifacts")),
            )
        )
    checks += record_checks(
        runtime, outputs[Outputs.FEATURE_GROUP_NAME], outputs[Outputs.RECORD_IDENTIFIER]
    )
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.LAKE_URI,
        Outputs.STATE_MACHINE_ARN,
        Outputs.FEATURE_GROUP_NAME,
        Outputs.RECORD_IDENTIFIER,
    ),
    clients=("s3", "stepfunctions", "sagemaker-featurestore-runtime"),
    timeout_seconds=7200.0,
)
