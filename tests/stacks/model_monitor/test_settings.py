"""model-monitor settings: capture, schedule, monitoring runs and endpoint bounds."""

from __future__ import annotations

import pytest

from ml_refarch.app import project_context
from ml_refarch.config import ConfigError, read_config

MON = "model-monitor."


BAD_SETTINGS = {
    "sampling_percentage": ["0", "101", "half"],
    "schedule_expression": [
        "cron(0 24 ? * * *)",
        "cron(0 0/25 ? * * *)",
        "cron(*/5 * ? * * *)",
        "rate(1 hour)",
        "hourly",
    ],
    "monitoring_instance_type": ["m5.xlarge", "ml.m5"],
    "monitoring_instance_count": ["0", "11"],
    "monitoring_volume_size_gib": ["0", "16385"],
    "max_runtime_seconds": ["59", "3601"],
    "drift_threshold": ["0", "1.5", "-0.1", "nan"],
    "engine": ["monitor", "sagemaker", ""],
    "protected_attribute": ["age", "feature_9", "feature_0"],
    "group_attribute": ["feature_8", "region"],
    "psi_threshold": ["0", "11", "high"],
    "ks_threshold": ["0", "1.5"],
    "bias_drift_threshold": ["0", "2.5"],
    "min_accuracy": ["0", "1.1", "-0.5"],
    "instance_count": ["1"],
    "min_instance_count": ["1"],
}


@pytest.mark.parametrize(
    ("setting", "value"),
    [(setting, value) for setting, values in BAD_SETTINGS.items() for value in values],
)
def test_bad_settings_are_named_with_what_is_allowed(setting, value):
    with pytest.raises(ConfigError) as raised:
        read_config(project_context(**{MON + setting: value}))
    (problem,) = raised.value.problems
    assert problem.key == MON + setting
    assert problem.received == value
    assert problem.allowed and problem.fix


def test_every_bad_setting_is_reported_at_once():
    with pytest.raises(ConfigError) as raised:
        read_config(
            project_context(
                **{
                    MON + "sampling_percentage": "0",
                    MON + "schedule_expression": "cron(0 0 * * ? *)",
                    MON + "drift_threshold": "2",
                }
            )
        )
    keys = {problem.key for problem in raised.value.problems}
    assert keys == {
        MON + "sampling_percentage",
        MON + "schedule_expression",
        MON + "drift_threshold",
    }
    assert "cron(0 * ? * * *)" in str(raised.value)


def test_scaling_bounds_must_hold_the_starting_count():
    with pytest.raises(ConfigError) as raised:
        read_config(
            project_context(**{MON + "max_instance_count": "3", MON + "instance_count": "4"})
        )
    (problem,) = raised.value.problems
    assert problem.key == MON + "instance_count"


def test_defaults_build_the_successor_and_model_monitor_stays_a_setting():
    settings = read_config(project_context()).settings_for("model-monitor")
    assert settings.engine == "processing-job"
    legacy = read_config(project_context(**{MON + "engine": "Model-Monitor"}))
    assert legacy.settings_for("model-monitor").engine == "model-monitor"


def test_cdd_must_condition_on_another_feature_than_the_segments():
    with pytest.raises(ConfigError) as raised:
        read_config(project_context(**{MON + "group_attribute": "feature_8"}))
    (problem,) = raised.value.problems
    assert problem.key == MON + "group_attribute"
    assert "other than" in problem.allowed
