"""The tiny model's training script and its data generator, run as SageMaker would but locally.

``train.py`` runs as a subprocess (``python train.py --name value``) with the SageMaker
environment variables pointing into temporary directories laid out like ``/opt/ml``, and its
functions are exercised in-process (loaded by file path: ``ml_refarch/assets`` is data, not a
package). Study notes: "Sagemaker" (spot training checkpoints), "Data input" (File mode, FSx for
Lustre channels), "Automatic model tuning" (metric lines).

The subprocess jobs are started together once per module, because each one pays for importing
scikit-learn.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.load import load_by_path
from tests.support import ROOT

TRAIN_PY = ROOT / "ml_refarch" / "assets" / "training" / "train.py"
MAKE_DATA_PY = ROOT / "scripts" / "make_training_data.py"
# What a tuning job's metric definition would use, and the whole line's shape.
TUNING_REGEX = re.compile(r"validation:logloss=([0-9\.]+)")
METRIC_LINE = re.compile(
    r"^epoch=(\d+) train:logloss=\d+\.\d{5} validation:logloss=\d+\.\d{5} "
    r"validation:accuracy=\d\.\d{4}$"
)
JOB_TIMEOUT_SECONDS = 60
FEATURES = 6


train = load_by_path("ml_refarch_training_train", TRAIN_PY)
make_data = load_by_path("ml_refarch_scripts_make_training_data", MAKE_DATA_PY)


@dataclass
class Job:
    """A SageMaker-like directory layout under ``root`` for one training job."""

    root: Path
    train_dir: Path
    validation_dir: Path | None
    checkpoint_dir: Path = field(init=False)
    model_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.checkpoint_dir = self.root / "checkpoints"
        self.model_dir = self.root / "model"
        (self.root / "config").mkdir(parents=True, exist_ok=True)

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"

    def env(self) -> dict[str, str]:
        env = {
            "SM_CHANNEL_TRAIN": str(self.train_dir),
            "SM_INPUT_CONFIG_DIR": str(self.root / "config"),
            "SM_CHECKPOINT_DIR": str(self.checkpoint_dir),
            "SM_MODEL_DIR": str(self.model_dir),
            "SM_OUTPUT_FAILURE": str(self.failure_file),
        }
        if self.validation_dir is not None:
            env["SM_CHANNEL_VALIDATION"] = str(self.validation_dir)
        return env

    def write_hyperparameters(self, values: dict[str, object]) -> None:
        (self.root / "config" / "hyperparameters.json").write_text(json.dumps(values))

    def start(self, *argv: str) -> subprocess.Popen[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("SM_")}
        return subprocess.Popen(
            [sys.executable, str(TRAIN_PY), *argv],
            env={**env, **self.env()},
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def model(self):
        return joblib.load(self.model_dir / train.MODEL_FILE)

    def metrics(self) -> dict:
        return json.loads((self.model_dir / train.METRICS_FILE).read_text())


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str

    @property
    def epochs(self) -> list[int]:
        return [int(m.group(1)) for m in map(METRIC_LINE.match, self.stdout.splitlines()) if m]


def finish(process: subprocess.Popen[str]) -> Finished:
    stdout, stderr = process.communicate(timeout=JOB_TIMEOUT_SECONDS)
    return Finished(process.returncode, stdout, stderr)


def tree_snapshot(directory: Path) -> dict[str, tuple[int, int, int]]:
    """Mode, size and modification time of everything under ``directory``, itself included.

    A directory's modification time changes when an entry is created or removed in it, so even
    a temporary file that was cleaned up shows.
    """
    snapshot = {}
    for path in [directory, *directory.rglob("*")]:
        status = path.stat()
        snapshot[path.relative_to(directory).as_posix()] = (
            status.st_mode,
            status.st_size,
            status.st_mtime_ns,
        )
    return snapshot


def set_read_only(directory: Path, read_only: bool) -> None:
    for path in [directory, *directory.rglob("*")]:
        mode = path.stat().st_mode
        if read_only:
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        else:
            path.chmod(mode | stat.S_IWUSR)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dataset")
    make_data.write_dataset(out, rows=1000, features=FEATURES, seed=7, files=4)
    return out


@pytest.fixture(scope="module")
def fsx_like_train(dataset, tmp_path_factory):
    """The train parts in nested directories, plus a hidden copy that is not valid data.

    Read-only, like an FSx for Lustre channel. As root the permissions do not stop a write, so
    the tests compare snapshots of the tree as well.
    """
    train_dir = tmp_path_factory.mktemp("fsx") / "data" / "train"
    for number, part in enumerate(sorted((dataset / "train").glob("*.csv"))):
        target = train_dir / f"year={2024 + number // 2}" / part.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(part, target)
    hidden = train_dir / ".ipynb_checkpoints" / "part-0000-checkpoint.csv"
    hidden.parent.mkdir()
    hidden.write_text("label,f1\nnot,data\n")
    set_read_only(train_dir, True)
    snapshot = tree_snapshot(train_dir)
    yield train_dir, snapshot
    set_read_only(train_dir, False)


@pytest.fixture(scope="module")
def jobs(dataset, fsx_like_train, tmp_path_factory) -> dict[str, tuple[Job, Finished]]:
    """Subprocess jobs, started together.

    - full: 6 epochs in one go; hyperparameters.json says epochs 2 and learning_rate 0.5, the
      command line 6 and 0.01 (and wins), on the read-only nested train channel;
    - first/resumed: the same training interrupted after epoch 3 (hyperparameters.json only),
      then run again with epochs 6 on the same checkpoint directory;
    - bad: a label of 2 in the data.
    """
    train_dir, _snapshot = fsx_like_train
    root = tmp_path_factory.mktemp("jobs")
    full = Job(root / "full", train_dir, dataset / "validation")
    full.write_hyperparameters(
        {
            "epochs": "2",
            "learning_rate": "0.5",
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": "s3://bucket/source.tar.gz",
            "_tuning_objective_metric": "validation:logloss",
        }
    )
    interrupted = Job(root / "interrupted", dataset / "train", dataset / "validation")
    interrupted.write_hyperparameters({"epochs": "3"})
    bad_train = root / "bad-data" / "train"
    bad_train.mkdir(parents=True)
    (bad_train / "part-0000.csv").write_text("0,1.5,2\n2,0.5,1\n")
    bad = Job(root / "bad", bad_train, None)

    running = {
        "full": full.start("--epochs", "6", "--learning_rate", "0.01"),
        "first": interrupted.start(),
        "bad": bad.start(),
    }
    results = {name: finish(process) for name, process in running.items()}
    # Each SageMaker job has a model directory of its own; the checkpoint directory is shared.
    first = Job(interrupted.root, interrupted.train_dir, interrupted.validation_dir)
    first.model_dir = shutil.copytree(interrupted.model_dir, root / "first-model")
    interrupted.write_hyperparameters({"epochs": "6"})
    results["resumed"] = finish(interrupted.start())
    job_of = {"full": full, "first": first, "resumed": interrupted, "bad": bad}
    return {name: (job_of[name], result) for name, result in results.items()}


def read_validation(dataset: Path) -> tuple[np.ndarray, np.ndarray]:
    matrix = np.loadtxt(dataset / "validation" / "part-0000.csv", delimiter=",", ndmin=2)
    return matrix[:, 1:], matrix[:, 0].astype(int)


# --------------------------------------------------------------------------------------------
# The data generator


def test_generator_is_deterministic_and_lays_out_the_channels(tmp_path, capsys):
    assert make_data.main(["--out", str(tmp_path / "a"), "--rows", "200", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and "train/part-0003.csv (40 rows" in printed
    make_data.write_dataset(tmp_path / "b", rows=200, seed=3)
    make_data.write_dataset(tmp_path / "c", rows=200, seed=4)
    names = [f"train/part-{n:04d}.csv" for n in range(4)] + ["validation/part-0000.csv"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / names[0]).read_bytes() != (tmp_path / "c" / names[0]).read_bytes()
    assert (
        sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*.csv"))
        == names
    )
    rows = [len((tmp_path / "a" / name).read_text().splitlines()) for name in names]
    assert rows == [40, 40, 40, 40, 40]


def test_generator_refuses_to_mix_with_earlier_parts(tmp_path, capsys):
    make_data.write_dataset(tmp_path, rows=100, files=4)
    assert make_data.main(["--out", str(tmp_path), "--rows", "100", "--files", "2"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    make_data.write_dataset(tmp_path, rows=100, files=2, overwrite=True)
    assert len(list((tmp_path / "train").glob("*.csv"))) == 2


# --------------------------------------------------------------------------------------------
# Subprocess jobs


def test_full_job_trains_a_model_that_predicts_the_validation_data(jobs, dataset):
    job, result = jobs["full"]
    assert result.returncode == 0, result.stderr
    features, labels = read_validation(dataset)
    model = job.model()
    accuracy = float(np.mean(model.predict(features) == labels))
    assert accuracy > 0.8
    # The serving container's hook loads the same model.
    served = train.model_fn(str(job.model_dir))
    np.testing.assert_array_equal(served.predict(features), model.predict(features))
    # The artifact carries its entry point for a network-isolated endpoint.
    assert (job.model_dir / "code" / "train.py").read_bytes() == TRAIN_PY.read_bytes()
    metrics = job.metrics()
    assert metrics["validation_accuracy"] == pytest.approx(accuracy)
    assert metrics["hyperparameters"] == {
        "learning_rate": 0.01,
        "epochs": 6,
        "alpha": 0.0001,
        "seed": 0,
    }
    assert not job.failure_file.exists()


def test_metric_lines_are_what_a_tuning_job_parses(jobs):
    _job, result = jobs["full"]
    lines = [line for line in result.stdout.splitlines() if line.startswith("epoch=")]
    assert [METRIC_LINE.match(line) is not None for line in lines] == [True] * 6
    assert result.epochs == [1, 2, 3, 4, 5, 6]
    captured = [float(TUNING_REGEX.search(line).group(1)) for line in lines]
    assert all(0 < value < 1 for value in captured)
    assert captured[-1] < captured[0], "the validation loss should fall while training"


def test_command_line_beats_hyperparameters_json(jobs):
    _job, result = jobs["full"]
    # The file said epochs 2 and learning_rate 0.5; platform keys in it are ignored.
    assert '"epochs": 6' in result.stderr and '"learning_rate": 0.01' in result.stderr


def test_only_the_latest_two_checkpoints_are_kept(jobs):
    for name, kept in (("full", [6, 5]), ("resumed", [6, 5])):
        job, _result = jobs[name]
        assert [epoch for epoch, _ in train.list_checkpoints(job.checkpoint_dir)] == kept
        assert sorted(p.name for p in job.checkpoint_dir.iterdir()) == [
            f"checkpoint-epoch-000{epoch}.joblib" for epoch in sorted(kept)
        ]


def test_the_train_channel_is_never_written(jobs, fsx_like_train):
    train_dir, before = fsx_like_train
    _job, result = jobs["full"]
    assert result.returncode == 0
    assert tree_snapshot(train_dir) == before
    # The nested parts were read (1000 rows, 800 in train) and the hidden copy was not.
    assert "training rows: 800, features: 6" in result.stderr


def test_an_interrupted_job_resumes_after_its_last_checkpoint(jobs):
    _job, first = jobs["first"]
    assert first.returncode == 0, first.stderr
    assert first.epochs == [1, 2, 3]
    job, resumed = jobs["resumed"]
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from epoch 3" in resumed.stderr
    assert resumed.epochs == [4, 5, 6]

    # The row order depends only on (seed, epoch), so 3 + 3 epochs equal 6 in one go.
    full_job, _full = jobs["full"]
    resumed_model, full_model = job.model(), full_job.model()
    for step in ("scale", "classify"):
        resumed_step, full_step = resumed_model.named_steps[step], full_model.named_steps[step]
        for attribute in ("mean_", "scale_") if step == "scale" else ("coef_", "intercept_"):
            np.testing.assert_array_equal(
                getattr(resumed_step, attribute), getattr(full_step, attribute)
            )
    assert job.metrics()["validation_logloss"] == full_job.metrics()["validation_logloss"]


def test_bad_data_fails_the_job_with_a_reason(jobs):
    job, result = jobs["bad"]
    assert result.returncode == 1
    reason = job.failure_file.read_text()
    assert reason == "labels must be 0 or 1: train/part-0000.csv line 2 has label '2' in column 1"
    assert f"ERROR: {reason}" in result.stderr
    assert not (job.model_dir / train.MODEL_FILE).exists()


# --------------------------------------------------------------------------------------------
# In-process runs of main()


@pytest.fixture
def run_main(monkeypatch, caplog, capsys):
    """Run ``train.main`` with a job's environment; (exit code, stdout, log and stderr)."""
    caplog.set_level(logging.INFO, logger="train")

    def run(job: Job, *argv: str) -> tuple[int, str, str]:
        for key in [key for key in os.environ if key.startswith("SM_")]:
            monkeypatch.delenv(key)
        for key, value in job.env().items():
            monkeypatch.setenv(key, value)
        caplog.clear()
        code = train.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, caplog.text + captured.err

    return run


