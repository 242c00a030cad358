"""Config: every validation rule with bad values, coercion of -c strings, and a property test."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_refarch.config import (
    CLICKSTREAM_COLUMNS,
    DEFAULTS,
    FIELDS,
    MAX_SHARDS,
    PROFILES,
    Column,
    ConfigError,
    read_config,
    shards_for,
)
from tests.support import ROOT

KP = "kinesis-parquet."


def problems_of(context: dict) -> dict[str, object]:
    with pytest.raises(ConfigError) as raised:
        read_config(context)
    return {problem.key: problem for problem in raised.value.problems}


def test_defaults_give_the_sandbox_profile_and_clickstream_columns():
    config = read_config({})
    assert config.profile == PROFILES["sandbox"]
    assert config.account is None and config.region is None
    assert config.kinesis_parquet.columns == CLICKSTREAM_COLUMNS
    assert config.kinesis_parquet.shard_count == 1


def test_cdk_json_carries_exactly_the_code_defaults():
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    ours = {key: value for key, value in context.items() if key in FIELDS}
    assert ours == DEFAULTS


@pytest.mark.parametrize(
    ("records_per_second", "record_size_kib", "shards"),
    [
        (1000, 8, 8),  # the notes' example: 8 KB records at 1000/s need 8 shards
        (1000, 1, 1),
        (1001, 1, 2),  # the records/s limit binds
        (100, 10.24, 1),  # exactly 1 MiB/s
        (100, 10.25, 2),  # just above 1 MiB/s
        (5000, 0.1, 5),
        (1, 1000, 1),
    ],
)
def test_shards_follow_the_per_shard_write_limits(records_per_second, record_size_kib, shards):
    assert shards_for(records_per_second, record_size_kib) == shards


def test_strings_from_the_command_line_are_coerced():
    config = read_config(
        {
            "profile": "Production",
            "account": "123456789012",
            "region": "eu-west-1",
            KP + "records_per_second": "1000",
            KP + "record_size_kib": "8",
            KP + "retention_hours": "48",
            KP + "buffer_interval_seconds": "900",
            KP + "buffer_size_mib": "64",
            KP + "input_format": "CSV",
            KP + "columns": "id:string, score:DOUBLE",
        }
    )
    settings_ = config.kinesis_parquet
    assert config.profile.name == "production"
    assert (config.account, config.region) == ("123456789012", "eu-west-1")
    assert settings_.shard_count == 8
    assert settings_.retention_hours == 48
    assert settings_.buffer_interval_seconds == 900
    assert settings_.buffer_size_mib == 64
    assert settings_.input_format == "csv"
    assert settings_.columns == (Column("id", "string"), Column("score", "double"))


def test_on_demand_mode_has_no_shard_count():
    config = read_config({KP + "stream_mode": "on-demand", KP + "records_per_second": 400000})
    assert config.kinesis_parquet.shard_count is None


def test_notebook_settings_parse_and_packages_accept_a_json_list():
    config = read_config(
        {
            "isolated-notebook.instance_type": "ml.g5.xlarge",
            "isolated-notebook.volume_size_gib": "50",
            "isolated-notebook.packages": ["scikit-learn==1.5.2", "xgboost>=2,<3"],
            "studio-domain.package_source": "s3-wheelhouse",
            "studio-domain.user_profile_name": "alice-smith",
        }
    )
    assert config.isolated_notebook.instance_type == "ml.g5.xlarge"
    assert config.isolated_notebook.volume_size_gib == 50
    assert config.isolated_notebook.packages == ("scikit-learn==1.5.2", "xgboost>=2,<3")
    assert config.studio_domain.package_source == "s3-wheelhouse"
    assert config.studio_domain.user_profile_name == "alice-smith"
    assert config.studio_domain.packages == ("scikit-learn", "xgboost")


def test_columns_accept_a_json_list():
    columns = json.dumps([{"name": "a", "type": "int"}, {"name": "b_2", "type": "timestamp"}])
    config = read_config({KP + "columns": columns})
    assert config.kinesis_parquet.columns == (Column("a", "int"), Column("b_2", "timestamp"))


BAD_VALUES = [
    ("profile", "staging"),
    ("profile", ""),
    ("account", "12345"),
    ("account", "abcdefghijkl"),
    ("region", "Mars-1"),
    ("region", "useast1"),
    (KP + "stream_mode", "serverless"),
    (KP + "records_per_second", "0"),
    (KP + "records_per_second", "-5"),
    (KP + "records_per_second", "ten"),
    (KP + "records_per_second", "1.5"),
    (KP + "records_per_second", True),
    (KP + "record_size_kib", "0"),
    (KP + "record_size_kib", "1001"),
    (KP + "record_size_kib", "nan"),
    (KP + "record_size_kib", "inf"),
    (KP + "retention_hours", "23"),  # the notes: at least 24 h
    (KP + "retention_hours", "8761"),
    (KP + "buffer_interval_seconds", "901"),  # the notes: at most 900 s
    (KP + "buffer_interval_seconds", "59"),
    (KP + "buffer_size_mib", "63"),  # Parquet conversion needs at least 64 MiB
    (KP + "buffer_size_mib", "129"),
    (KP + "input_format", "parquet"),
    (KP + "columns", ""),
    (KP + "columns", "id"),
    (KP + "columns", "id:varchar"),
    (KP + "columns", "ID:string"),
    (KP + "columns", "a:int,a:string"),
    (KP + "columns", "1a:int"),
    (KP + "columns", "[not json"),
    (KP + "columns", '[{"name": "a"}]'),
    (KP + "columns", 42),
    ("isolated-notebook.instance_type", "t3.medium"),
    ("isolated-notebook.instance_type", "ml.t3"),
    ("isolated-notebook.volume_size_gib", "4"),
    ("isolated-notebook.volume_size_gib", "16385"),
    ("isolated-notebook.package_source", "pypi"),
    ("isolated-notebook.packages", ""),
    ("isolated-notebook.packages", "numpy,--index-url=https://evil.example"),
    ("isolated-notebook.packages", "numpy;rm -rf /"),
    ("isolated-notebook.packages", "git+https://github.com/x/y"),
    ("isolated-notebook.packages", "pandas $(id)"),
    ("studio-domain.user_profile_name", "-alice"),
    ("studio-domain.user_profile_name", "alice_smith"),
    ("studio-domain.user_profile_name", "a" * 64),
    ("studio-domain.package_source", "conda"),
    ("studio-domain.packages", "`whoami`"),
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_every_rule_rejects_bad_values_with_key_value_allowed_and_fix(key, value):
    problem = problems_of({key: value})[key]
    assert problem.received == value
    assert problem.allowed
    assert f"-c {key}=" in problem.fix
    message = str(problem)
    assert key in message and repr(value) in message


def test_limits_quote_the_reason_from_the_notes():
    problems = problems_of(
        {
            KP + "retention_hours": 12,
            KP + "buffer_interval_seconds": 1000,
            KP + "buffer_size_mib": 32,
        }
    )
    assert "at least 24 h" in problems[KP + "retention_hours"].allowed
    assert "900 s" in problems[KP + "buffer_interval_seconds"].allowed
    assert "64 MiB" in problems[KP + "buffer_size_mib"].allowed


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as raised:
        read_config({"profile": "prod", KP + "retention_hours": "1", "profle": "sandbox"})
    keys = [problem.key for problem in raised.value.problems]
    assert sorted(keys) == sorted(["profile", KP + "retention_hours", "profle"])
    assert "3 problems" in str(raised.value)


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("profle", "profile"),
        (KP + "retention_hour", KP + "retention_hours"),
        ("kinesis-parquet.buffer_size_mb", KP + "buffer_size_mib"),
        ("regoin", "region"),
    ],
)
def test_unknown_keys_suggest_the_closest_setting(typo, suggestion):
    problem = problems_of({typo: "x"})[typo]
    assert f"did you mean {suggestion!r}" in problem.fix


def test_unknown_key_without_a_close_match_says_so():
    problem = problems_of({"zzz": "1"})["zzz"]
    assert "no such setting" in problem.fix


def test_cdk_owned_keys_are_ignored():
    read_config(
        {
            "@aws-cdk/core:newStyleStackSynthesis": True,
            "aws:cdk:enable-path-metadata": True,
            "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
        }
    )


def test_a_write_rate_beyond_the_shard_quota_is_rejected_with_on_demand_as_the_fix():
    problem = problems_of({KP + "records_per_second": 400000, KP + "record_size_kib": 8})[
        KP + "records_per_second"
    ]
    assert str(MAX_SHARDS) in problem.allowed
    assert "on-demand" in problem.fix


# Values a user could plausibly type, plus arbitrary junk.
_any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.from_regex(r"[a-z_]{1,8}:(string|int|double|varchar|timestamp)(,[a-z_]{1,8}:int)?"),
    st.lists(st.dictionaries(st.sampled_from(["name", "type", "x"]), st.text(max_size=8))),
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.one_of(st.sampled_from(sorted(FIELDS)), st.text(min_size=1, max_size=20)),
        _any_value,
        max_size=6,
    )
)
def test_any_context_either_validates_or_raises_config_error(context):
    try:
        config = read_config(context)
    except ConfigError as error:
        assert error.problems, "a ConfigError always names at least one problem"
        return
    settings_ = config.kinesis_parquet
    assert 24 <= settings_.retention_hours <= 8760
    assert 64 <= settings_.buffer_size_mib <= 128
    assert 60 <= settings_.buffer_interval_seconds <= 900
    assert settings_.shard_count is None or 1 <= settings_.shard_count <= MAX_SHARDS
    assert settings_.columns


def test_configuration_doc_lists_every_setting_with_its_default():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for key, field in FIELDS.items():
        assert f"`{key}`" in doc, key
        if field.default is not None and key != KP + "columns":
            shown = json.dumps(field.default) if isinstance(field.default, bool) else field.default
            assert f"| `{key}` | `{shown}` |" in doc, key
    assert DEFAULTS[KP + "columns"] in doc
