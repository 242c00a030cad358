"""The image's entry point (``SAGEMAKER_PROGRAM``) run as SageMaker would run it, but
locally: from the build context the stack ships, against a temporary tree laid out like
``/opt/ml``, in File mode (channel directories) and in Pipe mode (named pipes a writer
streams into, as SageMaker does). FastFile looks to the script exactly like File mode: a
directory of files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import joblib
import pytest

from ml_refarch.stacks.custom_training_container.image import write_build_context
from tests.load import load_by_path
from tests.support import ROOT

JOB_TIMEOUT_SECONDS = 120
FEATURES = 4
make_data = load_by_path(
    "ml_refarch_scripts_make_training_data_entry", ROOT / "scripts" / "make_training_data.py"
)


def csv_text(rows: int, seed: int) -> str:
    features, labels = make_data.make_dataset(rows, FEATURES, seed)
    return "".join(
        ",".join([str(int(label)), *(repr(float(v)) for v in row)]) + "\n"
        for row, label in zip(features, labels, strict=True)
    )


TRAIN_CSV = csv_text(200, seed=1)
VALIDATION_CSV = csv_text(50, seed=2)


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    return write_build_context(tmp_path_factory.mktemp("image") / "context")


class OptMl:
    """A tree laid out like /opt/ml, with the variables the training toolkit sets."""

    def __init__(self, root: Path, mode: str):
        self.root = root
        self.data = root / "input" / "data"
        self.config = root / "input" / "config"
        self.model = root / "model"
        for directory in (self.data, self.config, self.model):
            directory.mkdir(parents=True)
        channels = {
            name: {"TrainingInputMode": mode, "ContentType": "text/csv"}
            for name in ("train", "validation")
        }
        (self.config / "inputdataconfig.json").write_text(json.dumps(channels))
        (self.config / "hyperparameters.json").write_text(json.dumps({"epochs": "3"}))

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("SM_")}
        return {
            **env,
            "SM_INPUT_DATA_DIR": str(self.data),
            "SM_INPUT_CONFIG_DIR": str(self.config),
            # The toolkit names a directory per channel whatever the mode.
            "SM_CHANNEL_TRAIN": str(self.data / "train"),
            "SM_CHANNEL_VALIDATION": str(self.data / "validation"),
            "SM_MODEL_DIR": str(self.model),
            "SM_CHECKPOINT_DIR": str(self.root / "checkpoints"),
            "SM_OUTPUT_FAILURE": str(self.root / "output" / "failure"),
        }

    def start(self, context: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(context / "entry.py")],
            env=self.env(),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def metrics(self) -> dict:
        return json.loads((self.model / "metrics.json").read_text())


def run_file_mode(context: Path, root: Path) -> OptMl:
    tree = OptMl(root, "File")
    for name, text in (("train", TRAIN_CSV), ("validation", VALIDATION_CSV)):
        (tree.data / name).mkdir()
        (tree.data / name / "part-0.csv").write_text(text)
    process = tree.start(context)
    _, stderr = process.communicate(timeout=JOB_TIMEOUT_SECONDS)
    assert process.returncode == 0, stderr
    return tree


def stream_into(pipe: Path, text: str) -> threading.Thread:
    def write() -> None:
        with pipe.open("w") as handle:  # blocks until the job opens the pipe to read
            handle.write(text)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def release(pipe: Path, thread: threading.Thread) -> None:
    """Unblock a writer whose reader never came (a failed job), so the test ends."""
    if thread.is_alive():
        descriptor = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
        thread.join()
        os.close(descriptor)


def test_file_mode_trains_from_the_channel_directories(context, tmp_path):
    tree = run_file_mode(context, tmp_path)
    metrics = tree.metrics()
    assert metrics["epochs"] == 3 and metrics["validation_rows"] == 50
    assert (tree.model / "model.joblib").is_file()


def test_pipe_mode_streams_each_channel_and_trains_the_same_model(context, tmp_path):
    file_mode = run_file_mode(context, tmp_path / "file")
    tree = OptMl(tmp_path / "pipe", "Pipe")
    pipes = {name: tree.data / f"{name}_0" for name in ("train", "validation")}
    for pipe in pipes.values():
        os.mkfifo(pipe)
    writers = {
        "train": stream_into(pipes["train"], TRAIN_CSV),
        "validation": stream_into(pipes["validation"], VALIDATION_CSV),
    }
    process = tree.start(context)
    try:
        _, stderr = process.communicate(timeout=JOB_TIMEOUT_SECONDS)
    finally:
        for name, writer in writers.items():
            release(pipes[name], writer)
    assert process.returncode == 0, stderr
    # Nothing was copied: no channel directory was made next to the pipes.
    assert sorted(p.name for p in tree.data.iterdir()) == ["train_0", "validation_0"]
    streamed, copied = tree.metrics(), file_mode.metrics()
    assert streamed["validation_rows"] == copied["validation_rows"] == 50
    assert streamed["validation_logloss"] == pytest.approx(copied["validation_logloss"], rel=1e-9)
    model = joblib.load(tree.model / "model.joblib")
    assert model.predict(model.named_steps["scale"].mean_.reshape(1, -1)).shape == (1,)


def test_a_missing_pipe_fails_the_job_with_a_reason(context, tmp_path):
    tree = OptMl(tmp_path, "Pipe")
    process = tree.start(context)
    _, stderr = process.communicate(timeout=JOB_TIMEOUT_SECONDS)
    assert process.returncode == 1
    failure = (tree.root / "output" / "failure").read_text()
    assert failure.startswith("the train channel is in Pipe mode but SageMaker's pipe")
    assert str(tree.data / "train_0") in failure and failure in stderr


entry = load_by_path(
    "ml_refarch_custom_container_entry",
    ROOT / "ml_refarch" / "stacks" / "custom_training_container" / "container" / "entry.py",
)


def test_the_toolkits_variable_wins_over_the_config_file(tmp_path):
    (tmp_path / "inputdataconfig.json").write_text(json.dumps({"a": {"TrainingInputMode": "Pipe"}}))
    from_file = entry.input_data_config({"SM_INPUT_CONFIG_DIR": str(tmp_path)})
    assert entry.pipe_channels(from_file) == ["a"]
    variable = json.dumps({"b": {"TrainingInputMode": "Pipe"}, "c": {"TrainingInputMode": "File"}})
    from_env = entry.input_data_config(
        {"SM_INPUT_DATA_CONFIG": variable, "SM_INPUT_CONFIG_DIR": str(tmp_path)}
    )
    assert entry.pipe_channels(from_env) == ["b"]
    assert entry.input_data_config({"SM_INPUT_CONFIG_DIR": str(tmp_path / "none")}) == {}


def test_only_pipe_channels_are_exposed_and_others_keep_their_directory(tmp_path):
    env = {
        "SM_INPUT_DATA_CONFIG": json.dumps(
            {"train": {"TrainingInputMode": "Pipe"}, "extra": {"TrainingInputMode": "FastFile"}}
        ),
        "SM_INPUT_DATA_DIR": str(tmp_path / "data"),
        "SM_CHANNEL_EXTRA": "/opt/ml/input/data/extra",
    }
    exposed = entry.expose_pipes(env, tmp_path / "scratch")
    link = tmp_path / "scratch" / "train" / "stream.csv"
    assert exposed == {tmp_path / "scratch" / "train": link}
    assert os.readlink(link) == str(tmp_path / "data" / "train_0")
    assert env["SM_CHANNEL_TRAIN"] == str(tmp_path / "scratch" / "train")
    assert env["SM_CHANNEL_EXTRA"] == "/opt/ml/input/data/extra"
    find = entry.reading_pipes(lambda d: ["found in " + str(d)], exposed, ValueError)
    assert find(Path("/elsewhere")) == ["found in /elsewhere"]
    with pytest.raises(ValueError, match="train channel is in Pipe mode"):
        find(tmp_path / "scratch" / "train")
