"""Tests for ml_refarch/stacks/kinesis_parquet/smoke.py: pure functions, and main() against moto.

The end-to-end tests create a moto CloudFormation stack (bucket + Kinesis stream + the
outputs the script reads) and play Firehose's part inside the injected ``sleep``: read the
records back from the stream, convert them to Parquet, and write the object under the
data prefix.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml_refarch.smoke import runner
from ml_refarch.stacks.kinesis_parquet import PATTERN, smoke
from ml_refarch.stacks.kinesis_parquet import records as kinesis_records
from ml_refarch.stacks.kinesis_parquet.outputs import Outputs
from tests.load import REPO_ROOT, load_by_path
from tests.smoke_fakes import moto_clients, runner_for

main = runner_for(PATTERN)
transform = load_by_path(
    "lambdas_csv_to_json_handler", REPO_ROOT / "lambdas" / "csv_to_json" / "handler.py"
)

REGION = "us-east-1"
STACK = "MlRefArch-KinesisParquet"
BUCKET = "smoke-test-bucket"
STREAM = "smoke-test-stream"
ALL_TYPES = [
    {"name": "event_id", "type": "string"},
    {"name": "is_bot", "type": "boolean"},
    {"name": "tiny", "type": "tinyint"},
    {"name": "small", "type": "smallint"},
    {"name": "clicks", "type": "int"},
    {"name": "big", "type": "bigint"},
    {"name": "ratio", "type": "float"},
    {"name": "revenue", "type": "double"},
    {"name": "day", "type": "date"},
    {"name": "event_time", "type": "timestamp"},
    {"name": "page", "type": "string"},
]
ARROW_TYPES = {
    "string": pa.string(),
    "boolean": pa.bool_(),
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("ms"),
}


def good_outputs(**overrides: str) -> list[dict[str, str]]:
    values = {
        Outputs.STREAM_NAME: STREAM,
        Outputs.DELIVERY_STREAM_NAME: "smoke-delivery",
        Outputs.BUCKET_NAME: BUCKET,
        Outputs.DATA_PREFIX: "data/",
        Outputs.ERROR_PREFIX: "errors/",
        Outputs.GLUE_DATABASE_NAME: "ml_refarch",
        Outputs.GLUE_TABLE_NAME: "clickstream",
        Outputs.INPUT_FORMAT: "json",
        Outputs.COLUMNS_JSON: json.dumps(kinesis_records.DEFAULT_COLUMNS),
    }
    values.update(overrides)
    return [{"OutputKey": key, "OutputValue": value} for key, value in values.items()]


def columns_of(raw: list[dict[str, str]]) -> list[Any]:
    return kinesis_records.parse_columns(json.dumps(raw))


# --- outputs and columns ---------------------------------------------------------------------


def test_parse_stack_outputs() -> None:
    outputs = smoke.parse_stack_outputs(good_outputs(**{Outputs.INPUT_FORMAT: "CSV"}))
    assert outputs.stream_name == STREAM and outputs.bucket_name == BUCKET
    assert (outputs.data_prefix, outputs.error_prefix) == ("data/", "errors/")
    assert outputs.input_format == "csv"
    assert [c.name for c in outputs.columns][:2] == ["event_id", "user_id"]
    assert outputs.columns[5] == kinesis_records.Column("event_time", "timestamp")


def test_parse_stack_outputs_missing_key_names_it() -> None:
    outputs = [
        o
        for o in good_outputs()
        if o["OutputKey"] not in (Outputs.ERROR_PREFIX, Outputs.COLUMNS_JSON)
    ]
    with pytest.raises(smoke.SetupError, match="missing or empty: ErrorPrefix, ColumnsJson"):
        smoke.parse_stack_outputs(outputs)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({Outputs.INPUT_FORMAT: "avro"}, "json or csv"),
        ({Outputs.BUCKET_NAME: ""}, Outputs.BUCKET_NAME),
        ({Outputs.COLUMNS_JSON: "[{"}, "not valid JSON"),
        ({Outputs.COLUMNS_JSON: "[]"}, "non-empty JSON list"),
        ({Outputs.COLUMNS_JSON: '[{"name": "x", "type": "decimal"}]'}, "unsupported type"),
        (
            {Outputs.COLUMNS_JSON: '[{"name": "x", "type": "int"}, {"name": "X", "type": "int"}]'},
            "dupl",
        ),
        ({Outputs.ERROR_PREFIX: "data/errors/"}, "overlap"),
        ({Outputs.DATA_PREFIX: "!{timestamp:yyyy}/"}, "literal folder"),
    ],
)
def test_parse_stack_outputs_rejects_bad_values(override: dict[str, str], message: str) -> None:
    with pytest.raises(smoke.SetupError, match=message):
        smoke.parse_stack_outputs(good_outputs(**override))


def test_firehose_expressions_are_cut_from_prefixes() -> None:
    outputs = smoke.parse_stack_outputs(
        good_outputs(DataPrefix="data/year=!{timestamp:yyyy}/", ErrorPrefix="errors/!{firehose:e}/")
    )
    assert (outputs.data_prefix, outputs.error_prefix) == ("data/year=", "errors/")


def test_marker_column_is_first_string_column() -> None:
    columns = columns_of([{"name": "n", "type": "int"}, {"name": "id", "type": "string"}])
    assert kinesis_records.choose_marker_column(columns).name == "id"
    with pytest.raises(smoke.SetupError, match="no string column"):
        kinesis_records.choose_marker_column(columns_of([{"name": "n", "type": "int"}]))


# --- generation and encoding -------------------------------------------------------------------


def test_generated_records_match_columns_and_types() -> None:
    columns = columns_of(ALL_TYPES)
    records = kinesis_records.generate_records(columns, 200, "smoke-abc", random.Random(1))

    assert len(records) == 200
    assert [r["event_id"] for r in records] == [f"smoke-abc-{i:06d}" for i in range(200)]
    for record in records:
        assert list(record) == [c["name"] for c in ALL_TYPES]
        assert isinstance(record["is_bot"], bool)
        for name, bits in [("tiny", 8), ("small", 16), ("clicks", 32), ("big", 64)]:
            assert type(record[name]) is int and -(2 ** (bits - 1)) <= record[name] < 2 ** (
                bits - 1
            )
        assert isinstance(record["ratio"], float) and isinstance(record["revenue"], float)
        datetime.date.fromisoformat(record["day"])
        assert len(record["event_time"]) == len("2024-01-01 00:00:00.000")
        datetime.datetime.fromisoformat(record["event_time"])
        assert record["page"].startswith("page-")


def test_generation_is_deterministic_with_a_seed() -> None:
    columns = columns_of(kinesis_records.DEFAULT_COLUMNS)

    def run(seed: int) -> tuple[str, list[dict[str, Any]]]:
        rng = random.Random(seed)
        run_id = kinesis_records.make_run_id(rng)
        return run_id, kinesis_records.generate_records(columns, 20, run_id, rng)

    assert run(7) == run(7)
    assert run(7)[0] != run(8)[0]
    assert run(7)[0].startswith("smoke-")


def test_csv_encoding_quotes_and_round_trips() -> None:
    columns = columns_of([ALL_TYPES[0], {"name": "note", "type": "string"}])
    awkward = ["a,b", 'say "hi"', "line\nbreak", "carriage\rreturn", "Zoë 東京 🚀", " spaced "]
    for text in awkward:
        line = kinesis_records.encode_csv_line({"event_id": "id-1", "note": text}, columns).decode()
        assert line.endswith("\n") and not line.endswith("\r\n")
        assert list(csv.reader(io.StringIO(line, newline=""))) == [["id-1", text]]
    assert (
        kinesis_records.encode_csv_line({"event_id": "x", "note": "a,b"}, columns) == b'x,"a,b"\n'
    )


def test_csv_encoding_of_typed_values() -> None:
    columns = columns_of(ALL_TYPES)
    record = {
        "event_id": "e",
        "is_bot": False,
        "tiny": -1,
        "small": 2,
        "clicks": 3,
        "big": 2**63 - 1,
        "ratio": 0.25,
        "revenue": 1e-7,
        "day": "2024-01-31",
        "event_time": "2024-01-31 12:00:00.000",
        "page": None,
    }
    assert kinesis_records.encode_csv_line(record, columns) == (
        b"e,false,-1,2,3,9223372036854775807,0.25,1e-07,2024-01-31,2024-01-31 12:00:00.000,\n"
    )


def test_json_encoding_is_one_utf8_line() -> None:
    line = kinesis_records.encode_json_line({"event_id": "Zoë", "n": 1})
    assert line == '{"event_id":"Zoë","n":1}\n'.encode()


@pytest.mark.parametrize("seed", range(5))
def test_csv_records_pass_the_transform_lambda_and_equal_the_json_encoding(seed: int) -> None:
    columns = columns_of(ALL_TYPES)
    lambda_columns = transform.parse_columns(json.dumps(ALL_TYPES))
    records = kinesis_records.generate_records(columns, 50, f"smoke-{seed}", random.Random(seed))
    for record in records:
        csv_line = kinesis_records.encode_record(record, columns, "csv").decode()
        json_line = kinesis_records.encode_record(record, columns, "json").decode()
        assert transform.convert_row(csv_line, lambda_columns) == json.loads(json_line)


def test_batching_by_count() -> None:
    batches = kinesis_records.batch_entries(list(range(1201)))
    assert [len(b) for b in batches] == [500, 500, 201]
    assert [x for b in batches for x in b] == list(range(1201))
    assert kinesis_records.batch_entries([]) == []


def test_batching_by_bytes() -> None:
    batches = kinesis_records.batch_entries(["x" * 400] * 10, max_bytes=1000, size=len)
    assert [len(b) for b in batches] == [2, 2, 2, 2, 2]


# --- put retries ---------------------------------------------------------------------------


class FlakyKinesis:
    """Fails each listed partition key for its first N attempts, like a throttled shard."""

    def __init__(self, failures_by_key: dict[str, int]) -> None:
        self.failures_left = dict(failures_by_key)
        self.calls: list[list[str]] = []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        keys = [r["PartitionKey"] for r in Records]
        self.calls.append(keys)
        results = []
        for key in keys:
            if self.failures_left.get(key, 0) > 0:
                self.failures_left[key] -= 1
                results.append(
                    {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "x"}
                )
            else:
                results.append({"SequenceNumber": "1", "ShardId": "shardId-000000000000"})
        return {"FailedRecordCount": sum("ErrorCode" in r for r in results), "Records": results}


def test_put_records_retries_only_failed_entries_with_backoff() -> None:
    entries = [{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(600)]
    kinesis = FlakyKinesis({"k1": 2, "k599": 1})
    sleeps: list[float] = []

    stats = smoke.put_records(kinesis, STREAM, entries, sleep=sleeps.append)

    assert [len(c) for c in kinesis.calls] == [500, 1, 1, 100, 1]
    assert kinesis.calls[1] == kinesis.calls[2] == ["k1"] and kinesis.calls[4] == ["k599"]
    assert stats == {"records": 600, "batches": 5, "retried": 3}
    assert sleeps == [0.25, 0.5, 0.25]


def test_put_records_gives_up_after_max_attempts() -> None:
    kinesis = FlakyKinesis({"k0": 99})
    with pytest.raises(smoke.SmokeFailure, match="1 records still failing after 3 attempts"):
        smoke.put_records(
            kinesis,
            STREAM,
            [{"Data": b"x", "PartitionKey": "k0"}],
            max_attempts=3,
            sleep=lambda s: None,
        )


# --- matching and comparison --------------------------------------------------------------------


def test_match_rows_uses_run_prefix_and_lowercases_keys() -> None:
    rows = [
        {"Event_ID": "smoke-1-000001", "n": 1},
        {"Event_ID": "smoke-10-000001", "n": 2},
        {"Event_ID": None, "n": 3},
        {"Event_ID": "other", "n": 4},
    ]
    assert kinesis_records.match_rows(rows, "event_id", "smoke-1") == [
        {"event_id": "smoke-1-000001", "n": 1}
    ]


def test_normalize_value_handles_parquet_representations() -> None:
    utc_plus_2 = datetime.timezone(datetime.timedelta(hours=2))
    aware = datetime.datetime(2024, 5, 1, 14, 0, 0, 123000, tzinfo=utc_plus_2)
    assert kinesis_records.normalize_value(aware, "timestamp") == "2024-05-01 12:00:00.123000"
    assert kinesis_records.normalize_value("2024-05-01 12:00:00.123", "timestamp") == (
        "2024-05-01 12:00:00.123000"
    )
    assert kinesis_records.normalize_value(datetime.date(2024, 5, 1), "date") == "2024-05-01"
    assert kinesis_records.normalize_value(0.1, "float") == kinesis_records.normalize_value(
        0.100000001, "float"
    )
    assert kinesis_records.normalize_value(None, "int") is None


def test_compare_rows_reports_each_difference() -> None:
    columns = columns_of([{"name": "id", "type": "string"}, {"name": "n", "type": "int"}])
    sent = {"r-1": {"id": "r-1", "n": 1}, "r-2": {"id": "r-2", "n": 2}}
    found = {"r-1": {"id": "r-1", "n": 1}, "r-2": {"id": "r-2", "n": 3}, "r-9": {"id": "r-9"}}
    assert kinesis_records.compare_rows(sent, found, columns) == [
        "r-2: n sent 2, Parquet has 3",
        "r-9: row was not sent by this run",
    ]


def test_check_schema_is_case_insensitive() -> None:
    columns = columns_of([{"name": "Event_Id", "type": "string"}, {"name": "n", "type": "int"}])
    assert kinesis_records.check_schema(["event_id", "n", "extra"], columns) == []
    assert kinesis_records.check_schema(["event_id"], columns) == ["n"]


def test_evaluate_collects_every_problem_but_tolerates_duplicates() -> None:
    outputs = smoke.parse_stack_outputs(good_outputs())
    record = {c.name: None for c in outputs.columns} | {"event_id": "r-1"}
    row = {c.name: None for c in outputs.columns} | {"event_id": "r-1"}
    result = smoke.PollResult(
        found={"r-1": row},
        duplicate_count=3,
        schemas={"data/a": [c.name for c in outputs.columns], "data/b": ["event_id"]},
    )
    assert smoke.evaluate(result, {"r-1": record}, outputs, 60) == (
        [
            "data/b lacks configured columns: user_id, session_id, page, event_type, "
            "event_time, duration_ms, revenue"
        ],
        [],
    )

    result.schemas.pop("data/b")
    assert smoke.evaluate(result, {"r-1": record}, outputs, 60) == ([], [])

    result.unexpected_markers.append("r-7")
    result.error_keys.append("errors/x")
    result.timed_out = True
    problems, _ = smoke.evaluate(result, {"r-1": record, "r-2": record}, outputs, 60)
    assert problems == [
        "1 object(s) under error prefix errors/: errors/x",
        "timed out after 60 s with 1 rows missing",
        "1 rows carry unknown run markers",
    ]


def test_read_parquet_rows_rejects_other_bytes() -> None:
    with pytest.raises(ValueError, match="PAR1"):
        smoke.read_parquet_rows(b'{"not": "parquet"}\n')


# --- command line without AWS -------------------------------------------------------------------


def test_dry_run_needs_no_aws(monkeypatch, capsys) -> None:
    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("dry run must not create AWS clients")

    monkeypatch.setattr(runner.boto3, "Session", no_aws)
    argv = ["--dry-run", "--records", "3", "--seed", "1", "--input-format", "csv"]

    assert main(argv) == 0

    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("smoke-")]
    assert len(rows) == 3
    assert all(len(next(csv.reader([row]))) == len(kinesis_records.DEFAULT_COLUMNS) for row in rows)
    assert "event_id" in out and PATTERN.stack_name in out


def test_dry_run_with_custom_columns(capsys) -> None:
    columns_json = json.dumps([{"name": "n", "type": "int"}, {"name": "id", "type": "string"}])
    assert main(["--dry-run", "--records", "2", "--columns-json", columns_json]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [list(x) for x in lines] == [["n", "id"], ["n", "id"]]


def test_dry_run_with_bad_columns_is_a_setup_error(capsys) -> None:
    assert main(["--dry-run", "--columns-json", "[1]"]) == 2
    assert capsys.readouterr().err.startswith("error: ColumnsJson[0] has no column name")


def test_dry_run_only_options_are_rejected_for_real_runs() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--input-format", "csv"])
    assert caught.value.code == 2


# --- end to end with moto -------------------------------------------------------------------------


# One session for all tests: botocore loads service models once per session.
SESSION = boto3.Session(region_name=REGION)


def stack_template(outputs: dict[str, str]) -> str:
    template = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}},
            "Stream": {
                "Type": "AWS::Kinesis::Stream",
                "Properties": {"Name": STREAM, "ShardCount": 1},
            },
        },
        "Outputs": {
            "BucketName": {"Value": {"Ref": "Bucket"}},
            "StreamName": {"Value": {"Ref": "Stream"}},
            **{key: {"Value": value} for key, value in outputs.items()},
        },
    }
    return json.dumps(template)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from moto_clients(monkeypatch, SESSION, REGION, "cloudformation", "kinesis", "s3")


def create_stack(aws: dict[str, Any], columns: list[dict[str, str]], input_format: str) -> None:
    outputs = {
        Outputs.DELIVERY_STREAM_NAME: "smoke-delivery",
        Outputs.DATA_PREFIX: "data/",
        Outputs.ERROR_PREFIX: "errors/",
        Outputs.GLUE_DATABASE_NAME: "ml_refarch",
        Outputs.GLUE_TABLE_NAME: "clickstream",
        Outputs.INPUT_FORMAT: input_format,
        Outputs.COLUMNS_JSON: json.dumps(columns),
    }
    aws["cloudformation"].create_stack(StackName=STACK, TemplateBody=stack_template(outputs))


def read_stream(kinesis: Any) -> list[bytes]:
    payloads = []
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        payloads += [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]]
    return payloads


def to_parquet(rows: list[dict[str, Any]], columns: list[dict[str, str]]) -> bytes:
    """Converts JSON-typed rows the way Firehose does with the Glue table's column types."""
    arrays = {}
    for column in columns:
        values = [row.get(column["name"]) for row in rows]
        if column["type"] == "date":
            values = [datetime.date.fromisoformat(v) for v in values]
        elif column["type"] == "timestamp":
            values = [datetime.datetime.fromisoformat(v) for v in values]
        arrays[column["name"]] = pa.array(values, type=ARROW_TYPES[column["type"]])
    buffer = io.BytesIO()
    pq.write_table(pa.table(arrays), buffer)
    return buffer.getvalue()


