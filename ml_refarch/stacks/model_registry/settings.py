"""Settings of the ``model-registry`` pattern: the registered version, the two recommender
jobs, and how long the workflow waits for them.

Limits and their pages (SageMaker API Reference):

- ``approval_status``: ``PendingManualApproval``, ``Approved`` or ``Rejected``
  (CreateModelPackage, ``ModelApprovalStatus``,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html).
- ``advanced_instance_types``: an advanced job's ``EndpointConfigurations`` hold 1 to 10
  items (RecommendationJobInputConfig,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RecommendationJobInputConfig.html);
  the default job's instance types are held to the same count here.
- ``advanced_job_duration_seconds``: at most 18,000 (RecommendationJobInputConfig,
  ``JobDurationInSeconds``).
- ``traffic_phases``: each phase starts with 1 to 3 users, spawns 0 or more a minute and
  lasts 120 to 3,600 seconds, "not exceed[ing] JobDurationInSeconds" (Phase,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Phase.html); the phases
  together are held to the job's duration here, since they run one after the other.
- ``latency_percentile`` / ``latency_threshold_ms`` / ``max_invocations_per_minute``: the
  stopping conditions, one latency threshold (RecommendationJobStoppingConditions, "Fixed
  number of 1 item",
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RecommendationJobStoppingConditions.html;
  ModelLatencyThreshold, percentile ``P95`` or ``P99``).
- ``max_tests`` / ``max_parallel_tests``: the advanced job's resource limit
  (RecommendationJobResourceLimit); the parallel tests are at most the tests.

The polling must outlast the job it waits for: a default job completes "within 45
minutes" and an advanced one takes "an average of 2 hours" ("Recommendation jobs",
https://docs.aws.amazon.com/sagemaker/latest/dg/inference-recommender-recommendation-jobs.html).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ml_refarch.model_artifacts import DEFAULT_MODEL, RECIPES
from ml_refarch.settings import (
    Field,
    Invalid,
    Problem,
    SettingsSpec,
    choice,
    integer,
    parser,
)
from ml_refarch.settings import (
    instance_type as one_instance_type,
)

#: CreateModelPackage's approval statuses, as the API spells them.
APPROVAL_STATUSES = ("PendingManualApproval", "Approved", "Rejected")
#: EndpointConfigurations: 1 to 10 items (RecommendationJobInputConfig).
MAX_INSTANCE_TYPES = 10
#: JobDurationInSeconds: at most 18,000 (RecommendationJobInputConfig).
MAX_JOB_DURATION_SECONDS = 18000
#: A phase: 1 to 3 initial users, 120 to 3,600 seconds (Phase).
PHASE_USERS = (1, 3)
PHASE_SECONDS = (120, 3600)
#: How long a default job takes at most ("within 45 minutes", "Recommendation jobs").
DEFAULT_JOB_SECONDS = 45 * 60
#: ModelLatencyThreshold percentiles.
LATENCY_PERCENTILES = ("P95", "P99")


@dataclass(frozen=True)
class TrafficPhase:
    """One phase of an advanced job's traffic: starting users, users added a minute, length."""

    initial_users: int
    spawn_rate: int
    duration_seconds: int

    def to_api(self) -> dict[str, int]:
        return {
            "InitialNumberOfUsers": self.initial_users,
            "SpawnRate": self.spawn_rate,
            "DurationInSeconds": self.duration_seconds,
        }


INSTANCE_TYPES_ALLOWED = (
    f"1 to {MAX_INSTANCE_TYPES} comma-separated SageMaker instance types such as "
    "'ml.c5.large,ml.m5.large'"
)


