"""feature-store-spark settings: defaults, worker sizes against capacity, feature names."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.feature_store_spark import PATTERN
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix, problems_of

FS = "feature-store-spark."


def test_the_defaults_fit_a_small_application_that_stops_when_idle():
    settings = read_config({}).settings_for(PATTERN)
    assert settings.release_label == "emr-7.12.0"
    assert settings.idle_timeout_minutes == 15
    assert (settings.worker_vcpu, settings.worker_memory_gb) == (2, 8)
    assert (settings.max_vcpu, settings.max_memory_gb) == (8, 32)
    assert (settings.record_identifier, settings.event_time_feature) == (
        "customer_id",
        "event_time",
    )
    assert settings.offline_store_wait_minutes == 15


def test_values_from_the_command_line_are_coerced():
    settings = read_config(
        {
            FS + "worker_vcpu": "4",
            FS + "worker_memory_gb": "16",
            FS + "max_vcpu": "16",
            FS + "max_memory_gb": "64",
            FS + "release_label": " emr-7.10.0 ",
        }
    ).settings_for(PATTERN)
    assert (settings.worker_vcpu, settings.max_memory_gb) == (4, 64)
    assert settings.release_label == "emr-7.10.0"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("release_label", "emr-6.15.0"),
        ("release_label", "emr-spark-8.0.0"),
        ("release_label", "7.12.0"),
        ("idle_timeout_minutes", "0"),
        ("idle_timeout_minutes", "10081"),
        ("worker_vcpu", "3"),
        ("max_vcpu", "1"),
        ("job_timeout_minutes", "2"),
        ("record_identifier", "_id"),
        ("record_identifier", "customer id"),
        ("event_time_feature", "x" * 65),
        ("offline_store_wait_minutes", "5"),
        ("training_instance_type", "m5.large"),
    ],
)
def test_a_bad_value_names_its_key_value_and_what_is_allowed(key, value):
    assert_rejected_with_key_value_allowed_and_fix(FS + key, value)


@pytest.mark.parametrize(("vcpu", "memory"), [(1, 9), (2, 3), (4, 31), (16, 20)])
def test_worker_memory_must_suit_its_vcpus(vcpu, memory):
    problems = problems_of(
        {
            FS + "worker_vcpu": str(vcpu),
            FS + "worker_memory_gb": str(memory),
            FS + "max_vcpu": "400",
            FS + "max_memory_gb": "3000",
        }
    )
    assert list(problems) == [FS + "worker_memory_gb"]
    assert f"{vcpu} vCPUs" in problems[FS + "worker_memory_gb"].allowed


def test_the_capacity_must_hold_the_driver_and_one_executor():
    problems = problems_of(
        {
            FS + "worker_vcpu": "4",
            FS + "worker_memory_gb": "16",
            FS + "max_vcpu": "6",
            FS + "max_memory_gb": "20",
        }
    )
    assert sorted(problems) == [FS + "max_memory_gb", FS + "max_vcpu"]
    assert all("driver and one executor" in p.allowed for p in problems.values())


@pytest.mark.parametrize("name", ["order_count", "churned", "is_deleted", "write_time"])
def test_the_special_features_may_not_take_a_name_the_job_or_offline_store_uses(name):
    problems = problems_of({FS + "record_identifier": name})
    assert list(problems) == [FS + "record_identifier"]


def test_the_record_identifier_and_event_time_differ():
    problems = problems_of({FS + "event_time_feature": "customer_id"})
    assert list(problems) == [FS + "event_time_feature"]
