"""kinesis-parquet settings: shard sizing, coercion, the column list, and every bad value."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_refarch.config import ConfigError, read_config
from ml_refarch.stacks.kinesis_parquet import PATTERN
from ml_refarch.stacks.kinesis_parquet.settings import (
    CLICKSTREAM_COLUMNS,
    COLUMN_TYPES,
    FIELDS,
    MAX_SHARDS,
    Column,
    shards_for,
)
from tests.settings_support import (
    ANY_CONTEXT_VALUE,
    assert_rejected_with_key_value_allowed_and_fix,
    problems_of,
)

KP = "kinesis-parquet."


def test_defaults_give_the_clickstream_columns_and_one_shard():
    settings = read_config({}).settings_for(PATTERN)
    assert settings.columns == CLICKSTREAM_COLUMNS
    assert settings.shard_count == 1


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
    settings_ = config.settings_for(PATTERN)
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
    assert config.settings_for(PATTERN).shard_count is None


def test_columns_accept_a_json_list():
    columns = json.dumps([{"name": "a", "type": "int"}, {"name": "b_2", "type": "timestamp"}])
    config = read_config({KP + "columns": columns})
    assert config.settings_for(PATTERN).columns == (Column("a", "int"), Column("b_2", "timestamp"))


BAD_VALUES = [
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
]


@pytest.mark.parametrize(("key", "value"), BAD_VALUES)
def test_every_rule_rejects_bad_values_with_key_value_allowed_and_fix(key, value):
    assert_rejected_with_key_value_allowed_and_fix(key, value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("id:string,score:double,foo:blob", "column 3 'foo:blob': type 'blob' is not one of "),
        ("id:string,id:int", "column 2 'id:int': name 'id' appears twice"),
        ("id:string,1a:int", "column 2 '1a:int': name '1a' is not lower case"),
        ("ID:string", "column 1 'ID:string': name 'ID' is not lower case"),
        ("id:string,score", "column 2 'score': no ':' between name and type"),
        ('[{"name": "a", "type": "int"}, {"name": "b"}]', "column 2 {'name': 'b'}: not an object"),
        ("[not json", "not a JSON list"),
    ],
)
def test_a_column_problem_says_which_column_and_what_is_wrong(value, says):
    problem = problems_of({KP + "columns": value})[KP + "columns"]
    assert says in problem.allowed
    assert says in str(problem)


def test_a_column_type_problem_lists_the_types_allowed():
    problem = problems_of({KP + "columns": "a:blob"})[KP + "columns"]
    assert f"type 'blob' is not one of {', '.join(COLUMN_TYPES)}" in problem.allowed


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
        (KP + "retention_hour", KP + "retention_hours"),
        ("kinesis-parquet.buffer_size_mb", KP + "buffer_size_mib"),
    ],
)
def test_unknown_keys_suggest_the_closest_setting(typo, suggestion):
    problem = problems_of({typo: "x"})[typo]
    assert f"did you mean {suggestion!r}" in problem.fix


def test_a_write_rate_beyond_the_shard_quota_is_rejected_with_on_demand_as_the_fix():
    problem = problems_of({KP + "records_per_second": 400000, KP + "record_size_kib": 8})[
        KP + "records_per_second"
    ]
    assert str(MAX_SHARDS) in problem.allowed
    assert "on-demand" in problem.fix


def test_the_shard_quota_is_checked_even_when_another_key_is_bad():
    problems = problems_of(
        {KP + "records_per_second": 400000, KP + "record_size_kib": 8, "profile": "staging"}
    )
    assert set(problems) == {"profile", KP + "records_per_second"}


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.sampled_from(sorted(KP + n for n in FIELDS)), ANY_CONTEXT_VALUE, max_size=6)
)
def test_any_stream_context_either_validates_within_the_limits_or_raises(context):
    try:
        config = read_config(context)
    except ConfigError as error:
        assert error.problems, "a ConfigError always names at least one problem"
        return
    settings_ = config.settings_for(PATTERN)
    assert 24 <= settings_.retention_hours <= 8760
    assert 64 <= settings_.buffer_size_mib <= 128
    assert 60 <= settings_.buffer_interval_seconds <= 900
    assert settings_.shard_count is None or 1 <= settings_.shard_count <= MAX_SHARDS
    assert settings_.columns