@parser(INSTANCE_TYPES_ALLOWED)
def instance_types(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    found = tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
    if not 1 <= len(found) <= MAX_INSTANCE_TYPES:
        raise Invalid(INSTANCE_TYPES_ALLOWED)
    for item in found:
        try:
            one_instance_type(item)
        except Invalid:
            raise Invalid(INSTANCE_TYPES_ALLOWED, f"{item!r} is no instance type") from None
    return found


PHASES_ALLOWED = (
    "comma-separated phases 'users:spawn_per_minute:seconds' such as '1:1:120,3:2:300' "
    f"(users {PHASE_USERS[0]}-{PHASE_USERS[1]}, spawn 0 or more, seconds "
    f"{PHASE_SECONDS[0]}-{PHASE_SECONDS[1]}: the Phase API)"
)
_PHASE = re.compile(r"(\d{1,6}):(\d{1,6}):(\d{1,6})")


@parser(PHASES_ALLOWED)
def traffic_phases(value: Any) -> tuple[TrafficPhase, ...]:
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(item, TrafficPhase) for item in value)
    ):
        value = ",".join(f"{p.initial_users}:{p.spawn_rate}:{p.duration_seconds}" for p in value)
    items = [item.strip() for item in str(value).split(",") if item.strip()]
    if not items:
        raise Invalid(PHASES_ALLOWED)
    phases = []
    for item in items:
        match = _PHASE.fullmatch(item)
        if match is None:
            raise Invalid(PHASES_ALLOWED, f"{item!r} is not users:spawn:seconds")
        users, spawn, seconds = map(int, match.groups())
        if not PHASE_USERS[0] <= users <= PHASE_USERS[1]:
            raise Invalid(PHASES_ALLOWED, f"{item!r} starts with {users} users")
        if not PHASE_SECONDS[0] <= seconds <= PHASE_SECONDS[1]:
            raise Invalid(PHASES_ALLOWED, f"{item!r} lasts {seconds} s")
        phases.append(TrafficPhase(users, spawn, seconds))
    return tuple(phases)


