"""Typed, validated settings for every ml-refarch stack, read from CDK context.

This module is the only reader of CDK context. Stacks and constructs receive the frozen
dataclasses defined here and never look at raw context values.

Context keys
------------
- ``profile``: ``sandbox`` (default) or ``production``; see :class:`Profile`.
- ``account`` / ``region``: pin every stack to one environment (both optional; stacks are
  environment-agnostic without them, so ``cdk synth`` works offline).
- ``<pattern-id>.<setting>``: per-pattern settings, for example
  ``kinesis-parquet.retention_hours``. Their defaults live in :data:`DEFAULTS` and are
  mirrored in ``cdk.json`` (a test keeps the two equal).

Values given with ``-c key=value`` arrive as strings and are coerced. Keys that CDK itself
owns (feature flags starting with ``@``, and keys containing ``:`` such as cached
availability-zone look-ups) are ignored; any other unknown key is an error with a
"did you mean" hint. Validation collects every problem and raises a single
:class:`ConfigError` that lists them all.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ml_refarch.aws_facts import MODEL_MONITOR_SCHEDULE_FORMS, monitoring_runs_per_day
from ml_refarch.lifecycle import PACKAGE_SOURCES, check_requirement
from ml_refarch.model_artifacts import RECIPES as MODEL_RECIPES

# --------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class Problem:
    """One invalid setting: what was received, what is allowed, and how to fix it."""

    key: str
    received: Any
    allowed: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: received {self.received!r}; allowed: {self.allowed}; fix: {self.fix}"


class ConfigError(ValueError):
    """Raised once with every configuration problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"invalid ml-refarch configuration ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class _Invalid(Exception):
    """Raised by a field parser; turned into a :class:`Problem` by the reader."""

    def __init__(self, allowed: str):
        super().__init__(allowed)
        self.allowed = allowed


# --------------------------------------------------------------------------------------
# Profiles


@dataclass(frozen=True)
class Profile:
    """Environment-wide choices that differ between a throwaway sandbox and production.

    Attributes:
        name: ``sandbox`` or ``production``.
        retain_data: keep buckets, keys and log groups when the stack is deleted
            (``RemovalPolicy.RETAIN``); when false they are destroyed and buckets are emptied
            first, so ``cdk destroy`` leaves nothing behind.
        versioned_buckets: turn on S3 object versioning for data buckets.
        access_logs: write S3 server access logs to a dedicated log bucket.
        termination_protection: enable CloudFormation termination protection.
        log_retention_days: retention of every CloudWatch log group the stacks create.
        max_azs: Availability Zones a VPC spreads over (where the stack is pinned to a
            region; CDK caps environment-agnostic stacks at two).
        web_acl: put a WAF web ACL in front of public APIs.
        persistent_file_systems: file systems that keep data and take the stack's key
            (FSx for Lustre ``PERSISTENT_2``) instead of scratch ones.
        target: where the templates go: ``aws`` (default) or ``local``, the deploy rehearsal
            on a local AWS stand-in (moto), which cannot run CDK's Lambda-backed custom
            resources; see :attr:`custom_resources`.
    """

    name: str
    retain_data: bool
    versioned_buckets: bool
    access_logs: bool
    termination_protection: bool
    log_retention_days: int
    max_azs: int
    web_acl: bool
    persistent_file_systems: bool
    target: str = "aws"

    @property
    def custom_resources(self) -> bool:
        """Whether stacks may use CDK's Lambda-backed custom resources (auto-deleting bucket
        objects, emptying a default security group, copying files into a bucket).

        False only for the ``local`` target: the stand-in would need a container engine to
        run their handlers. Constructs that add one must skip it (and say what the user
        loses) when this is false.
        """
        return self.target != "local"


PROFILES: dict[str, Profile] = {
    "sandbox": Profile(
        name="sandbox",
        retain_data=False,
        versioned_buckets=False,
        access_logs=False,
        termination_protection=False,
        log_retention_days=7,
        max_azs=2,
        web_acl=False,
        persistent_file_systems=False,
    ),
    "production": Profile(
        name="production",
        retain_data=True,
        versioned_buckets=True,
        access_logs=True,
        termination_protection=True,
        log_retention_days=365,
        max_azs=3,
        web_acl=True,
        persistent_file_systems=True,
    ),
}


#: Where templates are deployed: a real AWS account, or the local deploy rehearsal.
TARGETS = ("aws", "local")
#: The account and region of the ``local`` target's stand-in (moto's defaults).
LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"

# --------------------------------------------------------------------------------------
# Pattern settings


@dataclass(frozen=True)
class Column:
    """A column of a Glue table: a lower-case name and a Hive type."""

    name: str
    type: str


#: Hive/Glue column types that Firehose's Parquet conversion and the CSV transform handle.
COLUMN_TYPES = (
    "string",
    "boolean",
    "tinyint",
    "smallint",
    "int",
    "bigint",
    "float",
    "double",
    "date",
    "timestamp",
)

CLICKSTREAM_COLUMNS: tuple[Column, ...] = (
    Column("event_id", "string"),
    Column("user_id", "string"),
    Column("session_id", "string"),
    Column("page", "string"),
    Column("event_type", "string"),
    Column("event_time", "timestamp"),
    Column("duration_ms", "int"),
    Column("revenue", "double"),
)

