"""Training entry point for the tiny model: a logistic-loss SGD binary classifier on CSV data.

SageMaker runs this file inside the scikit-learn framework container
(``sagemaker-scikit-learn:1.2-1-cpu-py3``), so it stays compatible with Python 3.9 and
scikit-learn 1.2 and imports only the standard library, numpy, joblib and scikit-learn.

Study notes (``ml-specialty-notes.md``) this script puts into practice:

- "Sagemaker": managed spot training. After every epoch the model state is checkpointed to the
  directory SageMaker syncs with the job's CheckpointConfig S3 URI; a job restarted after a spot
  interruption resumes from the next epoch instead of from scratch.
- "Data input": File mode. The whole dataset is read from the channel directory, recursively,
  because with an FSx for Lustre channel that directory is the Lustre mount (which SageMaker
  mounts read-only, so nothing is ever written there).
- "Automatic model tuning": one line per epoch,
  ``epoch=3 train:logloss=0.41234 validation:logloss=0.43210 validation:accuracy=0.8125``,
  for a tuning job's metric definitions, e.g. ``validation:logloss=([0-9\\.]+)``.

The container contract (environment variable, then the default):

- training data: ``SM_CHANNEL_TRAIN`` (``/opt/ml/input/data/train``); optional validation data:
  ``SM_CHANNEL_VALIDATION``, else 20% of the training rows are held out (seeded). CSV without a
  header, the first column the 0/1 label, then numeric features.
- hyperparameters: ``$SM_INPUT_CONFIG_DIR/hyperparameters.json`` (``/opt/ml/input/config``) and
  ``--name value`` arguments (how framework containers pass them); arguments win.
- checkpoints: ``SM_CHECKPOINT_DIR`` (``/opt/ml/checkpoints``), the latest two are kept.
- model: ``$SM_MODEL_DIR/model.joblib`` and ``metrics.json`` (``/opt/ml/model``).
- failure reason: ``SM_OUTPUT_FAILURE``, else ``failure`` next to ``SM_OUTPUT_DATA_DIR``
  (``/opt/ml/output/failure``); bad data or hyperparameters exit with code 1.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

LOG = logging.getLogger("train")

CLASSES = np.array([0, 1])
HOLDOUT_FRACTION = 0.2
CHECKPOINTS_KEPT = 2
CHECKPOINT_FORMAT_VERSION = 1
CHECKPOINT_NAME = re.compile(r"^checkpoint-epoch-(\d+)\.joblib$")
# An interrupted write leaves one of these behind; it is never read, and pruned later.
CHECKPOINT_TEMP_FILES = ".checkpoint-epoch-*.tmp"
MODEL_FILE = "model.joblib"
CODE_DIR = "code"
METRICS_FILE = "metrics.json"
# SageMaker shows at most this much of the failure file as the job's FailureReason.
FAILURE_REASON_MAX_CHARS = 1024
# Seed streams, so the holdout split and each epoch's row order are independent of each other
# and depend only on (seed, epoch): a resumed job shuffles exactly as an uninterrupted one.
HOLDOUT_STREAM = 0
EPOCH_STREAM = 1


class TrainingError(Exception):
    """A problem the job's owner must fix; the message becomes the job's failure reason."""


class DataError(TrainingError):
    """The channel data is missing or does not follow the CSV convention."""


class HyperparameterError(TrainingError):
    """A hyperparameter is unknown or has an invalid value."""


# --------------------------------------------------------------------------------------------
# Paths


@dataclass(frozen=True)
class Paths:
    train: Path
    # None: no validation channel, so a share of the training rows is held out.
    validation: Path | None
    hyperparameters: Path
    checkpoints: Path
    model: Path
    failure: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Paths:
        if env.get("SM_CHANNEL_VALIDATION"):
            validation: Path | None = Path(env["SM_CHANNEL_VALIDATION"])
        elif "SM_CHANNEL_TRAIN" not in env and Path("/opt/ml/input/data/validation").is_dir():
            # Without the training toolkit's variables, look where SageMaker mounts channels.
            validation = Path("/opt/ml/input/data/validation")
        else:
            # The toolkit sets SM_CHANNEL_<NAME> for every channel of the job, so with the train
            # one set, no validation variable means no validation channel.
            validation = None
        if env.get("SM_OUTPUT_FAILURE"):
            failure = Path(env["SM_OUTPUT_FAILURE"])
        elif env.get("SM_OUTPUT_DATA_DIR"):
            failure = Path(env["SM_OUTPUT_DATA_DIR"]).parent / "failure"
        else:
            failure = Path("/opt/ml/output/failure")
        config_dir = Path(env.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"))
        return cls(
            train=Path(env.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")),
            validation=validation,
            hyperparameters=config_dir / "hyperparameters.json",
            checkpoints=Path(env.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")),
            model=Path(env.get("SM_MODEL_DIR", "/opt/ml/model")),
            failure=failure,
        )


# --------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Dataset:
    features: np.ndarray  # float64, shape (rows, feature_count)
    labels: np.ndarray  # int64, shape (rows,), values 0 and 1

    @property
    def row_count(self) -> int:
        return int(self.labels.shape[0])

    @property
    def feature_count(self) -> int:
        return int(self.features.shape[1])


def find_csv_files(channel_dir: Path) -> list[Path]:
    """CSV files anywhere under the channel directory, in a stable (sorted) order.

    Hidden files and directories (``.ipynb_checkpoints`` copies, ``._`` resource forks) are
    skipped: they are not part of the dataset a user uploaded.
    """
    found = []
    for path in channel_dir.rglob("*"):
        relative = path.relative_to(channel_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() == ".csv" and path.is_file():
            found.append(path)
    return sorted(found, key=lambda path: path.relative_to(channel_dir).as_posix())


def _parse_rows(path: Path, shown_as: str, column_count: int | None) -> Iterator[list[float]]:
    """The values of each non-blank line, label first; DataError on the first bad value."""
    # utf-8-sig: spreadsheets often start CSV exports with a byte order mark.
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                line = reader.line_num
                if not any(field.strip() for field in row):
                    continue
                if len(row) < 2:
                    raise DataError(
                        f"{shown_as} line {line}: a row needs a label and at least one feature, "
                        f"found {len(row)} column"
                    )
                if column_count is None:
                    # The first row sets the shape every later row, in any file, must have.
                    column_count = len(row)
                elif len(row) != column_count:
                    raise DataError(
                        f"inconsistent column counts: {shown_as} line {line} has {len(row)} "
                        f"columns, expected {column_count} (label plus features)"
                    )
                values = []
                for column, field in enumerate(row, start=1):
                    try:
                        value = float(field)
                    except ValueError:
                        raise DataError(
                            f"non-numeric value {field.strip()!r} in {shown_as} line {line} "
                            f"column {column}"
                        ) from None
                    if not math.isfinite(value):
                        raise DataError(
                            f"non-finite value {field.strip()!r} in {shown_as} line {line} "
                            f"column {column}"
                        )
                    values.append(value)
                if values[0] not in (0.0, 1.0):
                    raise DataError(
                        f"labels must be 0 or 1: {shown_as} line {line} has label "
                        f"{row[0].strip()!r} in column 1"
                    )
                yield values
        except csv.Error as error:
            raise DataError(f"{shown_as} line {reader.line_num}: not valid CSV: {error}") from None
        except UnicodeDecodeError:
            raise DataError(f"{shown_as} is not UTF-8 text") from None


def load_dataset(channel_dir: Path, channel: str, column_count: int | None = None) -> Dataset:
    """Every CSV row under ``channel_dir``; ``column_count`` (label included) if it is known.

    Only reads: the directory may be an FSx for Lustre mount, which SageMaker mounts read-only.
    """
    if not channel_dir.is_dir():
        raise DataError(f"{channel} channel directory {channel_dir} does not exist")
    files = find_csv_files(channel_dir)
    if not files:
        raise DataError(f"no CSV files found under the {channel} channel directory {channel_dir}")
    rows: list[list[float]] = []
    for path in files:
        shown_as = f"{channel}/{path.relative_to(channel_dir).as_posix()}"
        for values in _parse_rows(path, shown_as, column_count):
            column_count = len(values)
            rows.append(values)
    if not rows:
        raise DataError(f"the CSV files under the {channel} channel directory have no rows")
    matrix = np.asarray(rows, dtype=np.float64)
    return Dataset(features=matrix[:, 1:], labels=matrix[:, 0].astype(np.int64))


def split_holdout(
    dataset: Dataset, seed: int, fraction: float = HOLDOUT_FRACTION
) -> tuple[Dataset, Dataset]:
    """(train, validation): a seeded random ``fraction`` of the rows held out for validation."""
    if dataset.row_count < 2:
        raise DataError(
            "there is no validation channel and the training data has fewer than 2 rows, "
            "so no rows can be held out for validation"
        )
    validation_rows = min(max(1, round(dataset.row_count * fraction)), dataset.row_count - 1)
    order = np.random.default_rng([seed, HOLDOUT_STREAM]).permutation(dataset.row_count)
    # Sorted, so the two parts keep the files' row order.
    held_out, kept = np.sort(order[:validation_rows]), np.sort(order[validation_rows:])
    return (
        Dataset(dataset.features[kept], dataset.labels[kept]),
        Dataset(dataset.features[held_out], dataset.labels[held_out]),
    )


# --------------------------------------------------------------------------------------------
# Hyperparameters


@dataclass(frozen=True)
class Hyperparameters:
    learning_rate: float = 0.01  # SGD step size, constant over the epochs
    epochs: int = 10
    alpha: float = 0.0001  # L2 regularization strength
    seed: int = 0  # holdout split and per-epoch row order


HYPERPARAMETER_NAMES = frozenset(field for field in asdict(Hyperparameters()))
MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's legacy seeds are 32-bit


def _is_platform_hyperparameter(name: str) -> bool:
    # The SageMaker Python SDK adds sagemaker_program, sagemaker_submit_directory, ... and a
    # tuning job adds _tuning_objective_metric; none of them is this script's business.
    return name.startswith(("sagemaker_", "_"))


def read_hyperparameters_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or {} when there is no file (a run outside SageMaker)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise HyperparameterError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise HyperparameterError(f"{path} must hold a JSON object of name: value")
    return values


def parse_cli_arguments(argv: Sequence[str]) -> dict[str, str]:
    """``--name value`` and ``--name=value`` pairs, as framework containers pass hyperparameters."""
    values: dict[str, str] = {}
    position = 0
    while position < len(argv):
        argument = argv[position]
        if not argument.startswith("--") or len(argument) == 2:
            raise HyperparameterError(
                f"unexpected command-line argument {argument!r}; hyperparameters are passed "
                "as --name value"
            )
        name, equals, value = argument[2:].partition("=")
        if not equals:
            if position + 1 >= len(argv):
                raise HyperparameterError(f"hyperparameter --{name} has no value")
            position += 1
            value = argv[position]
        values[name] = value
        position += 1
    return values


def _as_float(name: str, value: Any) -> float:
    # bool is an int subclass; True as a learning rate is a mistake, not 1.0.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise HyperparameterError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise HyperparameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise HyperparameterError(f"{name} must be a finite number, got {value!r}")
    return number


def _as_int(name: str, value: Any) -> int:
    number = _as_float(name, value)
    if not number.is_integer():
        raise HyperparameterError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def parse_hyperparameters(
    file_values: Mapping[str, Any], argv: Sequence[str] = ()
) -> Hyperparameters:
    """Hyperparameters from the JSON file's values and the command line (which wins).

    SageMaker passes every value as a string; numbers (a hand-written JSON file) work too.
    """
    merged: dict[str, Any] = dict(file_values)
    merged.update(parse_cli_arguments(argv))
    unknown = sorted(
        name
        for name in merged
        if name not in HYPERPARAMETER_NAMES and not _is_platform_hyperparameter(name)
    )
    if unknown:
        raise HyperparameterError(
            f"unknown hyperparameter(s) {', '.join(unknown)}; expected "
            f"{', '.join(sorted(HYPERPARAMETER_NAMES))}"
        )
    defaults = Hyperparameters()
    learning_rate = _as_float("learning_rate", merged.get("learning_rate", defaults.learning_rate))
    epochs = _as_int("epochs", merged.get("epochs", defaults.epochs))
    alpha = _as_float("alpha", merged.get("alpha", defaults.alpha))
    seed = _as_int("seed", merged.get("seed", defaults.seed))
    if learning_rate <= 0:
        raise HyperparameterError(f"learning_rate must be > 0, got {learning_rate}")
    if epochs < 1:
        raise HyperparameterError(f"epochs must be >= 1, got {epochs}")
    if alpha < 0:
        raise HyperparameterError(f"alpha must be >= 0, got {alpha}")
    if not 0 <= seed <= MAX_SEED:
        raise HyperparameterError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
    return Hyperparameters(learning_rate=learning_rate, epochs=epochs, alpha=alpha, seed=seed)


# --------------------------------------------------------------------------------------------
# Training


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    train_logloss: float
    validation_logloss: float
    validation_accuracy: float

    def metric_line(self) -> str:
        # Fixed-point, never scientific notation: tuning metric regexes like
        # validation:logloss=([0-9\.]+) would capture only the mantissa of 1e-05.
        return (
            f"epoch={self.epoch} train:logloss={self.train_logloss:.5f} "
            f"validation:logloss={self.validation_logloss:.5f} "
            f"validation:accuracy={self.validation_accuracy:.4f}"
        )


def new_classifier(hyperparameters: Hyperparameters) -> SGDClassifier:
    return SGDClassifier(
        loss="log_loss",
        penalty="l2",
        alpha=hyperparameters.alpha,
        learning_rate="constant",
        eta0=hyperparameters.learning_rate,
        # Rows are shuffled here, per epoch, from (seed, epoch): partial_fit's own shuffle
        # would not know which epoch a resumed job is in.
        shuffle=False,
        random_state=hyperparameters.seed,
    )


def epoch_row_order(row_count: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, EPOCH_STREAM, epoch]).permutation(row_count)


def evaluate(
    classifier: SGDClassifier, features: np.ndarray, labels: np.ndarray
) -> tuple[float, float]:
    """(log loss, accuracy) of the classifier on already scaled features."""
    probabilities = classifier.predict_proba(features)
    loss = float(log_loss(labels, probabilities, labels=CLASSES))
    accuracy = float(accuracy_score(labels, classifier.predict(features)))
    return loss, accuracy


def train_epochs(
    classifier: SGDClassifier,
    train: Dataset,
    validation: Dataset,
    hyperparameters: Hyperparameters,
    start_epoch: int = 0,
    on_epoch_end: Callable[[EpochResult, SGDClassifier], None] | None = None,
) -> list[EpochResult]:
    """Epochs ``start_epoch + 1`` .. ``hyperparameters.epochs``, one ``partial_fit`` pass each.

    ``train`` and ``validation`` hold scaled features. ``on_epoch_end`` runs after every epoch
    (it writes the checkpoint), with the classifier as it is after that epoch.
    """
    results = []
    for epoch in range(start_epoch + 1, hyperparameters.epochs + 1):
        order = epoch_row_order(train.row_count, hyperparameters.seed, epoch)
        try:
            classifier.partial_fit(train.features[order], train.labels[order], classes=CLASSES)
        except ValueError as error:
            # scikit-learn stops on floating-point overflow, which a too large step size causes.
            # Its own advice (scale the inputs) does not apply: they are already standardized.
            if "overflow" not in str(error):
                raise
            raise TrainingError(
                f"training diverged in epoch {epoch}: the weights overflowed with "
                f"learning_rate={hyperparameters.learning_rate}; use a smaller learning_rate"
            ) from None
        train_logloss, _ = evaluate(classifier, train.features, train.labels)
        validation_logloss, validation_accuracy = evaluate(
            classifier, validation.features, validation.labels
        )
        result = EpochResult(epoch, train_logloss, validation_logloss, validation_accuracy)
        results.append(result)
        if on_epoch_end is not None:
            on_epoch_end(result, classifier)
    return results


# --------------------------------------------------------------------------------------------
# Checkpoints


def checkpoint_path(checkpoint_dir: Path, epoch: int) -> Path:
    return checkpoint_dir / f"checkpoint-epoch-{epoch:04d}.joblib"


def list_checkpoints(checkpoint_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every checkpoint file, newest epoch first."""
    if not checkpoint_dir.is_dir():
        return []
    found = []
    for path in checkpoint_dir.iterdir():
        match = CHECKPOINT_NAME.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def _atomic_dump(value: Any, path: Path) -> None:
    # Written next to the target, then renamed: a reader (or SageMaker's sync to S3) sees the
    # old file or the complete new one, never half of one, even if the instance is reclaimed.
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            joblib.dump(value, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _checkpoint_settings(hyperparameters: Hyperparameters, feature_count: int) -> dict[str, Any]:
    # What a checkpoint must share with this run to be resumed; epochs may differ (that is how
    # a finished job is extended), the rest would make the resumed model a different model.
    return {
        "learning_rate": hyperparameters.learning_rate,
        "alpha": hyperparameters.alpha,
        "seed": hyperparameters.seed,
        "feature_count": feature_count,
    }


def save_checkpoint(
    checkpoint_dir: Path,
    epoch: int,
    classifier: SGDClassifier,
    scaler: StandardScaler,
    hyperparameters: Hyperparameters,
) -> Path:
    """Write the checkpoint for ``epoch`` atomically, then keep only it and the one before.

    Every other checkpoint file goes, including newer-numbered ones left by a run this one did
    not resume (a corrupt file, other settings): they would otherwise shadow this run's.
    """
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(checkpoint_dir, epoch)
    # Plain types and scikit-learn objects only: no class of this module, which is __main__ in
    # a job and something else when imported, so either can read what the other wrote.
    state = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "epoch": epoch,
        "settings": _checkpoint_settings(hyperparameters, int(scaler.n_features_in_)),
        "classifier": classifier,
        "scaler": scaler,
    }
    _atomic_dump(state, path)
    kept = {checkpoint_path(checkpoint_dir, epoch - age) for age in range(CHECKPOINTS_KEPT)}
    for _epoch, old in list_checkpoints(checkpoint_dir):
        if old not in kept:
            old.unlink(missing_ok=True)
    for leftover in checkpoint_dir.glob(CHECKPOINT_TEMP_FILES):
        leftover.unlink(missing_ok=True)
    return path


