"""The monitoring report: data quality, model quality and bias drift, with the CloudWatch
metrics and the violations that the alarms watch.

:func:`build` takes the baseline, the captured rows (with ground truth joined where it
arrived) and the :class:`Settings`; it returns the report as a dict (written as
``report.json``), :func:`html` renders it (``report.html``) and :func:`metric_data` turns it
into CloudWatch ``MetricData`` entries (each with the ``Endpoint`` dimension; per-feature and
per-segment metrics add ``Feature`` or ``Segment`` and ``Labels``). The summary metrics the
alarms watch have only the ``Endpoint`` dimension: :data:`SUMMARY_METRICS`.

The publisher sends every entry in one PutMetricData request, which takes up to 1000
metrics and 1 MB ("PutMetricData",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html),
after reading ``metrics.json`` into its state, which holds at most 256 KiB ("Step Functions
service quotas", https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html):
a run publishes about 6 + 4 per feature + 5 + 1 + 8 per segment and label kind entries,
some 80 for the committed model, each about 200 bytes.
"""

from __future__ import annotations

import html as html_lib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

try:  # a package in the project and its tests; top-level modules in the job's zip
    from . import bias, drift, quality
    from .capture import Baseline, Rows, feature_index
except ImportError:  # pragma: no cover - the layout inside the processing job
    import bias  # type: ignore[no-redef]
    import drift  # type: ignore[no-redef]
    import quality  # type: ignore[no-redef]
    from capture import Baseline, Rows, feature_index  # type: ignore[no-redef]

#: Summary metrics (dimension ``Endpoint`` only) and what each means; alarms watch these.
SUMMARY_METRICS = {
    "max_psi": "largest PSI of any feature",
    "max_ks": "largest Kolmogorov-Smirnov statistic of any feature",
    "drifted_features": "features with a data-quality violation",
    "max_missing_fraction": "largest share of missing values of any feature",
    "max_type_error_fraction": "largest share of values that are not numbers",
    "accuracy": "accuracy against the ground truth that arrived",
    "bias_drift_max": "largest change of a bias metric of a segment from the baseline",
    "captured_rows": "rows the run read",
}


@dataclass(frozen=True)
class Settings:
    """What the job compares and its thresholds (the job's command-line arguments)."""

    endpoint_name: str
    protected_attribute: str
    group_attribute: str
    segment_edges: Sequence[float] = ()
    group_edges: Sequence[float] = ()
    score_threshold: float = 0.5
    psi_threshold: float = 0.2
    ks_threshold: float = 0.1
    missing_threshold: float = 0.05
    bias_drift_threshold: float = 0.1
    min_accuracy: float = 0.7


def _median_edges(values: np.ndarray, edges: Sequence[float]) -> list[float]:
    if edges:
        return sorted(float(edge) for edge in edges)
    return [float(np.median(values))] if len(values) else [0.0]


def segment_names(attribute: str, edges: Sequence[float]) -> list[str]:
    """One name per segment: ``a<e1``, ``e1<=a<e2``, ..., ``a>=ek``."""
    names = [f"{attribute}<{edges[0]:g}"]
    names += [f"{edges[i]:g}<={attribute}<{edges[i + 1]:g}" for i in range(len(edges) - 1)]
    return [*names, f"{attribute}>={edges[-1]:g}"]


def _segments(fields: list[str], edges: Sequence[float]) -> np.ndarray:
    """Each row's segment index, -1 where the value is missing or not a number."""
    out = np.full(len(fields), -1)
    for row, text in enumerate(fields):
        try:
            out[row] = int(np.searchsorted(edges, float(text), side="right"))
        except ValueError:
            continue
    return out


@dataclass
class _Facets:
    names: list[str]
    segments: np.ndarray
    groups: np.ndarray


def _facets(settings: Settings, baseline: Baseline, rows: Rows, names: list[str]) -> tuple:
    protected = feature_index(names, settings.protected_attribute)
    grouping = feature_index(names, settings.group_attribute)
    base_values = drift.parse_column(baseline.rows.column(protected)).values
    base_groups = drift.parse_column(baseline.rows.column(grouping)).values
    edges = _median_edges(base_values, settings.segment_edges)
    group_edges = _median_edges(base_groups, settings.group_edges)
    segment_list = segment_names(settings.protected_attribute, edges)

    def facets(of: Rows) -> _Facets:
        return _Facets(
            segment_list,
            _segments(of.column(protected), edges),
            _segments(of.column(grouping), group_edges),
        )

    return facets(baseline.rows), facets(rows), {"segment_edges": edges, "group_edges": group_edges}


