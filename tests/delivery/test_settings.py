"""The delivery.* settings: defaults, waves, and a clear error for each bad input."""

from __future__ import annotations

import pytest

from ml_refarch.config import ConfigError, all_fields, configuration_markdown, read_config
from ml_refarch.delivery.settings import DEFAULT_EXECUTION_POLICY, Target
from tests.delivery.support import CONNECTION_ARN

REQUIRED = {
    "delivery.connection_arn": CONNECTION_ARN,
    "delivery.repository": "owner/repo",
    "delivery.sandbox": "111122223333/us-east-1",
}


def problems(context: dict) -> list:
    with pytest.raises(ConfigError) as raised:
        read_config(context)
    return raised.value.problems


def test_without_a_connection_there_is_no_pipeline():
    assert read_config({}).delivery is None
    # Defaults given explicitly (as tests pass defaults()) do not ask for a pipeline.
    assert read_config({"delivery.branch": "main"}).delivery is None


def test_the_required_settings_give_a_sandbox_wave_only():
    settings = read_config(REQUIRED).delivery
    assert settings.branch == "main"
    assert settings.execution_policy == DEFAULT_EXECUTION_POLICY
    assert settings.pipeline == Target("111122223333", "us-east-1")
    [wave] = settings.waves
    assert (wave.name, wave.profile, wave.approval) == ("Sandbox", "sandbox", False)
    assert wave.targets == (Target("111122223333", "us-east-1"),)
    assert wave.patterns == ()  # every pattern


def test_production_targets_add_an_approved_production_wave_with_its_own_patterns():
    settings = read_config(
        {
            **REQUIRED,
            "delivery.sandbox": ["111122223333/us-east-1", "111122223333/us-west-2"],
            "delivery.production": "444455556666/eu-west-1, 444455556666/eu-central-1",
            "delivery.production_patterns": "Serverless-Inference,batch-jobs",
        }
    ).delivery
    sandbox, production = settings.waves
    assert len(sandbox.targets) == 2
    assert (production.profile, production.approval) == ("production", True)
    assert [str(t) for t in production.targets] == [
        "444455556666/eu-west-1",
        "444455556666/eu-central-1",
    ]
    assert production.patterns == ("serverless-inference", "batch-jobs")
    assert production.stage_id(production.targets[0]) == "Production-444455556666-eu-west-1"


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("delivery.connection_arn", "arn:aws:codeconnections:us-east-1:1111:connection/x", "ARN"),
        ("delivery.connection_arn", "arn:aws:s3:::bucket", "CodeConnections connection ARN"),
        ("delivery.repository", "no-owner", "owner/repo"),
        ("delivery.branch", "-bad", "branch"),
        ("delivery.branch", "a..b", "branch"),
        ("delivery.sandbox", "111122223333", "ACCOUNT/REGION"),
        ("delivery.sandbox", "111122223333/Mars", "ACCOUNT/REGION"),
        ("delivery.sandbox", "111122223333/us-east-1,111122223333/us-east-1", "twice"),
        ("delivery.production", "", "ACCOUNT/REGION"),
        ("delivery.sandbox_patterns", "", "pattern ids"),
        ("delivery.production_patterns", "no-such-pattern", "ids of"),
        ("delivery.execution_policy", "AdministratorAccess", "policy ARN"),
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(key, value, allowed):
    [problem] = problems({**REQUIRED, key: value})
    assert problem.key == key and problem.received == value
    assert allowed in problem.allowed
    assert problem.fix


def test_a_connection_needs_a_repository_and_a_sandbox_reported_together():
    found = problems({"delivery.connection_arn": CONNECTION_ARN, "profile": "staging"})
    assert {p.key for p in found} == {"delivery.repository", "delivery.sandbox", "profile"}


def test_delivery_settings_without_a_connection_are_errors_not_ignored():
    [problem] = problems({"delivery.sandbox": "111122223333/us-east-1"})
    assert problem.key == "delivery.sandbox"
    assert "delivery.connection_arn" in problem.fix


def test_an_unknown_delivery_key_has_a_hint():
    found = problems({**REQUIRED, "delivery.sandboxes": "111122223333/us-east-1"})
    assert [p.key for p in found] == ["delivery.sandboxes"]
    assert "did you mean 'delivery.sandbox'" in found[0].fix


def test_the_configuration_page_lists_the_delivery_keys():
    page = configuration_markdown()
    assert "## `delivery`" in page
    for key in (k for k in all_fields() if k.startswith("delivery.")):
        assert f"`{key}`" in page