def load_checkpoint(
    path: Path, epoch: int, hyperparameters: Hyperparameters, feature_count: int
) -> tuple[SGDClassifier, StandardScaler]:
    """The classifier and scaler in one checkpoint; ValueError saying why it cannot be used."""
    # joblib files are pickles: this reads only the job's own checkpoint directory, which
    # SageMaker fills from the job's own CheckpointConfig S3 prefix.
    try:
        state = joblib.load(path)
    except Exception as error:  # a truncated or foreign file fails in many different ways
        raise ValueError(f"unreadable ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise ValueError("not a checkpoint of this training script")
    if state.get("epoch") != epoch:
        raise ValueError(f"it holds epoch {state.get('epoch')!r}, its name says {epoch}")
    classifier, scaler = state.get("classifier"), state.get("scaler")
    if not isinstance(classifier, SGDClassifier) or not hasattr(classifier, "coef_"):
        raise ValueError("it holds no trained SGDClassifier")
    if not isinstance(scaler, StandardScaler) or not hasattr(scaler, "mean_"):
        raise ValueError("it holds no fitted StandardScaler")
    expected = _checkpoint_settings(hyperparameters, feature_count)
    if state.get("settings") != expected:
        raise ValueError(f"written with {state.get('settings')!r}, this run has {expected!r}")
    return classifier, scaler


def load_latest_checkpoint(
    checkpoint_dir: Path, hyperparameters: Hyperparameters, feature_count: int
) -> tuple[int, SGDClassifier, StandardScaler] | None:
    """(epoch, classifier, scaler) of the newest usable checkpoint, or None to start fresh.

    A checkpoint that cannot be used is logged and skipped, so a corrupt latest one falls back
    to the one before it (that is why two are kept) rather than failing the job.
    """
    for epoch, path in list_checkpoints(checkpoint_dir):
        if epoch > hyperparameters.epochs:
            LOG.warning(
                "ignoring checkpoint %s: epoch %d is past epochs=%d",
                path.name,
                epoch,
                hyperparameters.epochs,
            )
            continue
        try:
            classifier, scaler = load_checkpoint(path, epoch, hyperparameters, feature_count)
        except ValueError as reason:
            LOG.warning("ignoring checkpoint %s: %s", path.name, reason)
            continue
        return epoch, classifier, scaler
    return None


# --------------------------------------------------------------------------------------------
# The job


def write_failure(path: Path, reason: str) -> None:
    """SageMaker reports this file's content as the job's FailureReason."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(reason[:FAILURE_REASON_MAX_CHARS], encoding="utf-8")
    except OSError as error:
        # Outside SageMaker /opt/ml may not be writable; the reason is on stderr regardless.
        LOG.warning("could not write the failure reason to %s: %s", path, error)


def load_channels(paths: Paths, hyperparameters: Hyperparameters) -> tuple[Dataset, Dataset]:
    """The training and validation rows: the validation channel, else a seeded holdout."""
    train = load_dataset(paths.train, "train")
    column_count = train.feature_count + 1
    if paths.validation is not None:
        validation = load_dataset(paths.validation, "validation", column_count)
        validation_source = f"validation channel ({validation.row_count} rows)"
    else:
        train, validation = split_holdout(train, hyperparameters.seed)
        validation_source = (
            f"{validation.row_count} training rows held out ({HOLDOUT_FRACTION:.0%}, seeded)"
        )
    if np.unique(train.labels).size < 2:
        raise DataError(
            f"the training data has only label {int(train.labels[0])}; both 0 and 1 are needed"
        )
    LOG.info(
        "training rows: %d, features: %d, validation: %s",
        train.row_count,
        train.feature_count,
        validation_source,
    )
    return train, validation


def start_or_resume(
    paths: Paths, hyperparameters: Hyperparameters, train: Dataset
) -> tuple[int, SGDClassifier, StandardScaler]:
    """The first epoch to train, the classifier and the scaler: new, or the latest checkpoint's."""
    resumed = load_latest_checkpoint(paths.checkpoints, hyperparameters, train.feature_count)
    if resumed is None:
        # Scaling statistics come from the training rows only, so validation stays unseen.
        return 0, new_classifier(hyperparameters), StandardScaler().fit(train.features)
    LOG.info("resuming from epoch %d", resumed[0])
    return resumed


def write_model(
    paths: Paths,
    model: Pipeline,
    final: EpochResult,
    validation_rows: int,
    hyperparameters: Hyperparameters,
) -> None:
    """The model, its metrics and this script (the endpoint's entry point) under paths.model."""
    paths.model.mkdir(parents=True, exist_ok=True)
    _atomic_dump(model, paths.model / MODEL_FILE)
    metrics = {
        "epochs": final.epoch,
        "train_logloss": final.train_logloss,
        "validation_logloss": final.validation_logloss,
        "validation_accuracy": final.validation_accuracy,
        "validation_rows": validation_rows,
        "hyperparameters": asdict(hyperparameters),
    }
    (paths.model / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    # A network-isolated endpoint cannot fetch its entry point, so the artifact carries it:
    # the serving container runs model_fn from code/ (SAGEMAKER_SUBMIT_DIRECTORY).
    code_dir = paths.model / CODE_DIR
    code_dir.mkdir(exist_ok=True)
    shutil.copyfile(Path(__file__), code_dir / Path(__file__).name)
    LOG.info(
        "model written to %s: validation logloss %.5f, accuracy %.4f",
        paths.model / MODEL_FILE,
        final.validation_logloss,
        final.validation_accuracy,
    )


def run(paths: Paths, hyperparameters: Hyperparameters) -> EpochResult:
    """Load the data, train (resuming from a checkpoint), write the model; the final metrics."""
    train, validation = load_channels(paths, hyperparameters)
    start_epoch, classifier, scaler = start_or_resume(paths, hyperparameters, train)
    train_scaled = Dataset(scaler.transform(train.features), train.labels)
    validation_scaled = Dataset(scaler.transform(validation.features), validation.labels)

    def after_epoch(result: EpochResult, trained: SGDClassifier) -> None:
        print(result.metric_line(), flush=True)
        saved = save_checkpoint(paths.checkpoints, result.epoch, trained, scaler, hyperparameters)
        LOG.info("checkpoint %s written", saved)

    if start_epoch >= hyperparameters.epochs:
        LOG.info("nothing left to train: the checkpoint is at epoch %d", start_epoch)
    train_epochs(
        classifier, train_scaled, validation_scaled, hyperparameters, start_epoch, after_epoch
    )

    train_logloss, _ = evaluate(classifier, train_scaled.features, train_scaled.labels)
    validation_logloss, validation_accuracy = evaluate(
        classifier, validation_scaled.features, validation_scaled.labels
    )
    final = EpochResult(
        hyperparameters.epochs, train_logloss, validation_logloss, validation_accuracy
    )
    # One object that takes raw feature rows: the scaler is part of the model.
    model = Pipeline([("scale", scaler), ("classify", classifier)])
    write_model(paths, model, final, validation.row_count, hyperparameters)
    return final


def model_fn(model_dir: str) -> Pipeline:
    """Loads the model when the scikit-learn serving container hosts this entry point."""
    return joblib.load(Path(model_dir) / MODEL_FILE)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    paths = Paths.from_env(os.environ)
    try:
        hyperparameters = parse_hyperparameters(
            read_hyperparameters_file(paths.hyperparameters),
            sys.argv[1:] if argv is None else argv,
        )
        LOG.info("hyperparameters: %s", json.dumps(asdict(hyperparameters), sort_keys=True))
        run(paths, hyperparameters)
    except TrainingError as error:
        reason = str(error)
        print(f"ERROR: {reason}", file=sys.stderr, flush=True)
        write_failure(paths.failure, reason)
        return 1
    except Exception as error:
        # Anything else is a bug, but the job should still say why it failed.
        traceback.print_exc()
        write_failure(paths.failure, f"unexpected error: {type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
