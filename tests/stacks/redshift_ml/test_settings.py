"""redshift-ml settings: the documented base capacities, coercion, and every bad value."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.redshift_ml import PATTERN
from ml_refarch.stacks.redshift_ml.settings import BASE_CAPACITY_RPUS
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix

RS = "redshift-ml."


def test_defaults_are_the_smallest_common_warehouse_and_one_shard():
    settings = read_config({}).settings_for(PATTERN)
    assert settings.base_capacity_rpus == 8
    assert settings.shard_count == 1
    assert settings.retention_hours == 24
    assert settings.database_name == "dev"


def test_base_capacities_are_the_documented_steps():
    assert BASE_CAPACITY_RPUS[:3] == (4, 8, 16)
    assert 512 in BASE_CAPACITY_RPUS and 520 not in BASE_CAPACITY_RPUS
    assert BASE_CAPACITY_RPUS[-2:] == (992, 1024)
    assert all(value % 8 == 0 for value in BASE_CAPACITY_RPUS[1:])
    assert all(value % 32 == 0 for value in BASE_CAPACITY_RPUS if value > 512)


def test_strings_from_the_command_line_are_coerced():
    settings = read_config(
        {
            RS + "base_capacity_rpus": "4",
            RS + "shard_count": "3",
            RS + "retention_hours": "168",
            RS + "database_name": " analytics ",
        }
    ).settings_for(PATTERN)
    assert (settings.base_capacity_rpus, settings.shard_count) == (4, 3)
    assert settings.retention_hours == 168
    assert settings.database_name == "analytics"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (RS + "base_capacity_rpus", "0"),
        (RS + "base_capacity_rpus", "6"),  # between 4 and 8
        (RS + "base_capacity_rpus", "12"),  # not a multiple of 8
        (RS + "base_capacity_rpus", "520"),  # above 512 only in steps of 32
        (RS + "base_capacity_rpus", "1056"),
        (RS + "base_capacity_rpus", "eight"),
        (RS + "base_capacity_rpus", True),
        (RS + "shard_count", "0"),
        (RS + "shard_count", "501"),
        (RS + "retention_hours", "23"),
        (RS + "retention_hours", "8761"),
        (RS + "database_name", "Analytics"),
        (RS + "database_name", "1db"),
        (RS + "database_name", "my-db"),
        (RS + "database_name", ""),
    ],
)
def test_every_rule_rejects_bad_values_with_key_value_allowed_and_fix(key, value):
    problem = assert_rejected_with_key_value_allowed_and_fix(key, value)
    if key.endswith("base_capacity_rpus"):
        assert "multiple of 8" in problem.allowed and "512" in problem.allowed
