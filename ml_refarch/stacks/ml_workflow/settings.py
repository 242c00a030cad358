"""Settings of the ``ml-workflow`` pattern: training, tuning and the endpoint it deploys."""

from __future__ import annotations

from dataclasses import dataclass

from ml_refarch.endpoint_settings import INSTANCE_TYPE, SANDBOX_INSTANCE_TYPE
from ml_refarch.settings import Field, Problem, SettingsSpec, boolean, instance_type, integer


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


FIELDS = {
    "instance_type": Field(
        instance_type, "ml.m5.large", "ml.m5.xlarge", "Training and tuning instances"
    ),
    "instance_count": Field(
        integer(1, 20),
        1,
        "2",
        "Training instances (more than one turns on inter-container encryption)",
    ),
    "use_spot": Field(boolean, True, "false", "Managed spot training, with checkpoints"),
    "max_runtime_seconds": Field(
        integer(60, 2419200, "SageMaker allows up to 28 days"), 3600, "7200", "Training time limit"
    ),
    "max_wait_seconds": Field(
        integer(60, 2419200),
        7200,
        "7200",
        "Spot wait plus run time (with spot, at least `max_runtime_seconds`)",
    ),
    "tuning_max_jobs": Field(integer(1, 100), 4, "8", "Training jobs the tuning path may run"),
    "tuning_max_parallel_jobs": Field(
        integer(1, 10), 2, "2", "Tuning jobs at a time (at most `tuning_max_jobs`)"
    ),
    "endpoint_instance_type": Field(
        instance_type,
        INSTANCE_TYPE,
        "ml.c5.xlarge",
        "The endpoint the workflow deploys",
        profile_defaults={"sandbox": SANDBOX_INSTANCE_TYPE},
    ),
    "endpoint_instance_count": Field(
        integer(2, 20, "at least 2: SageMaker spreads instances across AZs only then"),
        2,
        "2",
        "Endpoint instances (two or more spread across AZs)",
    ),
}


def check(settings: MlWorkflowSettings, prefix: str) -> list[Problem]:
    """A spot job's wait covers its run; the tuning budget covers its parallel jobs."""
    problems = []
    if settings.use_spot and settings.max_wait_seconds < settings.max_runtime_seconds:
        problems.append(
            Problem(
                key=prefix + "max_wait_seconds",
                received=settings.max_wait_seconds,
                allowed=(
                    f"at least {prefix}max_runtime_seconds ({settings.max_runtime_seconds}): a "
                    "spot job's wait includes its run time"
                ),
                fix=f"raise it, lower the run time, or use -c {prefix}use_spot=false",
            )
        )
    if settings.tuning_max_parallel_jobs > settings.tuning_max_jobs:
        problems.append(
            Problem(
                key=prefix + "tuning_max_parallel_jobs",
                received=settings.tuning_max_parallel_jobs,
                allowed=f"at most {prefix}tuning_max_jobs ({settings.tuning_max_jobs})",
                fix="lower the parallel jobs or raise the job budget",
            )
        )
    return problems


SETTINGS = SettingsSpec(cls=MlWorkflowSettings, fields=FIELDS, check=check)
