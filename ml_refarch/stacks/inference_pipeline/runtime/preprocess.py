"""Step 1 of the inference pipeline: scale the numeric features, one-hot encode the plan.

Pattern ``inference-pipeline`` (notes section "Inference pipelines": pre-processing,
prediction and post-processing as a chain of containers). Runs in the SageMaker
scikit-learn 1.2-1 container in script mode (``SAGEMAKER_PROGRAM=preprocess.py``) from
``code/`` inside its ``model.tar.gz``; Python 3.9, standard library and numpy only.

A raw record is ``f1,...,f8,plan``: eight numbers and a plan name. The output, which the
XGBoost container receives as ``text/csv``, is ``(f - mean) / scale`` for each number
(scikit-learn's ``StandardScaler``) followed by one column per known plan, 1 for the
record's plan (``OneHotEncoder(handle_unknown="ignore")``: an unknown plan is all zeros).

The fitted parameters are ``preprocessing.json`` in the model directory, not a pickle: a
pickle from one scikit-learn version need not load in another, while these numbers do.

A body with a row of the wrong width or a value that is not a finite number is refused
with a 400 response naming each bad row (see ``handler_common``); other content types get
a 415.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
from handler_common import (
    CSV,
    BadRequest,
    error_response,
    problems_message,
    read_csv_request,
)

PARAMETERS_FILE = "preprocessing.json"


class Preprocessor:
    """The fitted scaler and encoder, applied with numpy.

    Args:
        means / scales: per numeric feature, as ``StandardScaler``'s ``mean_``/``scale_``.
        categories: the known values of the categorical column, in the encoder's order.
        categorical_name: the column's name, for error messages.
    """

    def __init__(self, means, scales, categories, categorical_name: str = "plan") -> None:
        self.means = np.asarray(means, dtype=np.float64)
        self.scales = np.asarray(scales, dtype=np.float64)
        self.categories = list(categories)
        self.categorical_name = categorical_name
        if self.means.shape != self.scales.shape or self.means.ndim != 1:
            raise ValueError("means and scales must be lists of the same length")

    @classmethod
    def from_json(cls, document: dict) -> Preprocessor:
        return cls(
            document["numeric"]["means"],
            document["numeric"]["scales"],
            document["categorical"]["categories"],
            document["categorical"]["name"],
        )

    @property
    def numeric_count(self) -> int:
        return int(self.means.shape[0])

    @property
    def columns(self) -> int:
        """Values in a raw record: the numbers and the categorical value."""
        return self.numeric_count + 1

    def parse(self, rows: list[list[str]]):
        """(numbers, categories) of valid rows, or a :class:`BadRequest` naming the bad ones."""
        if not rows:
            return BadRequest(
                f"empty body: send one or more rows of {self.numeric_count} numbers and a "
                f"{self.categorical_name}"
            )
        problems = []
        numbers = np.empty((len(rows), self.numeric_count), dtype=np.float64)
        categories = []
        for index, row in enumerate(rows, start=1):
            if len(row) != self.columns:
                problems.append(
                    f"row {index} has {len(row)} values, expected {self.columns} "
                    f"({self.numeric_count} numbers, then the {self.categorical_name})"
                )
                continue
            for column, cell in enumerate(row[: self.numeric_count], start=1):
                try:
                    value = float(cell)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    problems.append(f"row {index} column {column}: {cell!r} is not a finite number")
                    break
                numbers[index - 1, column - 1] = value
            categories.append(row[self.numeric_count])
        if problems:
            return BadRequest(problems_message("invalid rows", problems))
        return numbers, categories

    def transform(self, numbers, categories) -> np.ndarray:
        """The model's input matrix: scaled numbers, then the one-hot categorical columns."""
        scaled = (np.asarray(numbers, dtype=np.float64) - self.means) / self.scales
        one_hot = np.zeros((scaled.shape[0], len(self.categories)), dtype=np.float64)
        for row, category in enumerate(categories):
            if category in self.categories:
                one_hot[row, self.categories.index(category)] = 1.0
        return np.hstack([scaled, one_hot])


def format_matrix(matrix) -> str:
    """CSV rows with 9 significant digits: enough for XGBoost's 32-bit floats."""
    return "".join(",".join(f"{value:.9g}" for value in row) + "\n" for row in matrix)


# --- the SageMaker scikit-learn container's handler functions ----------------------------


def model_fn(model_dir: str) -> Preprocessor:
    with open(os.path.join(model_dir, PARAMETERS_FILE), encoding="utf-8") as handle:
        return Preprocessor.from_json(json.load(handle))


# The container looks its handler functions up in this module.
input_fn = read_csv_request


def predict_fn(input_data, model: Preprocessor):
    if isinstance(input_data, BadRequest):
        return input_data
    parsed = model.parse(input_data)
    if isinstance(parsed, BadRequest):
        return parsed
    return model.transform(*parsed)


def output_fn(prediction, accept):
    # The next container (XGBoost) reads text/csv whatever the caller accepts at the end.
    if isinstance(prediction, BadRequest):
        return error_response(prediction)
    return format_matrix(prediction), CSV
