"""The tiny models the inference patterns host, and how they are made.

Notes sections "Inference" and "SG Endpoint": an endpoint serves a model artifact
(``model.tar.gz`` in S3) with a container image. The inference patterns need a real model
to serve, so the repository carries a few small XGBoost binary classifiers, each a
``model.tar.gz`` of a few KB holding one ``xgboost-model`` file in XGBoost's JSON format,
the layout the SageMaker XGBoost container loads.

They are trained on the logistic dataset of ``scripts/make_training_data.py`` (8 numeric
features, label 1 with probability sigmoid(w.x)), so a good model reaches about 0.89
accuracy. ``manifest.json`` next to them records, per model, its training settings and
hold-out accuracy, and for everyone a few sample rows with each model's expected scores:
smoke scripts send those rows to a deployed endpoint and compare the answer.

Regenerate (the same inputs give the same models, to the last digits a CPU may round
differently; a test checks the committed files with ``artifacts_match``)::

    .venv/bin/python scripts/make_models.py

Building needs the ``xgboost-cpu`` package (a development dependency, the version of the
container's XGBoost); reading the manifest needs nothing beyond the standard library.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).resolve().parent / "assets" / "models"
MANIFEST_FILE = MODELS_DIR / "manifest.json"
#: The file name the SageMaker XGBoost container looks for inside ``model.tar.gz``.
MODEL_FILE_NAME = "xgboost-model"
#: The XGBoost release inside the container image the patterns use (``3.0-5``).
XGBOOST_VERSION = "3.0.5"

DATASET_ROWS = 2000
DATASET_FEATURES = 8
DATASET_SEED = 7
HOLDOUT_FRACTION = 0.2
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class ModelRecipe:
    """How one committed model is trained: boosting rounds, tree depth, learning rate."""

    name: str
    rounds: int
    max_depth: int
    learning_rate: float
    description: str

    @property
    def artifact_path(self) -> Path:
        return MODELS_DIR / f"{self.name}.tar.gz"


#: Two versions of one model: the A/B pattern serves both, the multi-model endpoint loads
#: them by name, and the single-model patterns serve the first.
RECIPES: tuple[ModelRecipe, ...] = (
    ModelRecipe("churn-v1", rounds=20, max_depth=3, learning_rate=0.3, description="baseline"),
    ModelRecipe(
        "churn-v2", rounds=40, max_depth=2, learning_rate=0.2, description="shallower, more trees"
    ),
)
DEFAULT_MODEL = RECIPES[0].name


def artifact_path(name: str) -> Path:
    """The committed ``.tar.gz`` of the model called ``name``.

    Raises:
        KeyError: naming the models there are.
    """
    for recipe in RECIPES:
        if recipe.name == name:
            return recipe.artifact_path
    if name in PIPELINE_ARTIFACTS:
        return PIPELINE_ARTIFACTS[name]
    known = ", ".join([*(recipe.name for recipe in RECIPES), *PIPELINE_ARTIFACTS])
    raise KeyError(f"no model {name!r}; the repository has: {known}")


def load_manifest() -> dict[str, Any]:
    """The committed manifest: per-model facts and sample rows with expected scores."""
    return json.loads(MANIFEST_FILE.read_text(encoding="utf-8"))


def sample_csv(manifest: dict[str, Any] | None = None) -> str:
    """The sample rows as the ``text/csv`` body an endpoint accepts (no header, no label)."""
    manifest = manifest or load_manifest()
    return "".join(f"{row}\n" for row in manifest["samples"]["rows"])


def parse_scores(body: str) -> list[float]:
    """Scores from an XGBoost endpoint's CSV or newline-separated answer.

    Raises:
        ValueError: when the body holds anything but numbers.
    """
    tokens = [token for line in body.splitlines() for token in line.split(",") if token.strip()]
    try:
        return [float(token) for token in tokens]
    except ValueError:
        raise ValueError(
            f"expected numbers separated by commas or newlines, got {body!r}"
        ) from None


def scores_match(expected: list[float], received: list[float], tolerance: float = 1e-4) -> bool:
    """Whether an endpoint's scores are the ones the model gives locally."""
    return len(expected) == len(received) and all(
        abs(a - b) <= tolerance for a, b in zip(expected, received, strict=True)
    )


