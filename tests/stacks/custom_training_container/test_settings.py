"""custom-training-container settings: defaults, coercion, every bad value, and the volume
bounds of File mode (it holds the data) and of the streaming modes (they do not)."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.custom_training_container import PATTERN
from ml_refarch.stacks.custom_training_container.settings import STREAMING_VOLUME_MAX_GIB
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix, problems_of

CT = "custom-training-container."


def test_defaults_stream_with_fastfile_on_a_small_volume():
    settings = read_config({}).settings_for(PATTERN)
    assert settings.input_mode == "FastFile"
    assert settings.volume_size_gib <= STREAMING_VOLUME_MAX_GIB
    assert settings.build_compute_type == "BUILD_GENERAL1_SMALL"


def test_strings_from_the_command_line_are_coerced_to_the_apis_spelling():
    settings = read_config(
        {
            CT + "input_mode": " pipe ",
            CT + "volume_size_gib": "5",
            CT + "build_compute_type": "build_general1_medium",
            CT + "build_timeout_minutes": "45",
        }
    ).settings_for(PATTERN)
    assert settings.input_mode == "Pipe"
    assert settings.volume_size_gib == 5
    assert settings.build_compute_type == "BUILD_GENERAL1_MEDIUM"
    assert settings.build_timeout_minutes == 45


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("input_mode", "Stream"),
        ("input_mode", "AugmentedManifestFile"),
        ("instance_type", "m5.large"),  # no ml. prefix
        ("volume_size_gib", "0"),
        ("volume_size_gib", "16385"),
        ("dataset_size_gib", "-1"),
        ("max_runtime_seconds", "59"),
        ("max_runtime_seconds", "2419201"),  # over 28 days
        ("build_compute_type", "BUILD_GENERAL1_2XLARGE"),
        ("build_timeout_minutes", "4"),
        ("build_timeout_minutes", "2161"),
    ],
)
def test_bad_values_are_rejected_with_key_value_allowed_and_fix(key, value):
    assert_rejected_with_key_value_allowed_and_fix(CT + key, value)


def test_file_mode_needs_a_volume_that_holds_the_data_and_the_model():
    problem = problems_of(
        {CT + "input_mode": "File", CT + "dataset_size_gib": "20", CT + "volume_size_gib": "20"}
    )[CT + "volume_size_gib"]
    assert problem.received == 20
    assert "at least 21 GiB" in problem.allowed
    assert f"-c {CT}input_mode=FastFile" in problem.fix
    settings = read_config(
        {CT + "input_mode": "File", CT + "dataset_size_gib": "20", CT + "volume_size_gib": "21"}
    ).settings_for(PATTERN)
    assert settings.volume_size_gib == 21


@pytest.mark.parametrize("mode", ["Pipe", "FastFile"])
def test_streaming_modes_refuse_a_volume_sized_for_the_data(mode):
    too_big = str(STREAMING_VOLUME_MAX_GIB + 1)
    problem = problems_of({CT + "input_mode": mode, CT + "volume_size_gib": too_big})[
        CT + "volume_size_gib"
    ]
    assert f"at most {STREAMING_VOLUME_MAX_GIB} GiB with {mode} mode" in problem.allowed
    assert f"-c {CT}input_mode=File" in problem.fix
    # The dataset size does not matter when nothing is copied.
    settings = read_config(
        {CT + "input_mode": mode, CT + "dataset_size_gib": "500", CT + "volume_size_gib": "5"}
    ).settings_for(PATTERN)
    assert settings.volume_size_gib == 5