#: Throughput of one provisioned shard, per the Kinesis Data Streams write limits.
SHARD_WRITE_MIB_PER_SECOND = 1
SHARD_WRITE_RECORDS_PER_SECOND = 1000
#: Default per-stream shard quota in the largest regions; above it AWS needs a quota raise.
MAX_SHARDS = 500


def shards_for(records_per_second: int, record_size_kib: float) -> int:
    """Shards a provisioned stream needs for the given write rate.

    One shard takes 1 MiB/s or 1000 records/s, whichever is reached first, so
    ``shards = max(ceil(MiB/s), ceil(records/s / 1000))``. 1000 records/s of 8 KiB is
    7.8 MiB/s, which needs 8 shards.
    """
    mib_per_second = records_per_second * record_size_kib / 1024
    return max(
        1,
        math.ceil(mib_per_second / SHARD_WRITE_MIB_PER_SECOND),
        math.ceil(records_per_second / SHARD_WRITE_RECORDS_PER_SECOND),
    )


@dataclass(frozen=True)
class KinesisParquetSettings:
    """Settings of the ``kinesis-parquet`` pattern.

    Attributes:
        stream_mode: ``provisioned`` (shards sized from the write rate) or ``on-demand``.
        records_per_second: expected peak write rate, used to size provisioned shards.
        record_size_kib: average record size, used to size provisioned shards.
        retention_hours: how long the stream keeps records (24 h to 8760 h).
        buffer_interval_seconds: how long Firehose buffers before writing (60 s to 900 s).
        buffer_size_mib: how much Firehose buffers before writing (64 MiB to 128 MiB; Parquet
            conversion needs at least 64 MiB).
        input_format: ``json``, converted directly, or ``csv``, which adds a transform Lambda
            that turns each CSV row into JSON first.
        columns: the Glue table's columns, which the Parquet files follow.
    """

    stream_mode: str
    records_per_second: int
    record_size_kib: float
    retention_hours: int
    buffer_interval_seconds: int
    buffer_size_mib: int
    input_format: str
    columns: tuple[Column, ...]

    @property
    def shard_count(self) -> int | None:
        """Shards for provisioned mode; ``None`` in on-demand mode."""
        if self.stream_mode != "provisioned":
            return None
        return shards_for(self.records_per_second, self.record_size_kib)


@dataclass(frozen=True)
class IsolatedNotebookSettings:
    """Settings of the ``isolated-notebook`` pattern.

    Attributes:
        instance_type: the notebook instance type (``ml.t3.medium``).
        volume_size_gib: the notebook's ML storage volume (5 GiB to 16384 GiB).
        package_source: ``codeartifact`` (a CodeArtifact repository with a PyPI upstream,
            reached through VPC endpoints) or ``s3-wheelhouse`` (wheels synced from the data
            bucket's ``wheelhouse/`` prefix).
        packages: requirement specifiers the lifecycle configuration installs.
    """

    instance_type: str
    volume_size_gib: int
    package_source: str
    packages: tuple[str, ...]


@dataclass(frozen=True)
class StudioDomainSettings:
    """Settings of the ``studio-domain`` pattern.

    Attributes:
        user_profile_name: the Studio user profile the stack creates.
        package_source: as for the notebook pattern.
        packages: requirement specifiers the JupyterLab lifecycle configuration installs.
    """

    user_profile_name: str
    package_source: str
    packages: tuple[str, ...]


@dataclass(frozen=True)
class FsxTrainingSettings:
    """Settings of the ``fsx-training`` pattern.

    Attributes:
        storage_capacity_gib: the Lustre file system's size: 1200, 2400, or a multiple of
            2400 GiB (what SCRATCH_2 and PERSISTENT_2 accept).
        per_unit_storage_throughput: MB/s per TiB of a PERSISTENT_2 file system (production
            profile): 125, 250, 500 or 1000.
    """

    storage_capacity_gib: int
    per_unit_storage_throughput: int


@dataclass(frozen=True)
class MlWorkflowSettings:
    """Settings of the ``ml-workflow`` pattern.

    Attributes:
        instance_type / instance_count: the training (and tuning) instances.
        use_spot: train on managed spot capacity (with checkpoints, which the stack sets).
        max_runtime_seconds: the training time limit.
        max_wait_seconds: how long a spot job may wait for capacity plus run; at least
            ``max_runtime_seconds``.
        tuning_max_jobs / tuning_max_parallel_jobs: the tuning path's budget.
        endpoint_instance_type / endpoint_instance_count: the endpoint the workflow deploys
            (at least 2 instances, so SageMaker spreads them across Availability Zones).
    """

    instance_type: str
    instance_count: int
    use_spot: bool
    max_runtime_seconds: int
    max_wait_seconds: int
    tuning_max_jobs: int
    tuning_max_parallel_jobs: int
    endpoint_instance_type: str
    endpoint_instance_count: int


#: Why an endpoint variant keeps two or more instances (notes, "Inference").
MULTI_AZ_REASON = (
    "SageMaker spreads a variant's instances across Availability Zones only when it has "
    "more than one instance"
)


