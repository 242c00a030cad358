"""Tests for the Firehose CSV -> JSON transformation Lambda (lambdas/csv_to_json/handler.py)."""

from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.load import load_by_path

HANDLER_PATH = Path(__file__).resolve().parents[2] / "lambdas" / "csv_to_json" / "handler.py"

ALL_TYPES_COLUMNS = [
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
]
GOOD_LINE = (
    "e-1,true,-128,32767,2147483647,-9223372036854775808,1.5,19.99,"
    "2024-02-29,2024-02-29 23:59:59.123"
)
GOOD_ROW = {
    "event_id": "e-1",
    "is_bot": True,
    "tiny": -128,
    "small": 32767,
    "clicks": 2147483647,
    "big": -9223372036854775808,
    "ratio": 1.5,
    "revenue": 19.99,
    "day": "2024-02-29",
    "event_time": "2024-02-29 23:59:59.123",
}
TWO_STRINGS = [{"name": "event_id", "type": "string"}, {"name": "page", "type": "string"}]
DELIVERY_STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks"
SOURCE_STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"


def load_module(name: str) -> ModuleType:
    return load_by_path(name, HANDLER_PATH)


_module_counter = itertools.count()


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], ModuleType]:
    """Returns a loader giving a freshly imported handler module (a new cold start)."""

    def load(columns: Any) -> ModuleType:
        if columns is None:
            monkeypatch.delenv("COLUMNS_JSON", raising=False)
        else:
            value = columns if isinstance(columns, str) else json.dumps(columns)
            monkeypatch.setenv("COLUMNS_JSON", value)
        name = f"csv_to_json_handler_{next(_module_counter)}"
        monkeypatch.setitem(sys.modules, name, None)  # removed again after the test
        return load_module(name)

    return load


def b64(data: str | bytes) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def make_event(datas: list[str], *, kinesis_source: bool = False) -> dict[str, Any]:
    """Builds a Firehose transformation event whose records carry the given base64 data."""
    records = []
    for index, data in enumerate(datas):
        record: dict[str, Any] = {
            "recordId": f"{index:05d}-49546986683135544286507457936321625675700192471156785154",
            "approximateArrivalTimestamp": 1_700_000_000_000 + index,
            "data": data,
        }
        if kinesis_source:
            record["kinesisRecordMetadata"] = {
                "shardId": "shardId-000000000000",
                "partitionKey": f"pk-{index}",
                "approximateArrivalTimestamp": 1_700_000_000_000 + index,
                "sequenceNumber": f"4954698668313554428650745793632167567570019247115678{index}",
                "subsequenceNumber": "",
            }
        records.append(record)
    event: dict[str, Any] = {
        "invocationId": "b4c1a6c2-8c6e-4a57-9f1a-000000000000",
        "deliveryStreamArn": DELIVERY_STREAM_ARN,
        "region": "us-east-1",
        "records": records,
    }
    if kinesis_source:
        event["sourceKinesisStreamArn"] = SOURCE_STREAM_ARN
    return event


def decode_output(record: dict[str, Any]) -> Any:
    text = base64.b64decode(record["data"]).decode("utf-8")
    assert text.endswith("\n") and text.count("\n") == 1
    return json.loads(text)


def run_one(module: ModuleType, data: str, *, kinesis_source: bool = False) -> dict[str, Any]:
    result = module.handler(make_event([data], kinesis_source=kinesis_source), None)
    assert len(result["records"]) == 1
    return result["records"][0]


# --- good rows ---------------------------------------------------------------------------


@pytest.mark.parametrize("kinesis_source", [False, True], ids=["direct-put", "kinesis-source"])
def test_good_row_with_every_type(load_handler, kinesis_source: bool) -> None:
    module = load_handler(ALL_TYPES_COLUMNS)
    event = make_event([b64(GOOD_LINE + "\n")], kinesis_source=kinesis_source)

    result = module.handler(event, None)

    [record] = result["records"]
    assert record["recordId"] == event["records"][0]["recordId"]
    assert record["result"] == "Ok"
    decoded = decode_output(record)
    assert decoded == GOOD_ROW
    assert list(decoded) == [column["name"] for column in ALL_TYPES_COLUMNS]
    assert isinstance(decoded["clicks"], int) and isinstance(decoded["revenue"], float)