def fake_firehose(
    aws: dict[str, Any],
    columns: list[dict[str, str]],
    input_format: str,
    *,
    tamper: Callable[[list[dict[str, Any]]], None] = lambda rows: None,
) -> Callable[[float], None]:
    """A ``sleep`` that, on its first call, delivers everything in the stream as Parquet."""
    lambda_columns = transform.parse_columns(json.dumps(columns))
    calls: list[float] = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) > 1:
            return
        payloads = read_stream(aws["kinesis"])
        if input_format == "csv":
            rows = [transform.convert_row(p.decode(), lambda_columns) for p in payloads]
        else:
            rows = [json.loads(p) for p in payloads]
        tamper(rows)
        hour = datetime.datetime.now(datetime.UTC).strftime("year=%Y/month=%m/day=%d/hour=%H")
        aws["s3"].put_object(
            Bucket=BUCKET,
            Key=f"data/{hour}/smoke-delivery-1-2024-01-01-00-00-00-0000",
            Body=to_parquet(rows, columns),
        )
        # Not Parquet: must be skipped, not crash the poll.
        aws["s3"].put_object(Bucket=BUCKET, Key=f"data/{hour}/notes.txt", Body=b"hello")

    return sleep


def run_main(argv: list[str], sleep: Callable[[float], None]) -> int:
    base = ["--stack", STACK, "--region", REGION, "--seed", "3", "--poll-seconds", "1"]
    return main(base + argv, sleep=sleep, session=SESSION)


