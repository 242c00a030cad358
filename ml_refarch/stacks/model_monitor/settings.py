"""Settings of the ``model-monitor`` pattern: the monitored endpoint, capture and schedule."""

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
    SettingsSpec,
    instance_type,
    integer,
    model_monitor_schedule,
    number,
)


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


FIELDS = {
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
        "The drift alarm fires when any column's distance from the baseline exceeds this",
    ),
}

NOTES = f"""\
The schedule forms are the ones Model Monitor accepts ({MODEL_MONITOR_SCHEDULE_FORMS}); it
never runs more often than hourly. See [the pattern page](patterns/model-monitor.md) for what
a schedule costs."""

SETTINGS = SettingsSpec(
    cls=ModelMonitorSettings, fields=FIELDS, check=endpoint_problems, notes=NOTES
)
