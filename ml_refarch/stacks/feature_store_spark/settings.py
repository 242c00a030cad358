"""Settings of the ``feature-store-spark`` pattern: the Spark application, the feature group,
the workflow's waits and the training job.

Limits and their pages:

- ``release_label``: an EMR Serverless release; the job is tested with Spark 3.5 (pyspark
  pinned in requirements-dev.txt), which every 7.x release runs ("Amazon EMR Serverless
  release versions",
  https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/release-versions.html).
- ``idle_timeout_minutes``: auto-stop after 1 to 10,080 minutes idle
  (``AutoStopConfiguration.IdleTimeoutMinutes`` of AWS::EMRServerless::Application,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-emrserverless-application-autostopconfiguration.html).
- ``worker_vcpu`` / ``worker_memory_gb``: a worker has 1, 2, 4, 8 or 16 vCPUs and, per
  vCPU count, memory in a fixed range ("Worker configurations",
  https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/app-behavior.html#worker-configs);
  the job's driver and executors use this size.
- ``max_vcpu`` / ``max_memory_gb``: the application's maximum capacity, the most its
  workers may hold at once; it must fit the driver and one executor.
- ``record_identifier`` / ``event_time_feature``: feature names, ``[a-zA-Z0-9]`` then up to
  63 more of those or ``-``/``_`` (FeatureDefinition ``FeatureName``,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_FeatureDefinition.html), and
  not one of the job's own features or the names the offline store adds.
- ``offline_store_wait_minutes``: Feature Store copies records written with PutRecord to the
  offline store within 15 minutes ("Batch ingestion with Amazon SageMaker Feature Store
  Spark", https://docs.aws.amazon.com/sagemaker/latest/dg/batch-ingestion-spark-connector-setup.html).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ml_refarch.settings import (
    Field,
    Invalid,
    Problem,
    SettingsSpec,
    integer,
    integer_in,
    matching,
    parser,
)
from ml_refarch.stacks.feature_store_spark.job.prepare_features import FEATURES

#: Memory (GB) a worker of each vCPU count may have ("Worker configurations").
WORKER_MEMORY_GB: dict[int, tuple[int, int]] = {
    1: (2, 8),
    2: (4, 16),
    4: (8, 30),
    8: (16, 60),
    16: (32, 120),
}
#: Columns the offline store adds to every record ("Feature Store concepts").
OFFLINE_STORE_COLUMNS = ("write_time", "api_invocation_time", "is_deleted")
#: The job's driver plus one executor: the least the maximum capacity must hold.
WORKERS_AT_LEAST = 2

_RELEASE = re.compile(r"emr-7\.(\d{1,2})\.(\d{1,2})")
RELEASE_ALLOWED = "an EMR Serverless 7.x release label such as 'emr-7.12.0' (Spark 3.5)"

feature_name = matching(
    re.compile(r"[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}"),
    "a feature name: a letter or digit, then up to 63 letters, digits, '-' or '_'",
)


@parser(RELEASE_ALLOWED)
def release_label(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if _RELEASE.fullmatch(text) is None:
        raise Invalid(RELEASE_ALLOWED)
    return text


@dataclass(frozen=True)
class FeatureStoreSparkSettings:
    """Settings of the ``feature-store-spark`` pattern.

    Attributes:
        release_label: the application's EMR Serverless release.
        idle_timeout_minutes: the application stops after this long without jobs.
        worker_vcpu / worker_memory_gb: the size of each Spark driver and executor.
        max_vcpu / max_memory_gb: the application's maximum capacity.
        job_timeout_minutes: a job run is cancelled after this long.
        record_identifier / event_time_feature: the feature group's two special features.
        offline_store_wait_minutes: how long the workflow waits, after the job, before it
            exports the offline store.
        training_instance_type: the training job's instance type.
    """

    release_label: str
    idle_timeout_minutes: int
    worker_vcpu: int
    worker_memory_gb: int
    max_vcpu: int
    max_memory_gb: int
    job_timeout_minutes: int
    record_identifier: str
    event_time_feature: str
    offline_store_wait_minutes: int
    training_instance_type: str


FIELDS = {
    "release_label": Field(release_label, "emr-7.12.0", "emr-7.10.0", "EMR Serverless release"),
    "idle_timeout_minutes": Field(
        integer(1, 10080, "AutoStopConfiguration's range"),
        15,
        "30",
        "The application stops after this many minutes without jobs",
    ),
    "worker_vcpu": Field(
        integer_in(tuple(WORKER_MEMORY_GB), "1, 2, 4, 8 or 16 vCPUs"),
        2,
        "4",
        "vCPUs of each Spark driver and executor",
    ),
    "worker_memory_gb": Field(integer(2, 120), 8, "16", "Memory (GB) of each worker"),
    "max_vcpu": Field(
        integer(2, 400), 8, "16", "Maximum capacity: vCPUs all workers may hold at once"
    ),
    "max_memory_gb": Field(
        integer(4, 3000), 32, "64", "Maximum capacity: memory (GB) all workers may hold"
    ),
    "job_timeout_minutes": Field(
        integer(5, 1440), 60, "120", "A job run is cancelled after this long"
    ),
    "record_identifier": Field(
        feature_name, "customer_id", "customer", "The feature group's record identifier"
    ),
    "event_time_feature": Field(
        feature_name, "event_time", "as_of", "The feature group's event time feature"
    ),
    "offline_store_wait_minutes": Field(
        integer(15, 240, "Feature Store copies to the offline store within 15 minutes"),
        15,
        "20",
        "Wait after the job before the offline store is exported for training",
    ),
    "training_instance_type": Field(
        matching(re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+"), "an ml.* instance type"),
        "ml.m5.large",
        "ml.c5.xlarge",
        "Instance type of the training job",
    ),
}


def check(settings: FeatureStoreSparkSettings, prefix: str) -> list[Problem]:
    """Workers of a valid size that fit the capacity; feature names that do not collide."""
    problems = []
    low, high = WORKER_MEMORY_GB[settings.worker_vcpu]
    if not low <= settings.worker_memory_gb <= high:
        problems.append(
            Problem(
                key=prefix + "worker_memory_gb",
                received=settings.worker_memory_gb,
                allowed=f"{low} to {high} GB for a worker of {settings.worker_vcpu} vCPUs",
                fix="pick a memory size in that range or another worker_vcpu",
            )
        )
    for key, per_worker, total in (
        ("max_vcpu", settings.worker_vcpu, settings.max_vcpu),
        ("max_memory_gb", settings.worker_memory_gb, settings.max_memory_gb),
    ):
        if total < WORKERS_AT_LEAST * per_worker:
            problems.append(
                Problem(
                    key=prefix + key,
                    received=total,
                    allowed=(
                        f"at least {WORKERS_AT_LEAST * per_worker}: the driver and one "
                        "executor must fit the maximum capacity"
                    ),
                    fix=f"raise {prefix}{key} or make the workers smaller",
                )
            )
    taken = {name for name, _ in FEATURES} | set(OFFLINE_STORE_COLUMNS)
    for key in ("record_identifier", "event_time_feature"):
        name = getattr(settings, key)
        if name in taken:
            problems.append(
                Problem(
                    key=prefix + key,
                    received=name,
                    allowed=f"a name other than {', '.join(sorted(taken))}",
                    fix="pick another feature name",
                )
            )
    if settings.record_identifier == settings.event_time_feature:
        problems.append(
            Problem(
                key=prefix + "event_time_feature",
                received=settings.event_time_feature,
                allowed="a name other than the record identifier's",
                fix="give the two features different names",
            )
        )
    return problems


SETTINGS = SettingsSpec(cls=FeatureStoreSparkSettings, fields=FIELDS, check=check)
