"""Write the monitoring job's sample data (``sample_data/``), with known drift injected.

``python -m ml_refarch.stacks.model_monitor.make_sample_data [--out DIR] [--seed N]``; the
same seed always writes the same bytes, and the tests check the committed files match.

A logistic model over eight standard-normal features (fixed weights) scores every row; the
labels are drawn from its probabilities, so the model is calibrated on the baseline.

- ``baseline.csv``: :data:`BASELINE_ROWS` rows, ``label,score,feature_1..feature_8``.
- ``stable/``: :data:`LIVE_ROWS` rows from the same process, as capture records (JSON Lines
  in SageMaker's data capture format, :data:`ROWS_PER_REQUEST` CSV rows per request) and
  their ground truth (by inference id): no drift anywhere.
- ``drifted/``: the same number of rows with drift injected where :data:`INJECTED` says:
  ``feature_2`` shifted by 1.5 standard deviations (PSI and KS), ``feature_5`` missing in
  15 % of rows, ``feature_6`` not a number in 3 % of rows, the endpoint's scores lowered
  for the segment ``feature_8 >= median`` (bias drift of the predicted labels), and 30 %
  of the ground-truth labels flipped (model quality).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FEATURES = tuple(f"feature_{index}" for index in range(1, 9))
PROTECTED_ATTRIBUTE = "feature_8"
GROUP_ATTRIBUTE = "feature_7"
BASELINE_ROWS = 2000
LIVE_ROWS = 1000
ROWS_PER_REQUEST = 5
SEED = 20261206
WEIGHTS = np.array([1.2, -0.8, 2.0, 0.5, -1.5, 1.0, 0.7, 2.5])
OUT = Path(__file__).resolve().parent / "sample_data"
#: Where the drifted set differs from the baseline, and how (the tests assert exactly these).
INJECTED = {
    "psi_ks": ("feature_2",),
    "missing": ("feature_5",),
    "type_errors": ("feature_6",),
    "bias_segment": f"{PROTECTED_ATTRIBUTE}>=",
    "label_flip_share": 0.3,
}
SHIFT_STD = 1.5
MISSING_SHARE = 0.15
TYPE_ERROR_SHARE = 0.03
SEGMENT_LOGIT_SHIFT = -3.0


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def _rows(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, scores, labels) of ``count`` rows of the undrifted process."""
    features = rng.standard_normal((count, len(FEATURES)))
    scores = _sigmoid(features @ WEIGHTS)
    labels = (rng.random(count) < scores).astype(int)
    return features, scores, labels


def _fields(features: np.ndarray) -> list[list[str]]:
    return [[f"{value:.4f}" for value in row] for row in features]


def baseline_csv(rng: np.random.Generator) -> str:
    features, scores, labels = _rows(rng, BASELINE_ROWS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["label", "score", *FEATURES])
    for label, score, row in zip(labels, scores, _fields(features), strict=True):
        writer.writerow([label, f"{score:.6f}", *row])
    return out.getvalue()


def _drift(rng: np.random.Generator, features, scores, labels):
    """The drifted set's features (as fields), scores and labels."""
    features = features.copy()
    features[:, FEATURES.index("feature_2")] += SHIFT_STD
    in_segment = features[:, FEATURES.index(PROTECTED_ATTRIBUTE)] >= 0.0
    logits = features @ WEIGHTS
    scores = _sigmoid(logits + np.where(in_segment, SEGMENT_LOGIT_SHIFT, 0.0))
    labels = (rng.random(len(labels)) < _sigmoid(logits)).astype(int)
    flip = rng.random(len(labels)) < INJECTED["label_flip_share"]
    labels = np.where(flip, 1 - labels, labels)
    fields = _fields(features)
    missing = rng.random(len(fields)) < MISSING_SHARE
    broken = rng.random(len(fields)) < TYPE_ERROR_SHARE
    for row, is_missing, is_broken in zip(fields, missing, broken, strict=True):
        if is_missing:
            row[FEATURES.index("feature_5")] = ""
        if is_broken:
            row[FEATURES.index("feature_6")] = "n/a"
    return fields, scores, labels


def capture_lines(name: str, fields, scores, labels) -> tuple[list[str], list[str]]:
    """(capture records, ground-truth records), one per request of ROWS_PER_REQUEST rows."""
    captures, truth = [], []
    for request, start in enumerate(range(0, len(fields), ROWS_PER_REQUEST)):
        stop = start + ROWS_PER_REQUEST
        inference_id = f"{name}-{request:05d}"
        body = "\n".join(",".join(row) for row in fields[start:stop])
        answer = "\n".join(f"{score:.6f}" for score in scores[start:stop])
        record = {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": body,
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv; charset=utf-8",
                    "mode": "OUTPUT",
                    "data": answer,
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {
                "eventId": f"00000000-0000-4000-8000-{request:012d}",
                "inferenceId": inference_id,
                "inferenceTime": f"2026-12-06T10:{request // 60 % 60:02d}:{request % 60:02d}Z",
            },
            "eventVersion": "0",
        }
        captures.append(json.dumps(record, sort_keys=True))
        ground_truth = {
            "groundTruthData": {
                "data": ",".join(str(int(label)) for label in labels[start:stop]),
                "encoding": "CSV",
            },
            "eventMetadata": {"eventId": inference_id},
            "eventVersion": "0",
        }
        truth.append(json.dumps(ground_truth, sort_keys=True))
    return captures, truth


def files(seed: int = SEED) -> dict[str, str]:
    """Relative path -> content of every sample file."""
    rng = np.random.default_rng(seed)
    out = {"baseline.csv": baseline_csv(rng)}
    features, scores, labels = _rows(rng, LIVE_ROWS)
    sets = {"stable": (_fields(features), scores, labels)}
    sets["drifted"] = _drift(rng, *_rows(rng, LIVE_ROWS))
    for name, (fields, set_scores, set_labels) in sets.items():
        captures, truth = capture_lines(name, fields, set_scores, set_labels)
        out[f"{name}/captures/capture.jsonl"] = "\n".join(captures) + "\n"
        out[f"{name}/ground-truth/labels.jsonl"] = "\n".join(truth) + "\n"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for relative, content in files(args.seed).items():
        path = args.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
