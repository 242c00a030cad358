"""Settings of the ``model-monitor`` pattern: the monitored endpoint, capture and schedule,
which engine monitors it, and the successor engine's thresholds."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.aws_facts import MODEL_MONITOR_SCHEDULE_FORMS, monitoring_runs_per_day
from ml_refarch.endpoint_settings import (
    EndpointHostingSettings,
    endpoint_fields,
    endpoint_problems,
)
from ml_refarch.settings import (
    Field,
    Problem,
    SettingsSpec,
    choice,
    instance_type,
    integer,
    model_monitor_schedule,
    number,
)

#: The engines: a scheduled processing job of this project's own (what new accounts can
#: use), or SageMaker Model Monitor (closed to new customers; for accounts that use it).
PROCESSING_JOB = "processing-job"
MODEL_MONITOR = "model-monitor"
ENGINES = (PROCESSING_JOB, MODEL_MONITOR)
#: The committed model's feature columns, as the processing job's baseline names them.
FEATURE_NAMES = tuple(f"feature_{index}" for index in range(1, 9))


@dataclass(frozen=True)
class ModelMonitorSettings(EndpointHostingSettings):
    """Settings of the ``model-monitor`` pattern (the endpoint fields: see the base class).

    Attributes:
        engine: ``processing-job`` (default: an EventBridge Scheduler schedule starts a
            processing job of this project's metric code) or ``model-monitor`` (a Model
            Monitor data quality schedule, for accounts that already use Model Monitor).
        sampling_percentage: share of requests the endpoint captures for the monitor (1-100).
        schedule_expression: when the data-quality job runs; one of the cron forms Model
            Monitor accepts (:data:`MODEL_MONITOR_SCHEDULE_FORMS`).
        monitoring_instance_type / monitoring_instance_count: the instances of each
            monitoring run (and of the baseline job the script starts).
        monitoring_volume_size_gib: the ML storage volume of each run.
        max_runtime_seconds: each run's time limit (at most an hour, so a run ends before
            an hourly schedule starts the next).
        drift_threshold: (``model-monitor``) the alarm fires when any feature's baseline
            drift distance exceeds this (0-1; Model Monitor's own default comparison
            threshold is 0.1).
        protected_attribute / group_attribute: (``processing-job``) the feature whose
            segments bias drift compares, and the one whose subgroups CDD conditions on.
        psi_threshold / ks_threshold: (``processing-job``) a feature drifts when its PSI or
            Kolmogorov-Smirnov statistic exceeds these.
        bias_drift_threshold: (``processing-job``) a bias metric of a segment drifts when it
            moves further than this from its baseline value.
        min_accuracy: (``processing-job``) the model-quality alarm fires below this accuracy.
    """

    engine: str
    sampling_percentage: int
    schedule_expression: str
    monitoring_instance_type: str
    monitoring_instance_count: int
    monitoring_volume_size_gib: int
    max_runtime_seconds: int
    drift_threshold: float
    protected_attribute: str
    group_attribute: str
    psi_threshold: float
    ks_threshold: float
    bias_drift_threshold: float
    min_accuracy: float

    @property
    def runs_per_day(self) -> float:
        """How many monitoring runs the schedule starts a day."""
        return monitoring_runs_per_day(self.schedule_expression)


FIELDS = {
    "engine": Field(
        choice(*ENGINES),
        PROCESSING_JOB,
        MODEL_MONITOR,
        "What monitors the endpoint: `processing-job` (a schedule starts this project's "
        "monitoring job) or `model-monitor` (SageMaker Model Monitor, **closed to new "
        "customers**: only for accounts that already use it)",
    ),
    **endpoint_fields(instance_type="Instances of the monitored endpoint"),
    "sampling_percentage": Field(
        integer(1, 100, "percent of requests captured"),
        100,
        "20",
        "Percent of requests (and responses) the endpoint captures for the monitor",
    ),
    "schedule_expression": Field(
        model_monitor_schedule,
        "cron(0 * ? * * *)",
        "cron(0 0/6 ? * * *)",
        "When the data quality job runs; **each run is a processing job billed per second**",
    ),
    "monitoring_instance_type": Field(
        instance_type,
        "ml.m5.xlarge",
        "ml.m5.large",
        "Instances of each monitoring run and of the baselining job",
    ),
    "monitoring_instance_count": Field(
        integer(1, 10), 1, "2", "Instances per run (traffic between them is encrypted)"
    ),
    "monitoring_volume_size_gib": Field(
        integer(1, 16384, "processing volumes range from 1 GiB to 16 TiB"),
        30,
        "50",
        "ML storage volume of each run (KMS-encrypted)",
    ),
    "max_runtime_seconds": Field(
        integer(60, 3600, "a monitoring run must end within the hour"),
        1800,
        "3600",
        "Time limit of each run and of the baselining job",
    ),
    "drift_threshold": Field(
        number(0, 1, "a distance between two distributions"),
        0.1,
        "0.2",
        "(`model-monitor`) The drift alarm fires when any column's distance from the baseline "
        "exceeds this",
    ),
    "protected_attribute": Field(
        choice(*FEATURE_NAMES),
        "feature_8",
        "feature_3",
        "(`processing-job`) The feature whose segments (below and above its baseline median) "
        "bias drift compares",
    ),
    "group_attribute": Field(
        choice(*FEATURE_NAMES),
        "feature_7",
        "feature_4",
        "(`processing-job`) The feature whose subgroups conditional demographic disparity "
        "(CDD) conditions on",
    ),
    "psi_threshold": Field(
        number(0, 10, "a population stability index (0.2 reads as a significant shift)"),
        0.2,
        "0.25",
        "(`processing-job`) A feature drifts when its PSI exceeds this",
    ),
    "ks_threshold": Field(
        number(0, 1, "a Kolmogorov-Smirnov statistic"),
        0.1,
        "0.15",
        "(`processing-job`) A feature drifts when its Kolmogorov-Smirnov statistic exceeds this",
    ),
    "bias_drift_threshold": Field(
        number(0, 2, "a change of a bias metric (CI and DPL range from -1 to 1)"),
        0.1,
        "0.05",
        "(`processing-job`) A segment's bias metric drifts when it moves further than this "
        "from its baseline value",
    ),
    "min_accuracy": Field(
        number(0, 1, "an accuracy"),
        0.7,
        "0.8",
        "(`processing-job`) The model-quality alarm fires when accuracy against the ground "
        "truth falls below this",
    ),
}

NOTES = f"""\
The schedule forms are the ones Model Monitor accepts ({MODEL_MONITOR_SCHEDULE_FORMS}), for
both engines (EventBridge Scheduler takes the same cron expressions); neither runs more often
than hourly. Model Monitor is closed to new customers: `engine=model-monitor` is for accounts
that already use it. See [the pattern page](patterns/model-monitor.md) for what a schedule
costs."""


def _problems(settings: ModelMonitorSettings, prefix: str) -> list[Problem]:
    problems = endpoint_problems(settings, prefix)
    if settings.protected_attribute == settings.group_attribute:
        problems.append(
            Problem(
                key=prefix + "group_attribute",
                received=settings.group_attribute,
                allowed=f"a feature other than {prefix}protected_attribute",
                fix="CDD conditions on another feature than the one it segments by: pick one",
            )
        )
    return problems


SETTINGS = SettingsSpec(cls=ModelMonitorSettings, fields=FIELDS, check=_problems, notes=NOTES)
