"""The training script and how it reaches a network-isolated container: as a
``sourcedir.tar.gz`` SageMaker delivers on the ``code`` channel."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

TRAINING_CODE_DIR = Path(__file__).resolve().parent.parent / "assets" / "training"
ENTRY_POINT = "train.py"
SOURCE_NAME = "sourcedir.tar.gz"
CODE_CHANNEL = "code"


def source_tarball() -> bytes:
    """The training code as the ``sourcedir.tar.gz`` SageMaker's framework containers run.

    Deterministic (fixed order, times and owners), so the same code always gives the same
    bytes and the same CDK asset hash.
    """
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as archive,
    ):
        for path in sorted(TRAINING_CODE_DIR.glob("*.py")):
            info = tarfile.TarInfo(path.name)
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_source_tarball(directory: Path) -> Path:
    """Write :func:`source_tarball` as ``directory/sourcedir.tar.gz`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SOURCE_NAME
    path.write_bytes(source_tarball())
    return path