def test_output_has_only_the_contract_keys(load_handler) -> None:
    module = load_handler(ALL_TYPES_COLUMNS)
    ok = run_one(module, b64(GOOD_LINE), kinesis_source=True)
    failed = run_one(module, b64("nope"), kinesis_source=True)
    assert set(ok) == set(failed) == {"recordId", "result", "data"}


@pytest.mark.parametrize(
    ("column_type", "raw", "expected"),
    [
        ("boolean", "TRUE", True),
        ("boolean", "False", False),
        ("boolean", "1", True),
        ("boolean", "0", False),
        ("tinyint", "127", 127),
        ("tinyint", "+5", 5),
        ("smallint", "-32768", -32768),
        ("int", "-2147483648", -2147483648),
        ("bigint", "9223372036854775807", 9223372036854775807),
        ("int", " 42 ", 42),
        ("float", "-3.25", -3.25),
        ("double", "1e-3", 0.001),
        ("double", ".5", 0.5),
        ("double", "7", 7.0),
        ("date", "2023-12-31", "2023-12-31"),
        # Normalised to the form Firehose's JSON deserializer reads: UTC, space, no zone.
        ("timestamp", "2024-01-02T03:04:05Z", "2024-01-02 03:04:05.000"),
        ("timestamp", "2024-01-02T03:04:05.123456+05:30", "2024-01-01 21:34:05.123456"),
        ("timestamp", "2024-01-02 03:04", "2024-01-02 03:04:00.000"),
        ("timestamp", "2024-01-02 03:04:05.500", "2024-01-02 03:04:05.500"),
        ("timestamp", "2024-01-02 03:04:05", "2024-01-02 03:04:05.000"),
        ("string", " padded ", " padded "),
    ],
)
def test_type_coercion(load_handler, column_type: str, raw: str, expected: Any) -> None:
    module = load_handler([{"name": "value", "type": column_type}])
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow([raw])
    record = run_one(module, b64(line.getvalue()))
    assert record["result"] == "Ok"
    decoded = decode_output(record)["value"]
    assert decoded == expected and type(decoded) is type(expected)


def test_empty_fields_are_null_for_every_type(load_handler) -> None:
    module = load_handler(ALL_TYPES_COLUMNS)
    record = run_one(module, b64("," * (len(ALL_TYPES_COLUMNS) - 1) + "\n"))
    assert record["result"] == "Ok"
    assert decode_output(record) == {column["name"]: None for column in ALL_TYPES_COLUMNS}


def test_quoted_fields_with_commas_quotes_and_newlines(load_handler) -> None:
    module = load_handler(TWO_STRINGS)
    line = '"a,b","she said ""hi"",\nthen left"\r\n'
    record = run_one(module, b64(line))
    assert record["result"] == "Ok"
    assert decode_output(record) == {
        "event_id": "a,b",
        "page": 'she said "hi",\nthen left',
    }


@pytest.mark.parametrize("text", ["Zoë", "東京", "🚀 launch 👩‍💻", "naïve café"])
def test_unicode_round_trips_exactly(load_handler, text: str) -> None:
    module = load_handler(TWO_STRINGS)
    record = run_one(module, b64(f"id-1,{text}\n"))
    assert record["result"] == "Ok"
    raw_json = base64.b64decode(record["data"]).decode("utf-8")
    assert text in raw_json  # written as UTF-8, not as ASCII escape sequences
    assert decode_output(record)["page"] == text


def test_column_names_come_from_config(load_handler) -> None:
    module = load_handler([{"name": "EventId", "type": "STRING"}, {"name": "n", "type": "Int"}])
    assert module.parse_columns(json.dumps([{"name": "n", "type": " BigInt "}])) == [
        module.Column("n", "bigint")
    ]
    record = run_one(module, b64("x,3"))
    assert decode_output(record) == {"EventId": "x", "n": 3}


