"""ab-variants settings: the weights and the variants' instances."""

from __future__ import annotations

import pytest

from ml_refarch.config import ConfigError, defaults, read_config
from ml_refarch.model_artifacts import RECIPES
from ml_refarch.stacks.ab_variants import PATTERN

P = "ab-variants."


def weight_problem(value) -> str:
    with pytest.raises(ConfigError) as raised:
        read_config({**defaults(), P + "weights": value})
    (problem,) = raised.value.problems
    assert problem.key == P + "weights"
    return str(problem)


@pytest.mark.parametrize(
    "value",
    [
        "1",  # one variant is no A/B test
        "0.5,0.3,0.2",  # more variants than committed model versions
        "0.9,0",  # a variant that never serves
        "0.9,-0.1",
        "a,b",
        "nan,1",
        "inf,1",
        "",
        "0.9,,0.1",
        [0.5],
        [True, 1],
        5,
    ],
)
def test_weights_must_be_positive_and_one_per_model_version(value):
    message = weight_problem(value)
    assert "weights above 0" in message
    assert "churn-v1, churn-v2" in message


def test_weights_accept_a_list_and_cannot_outnumber_the_models():
    config = read_config({**defaults(), P + "weights": [2, 1]})
    assert config.settings_for(PATTERN).weights == (2.0, 1.0)
    too_many = ",".join(["1"] * (len(RECIPES) + 1))
    assert f"{len(RECIPES)}" in weight_problem(too_many)


@pytest.mark.parametrize("key", ["instance_count", "min_instance_count"])
def test_each_variant_keeps_two_instances(key):
    with pytest.raises(ConfigError) as raised:
        read_config({**defaults(), P + key: 1})
    (problem,) = raised.value.problems
    assert problem.key == P + key
    assert "Availability Zones" in problem.allowed
