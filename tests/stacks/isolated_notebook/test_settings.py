"""isolated-notebook settings: parsing, JSON package lists, and every bad value."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.isolated_notebook import PATTERN
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix

NB = "isolated-notebook."


def test_notebook_settings_parse_and_packages_accept_a_json_list():
    config = read_config(
        {
            NB + "instance_type": "ml.g5.xlarge",
            NB + "volume_size_gib": "50",
            NB + "packages": ["scikit-learn==1.5.2", "xgboost>=2,<3"],
        }
    )
    settings = config.settings_for(PATTERN)
    assert settings.instance_type == "ml.g5.xlarge"
    assert settings.volume_size_gib == 50
    assert settings.packages == ("scikit-learn==1.5.2", "xgboost>=2,<3")


BAD_VALUES = [
    (NB + "instance_type", "t3.medium"),
    (NB + "instance_type", "ml.t3"),
    (NB + "volume_size_gib", "4"),
    (NB + "volume_size_gib", "16385"),
    (NB + "package_source", "pypi"),
    (NB + "packages", ""),
    (NB + "packages", "numpy,--index-url=https://evil.example"),
    (NB + "packages", "numpy;rm -rf /"),
    (NB + "packages", "git+https://github.com/x/y"),
    (NB + "packages", "pandas $(id)"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_every_rule_rejects_bad_values_with_key_value_allowed_and_fix(key, value):
    assert_rejected_with_key_value_allowed_and_fix(key, value)