# --- building (needs numpy and xgboost) ------------------------------------------------------


def deterministic_tarball(members: dict[str, bytes]) -> bytes:
    """A gzip'd tar of ``members`` (name -> bytes) with fixed times and owners."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


def dataset() -> tuple[Any, Any]:
    """The training dataset: (features, labels) from ``scripts/make_training_data.py``."""
    import importlib.util
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "make_training_data.py"
    spec = importlib.util.spec_from_file_location("make_training_data", script)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module.make_dataset(DATASET_ROWS, DATASET_FEATURES, DATASET_SEED)


def build(recipe: ModelRecipe, features: Any, labels: Any) -> tuple[Any, bytes]:
    """Train ``recipe`` on the first rows; (booster, XGBoost JSON model bytes)."""
    import xgboost

    train_rows = DATASET_ROWS - round(DATASET_ROWS * HOLDOUT_FRACTION)
    matrix = xgboost.DMatrix(features[:train_rows], label=labels[:train_rows])
    params = {
        "objective": "binary:logistic",
        "max_depth": recipe.max_depth,
        "eta": recipe.learning_rate,
        "seed": 0,
        "nthread": 1,
        "eval_metric": "logloss",
    }
    booster = xgboost.train(params, matrix, num_boost_round=recipe.rounds)
    return booster, bytes(booster.save_raw(raw_format="json"))


def format_row(values: Any) -> str:
    return ",".join(f"{value:.6f}" for value in values)


def build_all() -> tuple[dict[Path, bytes], dict[str, Any]]:
    """Every artifact's bytes by path, and the manifest, computed afresh."""
    import numpy as np
    import xgboost

    if xgboost.__version__ != XGBOOST_VERSION:
        raise RuntimeError(
            f"xgboost {xgboost.__version__} is installed; the container runs "
            f"{XGBOOST_VERSION}, so install xgboost-cpu=={XGBOOST_VERSION} (requirements-dev.txt)"
        )
    features, labels = dataset()
    train_rows = DATASET_ROWS - round(DATASET_ROWS * HOLDOUT_FRACTION)
    holdout = xgboost.DMatrix(features[train_rows:])
    sample_rows = [format_row(row) for row in features[train_rows : train_rows + SAMPLE_ROWS]]
    # Score what the endpoint will receive: the rows as printed, not the unrounded values.
    samples = xgboost.DMatrix(np.array([[float(v) for v in row.split(",")] for row in sample_rows]))
    files: dict[Path, bytes] = {}
    manifest: dict[str, Any] = {
        "xgboost_version": XGBOOST_VERSION,
        "dataset": {
            "rows": DATASET_ROWS,
            "features": DATASET_FEATURES,
            "seed": DATASET_SEED,
            "holdout_rows": DATASET_ROWS - train_rows,
        },
        "models": {},
        "samples": {
            "rows": sample_rows,
            "labels": [int(label) for label in labels[train_rows : train_rows + SAMPLE_ROWS]],
            "scores": {},
        },
    }
    for recipe in RECIPES:
        booster, model_json = build(recipe, features, labels)
        files[recipe.artifact_path] = deterministic_tarball({MODEL_FILE_NAME: model_json})
        predicted = booster.predict(holdout) >= 0.5
        accuracy = float(np.mean(predicted == labels[train_rows:]))
        manifest["models"][recipe.name] = {
            "file": recipe.artifact_path.name,
            "description": recipe.description,
            "rounds": recipe.rounds,
            "max_depth": recipe.max_depth,
            "learning_rate": recipe.learning_rate,
            "holdout_accuracy": round(accuracy, 4),
        }
        manifest["samples"]["scores"][recipe.name] = [
            round(float(score), 6) for score in booster.predict(samples)
        ]
    return files, manifest


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")


# --- the inference pipeline's artifacts ------------------------------------------------------
#
# Pattern ``inference-pipeline``: a serial chain of a scikit-learn preprocessing container, an
# XGBoost predictor and a scikit-learn postprocessing container. A raw record is the dataset's
# 8 numbers plus a plan name; the predictor is trained on the preprocessed features (scaled
# numbers, one-hot plan). The fitted preprocessing parameters are JSON, not a pickle: the
# container runs scikit-learn 1.2 and pickles do not cross versions. Each scikit-learn step's
# ``model.tar.gz`` carries its handler under ``code/`` (what network isolation needs: the
# container cannot download code), next to its parameters.