def epochs_in(stdout: str) -> list[int]:
    return Finished(0, stdout, "").epochs


def classifier_of(job: Job):
    return job.model().named_steps["classify"]


def test_a_corrupt_latest_checkpoint_falls_back_to_the_one_before(
    run_main, dataset, tmp_path, jobs
):
    job = Job(tmp_path, dataset / "train", dataset / "validation")
    assert run_main(job, "--epochs", "2")[0] == 0
    train.checkpoint_path(job.checkpoint_dir, 2).write_bytes(b"\x80\x04 truncated by a reclaim")

    code, stdout, log = run_main(job, "--epochs", "3")
    assert code == 0, log
    assert "ignoring checkpoint checkpoint-epoch-0002.joblib: unreadable" in log
    assert "resuming from epoch 1" in log
    assert epochs_in(stdout) == [2, 3]
    reference, _ = jobs["first"]  # the same data and seed, 3 epochs without interruption
    np.testing.assert_array_equal(classifier_of(job).coef_, classifier_of(reference).coef_)


def test_only_corrupt_checkpoints_mean_a_fresh_start(run_main, dataset, tmp_path, jobs):
    job = Job(tmp_path, dataset / "train", dataset / "validation")
    job.checkpoint_dir.mkdir()
    train.checkpoint_path(job.checkpoint_dir, 2).write_text("not a checkpoint")
    joblib.dump({"something": "else"}, train.checkpoint_path(job.checkpoint_dir, 1))
    (job.checkpoint_dir / ".checkpoint-epoch-0003.joblib.abc.tmp").write_text("half written")

    code, stdout, log = run_main(job, "--epochs", "3")
    assert code == 0, log
    assert "ignoring checkpoint checkpoint-epoch-0002.joblib" in log
    assert "ignoring checkpoint checkpoint-epoch-0001.joblib: not a checkpoint" in log
    assert "resuming" not in log
    assert epochs_in(stdout) == [1, 2, 3]
    assert sorted(p.name for p in job.checkpoint_dir.iterdir()) == [
        "checkpoint-epoch-0002.joblib",
        "checkpoint-epoch-0003.joblib",
    ]
    reference, _ = jobs["first"]
    np.testing.assert_array_equal(classifier_of(job).coef_, classifier_of(reference).coef_)