@pytest.mark.parametrize(
    ("columns", "input_format", "records"),
    [(kinesis_records.DEFAULT_COLUMNS, "json", 60), (ALL_TYPES, "csv", 40)],
    ids=["clickstream-json", "all-types-csv"],
)
def test_main_succeeds_when_parquet_arrives(
    aws, capsys, columns: list[dict[str, str]], input_format: str, records: int
) -> None:
    create_stack(aws, columns, input_format)

    code = run_main(["--records", str(records)], fake_firehose(aws, columns, input_format))

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"matched {records}/{records} rows" in out
    assert f"PASS: {records}/{records} rows" in out
    assert f"put {records} {input_format} records" in out and "in 1 request(s)" in out
    assert "notes.txt: not a Parquet file" in out
    assert "schema ok" in out and "values ok" in out


def test_main_fails_on_changed_values(aws, capsys) -> None:
    create_stack(aws, kinesis_records.DEFAULT_COLUMNS, "json")

    def tamper(rows: list[dict[str, Any]]) -> None:
        rows[0]["revenue"] += 1

    sleep = fake_firehose(aws, kinesis_records.DEFAULT_COLUMNS, "json", tamper=tamper)
    assert run_main(["--records", "5"], sleep) == 1
    out = capsys.readouterr().out
    assert "FAIL: 1 value mismatch(es)" in out and "revenue sent" in out


