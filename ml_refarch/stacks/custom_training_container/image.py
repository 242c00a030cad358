"""The training image's build context and build specification, as committed in
``container/``: the Dockerfile, its requirements, the entry point and the buildspec; the
project's training script (``ml_refarch/assets/training/train.py``) joins them at synth.

Pure Python (no aws_cdk), so tests read the same files the stack ships.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import yaml

from ml_refarch.training import ENTRY_POINT, TRAINING_CODE_DIR

CONTAINER_DIR = Path(__file__).resolve().parent / "container"
DOCKERFILE = CONTAINER_DIR / "Dockerfile"
BUILDSPEC = CONTAINER_DIR / "buildspec.yml"
#: What the build context holds from ``container/`` (the buildspec stays in the project).
CONTEXT_FILES = ("Dockerfile", "requirements.txt", "entry.py")
#: The base image's repository on ECR Public and its tags (the Dockerfile's two stages).
BASE_IMAGE_REPOSITORY = "docker/library/python"


def context_files() -> dict[str, Path]:
    """Name in the build context -> the committed file it is copied from."""
    files = {name: CONTAINER_DIR / name for name in CONTEXT_FILES}
    files[ENTRY_POINT] = TRAINING_CODE_DIR / ENTRY_POINT
    return files


def image_tag() -> str:
    """A tag from the digest of the build context, so changed code gets a new tag (the
    repository's tags are immutable) and unchanged code keeps its image."""
    digest = hashlib.sha256()
    for name, path in sorted(context_files().items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "v-" + digest.hexdigest()[:16]


def write_build_context(directory: Path) -> Path:
    """Copy the build context into ``directory`` (created, emptied first); returns it."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for name, path in context_files().items():
        shutil.copyfile(path, directory / name)
    return directory


def buildspec() -> dict[str, Any]:
    """The committed buildspec as an object (CodeBuild's inline ``BuildSpec``)."""
    return yaml.safe_load(BUILDSPEC.read_text(encoding="utf-8"))


def base_image_tags() -> list[str]:
    """The tags of the base image the Dockerfile's ``FROM`` lines name, in order."""
    tags = []
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0].upper() == "FROM" and BASE_IMAGE_REPOSITORY + ":" in words[1]:
            tags.append(words[1].rsplit(":", 1)[1])
    return tags