def test_a_checkpoint_with_other_settings_is_not_resumed(run_main, dataset, tmp_path):
    job = Job(tmp_path, dataset / "train", dataset / "validation")
    assert run_main(job, "--epochs", "2", "--alpha", "0.01")[0] == 0
    code, stdout, log = run_main(job, "--epochs", "2")
    assert code == 0
    assert "'alpha': 0.01" in log and "resuming" not in log
    assert epochs_in(stdout) == [1, 2]


def test_a_finished_job_run_again_trains_nothing(run_main, dataset, tmp_path):
    job = Job(tmp_path, dataset / "train", dataset / "validation")
    assert run_main(job, "--epochs", "2")[0] == 0
    before = classifier_of(job).coef_
    code, stdout, log = run_main(job, "--epochs", "2")
    assert code == 0
    assert "resuming from epoch 2" in log and "nothing left to train" in log
    assert epochs_in(stdout) == []
    np.testing.assert_array_equal(classifier_of(job).coef_, before)


def test_checkpoints_are_written_after_every_epoch(dataset, tmp_path):
    data = train.load_dataset(dataset / "train", "train")
    scaler = train.StandardScaler().fit(data.features)
    scaled = train.Dataset(scaler.transform(data.features), data.labels)
    hyperparameters = train.Hyperparameters(epochs=4)
    seen = []

    def on_epoch_end(result, classifier):
        train.save_checkpoint(tmp_path, result.epoch, classifier, scaler, hyperparameters)
        seen.append([epoch for epoch, _ in train.list_checkpoints(tmp_path)])

    results = train.train_epochs(
        train.new_classifier(hyperparameters), scaled, scaled, hyperparameters, 0, on_epoch_end
    )
    assert [result.epoch for result in results] == [1, 2, 3, 4]
    assert seen == [[1], [2, 1], [3, 2], [4, 3]]
    epoch, classifier, _scaler = train.load_latest_checkpoint(tmp_path, hyperparameters, FEATURES)
    assert epoch == 4 and classifier.coef_.shape == (1, FEATURES)
    assert list(tmp_path.glob(".*")) == [], "no temporary files are left behind"