# --- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "payload", "reason_part"),
    [
        (TWO_STRINGS, b"", "empty record"),
        (TWO_STRINGS, b" \t\r\n ", "empty record"),
        (TWO_STRINGS, b"only-one\n", "expected 2 columns, found 1"),
        (TWO_STRINGS, b"a,b,c\n", "expected 2 columns, found 3"),
        (TWO_STRINGS, b"a,b\nc,d\n", "exactly one CSV row, found 2"),
        (TWO_STRINGS, b"a,b\n\n", "exactly one CSV row, found 2"),
        (TWO_STRINGS, b'"a,b\n', "malformed CSV"),
        (TWO_STRINGS, b'a,"b"c\n', "malformed CSV"),
        ([{"name": "clicks", "type": "int"}], b"twelve", "not an integer"),
        ([{"name": "clicks", "type": "int"}], b"1_000", "not an integer"),
        ([{"name": "clicks", "type": "int"}], b"1.0", "not an integer"),
        ([{"name": "clicks", "type": "int"}], "٣".encode(), "not an integer"),
        ([{"name": "clicks", "type": "int"}], b"2147483648", "out of range"),
        ([{"name": "tiny", "type": "tinyint"}], b"128", "out of range"),
        ([{"name": "tiny", "type": "tinyint"}], b"-129", "out of range"),
        ([{"name": "small", "type": "smallint"}], b"40000", "out of range"),
        ([{"name": "big", "type": "bigint"}], b"9223372036854775808", "out of range"),
        ([{"name": "flag", "type": "boolean"}], b"yes", "true/false/1/0"),
        ([{"name": "flag", "type": "boolean"}], b"2", "true/false/1/0"),
        ([{"name": "day", "type": "date"}], b"2023-02-29", "calendar date"),
        ([{"name": "day", "type": "date"}], b"2023/01/01", "YYYY-MM-DD"),
        ([{"name": "day", "type": "date"}], b"20230101", "YYYY-MM-DD"),
        ([{"name": "at", "type": "timestamp"}], b"yesterday", "ISO 8601"),
        ([{"name": "at", "type": "timestamp"}], b"2024-01-01", "ISO 8601"),
        ([{"name": "at", "type": "timestamp"}], b"2024-01-01 24:00:00", "valid timestamp"),
        ([{"name": "amount", "type": "double"}], b"nan", "finite"),
        ([{"name": "amount", "type": "double"}], b"NaN", "finite"),
        ([{"name": "amount", "type": "double"}], b"-inf", "finite"),
        ([{"name": "amount", "type": "double"}], b"Infinity", "finite"),
        ([{"name": "amount", "type": "double"}], b"1e999", "out of range"),
        ([{"name": "amount", "type": "float"}], b"1e39", "out of range"),
        ([{"name": "amount", "type": "double"}], b"12,5", "expected 1 columns, found 2"),
        (TWO_STRINGS, b"\xff\xfe,bad", "not valid UTF-8"),
        (TWO_STRINGS, "Zoë,x".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_payload_is_processing_failed_with_original_data(
    load_handler, capsys, columns: list[dict[str, str]], payload: bytes, reason_part: str
) -> None:
    module = load_handler(columns)
    original = b64(payload)

    record = run_one(module, original)

    assert record["result"] == "ProcessingFailed"
    assert record["data"] == original
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ProcessingFailed"] == 1 and summary["Ok"] == 0
    assert reason_part in summary["failures"][0]["reason"]


@pytest.mark.parametrize(
    "data",
    ["not base64!!", "YWJj\n", "YWJjZA", "====", "Zm9v YmFy", "ÿÿÿÿ"],
    ids=["punctuation", "newline", "bad-padding", "only-padding", "space", "non-ascii"],
)
def test_invalid_base64_is_processing_failed(load_handler, data: str) -> None:
    module = load_handler(TWO_STRINGS)
    record = run_one(module, data, kinesis_source=True)
    assert record == {
        "recordId": record["recordId"],
        "result": "ProcessingFailed",
        "data": data,
    }


def test_missing_or_non_string_data_fails_without_raising(load_handler) -> None:
    module = load_handler(TWO_STRINGS)
    event = make_event([b64("a,b")])
    event["records"].append({"recordId": "no-data"})
    event["records"].append({"recordId": "int-data", "data": 12})

    result = module.handler(event, None)

    assert [r["result"] for r in result["records"]] == [
        "Ok",
        "ProcessingFailed",
        "ProcessingFailed",
    ]
    assert [r["data"] for r in result["records"][1:]] == ["", ""]


def test_failure_log_has_ids_and_reasons_but_never_contents(load_handler, capsys) -> None:
    module = load_handler([{"name": "ssn", "type": "string"}, {"name": "n", "type": "int"}])
    secret = "078-05-1120"
    event = make_event([b64(f"{secret},x"), b64(f"{secret},1"), b64(f"{secret}")])

    module.handler(event, None)

    out = capsys.readouterr().out
    assert secret not in out and base64.b64encode(secret.encode()).decode() not in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["invocationId"] == event["invocationId"]
    assert (summary["Ok"], summary["ProcessingFailed"]) == (1, 2)
    assert summary["failures"] == [
        {"recordId": event["records"][0]["recordId"], "reason": "column 'n' (int): not an integer"},
        {"recordId": event["records"][2]["recordId"], "reason": "expected 2 columns, found 1"},
    ]


def test_failure_log_is_capped(load_handler, capsys) -> None:
    module = load_handler(TWO_STRINGS)
    module.handler(make_event([b64("bad")] * (module.MAX_LOGGED_FAILURES + 5)), None)
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ProcessingFailed"] == module.MAX_LOGGED_FAILURES + 5
    assert len(summary["failures"]) == module.MAX_LOGGED_FAILURES
    assert summary["failuresTruncated"] is True


@pytest.mark.parametrize("kinesis_source", [False, True], ids=["direct-put", "kinesis-source"])
def test_mixed_batch_of_500_keeps_count_order_and_original_data(
    load_handler, capsys, kinesis_source: bool
) -> None:
    module = load_handler(ALL_TYPES_COLUMNS)
    bad_payloads = [
        b"",
        b"   ",
        b"too,few",
        GOOD_LINE.encode() + b",extra",
        GOOD_LINE.replace("-128", "-129").encode(),
        GOOD_LINE.replace("true", "maybe").encode(),
        GOOD_LINE.replace("2024-02-29,", "2023-02-29,").encode(),
        GOOD_LINE.replace("19.99", "nan").encode(),
        b"\xc3\x28" + GOOD_LINE.encode(),
    ]
    datas: list[str] = []
    expected_results: list[str] = []
    for index in range(500):
        if index % 7 == 3:
            payload = bad_payloads[index % len(bad_payloads)]
            datas.append(b64(payload))
            expected_results.append("ProcessingFailed")
        elif index % 50 == 11:
            datas.append("%%% not base64 %%%")
            expected_results.append("ProcessingFailed")
        else:
            datas.append(b64(GOOD_LINE.replace("e-1,", f"e-{index},", 1)))
            expected_results.append("Ok")
    event = make_event(datas, kinesis_source=kinesis_source)

    result = module.handler(event, None)

    outputs = result["records"]
    assert len(outputs) == 500
    assert [r["recordId"] for r in outputs] == [r["recordId"] for r in event["records"]]
    assert [r["result"] for r in outputs] == expected_results
    expected_failed = expected_results.count("ProcessingFailed")
    assert expected_failed == 80  # guards against the batch silently losing its bad rows
    for index, (record, data) in enumerate(zip(outputs, datas, strict=True)):
        if record["result"] == "ProcessingFailed":
            assert record["data"] == data
        else:
            assert decode_output(record)["event_id"] == f"e-{index}"
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["Ok"], summary["ProcessingFailed"]) == (500 - expected_failed, expected_failed)


def test_empty_batch(load_handler) -> None:
    module = load_handler(TWO_STRINGS)
    assert module.handler(make_event([]), None) == {"records": []}


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns_json", "message"),
    [
        (None, "COLUMNS_JSON is missing"),
        ("", "COLUMNS_JSON is missing"),
        ("not json", "not valid JSON"),
        ("{}", "non-empty JSON list"),
        ("[]", "non-empty JSON list"),
        ('["event_id"]', "must be an object"),
        ('[{"type": "string"}]', "name must be a non-empty string"),
        ('[{"name": "x", "type": "varchar"}]', "unsupported type 'varchar'"),
        ('[{"name": "x"}]', "unsupported type None"),
        ('[{"name": "x", "type": "int"}, {"name": "X", "type": "int"}]', "duplicate column"),
    ],
)
def test_invalid_config_raises_clear_error(
    load_handler, columns_json: str | None, message: str
) -> None:
    module = load_handler(columns_json)
    with pytest.raises(module.ConfigError, match=message):
        module.handler(make_event([b64("a,b")]), None)