@parser(" or ".join(repr(s) for s in APPROVAL_STATUSES))
def approval_status(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    for status in APPROVAL_STATUSES:
        if text == status.lower():
            return status
    raise Invalid(approval_status.allowed)  # type: ignore[attr-defined]


@parser(" or ".join(repr(p) for p in LATENCY_PERCENTILES))
def latency_percentile(value: Any) -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    if text in LATENCY_PERCENTILES:
        return text
    raise Invalid(latency_percentile.allowed)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ModelRegistrySettings:
    """Settings of the ``model-registry`` pattern.

    Attributes:
        model: the committed model registered as the group's version.
        approval_status: the version's approval status when the stack registers it.
        default_instance_types: what the default (instance recommendation) job benchmarks.
        advanced_instance_types: the endpoint configurations of the advanced (load test) job.
        traffic_phases: the advanced job's traffic, phase after phase.
        advanced_job_duration_seconds: the advanced job's time limit.
        latency_percentile / latency_threshold_ms: the latency requirement; a load test
            stops when the model's latency at that percentile passes it.
        max_invocations_per_minute: the throughput requirement; a load test stops there.
        max_tests / max_parallel_tests: how many endpoint configurations the advanced job
            tests, and how many at once.
        poll_interval_seconds / max_polls: how often and how many times the workflow asks
            whether the job has ended before it stops the job and alerts.
    """

    model: str
    approval_status: str
    default_instance_types: tuple[str, ...]
    advanced_instance_types: tuple[str, ...]
    traffic_phases: tuple[TrafficPhase, ...]
    advanced_job_duration_seconds: int
    latency_percentile: str
    latency_threshold_ms: int
    max_invocations_per_minute: int
    max_tests: int
    max_parallel_tests: int
    poll_interval_seconds: int
    max_polls: int

    @property
    def polling_seconds(self) -> int:
        """The longest the workflow waits for a job."""
        return self.poll_interval_seconds * self.max_polls

    @property
    def traffic_seconds(self) -> int:
        """The advanced job's phases end to end."""
        return sum(phase.duration_seconds for phase in self.traffic_phases)


FIELDS = {
    "model": Field(
        choice(*(recipe.name for recipe in RECIPES)),
        DEFAULT_MODEL,
        RECIPES[-1].name,
        "The committed model registered as the group's version",
    ),
    "approval_status": Field(
        approval_status,
        "PendingManualApproval",
        "Approved",
        "Approval status the version is registered with (approve it later to react)",
    ),
    "default_instance_types": Field(
        instance_types,
        "ml.c5.large,ml.m5.large",
        "ml.c5.large,ml.c5.xlarge",
        "Instance types the default (instance recommendation) job benchmarks",
    ),
    "advanced_instance_types": Field(
        instance_types,
        "ml.c5.large",
        "ml.c5.large,ml.m5.large",
        "Endpoint configurations of the advanced (load test) job",
    ),
    "traffic_phases": Field(
        traffic_phases,
        "1:1:120,3:2:300",
        "1:1:120,2:1:600",
        "The advanced job's traffic: phases 'users:spawn_per_minute:seconds'",
    ),
    "advanced_job_duration_seconds": Field(
        integer(120, MAX_JOB_DURATION_SECONDS, "JobDurationInSeconds: at most 18,000"),
        3600,
        "7200",
        "Time limit of the advanced job (at least its phases end to end)",
    ),
    "latency_percentile": Field(
        latency_percentile, "P95", "P99", "Percentile of the latency requirement"
    ),
    "latency_threshold_ms": Field(
        integer(1, 60000), 100, "200", "Latency requirement, ms: a load test stops above it"
    ),
    "max_invocations_per_minute": Field(
        integer(1, 10_000_000),
        3000,
        "6000",
        "Throughput requirement, requests a minute: a load test stops there",
    ),
    "max_tests": Field(integer(1, 100), 2, "4", "Endpoint configurations the advanced job tests"),
    "max_parallel_tests": Field(
        integer(1, 100), 1, "2", "Of those, how many at once (at most `max_tests`)"
    ),
    "poll_interval_seconds": Field(
        integer(30, 3600), 120, "300", "Wait between two DescribeInferenceRecommendationsJob calls"
    ),
    "max_polls": Field(
        integer(1, 10000),
        150,
        "200",
        "Describe calls before the workflow stops the job and alerts",
    ),
}


def check(settings: ModelRegistrySettings, prefix: str) -> list[Problem]:
    """The phases fit the job, the parallel tests the tests, the polling both jobs."""
    problems = []
    if settings.traffic_seconds > settings.advanced_job_duration_seconds:
        problems.append(
            Problem(
                key=prefix + "traffic_phases",
                received=settings.traffic_seconds,
                allowed=(
                    f"phases of at most {prefix}advanced_job_duration_seconds "
                    f"({settings.advanced_job_duration_seconds} s) end to end: a phase may not "
                    "exceed JobDurationInSeconds"
                ),
                fix="shorten the phases or raise the job's duration",
            )
        )
    if settings.max_parallel_tests > settings.max_tests:
        problems.append(
            Problem(
                key=prefix + "max_parallel_tests",
                received=settings.max_parallel_tests,
                allowed=f"at most {prefix}max_tests ({settings.max_tests})",
                fix="lower the parallel tests or raise the tests",
            )
        )
    longest = max(DEFAULT_JOB_SECONDS, settings.advanced_job_duration_seconds)
    if settings.polling_seconds < longest:
        problems.append(
            Problem(
                key=prefix + "max_polls",
                received=settings.max_polls,
                allowed=(
                    f"{prefix}max_polls x {prefix}poll_interval_seconds at least {longest} s "
                    "(the longer of a default job, up to 45 minutes, and the advanced job's "
                    f"duration); now {settings.polling_seconds} s"
                ),
                fix="poll more times or less often",
            )
        )
    return problems


SETTINGS = SettingsSpec(
    cls=ModelRegistrySettings,
    fields=FIELDS,
    check=check,
    notes=(
        "A default job completes within 45 minutes and an advanced job takes about 2 hours on "
        'average ("Recommendation jobs with Amazon SageMaker Inference Recommender"); the '
        "polling must cover the longer of 45 minutes and the advanced job's duration."
    ),
)