def test_without_a_validation_channel_a_seeded_fifth_is_held_out(run_main, dataset, tmp_path):
    job = Job(tmp_path, dataset / "train", None)
    code, stdout, log = run_main(job, "--epochs", "2")
    assert code == 0, log
    assert "160 training rows held out (20%, seeded)" in log
    assert job.metrics()["validation_rows"] == 160
    assert epochs_in(stdout) == [1, 2]

    data = train.Dataset(np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5))
    kept, held_out = train.split_holdout(data, seed=5)
    again_kept, again_held_out = train.split_holdout(data, seed=5)
    np.testing.assert_array_equal(held_out.features, again_held_out.features)
    np.testing.assert_array_equal(kept.features, again_kept.features)
    assert (kept.row_count, held_out.row_count) == (8, 2)
    rows = sorted(map(tuple, np.vstack([kept.features, held_out.features]).tolist()))
    assert rows == sorted(map(tuple, data.features.tolist()))


BAD_DATA = {
    "no CSV files": (
        {"README.txt": "0,1\n", "sub/part.csv.gz": ""},
        "no CSV files found under the train channel directory",
    ),
    "non-numeric value": (
        {"part.csv": "0,1.5,2\n1,0.5,abc\n"},
        "non-numeric value 'abc' in train/part.csv line 2 column 3",
    ),
    "non-finite value": (
        {"part.csv": "0,nan,2\n"},
        "non-finite value 'nan' in train/part.csv line 1 column 2",
    ),
    "label other than 0/1": (
        {"part.csv": "0,1,2\n0.5,1,2\n"},
        "labels must be 0 or 1: train/part.csv line 2 has label '0.5'",
    ),
    "column count within a file": (
        {"part.csv": "0,1,2\n1,1,2,3\n"},
        "inconsistent column counts: train/part.csv line 2 has 4 columns, expected 3",
    ),
    "column count across files": (
        {"a/part.csv": "0,1,2\n1,1,2\n", "b/part.csv": "0,1\n"},
        "inconsistent column counts: train/b/part.csv line 1 has 2 columns, expected 3",
    ),
    "label without features": (
        {"part.csv": "1\n"},
        "a row needs a label and at least one feature",
    ),
    "only empty files": (
        {"part-0.csv": "", "part-1.csv": "\n\n"},
        "the CSV files under the train channel directory have no rows",
    ),
    "one class only": (
        {"part.csv": "1,0.5\n1,0.7\n1,0.1\n"},
        "the training data has only label 1; both 0 and 1 are needed",
    ),
    "not text": (
        {"part.csv": b"\xff\xfe\x00\x01"},
        "train/part.csv is not UTF-8 text",
    ),
}


