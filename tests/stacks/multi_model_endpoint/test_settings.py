"""multi-model-endpoint settings: the shared instances and their bounds."""

from __future__ import annotations

import pytest

from tests.settings_support import problems_of

MM = "multi-model-endpoint."


@pytest.mark.parametrize("count", ["1", "0", "101", "two"])
def test_the_endpoint_keeps_two_instances_or_more(count):
    assert MM + "instance_count" in problems_of({MM + "instance_count": count})


def test_the_minimum_stays_at_two_for_availability_zones():
    assert MM + "min_instance_count" in problems_of({MM + "min_instance_count": "1"})


def test_the_scaling_bounds_must_agree():
    assert MM + "max_instance_count" in problems_of(
        {MM + "min_instance_count": "4", MM + "max_instance_count": "3", MM + "instance_count": 4}
    )
    problem = problems_of({MM + "instance_count": "6", MM + "max_instance_count": "4"})[
        MM + "instance_count"
    ]
    assert problem.received == 6


def test_the_instance_type_must_be_a_sagemaker_one():
    assert MM + "instance_type" in problems_of({MM + "instance_type": "m5.large"})