PIPELINE_DIR = Path(__file__).resolve().parent / "assets" / "pipeline"
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


def build_pipeline() -> dict[Path, bytes]:
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


# --- comparing a rebuild with the committed files --------------------------------------------
#
# The same code, data and library versions give the same model on every machine, but not the
# same bytes: XGBoost's histogram sums and numpy's vectorised means add in an order that
# depends on the CPU's vector width, so floats can differ in their last digits (seen between
# Intel and AMD machines), and another zlib can compress the same tar differently. A rebuild
# therefore matches the committed file when it holds the same members, the same code and
# text, the same JSON structure, keys, strings and integers, and floats within
# ``FLOAT_TOLERANCE`` (relative, or absolute near zero).

#: How far a rebuilt float may be from the committed one: far above the last-digit
#: differences, far below any change to the data or the training settings.
FLOAT_TOLERANCE = 1e-6


def artifacts_match(path: Path, committed: bytes, rebuilt: bytes) -> bool:
    """Whether ``committed`` (the bytes of ``path``) holds what ``rebuilt`` holds."""
    if committed == rebuilt:
        return True
    if path.name.endswith(".tar.gz"):
        ours, theirs = _tar_members(committed), _tar_members(rebuilt)
        return (
            ours is not None
            and theirs is not None
            and ours.keys() == theirs.keys()
            and all(_same_content(ours[name], theirs[name]) for name in ours)
        )
    return _same_content(committed, rebuilt)


def json_match(committed: Any, rebuilt: Any, tolerance: float = FLOAT_TOLERANCE) -> bool:
    """Parsed JSON values equal but for floats (and numbers written as text) within
    ``tolerance``; booleans, integers and keys compare exactly."""
    if isinstance(committed, bool) or isinstance(rebuilt, bool):
        return committed is rebuilt
    if isinstance(committed, float | int) and isinstance(rebuilt, float | int):
        if isinstance(committed, int) and isinstance(rebuilt, int):
            return committed == rebuilt
        return _close(committed, rebuilt, tolerance)
    if isinstance(committed, dict) and isinstance(rebuilt, dict):
        return committed.keys() == rebuilt.keys() and all(
            json_match(committed[k], rebuilt[k], tolerance) for k in committed
        )
    if isinstance(committed, list) and isinstance(rebuilt, list):
        return len(committed) == len(rebuilt) and all(
            json_match(a, b, tolerance) for a, b in zip(committed, rebuilt, strict=True)
        )
    if isinstance(committed, str) and isinstance(rebuilt, str):
        return committed == rebuilt or _same_number_text(committed, rebuilt, tolerance)
    return False


def _close(a: float, b: float, tolerance: float) -> bool:
    import math

    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def _same_number_text(committed: str, rebuilt: str, tolerance: float) -> bool:
    """``"5E-1"`` and ``"0.5"``, or the sample rows ``"0.1,2.5,basic"``: the same fields,
    numbers within ``tolerance``."""
    ours, theirs = committed.split(","), rebuilt.split(",")
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs, strict=True):
        if a == b:
            continue
        try:
            if not _close(float(a), float(b), tolerance):
                return False
        except ValueError:
            return False
    return True


def _same_content(committed: bytes, rebuilt: bytes) -> bool:
    if committed == rebuilt:
        return True
    try:
        return json_match(json.loads(committed), json.loads(rebuilt))
    except ValueError:  # not JSON (code, text): only the same bytes match
        return False


def _tar_members(data: bytes) -> dict[str, bytes] | None:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            return {
                member.name: tar.extractfile(member).read()  # type: ignore[union-attr]
                for member in tar.getmembers()
                if member.isfile()
            }
    except (tarfile.TarError, OSError):
        return None


def stale_artifacts(files: dict[Path, bytes]) -> list[Path]:
    """The paths whose committed file does not match the rebuilt bytes in ``files``."""
    return [
        path
        for path, data in files.items()
        if not path.is_file() or not artifacts_match(path, path.read_bytes(), data)
    ]