@dataclass(frozen=True)
class EndpointHostingSettings:
    """What a real-time endpoint pattern sets for each of its instance variants.

    Attributes:
        instance_type: the variant's instances (``ml.m5.large``).
        instance_count: instances each variant starts with (2 or more: see
            :data:`MULTI_AZ_REASON`).
        min_instance_count / max_instance_count: the bounds auto scaling keeps each variant
            in; the minimum is 2 or more for the same reason.
        target_invocations_per_instance: the invocations per instance per minute target
            tracking holds.
        scale_in_cooldown_seconds / scale_out_cooldown_seconds: the waits after a scaling
            activity before the next one in that direction.
        latency_alarm_ms: alarm when a variant's average model latency stays above this.
    """

    instance_type: str
    instance_count: int
    min_instance_count: int
    max_instance_count: int
    target_invocations_per_instance: int
    scale_in_cooldown_seconds: int
    scale_out_cooldown_seconds: int
    latency_alarm_ms: int


@dataclass(frozen=True)
class MultiAzEndpointSettings(EndpointHostingSettings):
    """Settings of the ``multi-az-endpoint`` pattern: one variant, see the base class."""


@dataclass(frozen=True)
class AbVariantsSettings(EndpointHostingSettings):
    """Settings of the ``ab-variants`` pattern.

    Attributes:
        weights: one initial weight per production variant, in the order of the committed
            model versions (``churn-v1``, ``churn-v2``); each variant's share of traffic is
            its weight over their sum. The other fields apply to every variant.
    """

    weights: tuple[float, ...]


@dataclass(frozen=True)
class MultiModelEndpointSettings(EndpointHostingSettings):
    """Settings of the ``multi-model-endpoint`` pattern: its one variant, whose instances
    every model under the prefix shares; see the base class."""


#: Memory sizes a serverless endpoint accepts: 1 GB to 6 GB in 1 GB steps.
SERVERLESS_MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
#: The most concurrent invocations one serverless endpoint may serve.
SERVERLESS_MAX_CONCURRENCY = 200


@dataclass(frozen=True)
class ServerlessInferenceSettings:
    """Settings of the ``serverless-inference`` pattern.

    Attributes:
        model: which committed model the endpoint serves (``churn-v1``).
        memory_size_mb: memory of each serverless worker (compute scales with it).
        max_concurrency: the most invocations the endpoint serves at once (1-200).
        provisioned_concurrency: workers kept warm (billed while idle); 0 for none, else at
            most ``max_concurrency``.
    """

    model: str
    memory_size_mb: int
    max_concurrency: int
    provisioned_concurrency: int


@dataclass(frozen=True)
class ModelMonitorSettings(EndpointHostingSettings):
    """Settings of the ``model-monitor`` pattern (the endpoint fields: see the base class).

    Attributes:
        sampling_percentage: share of requests the endpoint captures for the monitor (1-100).
        schedule_expression: when the data-quality job runs; one of the cron forms Model
            Monitor accepts (:data:`MODEL_MONITOR_SCHEDULE_FORMS`).
        monitoring_instance_type / monitoring_instance_count: the instances of each
            monitoring run (and of the baseline job the script starts).
        monitoring_volume_size_gib: the ML storage volume of each run.
        max_runtime_seconds: each run's time limit (at most an hour, so a run ends before
            an hourly schedule starts the next).
        drift_threshold: the alarm fires when any feature's baseline drift distance
            exceeds this (0-1; Model Monitor's own default comparison threshold is 0.1).
    """

    sampling_percentage: int
    schedule_expression: str
    monitoring_instance_type: str
    monitoring_instance_count: int
    monitoring_volume_size_gib: int
    max_runtime_seconds: int
    drift_threshold: float

    @property
    def runs_per_day(self) -> float:
        """How many monitoring runs the schedule starts a day."""
        return monitoring_runs_per_day(self.schedule_expression)


#: Body size above which the AWS managed common rule set (production WAF) blocks a request.
WAF_COMMON_RULES_BODY_LIMIT_KB = 8


@dataclass(frozen=True)
class PublicEndpointSettings(EndpointHostingSettings):
    """Settings of the ``public-endpoint`` pattern (the endpoint fields: see the base class).

    Attributes:
        auth: ``iam`` (callers sign requests with SigV4; the method's authorization is
            ``AWS_IAM``) or ``api-key`` (callers send a usage plan's API key).
        max_rows_per_request: the most rows one body may hold (the JSON schema's maxItems).
        throttle_rate_per_second / throttle_burst: the stage's (and usage plan's) steady
            request rate and bucket size.
        quota_requests_per_day: the usage plan's daily quota (``api-key`` only).
        cloudwatch_role: ``create`` (the stack sets the region's API Gateway CloudWatch
            role, retained on delete) or ``existing`` (the account already has one).
        waf_requests_per_5_minutes: the production web ACL's per-IP limit per 5 minutes.
    """

    auth: str
    max_rows_per_request: int
    throttle_rate_per_second: int
    throttle_burst: int
    quota_requests_per_day: int
    cloudwatch_role: str
    waf_requests_per_5_minutes: int


#: Batch transform limits: MaxPayloadInMB is at most 100, and so is its product with
#: MaxConcurrentTransforms.
TRANSFORM_MAX_PAYLOAD_MIB = 100
#: The smallest and largest serial inference pipelines SageMaker accepts (notes, "Inference
#: pipelines").
PIPELINE_MIN_CONTAINERS = 2
PIPELINE_MAX_CONTAINERS = 15
#: The schedule setting's value that turns the scheduled batch transform off.
NO_SCHEDULE = "none"