@pytest.mark.parametrize("files, reason", BAD_DATA.values(), ids=BAD_DATA.keys())
def test_bad_training_data_is_rejected_with_a_reason(run_main, tmp_path, files, reason):
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    for name, content in files.items():
        (train_dir / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (train_dir / name).write_bytes(content)
        else:
            (train_dir / name).write_text(content)
    job = Job(tmp_path / "job", train_dir, None)
    code, _stdout, log = run_main(job, "--epochs", "1")
    assert code == 1
    assert reason in job.failure_file.read_text()
    assert f"ERROR: {job.failure_file.read_text()}" in log


def test_bad_validation_data_and_missing_channels_are_rejected(run_main, dataset, tmp_path):
    validation_dir = tmp_path / "validation"
    validation_dir.mkdir()
    (validation_dir / "part.csv").write_text("0,1,2\n")
    job = Job(tmp_path / "job", dataset / "train", validation_dir)
    assert run_main(job)[0] == 1
    assert job.failure_file.read_text() == (
        "inconsistent column counts: validation/part.csv line 1 has 3 columns, "
        f"expected {FEATURES + 1} (label plus features)"
    )
    job = Job(tmp_path / "job2", tmp_path / "missing", None)
    assert run_main(job)[0] == 1
    assert "train channel directory" in job.failure_file.read_text()
    assert "does not exist" in job.failure_file.read_text()


def test_a_diverging_learning_rate_fails_with_advice(run_main, dataset, tmp_path):
    job = Job(tmp_path, dataset / "train", dataset / "validation")
    assert run_main(job, "--learning_rate", "1e308", "--epochs", "2")[0] == 1
    assert "use a smaller learning_rate" in job.failure_file.read_text()


# --------------------------------------------------------------------------------------------
# Hyperparameters


def test_hyperparameters_from_json_strings_and_the_command_line():
    assert train.parse_hyperparameters({}) == train.Hyperparameters(0.01, 10, 0.0001, 0)
    from_file = {"learning_rate": "0.1", "epochs": "4", "alpha": "0", "seed": "9"}
    assert train.parse_hyperparameters(from_file) == train.Hyperparameters(0.1, 4, 0.0, 9)
    assert train.parse_hyperparameters(
        from_file, ["--epochs", "7", "--learning_rate=0.05"]
    ) == train.Hyperparameters(0.05, 7, 0.0, 9)
    # Numbers from a hand-written file, "10.0" for an integer, and platform keys ignored.
    assert train.parse_hyperparameters(
        {"epochs": 3, "alpha": 0.5, "seed": "2.0", "sagemaker_region": "eu-west-1"},
        ["--_tuning_objective_metric", "validation:logloss"],
    ) == train.Hyperparameters(0.01, 3, 0.5, 2)


@settings(max_examples=50, deadline=None)
@given(
    learning_rate=st.floats(min_value=1e-9, max_value=10.0),
    epochs=st.integers(min_value=1, max_value=10_000),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_any_valid_value_survives_the_string_round_trip(learning_rate, epochs, seed):
    parsed = train.parse_hyperparameters(
        {"learning_rate": str(learning_rate)}, ["--epochs", str(epochs), "--seed", str(seed)]
    )
    assert (parsed.learning_rate, parsed.epochs, parsed.seed) == (learning_rate, epochs, seed)


INVALID_HYPERPARAMETERS = {
    "learning_rate zero": ({"learning_rate": "0"}, [], "learning_rate must be > 0"),
    "learning_rate negative": ([], ["--learning_rate", "-1"], "learning_rate must be > 0"),
    "learning_rate text": ({"learning_rate": "fast"}, [], "learning_rate must be a number"),
    "learning_rate nan": ({"learning_rate": "nan"}, [], "learning_rate must be a finite"),
    "learning_rate bool": ({"learning_rate": True}, [], "learning_rate must be a number"),
    "epochs zero": ({"epochs": "0"}, [], "epochs must be >= 1"),
    "epochs fraction": ({}, ["--epochs", "2.5"], "epochs must be a whole number"),
    "epochs null": ({"epochs": None}, [], "epochs must be a number"),
    "alpha negative": ({"alpha": "-0.1"}, [], "alpha must be >= 0"),
    "seed negative": ({"seed": "-1"}, [], "seed must be between 0 and 4294967295"),
    "seed too large": ({"seed": str(2**32)}, [], "seed must be between 0 and 4294967295"),
    "unknown name": ({"learning-rate": "0.1"}, [], "unknown hyperparameter(s) learning-rate"),
    "no value": ({}, ["--epochs"], "hyperparameter --epochs has no value"),
    "positional": ({}, ["6"], "unexpected command-line argument '6'"),
}


@pytest.mark.parametrize(
    "file_values, argv, message", INVALID_HYPERPARAMETERS.values(), ids=INVALID_HYPERPARAMETERS
)
def test_invalid_hyperparameters_are_rejected(file_values, argv, message):
    with pytest.raises(train.HyperparameterError, match=re.escape(message)):
        train.parse_hyperparameters(dict(file_values), argv)


def test_invalid_hyperparameters_fail_the_job(run_main, dataset, tmp_path):
    job = Job(tmp_path, dataset / "train", None)
    job.write_hyperparameters({"learning_rate": "-0.5"})
    assert run_main(job)[0] == 1
    assert job.failure_file.read_text() == "learning_rate must be > 0, got -0.5"
    (tmp_path / "config" / "hyperparameters.json").write_text("{epochs: 3}")
    assert run_main(job)[0] == 1
    assert "hyperparameters.json is not valid JSON" in job.failure_file.read_text()
    assert not job.checkpoint_dir.exists(), "nothing is trained with invalid hyperparameters"


# --------------------------------------------------------------------------------------------
# The container's Python


def test_train_py_stays_within_the_containers_python_and_packages():
    """sagemaker-scikit-learn:1.2-1 has Python 3.9 and scikit-learn 1.2, numpy and joblib."""
    source = TRAIN_PY.read_text()
    tree = ast.parse(source, feature_version=(3, 9))
    assert "from __future__ import annotations" in source, "keeps X | None annotations lazy"
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party <= {"numpy", "joblib", "sklearn"}, third_party
    assert not any(isinstance(node, ast.Match) for node in ast.walk(tree))
