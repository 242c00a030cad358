"""studio-domain settings: parsing and every bad value."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.studio_domain import PATTERN
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix

SD = "studio-domain."


def test_studio_settings_parse():
    config = read_config(
        {SD + "package_source": "s3-wheelhouse", SD + "user_profile_name": "alice-smith"}
    )
    settings = config.settings_for(PATTERN)
    assert settings.package_source == "s3-wheelhouse"
    assert settings.user_profile_name == "alice-smith"
    assert settings.packages == ("scikit-learn", "xgboost")


BAD_VALUES = [
    (SD + "user_profile_name", "-alice"),
    (SD + "user_profile_name", "alice_smith"),
    (SD + "user_profile_name", "a" * 64),
    (SD + "package_source", "conda"),
    (SD + "packages", "`whoami`"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_every_rule_rejects_bad_values_with_key_value_allowed_and_fix(key, value):
    assert_rejected_with_key_value_allowed_and_fix(key, value)