@dataclass(frozen=True)
class InferencePipelineSettings(EndpointHostingSettings):
    """Settings of the ``inference-pipeline`` pattern (the real-time endpoint's fields: see
    the base class; the chain of containers is fixed by the design).

    Attributes:
        transform_instance_type / transform_instance_count: the batch transform job's
            instances.
        batch_strategy: ``MultiRecord`` (as many records per request as fit the payload) or
            ``SingleRecord``.
        max_payload_mib: the largest request a transform instance sends the model (1-100).
        max_concurrent_transforms: parallel requests per transform instance; times
            ``max_payload_mib`` at most 100.
        schedule: when the whole ``input/`` prefix is transformed: an EventBridge
            ``rate(...)`` or ``cron(...)`` expression, or ``none`` (only uploads start runs).
    """

    transform_instance_type: str
    transform_instance_count: int
    batch_strategy: str
    max_payload_mib: int
    max_concurrent_transforms: int
    schedule: str

    @property
    def schedule_expression(self) -> str | None:
        """The EventBridge schedule, or ``None`` when there is none."""
        return None if self.schedule == NO_SCHEDULE else self.schedule


_RATE = re.compile(r"rate\((\d{1,6}) (minute|minutes|hour|hours|day|days)\)")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*?,/#-]+")


def _schedule(value: Any) -> str:
    """An EventBridge schedule expression (``rate(1 day)``, ``cron(0 3 * * ? *)``) or none."""
    allowed = (
        "'none', 'rate(N unit)' with N >= 1 and the unit singular for 1 (minute, hour, day) and "
        "plural otherwise, or 'cron(min hour day-of-month month day-of-week year)' with '?' "
        "in exactly one of day-of-month and day-of-week (EventBridge schedule expressions)"
    )
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if text.lower() == NO_SCHEDULE:
        return NO_SCHEDULE
    rate = _RATE.fullmatch(text)
    if rate is not None:
        amount, unit = int(rate.group(1)), rate.group(2)
        if amount >= 1 and unit.endswith("s") == (amount != 1):
            return text
        raise _Invalid(allowed)
    if text.startswith("cron(") and text.endswith(")"):
        fields = text[5:-1].split(" ")
        if (
            len(fields) == 6
            and all(_CRON_FIELD.fullmatch(field) for field in fields)
            and (fields[2] == "?") != (fields[4] == "?")
        ):
            return text
    raise _Invalid(allowed)


@dataclass(frozen=True)
class AppConfig:
    """Everything the app needs, validated."""

    profile: Profile
    account: str | None
    region: str | None
    kinesis_parquet: KinesisParquetSettings
    isolated_notebook: IsolatedNotebookSettings
    studio_domain: StudioDomainSettings
    fsx_training: FsxTrainingSettings
    ml_workflow: MlWorkflowSettings
    public_endpoint: PublicEndpointSettings
    model_monitor: ModelMonitorSettings
    multi_az_endpoint: MultiAzEndpointSettings
    ab_variants: AbVariantsSettings
    multi_model_endpoint: MultiModelEndpointSettings
    serverless_inference: ServerlessInferenceSettings
    inference_pipeline: InferencePipelineSettings


# --------------------------------------------------------------------------------------
# Field parsers: each takes a raw context value and returns a typed one or raises _Invalid.


def _choice(*options: str) -> Callable[[Any], str]:
    allowed = " or ".join(repr(option) for option in options)

    def parse(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in options:
            return value.strip().lower()
        raise _Invalid(allowed)

    return parse


def _integer(low: int, high: int, why: str = "") -> Callable[[Any], int]:
    allowed = f"a whole number from {low} to {high}" + (f" ({why})" if why else "")

    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise _Invalid(allowed)
        if isinstance(value, int):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,12}\s*", value)
        ):
            number = int(value)
        else:
            raise _Invalid(allowed)
        if not low <= number <= high:
            raise _Invalid(allowed)
        return number

    return parse


def _number(low_exclusive: float, high: float, why: str = "") -> Callable[[Any], float]:
    allowed = f"a number above {low_exclusive:g} and at most {high:g}" + (
        f" ({why})" if why else ""
    )

    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise _Invalid(allowed)
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise _Invalid(allowed) from None
        else:
            raise _Invalid(allowed)
        if not math.isfinite(number) or not low_exclusive < number <= high:
            raise _Invalid(allowed)
        return number

    return parse


_COLUMN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,254}")
_COLUMNS_ALLOWED = (
    "a comma-separated list of name:type (or a JSON list of {name, type}) with unique "
    "lower-case names matching [a-z_][a-z0-9_]* and types from " + ", ".join(COLUMN_TYPES)
)


