"""inference-pipeline: the committed artifacts of the serial chain, and how they are made.

A serial chain of a scikit-learn preprocessing container, an XGBoost predictor and a
scikit-learn postprocessing container. A raw record is the dataset's 8 numbers plus a plan
name; the predictor is trained on the preprocessed features (scaled numbers, one-hot plan).
The fitted preprocessing parameters are JSON, not a pickle: the container runs scikit-learn
1.2 and pickles do not cross versions. Each scikit-learn step's ``model.tar.gz`` carries its
handler under ``code/`` (what network isolation needs: the container cannot download code),
next to its parameters.

The handlers, the three artifacts and their ``manifest.json`` are in ``runtime/``.
:func:`build_artifacts` computes them afresh from the shared dataset
(:mod:`ml_refarch.model_artifacts`); ``scripts/make_models.py`` writes them and a test checks
the committed files. Building needs numpy and xgboost; reading the manifest and loading the
handlers need only the standard library (and numpy for the handlers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_refarch.model_artifacts import (
    DATASET_FEATURES,
    DATASET_ROWS,
    HOLDOUT_FRACTION,
    MODEL_FILE_NAME,
    SAMPLE_ROWS,
    XGBOOST_VERSION,
    ModelRecipe,
    build,
    dataset,
    deterministic_tarball,
    format_row,
    manifest_bytes,
)

#: The handler modules, the committed artifacts and their manifest.
PIPELINE_DIR = Path(__file__).resolve().parent / "runtime"
PIPELINE_MANIFEST_FILE = PIPELINE_DIR / "manifest.json"
#: The categorical column a raw record ends with, and its values (the encoder sorts them).
PLAN_COLUMN = "plan"
PLANS = ("basic", "premium", "standard")
PIPELINE_SEED = 11
#: The postprocessing step's decision and label names.
PIPELINE_THRESHOLD = 0.5
POSITIVE_LABEL = "churn"
NEGATIVE_LABEL = "stay"
PIPELINE_RECIPE = ModelRecipe(
    "pipeline-xgboost",
    rounds=30,
    max_depth=3,
    learning_rate=0.3,
    description="trained on the preprocessed features (scaled numbers, one-hot plan)",
)


@dataclass(frozen=True)
class PipelineStepArtifact:
    """One scikit-learn step's ``model.tar.gz``: its handler module and parameters file."""

    name: str
    program: str
    parameters_file: str

    @property
    def artifact_path(self) -> Path:
        return PIPELINE_DIR / f"{self.name}.tar.gz"


PREPROCESS_STEP = PipelineStepArtifact("pipeline-preprocess", "preprocess.py", "preprocessing.json")
POSTPROCESS_STEP = PipelineStepArtifact(
    "pipeline-postprocess", "postprocess.py", "postprocessing.json"
)
#: Modules every scikit-learn step's ``code/`` directory carries besides its program.
PIPELINE_SHARED_MODULES = ("handler_common.py",)
#: Where the code sits in the artifact, and so what SAGEMAKER_SUBMIT_DIRECTORY names.
PIPELINE_CODE_DIR = "code"
PIPELINE_ARTIFACTS: dict[str, Path] = {
    PREPROCESS_STEP.name: PREPROCESS_STEP.artifact_path,
    PIPELINE_RECIPE.name: PIPELINE_DIR / f"{PIPELINE_RECIPE.name}.tar.gz",
    POSTPROCESS_STEP.name: POSTPROCESS_STEP.artifact_path,
}
#: What :func:`ml_refarch.model_artifacts.artifact_path` finds by name for this unit.
MODEL_ARTIFACTS = PIPELINE_ARTIFACTS


def load_pipeline_manifest() -> dict[str, Any]:
    """The pipeline's manifest: parameters, sample raw rows, expected scores and labels."""
    return json.loads(PIPELINE_MANIFEST_FILE.read_text(encoding="utf-8"))


def load_pipeline_handler(module_name: str) -> Any:
    """``preprocess`` or ``postprocess`` imported as the container imports it: top level,
    with ``handler_common`` beside it."""
    import importlib
    import sys

    directory = str(PIPELINE_DIR)
    sys.path.insert(0, directory)
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(directory)


def make_plans(labels: Any, seed: int = PIPELINE_SEED) -> list[str]:
    """A plan per record, drawn so that it carries some signal about the label."""
    import numpy as np

    rng = np.random.default_rng(seed)
    by_label = {0: (0.5, 0.15, 0.35), 1: (0.2, 0.5, 0.3)}  # basic, premium, standard
    return [str(rng.choice(PLANS, p=by_label[int(label)])) for label in labels]


