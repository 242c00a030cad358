"""serverless-inference settings: model, memory and concurrency."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.serverless_inference import PATTERN
from tests.settings_support import problems_of

SV = "serverless-inference."


@pytest.mark.parametrize("memory", ["1000", "0", "7168", "1536", "-1024", "2 GB", 2048.5, True])
def test_memory_must_be_a_serverless_size(memory):
    problem = problems_of({SV + "memory_size_mb": memory})[SV + "memory_size_mb"]
    assert "1024, 2048, 3072, 4096, 5120, 6144" in problem.allowed


@pytest.mark.parametrize("memory", [1024, "3072", 6144])
def test_every_serverless_memory_size_is_accepted(memory):
    assert read_config({SV + "memory_size_mb": memory}).settings_for(PATTERN).memory_size_mb == int(
        memory
    )


@pytest.mark.parametrize("concurrency", ["0", "201", "-3", "many"])
def test_max_concurrency_is_1_to_200(concurrency):
    problem = problems_of({SV + "max_concurrency": concurrency})[SV + "max_concurrency"]
    assert "1 to 200" in problem.allowed


@pytest.mark.parametrize("provisioned", ["-1", "201", "x"])
def test_provisioned_concurrency_is_0_to_200(provisioned):
    problems = problems_of({SV + "provisioned_concurrency": provisioned})
    assert "0 for none" in problems[SV + "provisioned_concurrency"].allowed


def test_provisioned_concurrency_cannot_exceed_max_concurrency():
    problem = problems_of({SV + "max_concurrency": "5", SV + "provisioned_concurrency": "6"})[
        SV + "provisioned_concurrency"
    ]
    assert problem.received == 6
    assert "max_concurrency (5)" in problem.allowed
    settings = read_config(
        {SV + "max_concurrency": "5", SV + "provisioned_concurrency": "5"}
    ).settings_for(PATTERN)
    assert settings.provisioned_concurrency == settings.max_concurrency == 5


def test_the_model_must_be_a_committed_one():
    problem = problems_of({SV + "model": "churn-v3"})[SV + "model"]
    assert "churn-v1" in problem.allowed and "churn-v2" in problem.allowed


def test_every_bad_setting_is_reported_at_once():
    problems = problems_of(
        {
            SV + "memory_size_mb": "512",
            SV + "max_concurrency": "0",
            SV + "provisioned_concurrency": "300",
            SV + "model": "other",
        }
    )
    assert set(problems) == {
        SV + "memory_size_mb",
        SV + "max_concurrency",
        SV + "provisioned_concurrency",
        SV + "model",
    }
