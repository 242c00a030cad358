"""Entry point of the custom training image: ``SAGEMAKER_PROGRAM`` names this file.

It runs the project's training script (``train.py``, copied beside it) in any of the three
input modes the stack's settings choose ("Setting up training jobs to access datasets",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-access-training-data.html):

- File: SageMaker copies each channel onto the ML storage volume, under
  ``/opt/ml/input/data/<channel>/``, before the script starts;
- FastFile: the same directory is a file system view of the S3 prefix whose objects are
  streamed on first read, so the script reads it unchanged;
- Pipe: nothing is copied; SageMaker streams the channel through a named pipe (FIFO),
  ``/opt/ml/input/data/<channel>_<epoch>``, readable once per epoch ("How Amazon SageMaker
  AI provides training information",
  https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html).

The channel modes come from ``inputdataconfig.json`` (``TrainingInputMode`` per channel).
For a Pipe channel this entry point hands the script a directory holding one link,
``stream.csv``, to the epoch-0 pipe: the script reads the stream in one pass, as it
reads a file, and nothing lands on the volume. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG_DIR = "/opt/ml/input/config"
DEFAULT_DATA_DIR = "/opt/ml/input/data"
STREAM_FILE = "stream.csv"


def input_data_config(env: Mapping[str, str]) -> dict[str, dict]:
    """Channel name -> its configuration: ``SM_INPUT_DATA_CONFIG`` (set by the training
    toolkit), else ``inputdataconfig.json`` in the config directory, else ``{}``."""
    text = env.get("SM_INPUT_DATA_CONFIG")
    if not text:
        path = Path(env.get("SM_INPUT_CONFIG_DIR", DEFAULT_CONFIG_DIR)) / "inputdataconfig.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
    config = json.loads(text)
    return config if isinstance(config, dict) else {}


def pipe_channels(config: Mapping[str, Mapping]) -> list[str]:
    """The channels SageMaker streams through a named pipe, in name order."""
    return sorted(
        name
        for name, channel in config.items()
        if isinstance(channel, Mapping) and channel.get("TrainingInputMode") == "Pipe"
    )


def pipe_path(data_dir: Path, channel: str, epoch: int = 0) -> Path:
    """The FIFO of ``channel`` for ``epoch``."""
    return data_dir / f"{channel}_{epoch}"


def expose_pipes(env: MutableMapping[str, str], scratch: Path) -> dict[Path, Path]:
    """For each Pipe channel, a directory under ``scratch`` whose ``stream.csv`` links to
    the channel's epoch-0 pipe, set as ``SM_CHANNEL_<NAME>``; returns directory -> link."""
    data_dir = Path(env.get("SM_INPUT_DATA_DIR", DEFAULT_DATA_DIR))
    exposed: dict[Path, Path] = {}
    for channel in pipe_channels(input_data_config(env)):
        directory = scratch / channel
        directory.mkdir(parents=True, exist_ok=True)
        link = directory / STREAM_FILE
        link.symlink_to(pipe_path(data_dir, channel))
        env[f"SM_CHANNEL_{channel.upper()}"] = str(directory)
        exposed[directory] = link
    return exposed


def reading_pipes(
    find_files: Callable[[Path], list[Path]],
    exposed: Mapping[Path, Path],
    error: Callable[[str], Exception],
) -> Callable[[Path], list[Path]]:
    """``find_files`` (the script's CSV finder), except that a pipe channel's directory
    yields its link: a FIFO is no regular file, so the finder would skip it. A pipe that
    is not there raises ``error`` (the script's data error, which fails the job with its
    message as the reason)."""

    def find(channel_dir: Path) -> list[Path]:
        link = exposed.get(Path(channel_dir))
        if link is None:
            return find_files(channel_dir)
        if not link.exists():
            raise error(
                f"the {channel_dir.name} channel is in Pipe mode but SageMaker's pipe "
                f"{os.readlink(link)} does not exist"
            )
        return [link]

    return find


def main(argv: Sequence[str] | None = None) -> int:
    sys.path.insert(0, str(HERE))
    import train  # the script beside this file, importable only now

    with tempfile.TemporaryDirectory(prefix="pipes-") as scratch:
        exposed = expose_pipes(os.environ, Path(scratch))
        if exposed:
            train.find_csv_files = reading_pipes(train.find_csv_files, exposed, train.DataError)
        return train.main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