def fit_preprocessing(features: Any, plans: list[str]) -> dict[str, Any]:
    """``StandardScaler`` and ``OneHotEncoder`` fitted with numpy, as JSON-ready numbers.

    The scale is the population standard deviation, 1 where a feature is constant (what
    scikit-learn does).
    """
    import numpy as np

    means = np.mean(features, axis=0)
    scales = np.std(features, axis=0)
    scales[scales == 0.0] = 1.0
    return {
        "numeric": {
            "count": int(features.shape[1]),
            "means": [float(value) for value in means],
            "scales": [float(value) for value in scales],
        },
        "categorical": {"name": PLAN_COLUMN, "categories": sorted(set(plans))},
    }


def raw_row(values: Any, plan: str) -> str:
    """A raw record as the pipeline's endpoint takes it: the numbers, then the plan."""
    return f"{format_row(values)},{plan}"


def pipeline_step_tarball(step: PipelineStepArtifact, parameters: dict[str, Any]) -> bytes:
    """The step's ``model.tar.gz``: parameters at the top, handler code under ``code/``."""
    members = {step.parameters_file: (json.dumps(parameters, indent=1) + "\n").encode("utf-8")}
    for module in (step.program, *PIPELINE_SHARED_MODULES):
        members[f"{PIPELINE_CODE_DIR}/{module}"] = (PIPELINE_DIR / module).read_bytes()
    return deterministic_tarball(members)


def build_artifacts() -> dict[Path, bytes]:
    """The pipeline's three artifacts and its manifest, computed afresh, by path."""
    import numpy as np
    import xgboost

    preprocess = load_pipeline_handler("preprocess")
    postprocess = load_pipeline_handler("postprocess")
    features, labels = dataset()
    plans = make_plans(labels)
    train_rows = DATASET_ROWS - round(DATASET_ROWS * HOLDOUT_FRACTION)
    preprocessing = fit_preprocessing(features[:train_rows], plans[:train_rows])
    postprocessing = {
        "threshold": PIPELINE_THRESHOLD,
        "positive": POSITIVE_LABEL,
        "negative": NEGATIVE_LABEL,
    }
    preprocessor = preprocess.Preprocessor.from_json(preprocessing)
    matrix = preprocessor.transform(features, plans)
    booster, model_json = build(PIPELINE_RECIPE, matrix, labels)
    holdout = booster.predict(xgboost.DMatrix(matrix[train_rows:])) >= PIPELINE_THRESHOLD
    accuracy = float(np.mean(holdout == labels[train_rows:]))

    # Score the samples the way the endpoint will: raw text through the preprocessing
    # handler, its CSV answer parsed as XGBoost parses it, then the labelling step.
    sample = slice(train_rows, train_rows + SAMPLE_ROWS)
    pairs = zip(features[sample], plans[sample], strict=True)
    rows = [raw_row(values, plan) for values, plan in pairs]
    handled = preprocess.predict_fn(preprocess.input_fn("\n".join(rows), "text/csv"), preprocessor)
    text, _ = preprocess.output_fn(handled, "text/csv")
    parsed = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
    scores = [round(float(score), 6) for score in booster.predict(xgboost.DMatrix(parsed))]
    labeller = postprocess.Labeller.from_json(postprocessing)
    manifest = {
        "xgboost_version": XGBOOST_VERSION,
        "model": {
            "file": PIPELINE_ARTIFACTS[PIPELINE_RECIPE.name].name,
            "description": PIPELINE_RECIPE.description,
            "rounds": PIPELINE_RECIPE.rounds,
            "max_depth": PIPELINE_RECIPE.max_depth,
            "learning_rate": PIPELINE_RECIPE.learning_rate,
            "input_columns": int(matrix.shape[1]),
            "holdout_accuracy": round(accuracy, 4),
        },
        "raw_columns": [f"f{i}" for i in range(1, DATASET_FEATURES + 1)] + [PLAN_COLUMN],
        "preprocessing": preprocessing,
        "postprocessing": postprocessing,
        "samples": {
            "rows": rows,
            "labels": [int(label) for label in labels[sample]],
            "scores": scores,
            "predicted": [label for label, _ in labeller.label(scores)],
        },
    }
    return {
        PREPROCESS_STEP.artifact_path: pipeline_step_tarball(PREPROCESS_STEP, preprocessing),
        PIPELINE_ARTIFACTS[PIPELINE_RECIPE.name]: deterministic_tarball(
            {MODEL_FILE_NAME: model_json}
        ),
        POSTPROCESS_STEP.artifact_path: pipeline_step_tarball(POSTPROCESS_STEP, postprocessing),
        PIPELINE_MANIFEST_FILE: manifest_bytes(manifest),
    }