def _segment_metrics(facets: _Facets, labels: np.ndarray, usable: np.ndarray) -> dict:
    """``{segment: {metric: value}}``; a segment with no rows (or all rows) is left out."""
    keep = usable & (facets.segments >= 0) & (facets.groups >= 0)
    out = {}
    for index, name in enumerate(facets.names):
        in_segment = facets.segments[keep] == index
        try:
            out[name] = bias.bias_metrics(labels[keep], in_segment, facets.groups[keep])
        except ValueError as error:
            out[name] = {"error": str(error)}
    return out


def _bias_section(settings, baseline: Baseline, rows: Rows, names: list[str]) -> dict:
    base_facets, live_facets, edges = _facets(settings, baseline, rows, names)
    threshold = settings.score_threshold
    base_scores, live_scores = np.asarray(baseline.rows.scores), np.asarray(rows.scores)
    sets = {
        "predicted": (
            _segment_metrics(
                base_facets, base_scores >= threshold, np.ones(len(base_scores), bool)
            ),
            _segment_metrics(
                live_facets, live_scores >= threshold, np.ones(len(live_scores), bool)
            ),
        )
    }
    known = np.array([label is not None for label in rows.labels], dtype=bool)
    if known.any():
        live_labels = np.array([bool(label) for label in rows.labels])
        base_labels = np.asarray(baseline.rows.labels, dtype=bool)
        sets["observed"] = (
            _segment_metrics(base_facets, base_labels, np.ones(len(base_labels), bool)),
            _segment_metrics(live_facets, live_labels, known),
        )
    section: dict = {**edges, "labels": {}, "violations": []}
    largest = 0.0
    for kind, (base, live) in sets.items():
        compared = {}
        for segment, live_values in live.items():
            base_values = base.get(segment, {})
            entry = {"live": live_values, "baseline": base_values, "drift": {}}
            for metric in bias.METRICS:
                if metric in live_values and metric in base_values:
                    change = abs(live_values[metric] - base_values[metric])
                    entry["drift"][metric] = change
                    largest = max(largest, change)
                    if change > settings.bias_drift_threshold:
                        section["violations"].append(
                            {
                                "labels": kind,
                                "segment": segment,
                                "metric": metric,
                                "value": change,
                                "threshold": settings.bias_drift_threshold,
                            }
                        )
            compared[segment] = entry
        section["labels"][kind] = compared
    section["bias_drift_max"] = largest
    return section


def _data_quality(settings: Settings, baseline: Baseline, rows: Rows) -> dict:
    features, violations = [], []
    for index, name in enumerate(baseline.feature_names):
        result = drift.feature_drift(
            name,
            drift.parse_column(baseline.rows.column(index)),
            drift.parse_column(rows.column(index)),
        )
        found = result.violations(
            psi_threshold=settings.psi_threshold,
            ks_threshold=settings.ks_threshold,
            missing_threshold=settings.missing_threshold,
        )
        violations += [
            {"feature": name, "check": check, "value": value, "threshold": limit}
            for check, value, limit in found
        ]
        features.append(asdict(result))

    def largest(key: str) -> float:
        values = [f[key] for f in features if f[key] is not None]
        return max(values) if values else 0.0

    return {
        "features": features,
        "violations": violations,
        "max_psi": largest("psi"),
        "max_ks": largest("ks"),
        "max_missing_fraction": largest("missing_fraction"),
        "max_type_error_fraction": largest("type_error_fraction"),
        "drifted_features": len({v["feature"] for v in violations}),
    }


def _model_quality(settings: Settings, rows: Rows) -> dict:
    pairs = [
        (label, score)
        for label, score in zip(rows.labels, rows.scores)  # noqa: B905 (same length)
        if label is not None
    ]
    if not pairs:
        return {"labelled_rows": 0, "metrics": None, "violations": []}
    labels = [label for label, _ in pairs]
    scores = [score for _, score in pairs]
    metrics = quality.model_quality(labels, scores, settings.score_threshold).as_dict()
    violations = []
    if metrics["accuracy"] < settings.min_accuracy:
        violations.append(
            {"metric": "accuracy", "value": metrics["accuracy"], "threshold": settings.min_accuracy}
        )
    return {"labelled_rows": len(pairs), "metrics": metrics, "violations": violations}


