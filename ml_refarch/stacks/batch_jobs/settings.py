"""Settings of the ``batch-jobs`` pattern: the Spot compute environment, the job, its start.

Limits and their pages:

- ``allocation_strategy``: the Spot strategies of "Instance type allocation strategies for
  AWS Batch" (https://docs.aws.amazon.com/batch/latest/userguide/allocation-strategies.html);
  the default ``SPOT_PRICE_CAPACITY_OPTIMIZED`` is the one AWS recommends for most Spot
  workloads (AWS What's New, 2023-08-02, "AWS Batch now supports price capacity optimized
  allocation strategy for Spot Instances").
- ``instance_families``: EC2 families; one job queue's compute environments must share an
  architecture (CreateJobQueue, ``computeEnvironmentOrder``,
  https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateJobQueue.html), so the
  families are x86_64 ones, as Fargate's default is.
- ``job_vcpus`` / ``job_memory_mib``: the job runs on Fargate too, whose vCPU and memory
  pairs are fixed ("Fargate job definitions", resource requirements,
  https://docs.aws.amazon.com/batch/latest/userguide/fargate.html).
- ``attempts``: 1 to 10 ("Automated job retries",
  https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html); at least 2 here, so
  a job whose Spot instance is reclaimed runs again.
- ``attempt_timeout_seconds``: at least 60 ("Job timeouts",
  https://docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html).
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
    choice,
    eventbridge_schedule,
    integer,
    matching,
    parser,
)

#: Fargate's vCPU values and the memory (MiB) each allows, from "Fargate job definitions".
FARGATE_MEMORY_MIB: dict[str, tuple[int, ...]] = {
    "0.25": (512, 1024, 2048),
    "0.5": tuple(range(1024, 4097, 1024)),
    "1": tuple(range(2048, 8193, 1024)),
    "2": tuple(range(4096, 16385, 1024)),
    "4": tuple(range(8192, 30721, 1024)),
}

_FAMILY = re.compile(r"[a-z]{1,4}[0-9][a-z0-9-]{0,6}")
#: Graviton (arm64) families: a generation digit followed by ``g`` (c6g, m7gd, t4g, x2gd),
#: and ``a1``.
_ARM_FAMILY = re.compile(r"(a1|[a-z]+[0-9]+g[a-z0-9-]*)")
#: ``namespace/repository:tag`` on ECR Public: a registry alias (no dots: not a host name),
#: then the repository path.
_ECR_PUBLIC_IMAGE = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9._-]*)+:[A-Za-z0-9._-]{1,128}")

FAMILIES_ALLOWED = (
    "comma-separated x86_64 EC2 instance families such as 'c6i,m6i,c5' (no Graviton "
    "families: one queue's compute environments share an architecture)"
)


@parser(FAMILIES_ALLOWED)
def instance_families(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    found = tuple(dict.fromkeys(str(item).strip().lower() for item in items if str(item).strip()))
    if not found or any(
        not _FAMILY.fullmatch(family) or _ARM_FAMILY.fullmatch(family) for family in found
    ):
        raise Invalid(FAMILIES_ALLOWED)
    return found


@dataclass(frozen=True)
class BatchJobsSettings:
    """Settings of the ``batch-jobs`` pattern.

    Attributes:
        allocation_strategy: how Batch picks Spot capacity pools.
        instance_families: the EC2 families the Spot environment may launch.
        max_vcpus: the most vCPUs the Spot environment runs at once (its minimum is 0, so
            it costs nothing idle).
        fargate_max_vcpus: the same for the Fargate environment.
        spot_queue_priority / fargate_queue_priority: the queues' priorities (a higher value
            is scheduled first where queues share an environment).
        image: the job's image on ECR Public (``repository:tag``), pulled through the
            stack's pull through cache.
        job_vcpus / job_memory_mib: what one job asks for (a valid Fargate pair).
        attempts: how often Batch runs a job before it fails (Spot reclaims are retried).
        attempt_timeout_seconds: how long one attempt may run.
        schedule: when the schedule submits a job to the Spot queue ('none': no schedule).
    """

    allocation_strategy: str
    instance_families: tuple[str, ...]
    max_vcpus: int
    fargate_max_vcpus: int
    spot_queue_priority: int
    fargate_queue_priority: int
    image: str
    job_vcpus: str
    job_memory_mib: int
    attempts: int
    attempt_timeout_seconds: int
    schedule: str


FIELDS = {
    "allocation_strategy": Field(
        choice("spot_price_capacity_optimized", "spot_capacity_optimized"),
        "spot_price_capacity_optimized",
        "spot_capacity_optimized",
        "How Batch picks Spot pools (price and capacity, or capacity only)",
    ),
    "instance_families": Field(
        instance_families,
        ("c6i", "m6i", "c5", "m5"),
        "c6i,m6i,r6i",
        "EC2 families the Spot environment may launch (x86_64; more families, more Spot pools)",
    ),
    "max_vcpus": Field(
        integer(1, 4096), 16, "32", "Most vCPUs of the Spot environment (its minimum is 0)"
    ),
    "fargate_max_vcpus": Field(integer(1, 4096), 8, "16", "Most vCPUs of the Fargate environment"),
    "spot_queue_priority": Field(
        integer(1, 1000), 10, "20", "Priority of the Spot queue (higher runs first)"
    ),
    "fargate_queue_priority": Field(
        integer(1, 1000), 1, "5", "Priority of the Fargate queue (higher runs first)"
    ),
    "image": Field(
        matching(
            _ECR_PUBLIC_IMAGE,
            "an ECR Public image 'namespace/repository:tag' (without 'public.ecr.aws/')",
        ),
        "amazonlinux/amazonlinux:2023",
        "docker/library/python:3.12-slim",
        "The job's ECR Public image, pulled through the stack's pull through cache",
    ),
    "job_vcpus": Field(
        choice(*FARGATE_MEMORY_MIB), "0.25", "1", "vCPUs of one job (a Fargate value)"
    ),
    "job_memory_mib": Field(
        integer(512, 30720),
        512,
        "2048",
        "Memory of one job, MiB (valid for `job_vcpus` on Fargate)",
    ),
    "attempts": Field(
        integer(2, 10, "Batch allows up to 10; at least 2 so a Spot reclaim is retried"),
        3,
        "2",
        "Attempts per job (retried on Spot reclaim and host failures)",
    ),
    "attempt_timeout_seconds": Field(
        integer(60, 1209600, "Batch's minimum is 60"), 900, "3600", "Time limit of one attempt"
    ),
    "schedule": Field(
        eventbridge_schedule,
        "cron(0 3 * * ? *)",
        "rate(12 hours)",
        "When a job is submitted to the Spot queue ('none': no schedule)",
    ),
}


def check(settings: BatchJobsSettings, prefix: str) -> list[Problem]:
    """The job's memory is one Fargate allows with its vCPUs."""
    allowed = FARGATE_MEMORY_MIB[settings.job_vcpus]
    if settings.job_memory_mib in allowed:
        return []
    return [
        Problem(
            key=prefix + "job_memory_mib",
            received=settings.job_memory_mib,
            allowed=(
                f"with {prefix}job_vcpus={settings.job_vcpus}, one of "
                f"{', '.join(map(str, allowed))} (Fargate's pairs)"
            ),
            fix=f"use -c {prefix}job_memory_mib={allowed[0]} or change the vCPUs",
        )
    ]


SETTINGS = SettingsSpec(cls=BatchJobsSettings, fields=FIELDS, check=check)