def _columns(value: Any) -> tuple[Column, ...]:
    pairs: list[tuple[Any, Any]] = []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise _Invalid(_COLUMNS_ALLOWED) from None
        else:
            for item in text.split(","):
                name, sep, type_ = item.partition(":")
                if not sep:
                    raise _Invalid(_COLUMNS_ALLOWED)
                pairs.append((name.strip(), type_.strip().lower()))
    if isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, Mapping) and set(item) == {"name", "type"}:
                pairs.append((item["name"], item["type"]))
            elif isinstance(item, Column):
                pairs.append((item.name, item.type))
            else:
                raise _Invalid(_COLUMNS_ALLOWED)
    elif not isinstance(value, str):
        raise _Invalid(_COLUMNS_ALLOWED)
    columns = []
    for name, type_ in pairs:
        if not (isinstance(name, str) and _COLUMN_NAME.fullmatch(name)):
            raise _Invalid(_COLUMNS_ALLOWED)
        if type_ not in COLUMN_TYPES:
            raise _Invalid(_COLUMNS_ALLOWED)
        columns.append(Column(name, type_))
    names = [column.name for column in columns]
    if not columns or len(set(names)) != len(names):
        raise _Invalid(_COLUMNS_ALLOWED)
    return tuple(columns)


def _account(value: Any) -> str:
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    if not re.fullmatch(r"\d{12}", text):
        raise _Invalid("a 12-digit AWS account id")
    return text


