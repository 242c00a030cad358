"""Reading what the endpoint captured, the ground truth and the baseline.

**Capture files.** With data capture on, SageMaker writes JSON Lines files under
``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``, one record per captured
request ("Capture data from real-time endpoint",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html)::

    {"captureData": {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                          "data": "1.0,2.0,...\\n3.0,4.0,...", "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "text/csv; charset=utf-8",
                           "mode": "OUTPUT", "data": "0.12\\n0.93", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...",
                       "inferenceTime": "2026-12-06T18:00:00Z"},
     "eventVersion": "0"}

``encoding`` is ``CSV``, ``JSON`` (the text as sent) or ``BASE64`` (content types the
endpoint configuration does not name as CSV or JSON). A request may hold several CSV rows;
the response holds one score per row (newline- or comma-separated).

**Ground truth** uses the format SageMaker documents for merging labels with captures
("Ingest Ground Truth labels and merge them with predictions",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html),
one record per request, its labels in the request's row order::

    {"groundTruthData": {"data": "1", "encoding": "CSV"},
     "eventMetadata": {"eventId": "<the capture's inference id or event id>"},
     "eventVersion": "0"}

The join key of a capture is its ``inferenceId`` (what the caller passed as
``InferenceId`` to InvokeEndpoint) when present, else its ``eventId``.

**Baseline**: CSV with a header: ``label``, ``score`` (the model's score of the row), then
the feature columns in the order the endpoint receives them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Rows:
    """Rows of features (raw CSV fields) with their scores, labels and join keys."""

    features: list[list[str]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    labels: list[int | None] = field(default_factory=list)
    skipped: int = 0

    def column(self, index: int) -> list[str]:
        return [row[index] if index < len(row) else "" for row in self.features]


def _text(part: Mapping) -> str:
    data = part.get("data", "") or ""
    if part.get("encoding") == "BASE64":
        return base64.b64decode(data).decode("utf-8", errors="replace")
    return data


def _scores(text: str) -> list[float]:
    text = text.strip()
    if text.startswith(("[", "{")):
        document = json.loads(text)
        if isinstance(document, Mapping):
            document = document.get("predictions", document.get("scores", []))
        return [float(v["score"] if isinstance(v, Mapping) else v) for v in document]
    return [float(v) for v in text.replace("\n", ",").split(",") if v.strip()]


def read_captures(lines: Iterable[str]) -> Rows:
    """The rows of capture-file lines; records that cannot be read are counted in
    ``skipped`` (a request whose scores do not match its rows, a line that is not JSON)."""
    rows = Rows()
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            data = record["captureData"]
            features = list(csv.reader(io.StringIO(_text(data["endpointInput"]).strip())))
            scores = _scores(_text(data["endpointOutput"]))
            metadata = record.get("eventMetadata", {})
            key = metadata.get("inferenceId") or metadata.get("eventId") or ""
        except (ValueError, KeyError, TypeError):
            rows.skipped += 1
            continue
        if len(features) != len(scores):
            rows.skipped += 1
            continue
        for index, row in enumerate(features):
            rows.features.append(row)
            rows.scores.append(scores[index])
            rows.keys.append(f"{key}#{index}")
            rows.labels.append(None)
    return rows


def read_ground_truth(lines: Iterable[str]) -> dict[str, int]:
    """``{"<key>#<row>": label}`` from ground-truth lines (unreadable lines are skipped)."""
    labels: dict[str, int] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key = record["eventMetadata"]["eventId"]
            values = _text(record["groundTruthData"]).replace("\n", ",").split(",")
            parsed = [int(float(v)) for v in values if v.strip()]
        except (ValueError, KeyError, TypeError):
            continue
        for index, label in enumerate(parsed):
            labels[f"{key}#{index}"] = label
    return labels


def join_ground_truth(rows: Rows, labels: Mapping[str, int]) -> int:
    """Set each row's label from ``labels`` by its key; returns how many rows got one."""
    joined = 0
    for index, key in enumerate(rows.keys):
        if key in labels:
            rows.labels[index] = labels[key]
            joined += 1
    return joined


@dataclass
class Baseline:
    feature_names: list[str]
    rows: Rows


def read_baseline(text: str) -> Baseline:
    """The baseline CSV: a header ``label,score,<features...>``, then one row per record."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or [name.strip() for name in header[:2]] != ["label", "score"]:
        raise ValueError("the baseline CSV must start with a header: label,score,<features>")
    rows = Rows()
    for number, record in enumerate(reader, start=2):
        if not record:
            continue
        if len(record) != len(header):
            raise ValueError(
                f"baseline line {number}: {len(record)} fields, header has {len(header)}"
            )
        rows.labels.append(int(float(record[0])))
        rows.scores.append(float(record[1]))
        rows.features.append(record[2:])
        rows.keys.append(f"baseline#{number}")
    return Baseline([name.strip() for name in header[2:]], rows)


def feature_index(names: Sequence[str], name: str) -> int:
    if name not in names:
        raise ValueError(f"no feature {name!r} in the baseline (features: {', '.join(names)})")
    return list(names).index(name)
