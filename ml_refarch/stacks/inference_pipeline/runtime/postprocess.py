"""Step 3 of the inference pipeline: turn the XGBoost scores into labels.

Pattern ``inference-pipeline`` (notes section "Inference pipelines"). Runs in the SageMaker
scikit-learn 1.2-1 container in script mode (``SAGEMAKER_PROGRAM=postprocess.py``) from
``code/`` inside its ``model.tar.gz``; Python 3.9, standard library only.

The input is what the XGBoost container answers for ``text/csv``: one probability per
record, separated by newlines or commas. The output is one ``label,score`` row per record
(``text/csv``, what batch transform joins to the input), or with ``Accept:
application/json`` a ``{"predictions": [{"label": ..., "score": ...}]}`` document. The
threshold and the two label names are ``postprocessing.json`` in the model directory.

A score that is not a number from 0 to 1 is refused with a 400 response.
"""

from __future__ import annotations

import json
import math
import os

from handler_common import (
    CSV,
    JSON,
    BadRequest,
    error_response,
    media_type,
    problems_message,
    read_csv_request,
)

PARAMETERS_FILE = "postprocessing.json"


class Labeller:
    """Scores at or above ``threshold`` get ``positive``, the others ``negative``."""

    def __init__(self, threshold: float, positive: str, negative: str) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold = threshold
        self.positive = positive
        self.negative = negative

    @classmethod
    def from_json(cls, document: dict) -> Labeller:
        return cls(document["threshold"], document["positive"], document["negative"])

    def parse(self, rows: list[list[str]]):
        """The scores, or a :class:`BadRequest` naming those that are not probabilities."""
        cells = [cell for row in rows for cell in row if cell]
        if not cells:
            return BadRequest("empty body: expected one score per record")
        scores, problems = [], []
        for index, cell in enumerate(cells, start=1):
            try:
                score = float(cell)
            except ValueError:
                score = math.nan
            if not 0.0 <= score <= 1.0:  # also false for NaN
                problems.append(f"score {index}: {cell!r} is not a number from 0 to 1")
            scores.append(score)
        if problems:
            return BadRequest(problems_message("invalid scores", problems))
        return scores

    def label(self, scores: list[float]) -> list[tuple[str, float]]:
        return [
            (self.positive if score >= self.threshold else self.negative, score) for score in scores
        ]


def model_fn(model_dir: str) -> Labeller:
    with open(os.path.join(model_dir, PARAMETERS_FILE), encoding="utf-8") as handle:
        return Labeller.from_json(json.load(handle))


# The container looks its handler functions up in this module.
input_fn = read_csv_request


def predict_fn(input_data, model: Labeller):
    if isinstance(input_data, BadRequest):
        return input_data
    scores = model.parse(input_data)
    if isinstance(scores, BadRequest):
        return scores
    return model.label(scores)


def output_fn(prediction, accept):
    if isinstance(prediction, BadRequest):
        return error_response(prediction)
    accept = media_type(accept)
    if accept == JSON:
        document = {"predictions": [{"label": lab, "score": s} for lab, s in prediction]}
        return json.dumps(document), JSON
    if accept != CSV:
        return error_response(
            BadRequest(f"accept type {accept!r} is not supported; ask for {CSV} or {JSON}", 406)
        )
    return "".join(f"{label},{score:.6f}\n" for label, score in prediction), CSV