def _region(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d", text):
        raise _Invalid("an AWS region name such as 'us-east-1'")
    return text


_INSTANCE_TYPE = re.compile(r"ml\.[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge)")


def _instance_type(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not _INSTANCE_TYPE.fullmatch(text):
        raise _Invalid("a SageMaker instance type such as 'ml.t3.medium'")
    return text


def _packages(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    packages = tuple(str(item).strip() for item in items if str(item).strip())
    if not packages:
        raise _Invalid("at least one requirement specifier, e.g. 'scikit-learn,xgboost'")
    for package in packages:
        try:
            check_requirement(package)
        except ValueError as error:
            raise _Invalid(f"requirement specifiers only ({error})") from None
    return packages


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise _Invalid("true or false")


def _lustre_capacity(value: Any) -> int:
    allowed = "1200, 2400, or a multiple of 2400 GiB (FSx for Lustre SCRATCH_2/PERSISTENT_2 sizes)"
    try:
        capacity = _integer(1200, 2400 * 200)(value)
    except _Invalid:
        raise _Invalid(allowed) from None
    if capacity != 1200 and capacity % 2400:
        raise _Invalid(allowed)
    return capacity


def _lustre_throughput(value: Any) -> int:
    allowed = "125, 250, 500 or 1000 MB/s per TiB (PERSISTENT_2)"
    try:
        throughput = _integer(125, 1000)(value)
    except _Invalid:
        raise _Invalid(allowed) from None
    if throughput not in (125, 250, 500, 1000):
        raise _Invalid(allowed)
    return throughput


def _variant_weights(value: Any) -> tuple[float, ...]:
    versions = len(MODEL_RECIPES)
    count = "2" if versions == 2 else f"2 to {versions}"
    allowed = (
        f"{count} comma-separated weights above 0, one per committed model version "
        f"({', '.join(recipe.name for recipe in MODEL_RECIPES)}, in that order), e.g. '0.9,0.1'"
    )
    if isinstance(value, str):
        items: list[Any] = [item.strip() for item in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _Invalid(allowed)
    weights = []
    for item in items:
        if isinstance(item, bool):
            raise _Invalid(allowed)
        try:
            weight = float(item)
        except (TypeError, ValueError):
            raise _Invalid(allowed) from None
        if not math.isfinite(weight) or weight <= 0:
            raise _Invalid(allowed)
        weights.append(weight)
    if not 2 <= len(weights) <= versions:
        raise _Invalid(allowed)
    return tuple(weights)


def _serverless_memory(value: Any) -> int:
    sizes = ", ".join(str(size) for size in SERVERLESS_MEMORY_SIZES_MB)
    allowed = f"{sizes} (MB: serverless memory comes in 1 GB steps from 1 GB to 6 GB)"
    try:
        memory = _integer(SERVERLESS_MEMORY_SIZES_MB[0], SERVERLESS_MEMORY_SIZES_MB[-1])(value)
    except _Invalid:
        raise _Invalid(allowed) from None
    if memory not in SERVERLESS_MEMORY_SIZES_MB:
        raise _Invalid(allowed)
    return memory


def _monitoring_schedule(value: Any) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    try:
        monitoring_runs_per_day(text)
    except ValueError:
        raise _Invalid(f"a Model Monitor cron expression: {MODEL_MONITOR_SCHEDULE_FORMS}") from None
    return text


_PROFILE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def _user_profile_name(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not _PROFILE_NAME.fullmatch(text):
        raise _Invalid(
            "1-63 letters, digits and hyphens, starting and ending with a letter or digit"
        )
    return text


# --------------------------------------------------------------------------------------
# The schema: every key ml-refarch reads, its parser and its default.


@dataclass(frozen=True)
class _Field:
    parse: Callable[[Any], Any]
    default: Any
    example: str


KP = "kinesis-parquet."
NB = "isolated-notebook."
SD = "studio-domain."
FX = "fsx-training."
WF = "ml-workflow."
PE = "public-endpoint."
MON = "model-monitor."
MZ = "multi-az-endpoint."
AB = "ab-variants."
MM = "multi-model-endpoint."
SV = "serverless-inference."
IP = "inference-pipeline."


def _endpoint_fields(prefix: str) -> dict[str, _Field]:
    """The fields of :class:`EndpointHostingSettings` under ``prefix``."""
    multi_az = f"at least 2: {MULTI_AZ_REASON}"
    return {
        prefix + "instance_type": _Field(_instance_type, "ml.m5.large", "ml.c5.large"),
        prefix + "instance_count": _Field(_integer(2, 100, multi_az), 2, "3"),
        prefix + "min_instance_count": _Field(_integer(2, 100, multi_az), 2, "2"),
        prefix + "max_instance_count": _Field(_integer(2, 100), 4, "6"),
        prefix + "target_invocations_per_instance": _Field(
            _integer(1, 100000, "invocations per instance per minute"), 100, "200"
        ),
        prefix + "scale_in_cooldown_seconds": _Field(_integer(0, 3600), 300, "600"),
        prefix + "scale_out_cooldown_seconds": _Field(_integer(0, 3600), 60, "120"),
        prefix + "latency_alarm_ms": _Field(
            _integer(1, 60000, "a real-time invocation times out after 60 s"), 500, "250"
        ),
    }


FIELDS: dict[str, _Field] = {
    "profile": _Field(_choice(*PROFILES), "sandbox", "sandbox"),
    "account": _Field(_account, None, "123456789012"),
    "region": _Field(_region, None, "us-east-1"),
    "target": _Field(_choice(*TARGETS), "aws", "local"),
    KP + "stream_mode": _Field(_choice("provisioned", "on-demand"), "provisioned", "on-demand"),
    KP + "records_per_second": _Field(
        _integer(1, MAX_SHARDS * SHARD_WRITE_RECORDS_PER_SECOND, "sizes provisioned shards"),
        100,
        "1000",
    ),
    KP + "record_size_kib": _Field(
        _number(0, 1000, "Firehose accepts records up to 1000 KiB"), 1, "8"
    ),
    KP + "retention_hours": _Field(
        _integer(24, 8760, "Kinesis keeps records at least 24 h and at most 365 days"), 24, "48"
    ),
    KP + "buffer_interval_seconds": _Field(
        _integer(60, 900, "Firehose buffers at most 900 s"), 300, "900"
    ),
    KP + "buffer_size_mib": _Field(
        _integer(64, 128, "Parquet conversion needs a buffer of at least 64 MiB"), 128, "64"
    ),
    KP + "input_format": _Field(_choice("json", "csv"), "json", "csv"),
    KP + "columns": _Field(
        _columns,
        ",".join(f"{column.name}:{column.type}" for column in CLICKSTREAM_COLUMNS),
        "id:string,score:double",
    ),
    NB + "instance_type": _Field(_instance_type, "ml.t3.medium", "ml.t3.large"),
    NB + "volume_size_gib": _Field(
        _integer(5, 16384, "notebook ML storage volumes range from 5 GiB to 16 TiB"), 5, "20"
    ),
    NB + "package_source": _Field(_choice(*PACKAGE_SOURCES), "codeartifact", "s3-wheelhouse"),
    NB + "packages": _Field(_packages, "scikit-learn,xgboost", "scikit-learn,xgboost"),
    SD + "user_profile_name": _Field(_user_profile_name, "data-scientist", "alice"),
    SD + "package_source": _Field(_choice(*PACKAGE_SOURCES), "codeartifact", "s3-wheelhouse"),
    SD + "packages": _Field(_packages, "scikit-learn,xgboost", "scikit-learn,xgboost"),
    FX + "storage_capacity_gib": _Field(_lustre_capacity, 1200, "2400"),
    FX + "per_unit_storage_throughput": _Field(_lustre_throughput, 125, "250"),
    WF + "instance_type": _Field(_instance_type, "ml.m5.large", "ml.m5.xlarge"),
    WF + "instance_count": _Field(_integer(1, 20), 1, "2"),
    WF + "use_spot": _Field(_boolean, True, "false"),
    WF + "max_runtime_seconds": _Field(
        _integer(60, 2419200, "SageMaker allows up to 28 days"), 3600, "7200"
    ),
    WF + "max_wait_seconds": _Field(_integer(60, 2419200), 7200, "7200"),
    WF + "tuning_max_jobs": _Field(_integer(1, 100), 4, "8"),
    WF + "tuning_max_parallel_jobs": _Field(_integer(1, 10), 2, "2"),
    WF + "endpoint_instance_type": _Field(_instance_type, "ml.m5.large", "ml.c5.large"),
    WF + "endpoint_instance_count": _Field(
        _integer(2, 20, "at least 2: SageMaker spreads instances across AZs only then"),
        2,
        "2",
    ),
    **_endpoint_fields(MZ),
    **_endpoint_fields(AB),
    AB + "weights": _Field(_variant_weights, "0.9,0.1", "0.5,0.5"),
    **_endpoint_fields(MM),
    SV + "model": _Field(
        _choice(*(recipe.name for recipe in MODEL_RECIPES)), MODEL_RECIPES[0].name, "churn-v2"
    ),
    SV + "memory_size_mb": _Field(_serverless_memory, 2048, "3072"),
    SV + "max_concurrency": _Field(
        _integer(1, SERVERLESS_MAX_CONCURRENCY, "concurrent invocations of one endpoint"),
        5,
        "20",
    ),
    SV + "provisioned_concurrency": _Field(
        _integer(0, SERVERLESS_MAX_CONCURRENCY, "0 for none, else at most max_concurrency"),
        0,
        "2",
    ),
    **_endpoint_fields(MON),
    MON + "sampling_percentage": _Field(
        _integer(1, 100, "percent of requests captured"), 100, "20"
    ),
    MON + "schedule_expression": _Field(
        _monitoring_schedule, "cron(0 * ? * * *)", "cron(0 0/6 ? * * *)"
    ),
    MON + "monitoring_instance_type": _Field(_instance_type, "ml.m5.xlarge", "ml.m5.large"),
    MON + "monitoring_instance_count": _Field(_integer(1, 10), 1, "2"),
    MON + "monitoring_volume_size_gib": _Field(
        _integer(1, 16384, "processing volumes range from 1 GiB to 16 TiB"), 30, "50"
    ),
    MON + "max_runtime_seconds": _Field(
        _integer(60, 3600, "a monitoring run must end within the hour"), 1800, "3600"
    ),
    MON + "drift_threshold": _Field(
        _number(0, 1, "a distance between two distributions"), 0.1, "0.2"
    ),
    **_endpoint_fields(PE),
    PE + "auth": _Field(_choice("iam", "api-key"), "iam", "api-key"),
    PE + "max_rows_per_request": _Field(
        _integer(
            1,
            1000,
            f"rows of 8 numbers; in production the WAF blocks bodies over "
            f"{WAF_COMMON_RULES_BODY_LIMIT_KB} KB, about 80 rows",
        ),
        50,
        "20",
    ),
    PE + "throttle_rate_per_second": _Field(
        _integer(1, 10000, "requests per second; 10,000 is the default account limit"), 10, "50"
    ),
    PE + "throttle_burst": _Field(
        _integer(1, 5000, "requests; 5,000 is the default account burst"), 20, "100"
    ),
    PE + "quota_requests_per_day": _Field(
        _integer(1, 100_000_000, "requests a day per API key"), 10000, "50000"
    ),
    PE + "cloudwatch_role": _Field(_choice("create", "existing"), "create", "existing"),
    PE + "waf_requests_per_5_minutes": _Field(
        _integer(10, 2_000_000_000, "requests per IP in any 5 minutes, WAF's rate-rule range"),
        1000,
        "2000",
    ),
    **_endpoint_fields(IP),
    IP + "transform_instance_type": _Field(_instance_type, "ml.m5.large", "ml.c5.xlarge"),
    IP + "transform_instance_count": _Field(_integer(1, 100), 1, "2"),
    IP + "batch_strategy": _Field(
        _choice("multirecord", "singlerecord"), "multirecord", "singlerecord"
    ),
    IP + "max_payload_mib": _Field(
        _integer(1, TRANSFORM_MAX_PAYLOAD_MIB, "batch transform requests are at most 100 MB"),
        6,
        "10",
    ),
    IP + "max_concurrent_transforms": _Field(
        _integer(1, 100, "parallel requests per transform instance"), 1, "2"
    ),
    IP + "schedule": _Field(_schedule, "rate(1 day)", "cron(0 3 * * ? *)"),
}

#: Each pattern's key prefix and the settings class its keys fill.
PATTERN_SETTINGS: dict[str, type] = {
    KP: KinesisParquetSettings,
    NB: IsolatedNotebookSettings,
    SD: StudioDomainSettings,
    FX: FsxTrainingSettings,
    WF: MlWorkflowSettings,
    PE: PublicEndpointSettings,
    MON: ModelMonitorSettings,
    MZ: MultiAzEndpointSettings,
    AB: AbVariantsSettings,
    MM: MultiModelEndpointSettings,
    SV: ServerlessInferenceSettings,
    IP: InferencePipelineSettings,
}

#: Default of every key that has one; ``cdk.json`` carries the same values.
DEFAULTS: dict[str, Any] = {key: f.default for key, f in FIELDS.items() if f.default is not None}


def _is_cdk_owned(key: str) -> bool:
    # Feature flags ("@aws-cdk/..."), CLI-managed keys ("aws:cdk:...") and cached look-ups
    # ("availability-zones:account=...") all contain one of these characters.
    return key.startswith("@") or ":" in key


def _endpoint_problems(prefix: str, settings: EndpointHostingSettings) -> list[Problem]:
    """Auto scaling bounds that contradict each other or the starting instance count."""
    problems = []
    low, high = settings.min_instance_count, settings.max_instance_count
    if low > high:
        problems.append(
            Problem(
                key=prefix + "max_instance_count",
                received=high,
                allowed=f"at least {prefix}min_instance_count ({low})",
                fix="raise the maximum or lower the minimum",
            )
        )
    elif not low <= settings.instance_count <= high:
        problems.append(
            Problem(
                key=prefix + "instance_count",
                received=settings.instance_count,
                allowed=f"from {prefix}min_instance_count ({low}) to max_instance_count ({high})",
                fix="start the variant within the bounds auto scaling keeps it in",
            )
        )
    return problems


def read_config(context: Mapping[str, Any]) -> AppConfig:
    """Validate raw context and return the typed configuration.

    Raises:
        ConfigError: listing every problem found, never only the first.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key in sorted(k for k in context if not _is_cdk_owned(k) and k not in FIELDS):
        close = difflib.get_close_matches(key, FIELDS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "no such setting"
        problems.append(
            Problem(
                key=key,
                received=context[key],
                allowed="one of the documented settings (see docs/configuration.md)",
                fix=f"unknown key, {hint} Remove it or correct its name",
            )
        )
    for key, spec in FIELDS.items():
        raw = context.get(key, spec.default)
        if raw is None and spec.default is None:
            values[key] = None  # optional setting left unset
            continue
        try:
            if raw is None:
                raise _Invalid("a value (this setting cannot be empty)")
            values[key] = spec.parse(raw)
        except _Invalid as invalid:
            problems.append(
                Problem(
                    key=key,
                    received=raw,
                    allowed=invalid.allowed,
                    fix=f"pass a valid value, e.g. -c {key}={spec.example}, or edit cdk.json",
                )
            )
    patterns: dict[str, Any] = {}
    if not problems:
        for prefix, settings_class in PATTERN_SETTINGS.items():
            patterns[prefix] = settings_class(
                **{k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
            )
        settings = patterns[KP]
        if settings.shard_count is not None and settings.shard_count > MAX_SHARDS:
            problems.append(
                Problem(
                    key=KP + "records_per_second",
                    received=f"{settings.records_per_second} x {settings.record_size_kib:g} KiB",
                    allowed=(
                        f"a write rate that needs at most {MAX_SHARDS} shards "
                        f"(this one needs {settings.shard_count})"
                    ),
                    fix=f"lower the rate or record size, or use -c {KP}stream_mode=on-demand",
                )
            )
        problems += _endpoint_problems(MON, patterns[MON])
        workflow = patterns[WF]
        if workflow.use_spot and workflow.max_wait_seconds < workflow.max_runtime_seconds:
            problems.append(
                Problem(
                    key=WF + "max_wait_seconds",
                    received=workflow.max_wait_seconds,
                    allowed=(
                        f"at least {WF}max_runtime_seconds ({workflow.max_runtime_seconds}): a "
                        "spot job's wait includes its run time"
                    ),
                    fix=f"raise it, lower the run time, or use -c {WF}use_spot=false",
                )
            )
        if workflow.tuning_max_parallel_jobs > workflow.tuning_max_jobs:
            problems.append(
                Problem(
                    key=WF + "tuning_max_parallel_jobs",
                    received=workflow.tuning_max_parallel_jobs,
                    allowed=f"at most {WF}tuning_max_jobs ({workflow.tuning_max_jobs})",
                    fix="lower the parallel jobs or raise the job budget",
                )
            )
        for prefix in (MZ, AB, MM):
            problems += _endpoint_problems(prefix, patterns[prefix])
        serverless = patterns[SV]
        if serverless.provisioned_concurrency > serverless.max_concurrency:
            problems.append(
                Problem(
                    key=SV + "provisioned_concurrency",
                    received=serverless.provisioned_concurrency,
                    allowed=(
                        f"0 (none) up to {SV}max_concurrency ({serverless.max_concurrency}): "
                        "warm workers count against the endpoint's concurrency"
                    ),
                    fix="lower the provisioned concurrency or raise max_concurrency",
                )
            )
        public = patterns[PE]
        problems += _endpoint_problems(PE, public)
        if public.throttle_burst < public.throttle_rate_per_second:
            problems.append(
                Problem(
                    key=PE + "throttle_burst",
                    received=public.throttle_burst,
                    allowed=(
                        f"at least {PE}throttle_rate_per_second "
                        f"({public.throttle_rate_per_second}): a bucket smaller than one "
                        "second of the rate caps the rate at the burst"
                    ),
                    fix="raise the burst or lower the rate",
                )
            )
        pipeline = patterns[IP]
        problems += _endpoint_problems(IP, pipeline)
        payload = pipeline.max_payload_mib * pipeline.max_concurrent_transforms
        if payload > TRANSFORM_MAX_PAYLOAD_MIB:
            problems.append(
                Problem(
                    key=IP + "max_concurrent_transforms",
                    received=pipeline.max_concurrent_transforms,
                    allowed=(
                        f"at most {TRANSFORM_MAX_PAYLOAD_MIB // pipeline.max_payload_mib}: "
                        f"times {IP}max_payload_mib ({pipeline.max_payload_mib}) it must not "
                        f"exceed {TRANSFORM_MAX_PAYLOAD_MIB} MB (a CreateTransformJob limit)"
                    ),
                    fix="lower the concurrent transforms or the payload size",
                )
            )
    if problems:
        raise ConfigError(problems)
    return AppConfig(
        profile=dataclasses.replace(PROFILES[values["profile"]], target=values["target"]),
        account=values["account"],
        region=values["region"],
        kinesis_parquet=patterns[KP],
        isolated_notebook=patterns[NB],
        studio_domain=patterns[SD],
        fsx_training=patterns[FX],
        ml_workflow=patterns[WF],
        public_endpoint=patterns[PE],
        model_monitor=patterns[MON],
        multi_az_endpoint=patterns[MZ],
        ab_variants=patterns[AB],
        multi_model_endpoint=patterns[MM],
        serverless_inference=patterns[SV],
        inference_pipeline=patterns[IP],
    )


def config_from_scope(scope: Any) -> AppConfig:
    """Read and validate the configuration from a CDK app's context."""
    return read_config(scope.node.get_all_context())
