"""model-monitor: the monitoring job on the committed sample data, drift injected and not."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from ml_refarch.stacks.model_monitor import make_sample_data as samples
from ml_refarch.stacks.model_monitor.job import __main__ as job
from ml_refarch.stacks.model_monitor.job import capture, report

DATA = samples.OUT
FEATURES = set(samples.FEATURES)


def run_job(tmp_path, name: str, *extra: str) -> tuple[int, dict, list]:
    out = tmp_path / name
    code = job.main(
        [
            "--baseline", str(DATA / "baseline.csv"),
            "--captures", str(DATA / name / "captures"),
            "--ground-truth", str(DATA / name / "ground-truth"),
            "--output", str(out),
            "--endpoint-name", "churn",
            "--protected-attribute", samples.PROTECTED_ATTRIBUTE,
            "--group-attribute", samples.GROUP_ATTRIBUTE,
            *extra,
        ]
    )  # fmt: skip
    if code:
        return code, {}, []
    result = json.loads((out / "report.json").read_text())
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    return code, result, json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def stable(tmp_path_factory):
    return run_job(tmp_path_factory.mktemp("job"), "stable")


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    return run_job(tmp_path_factory.mktemp("job"), "drifted")


def summary(metrics: list, name: str) -> float:
    (entry,) = [m for m in metrics if m["MetricName"] == name and len(m["Dimensions"]) == 1]
    assert entry["Dimensions"] == [{"Name": "Endpoint", "Value": "churn"}]
    return entry["Value"]


def test_no_violation_where_nothing_was_injected(stable):
    code, result, metrics = stable
    assert code == 0
    assert report.violations(result) == []
    assert result["captured_rows"] == samples.LIVE_ROWS and result["skipped_records"] == 0
    assert result["model_quality"]["labelled_rows"] == samples.LIVE_ROWS
    assert summary(metrics, "drifted_features") == 0
    assert summary(metrics, "max_psi") < 0.1
    assert summary(metrics, "max_ks") < 0.1
    assert summary(metrics, "accuracy") > 0.8
    assert summary(metrics, "bias_drift_max") < 0.1


def test_data_quality_violations_exactly_where_drift_was_injected(drifted):
    _, result, metrics = drifted
    found = {(v["feature"], v["check"]) for v in result["data_quality"]["violations"]}
    assert found == {
        ("feature_2", "psi"),
        ("feature_2", "ks"),
        ("feature_5", "missing_fraction"),
        ("feature_6", "type_error_fraction"),
    }
    by_feature = {f["feature"]: f for f in result["data_quality"]["features"]}
    assert by_feature["feature_2"]["psi"] > 1.0 and by_feature["feature_2"]["ks"] > 0.4
    assert by_feature["feature_5"]["missing_fraction"] == pytest.approx(
        samples.MISSING_SHARE, abs=0.04
    )
    assert by_feature["feature_6"]["type_error_fraction"] == pytest.approx(
        samples.TYPE_ERROR_SHARE, abs=0.02
    )
    for name in FEATURES - {"feature_2"}:
        assert by_feature[name]["psi"] < 0.1, name
    assert summary(metrics, "drifted_features") == 3
    psi = [m for m in metrics if m["MetricName"] == "psi"]
    assert {d["Value"] for m in psi for d in m["Dimensions"] if d["Name"] == "Feature"} == FEATURES


def test_model_quality_drops_below_its_threshold_with_flipped_labels(drifted, stable):
    _, result, metrics = drifted
    assert [v["metric"] for v in result["model_quality"]["violations"]] == ["accuracy"]
    assert summary(metrics, "accuracy") < 0.7 < summary(stable[2], "accuracy")
    for name in ("precision", "recall", "f1", "roc_auc"):
        assert 0.0 <= summary(metrics, name) <= 1.0


def test_bias_drift_in_the_predicted_labels_and_not_in_the_segment_sizes(drifted):
    _, result, metrics = drifted
    found = result["bias"]["violations"]
    predicted = {(v["segment"], v["metric"]) for v in found if v["labels"] == "predicted"}
    segments = set(result["bias"]["labels"]["predicted"])
    assert len(segments) == 2
    assert {metric for _, metric in predicted} >= {"DPL", "TVD", "KS", "CDD"}
    # The segments' sizes did not change: class imbalance stays.
    assert all(v["metric"] != "CI" for v in found)
    assert summary(metrics, "bias_drift_max") > 0.3
    per_segment = [m for m in metrics if m["MetricName"] == "DPL"]
    assert {tuple(sorted(d["Name"] for d in m["Dimensions"])) for m in per_segment} == {
        ("Endpoint", "Labels", "Segment")
    }


def test_segments_follow_the_given_edges(tmp_path):
    code, result, _ = run_job(tmp_path, "stable", "--segment-edges=-1,1")
    assert code == 0
    assert set(result["bias"]["labels"]["predicted"]) == {
        "feature_8<-1",
        "-1<=feature_8<1",
        "feature_8>=1",
    }
    assert result["bias"]["segment_edges"] == [-1.0, 1.0]


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    baseline = tmp_path / "baseline.csv"
    baseline.write_text("a,b\n1,2\n")
    code = job.main(
        ["--baseline", str(baseline), "--captures", str(tmp_path), "--endpoint-name", "e",
         "--protected-attribute", "x", "--group-attribute", "y", "--output", str(tmp_path)]
    )  # fmt: skip
    assert code == 2
    assert "must start with a header: label,score" in capsys.readouterr().err
    code, _, _ = run_job(tmp_path, "stable", "--protected-attribute", "age")
    assert code == 2
    assert "no feature 'age' in the baseline" in capsys.readouterr().err


def test_captures_are_read_in_every_encoding_and_bad_records_counted():
    record = {
        "captureData": {
            "endpointInput": {"data": base64.b64encode(b"1,2\n3,4").decode(), "encoding": "BASE64"},
            "endpointOutput": {"data": "[0.25, 0.75]", "encoding": "JSON"},
        },
        "eventMetadata": {"eventId": "e-1"},
        "eventVersion": "0",
    }
    mismatched = json.loads(json.dumps(record))
    mismatched["captureData"]["endpointOutput"]["data"] = "0.5"
    rows = capture.read_captures([json.dumps(record), "not json", json.dumps(mismatched), ""])
    assert rows.features == [["1", "2"], ["3", "4"]]
    assert rows.scores == [0.25, 0.75]
    assert rows.keys == ["e-1#0", "e-1#1"]
    assert rows.skipped == 2
    truth = capture.read_ground_truth(
        ['{"groundTruthData": {"data": "0,1", "encoding": "CSV"}, "eventMetadata": '
         '{"eventId": "e-1"}, "eventVersion": "0"}', "{}"]
    )  # fmt: skip
    assert capture.join_ground_truth(rows, truth) == 2
    assert rows.labels == [0, 1]


def test_committed_sample_data_is_what_the_script_writes():
    """Features and labels compare exactly, scores within a tolerance (they pass through a
    matrix product, whose last digits may differ between CPUs)."""
    for relative, content in samples.files().items():
        committed = (DATA / relative).read_text()
        if relative.endswith(".csv"):
            rows = [line.split(",") for line in content.splitlines()]
            kept = [line.split(",") for line in committed.splitlines()]
            assert [r[:1] + r[2:] for r in rows] == [r[:1] + r[2:] for r in kept]
            assert np.allclose(
                [float(r[1]) for r in rows[1:]], [float(r[1]) for r in kept[1:]], atol=2e-6
            )
        elif "captures" in relative:
            made = [json.loads(line) for line in content.splitlines()]
            got = [json.loads(line) for line in committed.splitlines()]
            assert len(made) == len(got)
            for one, other in zip(made, got, strict=True):
                assert one["captureData"]["endpointInput"] == other["captureData"]["endpointInput"]
                scores = [
                    [float(v) for v in r["captureData"]["endpointOutput"]["data"].split()]
                    for r in (one, other)
                ]
                assert np.allclose(*scores, atol=2e-6)
        else:
            assert content == committed, relative


def test_the_metrics_fit_one_put_metric_data_and_the_publishers_state(drifted):
    _, _, metrics = drifted
    assert len(metrics) < 1000  # PutMetricData's limit per request
    assert len(json.dumps(metrics).encode()) < 256 * 1024  # a Step Functions state's payload
    assert all(np.isfinite(m["Value"]) for m in metrics)


def test_values_that_are_not_finite_are_not_published():
    result = {
        "endpoint": "e",
        "captured_rows": 1,
        "data_quality": {
            "features": [{"feature": "f", "psi": float("nan"), "ks": float("inf"),
                          "missing_fraction": 0.0, "type_error_fraction": 0.0}],
            **{k: 0.0 for k in ("max_psi", "max_ks", "max_missing_fraction",
                                "max_type_error_fraction", "drifted_features")},
        },
        "model_quality": {"metrics": None},
        "bias": {"bias_drift_max": 0.0, "labels": {}},
    }  # fmt: skip
    names = {m["MetricName"] for m in report.metric_data(result)}
    assert "psi" not in names and "ks" not in names and "missing_fraction" in names
