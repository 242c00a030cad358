"""The committed SQL files: their shape, and how they are filled in."""

from __future__ import annotations

import re

import pytest

from ml_refarch.stacks.redshift_ml import sql

VALUES = {
    "stream_schema": "kinesis_source",
    "streaming_view": "stream_events",
    "stream_name": "my-stream",
    "redshift_role_arn": "arn:aws:iam::123456789012:role/r",
    "model_bucket": "bucket",
    "key_id": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "run_id": "smoke0123456789",
    "model_name": "smoke0123456789_model",
    "function_name": "smoke0123456789_predict",
}
ALL_FILES = (
    *sql.DEPLOY_STATEMENTS,
    sql.REFRESH_VIEW,
    sql.COUNT_RUN,
    sql.CREATE_MODEL,
    sql.SHOW_MODEL,
)


@pytest.mark.parametrize("name", ALL_FILES)
def test_each_file_is_one_statement_with_a_comment_saying_why(name):
    text = sql.read(name)
    assert text.lstrip().startswith("--")
    rendered = sql.render(name, VALUES)
    assert rendered.endswith(";") and rendered.count(";") == 1
    assert "{{" not in rendered and "--" not in rendered


def test_the_external_schema_reads_kinesis_as_the_role():
    rendered = sql.render("01_stream_schema.sql", VALUES)
    assert re.search(
        r"CREATE EXTERNAL SCHEMA IF NOT EXISTS kinesis_source\s+FROM KINESIS\s+"
        r"IAM_ROLE 'arn:aws:iam::123456789012:role/r';",
        rendered,
    )


def test_the_view_refreshes_itself_from_the_stream_and_parses_json():
    rendered = sql.render("03_streaming_view.sql", VALUES)
    assert re.search(r"CREATE MATERIALIZED VIEW stream_events\s+AUTO REFRESH YES\s+AS", rendered)
    assert 'FROM kinesis_source."my-stream"' in rendered
    assert "JSON_PARSE(kinesis_data)" in rendered and "CAN_JSON_PARSE(kinesis_data)" in rendered


def test_deploy_statements_run_again_on_update():
    schema, drop, view = (sql.render(name, VALUES) for name in sql.DEPLOY_STATEMENTS)
    assert "IF NOT EXISTS" in schema
    assert drop == "DROP MATERIALIZED VIEW IF EXISTS stream_events;"
    assert view.startswith("CREATE MATERIALIZED VIEW stream_events")


def test_create_model_trains_from_the_view_with_the_role_bucket_and_key():
    rendered = sql.render(sql.CREATE_MODEL, VALUES)
    assert rendered.startswith("CREATE MODEL smoke0123456789_model")
    assert "FROM stream_events" in rendered
    assert "TARGET y" in rendered and "FUNCTION smoke0123456789_predict" in rendered
    assert "IAM_ROLE 'arn:aws:iam::123456789012:role/r'" in rendered
    assert "S3_BUCKET 'bucket'" in rendered
    assert "KMS_KEY_ID '1234abcd-12ab-34cd-56ef-1234567890ab'" in rendered


def test_the_count_takes_the_run_id_as_a_data_api_parameter():
    rendered = sql.render(sql.COUNT_RUN, VALUES)
    assert "= :run_id" in rendered and VALUES["run_id"] not in rendered


def test_a_missing_value_is_named():
    values = {k: v for k, v in VALUES.items() if k != "stream_name"}
    with pytest.raises(sql.SqlError, match=r"03_streaming_view\.sql: no value for stream_name"):
        sql.render("03_streaming_view.sql", values)


@pytest.mark.parametrize("bad", ["x'; DROP TABLE t; --", 'a"b', "a;b"])
def test_a_value_that_could_end_the_statement_is_refused(bad):
    with pytest.raises(sql.SqlError, match="quote or semicolon"):
        sql.render("01_stream_schema.sql", {**VALUES, "redshift_role_arn": bad})
