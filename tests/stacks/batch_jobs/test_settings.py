"""batch-jobs settings: defaults per profile, coercion, and every bad value."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.settings import Invalid
from ml_refarch.stacks.batch_jobs import PATTERN
from ml_refarch.stacks.batch_jobs.settings import FARGATE_MEMORY_MIB, instance_families
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix, problems_of

BJ = "batch-jobs."


def test_defaults_use_the_recommended_spot_strategy_and_retry_spot_reclaims():
    settings = read_config({}).settings_for(PATTERN)
    assert settings.allocation_strategy == "spot_price_capacity_optimized"
    assert settings.attempts >= 2
    assert (settings.max_vcpus, settings.fargate_max_vcpus) == (16, 8)
    assert settings.job_memory_mib in FARGATE_MEMORY_MIB[settings.job_vcpus]


def test_strings_from_the_command_line_are_coerced():
    settings = read_config(
        {
            BJ + "instance_families": " C6i, m6i ,c6i",
            BJ + "max_vcpus": "32",
            BJ + "allocation_strategy": "SPOT_CAPACITY_OPTIMIZED",
            BJ + "job_vcpus": "1",
            BJ + "job_memory_mib": "4096",
            BJ + "schedule": "none",
        }
    ).settings_for(PATTERN)
    assert settings.instance_families == ("c6i", "m6i")
    assert settings.max_vcpus == 32
    assert settings.allocation_strategy == "spot_capacity_optimized"
    assert (settings.job_vcpus, settings.job_memory_mib) == ("1", 4096)
    assert settings.schedule == "none"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("allocation_strategy", "best_fit"),  # not a Spot strategy
        ("instance_families", "c6g,m6i"),  # Graviton: another architecture
        ("instance_families", "a1"),
        ("instance_families", ""),
        ("instance_families", "c6i.large"),  # a type, not a family
        ("max_vcpus", "0"),
        ("fargate_max_vcpus", "-1"),
        ("spot_queue_priority", "0"),
        ("image", "public.ecr.aws/amazonlinux/amazonlinux:2023"),  # the path, not the URL
        ("image", "amazonlinux"),  # no namespace or tag
        ("job_vcpus", "3"),
        ("attempts", "1"),  # a Spot reclaim would not be retried
        ("attempts", "11"),
        ("attempt_timeout_seconds", "59"),
        ("schedule", "every day"),
    ],
)
def test_bad_values_are_rejected_with_key_value_allowed_and_fix(key, value):
    assert_rejected_with_key_value_allowed_and_fix(BJ + key, value)


def test_memory_must_fit_fargates_pairs_for_the_vcpus():
    problem = problems_of({BJ + "job_vcpus": "1", BJ + "job_memory_mib": "1024"})[
        BJ + "job_memory_mib"
    ]
    assert "2048" in problem.allowed and "-c batch-jobs.job_memory_mib=2048" in problem.fix


@pytest.mark.parametrize("family", ["c7g", "m6gd", "t4g", "x2gd", "im4gn"])
def test_graviton_families_are_refused(family):
    with pytest.raises(Invalid):
        instance_families(family)


@pytest.mark.parametrize("family", ["g4dn", "p3", "c5n", "m5zn", "r6i", "inf2"])
def test_x86_families_are_accepted(family):
    assert instance_families(family) == (family,)