def test_config_is_read_once_per_cold_start(load_handler, monkeypatch) -> None:
    module = load_handler(TWO_STRINGS)
    assert run_one(module, b64("a,b"))["result"] == "Ok"
    monkeypatch.setenv("COLUMNS_JSON", "broken")
    assert run_one(module, b64("a,b"))["result"] == "Ok"


def test_event_without_records_raises(load_handler) -> None:
    module = load_handler(TWO_STRINGS)
    with pytest.raises(ValueError, match="records"):
        module.handler({"invocationId": "x"}, None)


def test_convert_row_raises_row_error(load_handler) -> None:
    module = load_handler(None)  # the pure functions need no environment
    columns = module.parse_columns(json.dumps(TWO_STRINGS))
    assert module.convert_row("a,b\n", columns) == {"event_id": "a", "page": "b"}
    with pytest.raises(module.RowError) as caught:
        module.convert_row("a", columns)
    assert caught.value.reason == "expected 2 columns, found 1"


# --- properties --------------------------------------------------------------------------

record_data = st.one_of(
    st.binary(max_size=200).map(b64),
    st.text(max_size=50),
    st.lists(st.text(max_size=20), min_size=1, max_size=12).map(
        lambda fields: b64(",".join(fields))
    ),
)


def test_any_input_yields_one_output_per_record_and_never_raises(load_handler) -> None:
    module = load_handler(ALL_TYPES_COLUMNS)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(datas=st.lists(record_data, max_size=20), kinesis_source=st.booleans())
    def check(datas: list[str], kinesis_source: bool) -> None:
        event = make_event(datas, kinesis_source=kinesis_source)
        outputs = module.handler(event, None)["records"]
        assert [r["recordId"] for r in outputs] == [r["recordId"] for r in event["records"]]
        for record, data in zip(outputs, datas, strict=True):
            assert record["result"] in {"Ok", "ProcessingFailed"}
            if record["result"] == "ProcessingFailed":
                assert record["data"] == data
            else:
                assert set(decode_output(record)) == {c["name"] for c in ALL_TYPES_COLUMNS}

    check()


