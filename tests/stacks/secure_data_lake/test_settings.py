"""secure-data-lake settings: S3's 30-day Standard-IA minimum, Glue entity types, and every
bad value."""

from __future__ import annotations

import pytest

from ml_refarch.config import read_config
from ml_refarch.stacks.secure_data_lake import PATTERN
from ml_refarch.stacks.secure_data_lake.settings import STANDARD_IA_MIN_DAYS
from tests.settings_support import assert_rejected_with_key_value_allowed_and_fix

P = "secure-data-lake."


def settings_of(**values):
    return read_config({P + key: value for key, value in values.items()}).settings_for(PATTERN)


def test_defaults_tier_raw_at_30_days_and_redact_every_known_entity():
    settings = settings_of()
    assert settings.raw_infrequent_access_days == STANDARD_IA_MIN_DAYS == 30
    assert settings.curated_intelligent_tiering_days is None
    assert "EMAIL" in settings.entity_types and "USA_SSN" in settings.entity_types
    assert settings.glue_version == "4.0"


def test_values_from_the_command_line_are_coerced():
    settings = settings_of(
        raw_infrequent_access_days="45",
        curated_intelligent_tiering_days="0",
        entity_types="email, usa_ssn",
        redaction_action="SHA256_HASH",
        glue_version="4.0",
    )
    assert settings.raw_infrequent_access_days == 45
    assert settings.curated_intelligent_tiering_days == 0
    assert settings.entity_types == ("EMAIL", "USA_SSN")
    assert settings.redaction_action == "sha256_hash"
    assert (
        settings_of(curated_intelligent_tiering_days="none").curated_intelligent_tiering_days
        is None
    )


def test_standard_ia_before_30_days_is_refused_with_the_reason():
    for key in ("raw_infrequent_access_days", "curated_infrequent_access_days"):
        problem = assert_rejected_with_key_value_allowed_and_fix(P + key, "29")
        assert "30" in problem.allowed and "Standard-IA" in problem.allowed


@pytest.mark.parametrize(
    ("key", "value", "in_allowed"),
    [
        ("entity_types", "EMAIL,PERSON", "Glue managed data type names"),
        ("entity_types", "EMAIL,EMAIL", "Glue managed data type names"),
        ("entity_types", " , ", "Glue managed data type names"),
        ("redaction_action", "mask", "'redact'"),
        ("redact_text", "a,b", "without commas"),
        ("redact_text", "x" * 33, "1 to 32"),
        ("glue_version", "3.0", "'4.0'"),
        ("glue_version", "5.0", "drop machine learning transforms"),
        ("glue_version", "5.1", "sensitive data detection API"),
        ("workers", "1", "at least one executor"),
        ("timeout_minutes", "0", "48 hours"),
        ("curated_intelligent_tiering_days", "-1", "'none'"),
        ("column_threshold_percent", "101", "share"),
    ],
)
def test_bad_values_name_the_key_the_value_and_what_is_allowed(key, value, in_allowed):
    problem = assert_rejected_with_key_value_allowed_and_fix(P + key, value)
    assert in_allowed in problem.allowed