def test_main_fails_when_error_objects_appear(aws, capsys) -> None:
    create_stack(aws, kinesis_records.DEFAULT_COLUMNS, "csv")

    def sleep(seconds: float) -> None:
        aws["s3"].put_object(
            Bucket=BUCKET, Key="errors/processing-failed/2024/01/01/00/failed-1", Body=b"{}"
        )

    assert run_main(["--records", "5", "--timeout-seconds", "60"], sleep) == 1
    out = capsys.readouterr().out
    assert "FAIL: 1 object(s) under error prefix errors/" in out
    assert "errors/processing-failed/2024/01/01/00/failed-1" in out


def test_main_times_out_without_parquet(aws, capsys) -> None:
    create_stack(aws, kinesis_records.DEFAULT_COLUMNS, "json")
    sleeps: list[float] = []

    assert run_main(["--records", "5", "--timeout-seconds", "0"], sleeps.append) == 1

    out = capsys.readouterr().out
    assert "FAIL: timed out after 0 s with 5 rows missing" in out
    assert "matched 0/5 rows" in out
    assert sleeps == []


def test_main_missing_stack_is_a_setup_error(aws, capsys) -> None:
    assert run_main([], lambda seconds: None) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot read stack 'MlRefArch-KinesisParquet'" in err and "does not exist" in err


def test_main_missing_output_is_a_setup_error(aws, capsys) -> None:
    outputs = {
        Outputs.DELIVERY_STREAM_NAME: "d",
        Outputs.DATA_PREFIX: "data/",
        Outputs.ERROR_PREFIX: "errors/",
    }
    aws["cloudformation"].create_stack(StackName=STACK, TemplateBody=stack_template(outputs))

    assert run_main([], lambda seconds: None) == 2

    assert capsys.readouterr().err == (
        "error: stack outputs missing or empty: GlueDatabaseName, GlueTableName, "
        "InputFormat, ColumnsJson\n"
    )