# Field values that must survive CSV quoting and come back unchanged.
csv_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
)
typed_values = {
    "string": st.one_of(csv_text, st.sampled_from(["a\rb", " x ", "\n", '"', ",", "Zoë,東京"])),
    "boolean": st.booleans(),
    "tinyint": st.integers(-(2**7), 2**7 - 1),
    "smallint": st.integers(-(2**15), 2**15 - 1),
    "int": st.integers(-(2**31), 2**31 - 1),
    "bigint": st.integers(-(2**63), 2**63 - 1),
    "double": st.floats(allow_nan=False, allow_infinity=False),
    "date": st.dates().filter(lambda d: d.year >= 1000).map(lambda d: d.isoformat()),
    "timestamp": st.datetimes()
    .filter(lambda d: d.year >= 1000)
    .map(lambda d: d.isoformat(sep=" ", timespec="milliseconds")),
}


def test_valid_rows_round_trip(load_handler) -> None:
    columns = [{"name": f"c_{t}", "type": t} for t in typed_values]
    module = load_handler(columns)
    row_strategy = st.fixed_dictionaries({f"c_{t}": s for t, s in typed_values.items()})

    @settings(max_examples=200, deadline=None)
    @given(row=row_strategy)
    def check(row: dict[str, Any]) -> None:
        line = io.StringIO()
        values = [row[column["name"]] for column in columns]
        fields = [
            str(v).lower() if isinstance(v, bool) else repr(v) if isinstance(v, float) else v
            for v in values
        ]
        # "\r\n" makes the writer quote fields holding a bare "\r" (with "\n" it does not).
        csv.writer(line, lineterminator="\r\n").writerow(fields)
        record = run_one(module, b64(line.getvalue()))
        assert record["result"] == "Ok"
        assert decode_output(record) == row

    check()
