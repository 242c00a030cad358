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
smoke tests send those rows to a deployed endpoint and compare the answer.

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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml_refarch.catalog import Pattern

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


#: Two versions of one model, shared by the units that host a model: a unit serves one, both
#: or loads them by name; :data:`DEFAULT_MODEL` is the first.
RECIPES: tuple[ModelRecipe, ...] = (
    ModelRecipe("churn-v1", rounds=20, max_depth=3, learning_rate=0.3, description="baseline"),
    ModelRecipe(
        "churn-v2", rounds=40, max_depth=2, learning_rate=0.2, description="shallower, more trees"
    ),
)
DEFAULT_MODEL = RECIPES[0].name


#: The module of a pattern unit that commits model artifacts of its own: it defines
#: ``MODEL_ARTIFACTS`` (artifact name -> ``.tar.gz`` path) and ``build_artifacts()`` (every
#: file it commits, computed afresh, by path; needs the building dependencies).
UNIT_ARTIFACTS_MODULE = "artifacts"


def _unit_artifact_modules(patterns: Iterable[Pattern] | None) -> list[tuple[Pattern, ModuleType]]:
    """(pattern, its ``artifacts`` module) for each unit that has one, in catalog order."""
    if patterns is None:
        from ml_refarch import catalog  # the catalog's units import this module

        patterns = catalog.discover()
    return [
        (pattern, pattern.module(UNIT_ARTIFACTS_MODULE))
        for pattern in patterns
        if pattern.has_module(UNIT_ARTIFACTS_MODULE)
    ]


def named_artifacts(patterns: Iterable[Pattern] | None = None) -> dict[str, Path]:
    """Every committed model artifact by name: the shared models, then each unit's own.

    ``patterns`` are catalog entries (default: the whole catalog); a unit adds artifacts
    through ``MODEL_ARTIFACTS`` in its ``artifacts`` module.

    Raises:
        ValueError: two artifacts with one name.
    """
    found = {recipe.name: recipe.artifact_path for recipe in RECIPES}
    for pattern, module in _unit_artifact_modules(patterns):
        for name, path in module.MODEL_ARTIFACTS.items():
            if name in found:
                raise ValueError(f"{pattern.id}: model artifact {name!r} is already named")
            found[name] = path
    return found


def artifact_path(name: str) -> Path:
    """The committed ``.tar.gz`` of the model called ``name``.

    Raises:
        KeyError: naming the models there are.
    """
    known = named_artifacts()
    if name in known:
        return known[name]
    raise KeyError(f"no model {name!r}; the repository has: {', '.join(known)}")


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


def build_unit_artifacts(patterns: Iterable[Pattern] | None = None) -> dict[Path, bytes]:
    """Every file the pattern units commit through their ``artifacts`` modules, by path."""
    files: dict[Path, bytes] = {}
    for _pattern, module in _unit_artifact_modules(patterns):
        files.update(module.build_artifacts())
    return files


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