def build(settings: Settings, baseline: Baseline, rows: Rows) -> dict:
    """The report of one run."""
    if not rows.features:
        raise ValueError("no captured rows to compare (is data capture on, and did traffic come?)")
    names = baseline.feature_names
    for number, row in enumerate(rows.features):
        if len(row) != len(names):
            raise ValueError(
                f"captured row {number} has {len(row)} fields; the baseline has {len(names)} "
                "features"
            )
    return {
        "endpoint": settings.endpoint_name,
        "settings": asdict(settings),
        "captured_rows": len(rows.features),
        "skipped_records": rows.skipped,
        "data_quality": _data_quality(settings, baseline, rows),
        "model_quality": _model_quality(settings, rows),
        "bias": _bias_section(settings, baseline, rows, names),
    }


def violations(report: dict) -> list[dict]:
    """Every violation of the report, each with its section."""
    return [
        {"section": section, **violation}
        for section in ("data_quality", "model_quality", "bias")
        for violation in report[section]["violations"]
    ]


@dataclass
class _Metrics:
    endpoint: str
    entries: list[dict] = field(default_factory=list)

    def add(self, name: str, value, **dimensions: str) -> None:
        # PutMetricData refuses NaN and infinities.
        if value is None or not math.isfinite(float(value)):
            return
        self.entries.append(
            {
                "MetricName": name,
                "Dimensions": [
                    {"Name": "Endpoint", "Value": self.endpoint},
                    *({"Name": k, "Value": v} for k, v in dimensions.items()),
                ],
                "Value": float(value),
                "Unit": "Count" if name in ("drifted_features", "captured_rows") else "None",
            }
        )


def metric_data(report: dict) -> list[dict]:
    """CloudWatch ``MetricData`` entries of the report (PutMetricData takes up to 1000)."""
    metrics = _Metrics(report["endpoint"])
    data = report["data_quality"]
    for name in (
        "max_psi",
        "max_ks",
        "drifted_features",
        "max_missing_fraction",
        "max_type_error_fraction",
    ):
        metrics.add(name, data[name])
    metrics.add("captured_rows", report["captured_rows"])
    for feature in data["features"]:
        for key in ("psi", "ks", "missing_fraction", "type_error_fraction"):
            metrics.add(key, feature[key], Feature=feature["feature"])
    model = report["model_quality"]["metrics"] or {}
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        metrics.add(name, model.get(name))
    bias_section = report["bias"]
    metrics.add("bias_drift_max", bias_section["bias_drift_max"])
    for kind, segments in bias_section["labels"].items():
        for segment, entry in segments.items():
            for metric, value in entry["live"].items():
                if metric in bias.METRICS:
                    metrics.add(metric, value, Segment=segment, Labels=kind)
    return metrics.entries


def _table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    def cell(value) -> str:
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        return f"<td>{html_lib.escape(text)}</td>"

    head = "".join(f"<th>{html_lib.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html(report: dict) -> str:
    """A self-contained HTML page of the report (no scripts, no external resources)."""
    found = violations(report)
    data = report["data_quality"]
    parts = [
        f"<h1>Monitoring report: {html_lib.escape(report['endpoint'])}</h1>",
        f"<p>{report['captured_rows']} captured rows, {len(found)} violations.</p>",
        "<h2>Violations</h2>",
        _table(
            ["section", "what", "value", "threshold"],
            [
                (
                    v["section"],
                    v.get("feature")
                    or v.get("segment", "") + " " + v.get("metric", v.get("check", "")),
                    v["value"],
                    v["threshold"],
                )
                for v in found
            ],
        ),
        "<h2>Data quality</h2>",
        _table(
            ["feature", "PSI", "KS", "missing", "type errors"],
            [
                (f["feature"], f["psi"], f["ks"], f["missing_fraction"], f["type_error_fraction"])
                for f in data["features"]
            ],
        ),
        "<h2>Model quality</h2>",
    ]
    model = report["model_quality"]
    if model["metrics"]:
        parts.append(_table(list(model["metrics"]), [list(model["metrics"].values())]))
    else:
        parts.append("<p>No ground truth joined yet.</p>")
    parts.append("<h2>Bias drift</h2>")
    for kind, segments in report["bias"]["labels"].items():
        rows = [
            (segment, metric, entry["baseline"].get(metric), entry["live"].get(metric), change)
            for segment, entry in segments.items()
            for metric, change in entry["drift"].items()
        ]
        parts.append(f"<h3>{html_lib.escape(kind)} labels</h3>")
        parts.append(_table(["segment", "metric", "baseline", "live", "change"], rows))
    style = "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Monitoring report</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )
