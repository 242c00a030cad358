"""Generate the tiny model's dataset: CSV files for ``ml_refarch/assets/training/train.py``.

Rows follow a logistic model: standard normal latent features, a random weight vector scaled so
the logit has a standard deviation of 5, and labels drawn from the resulting probabilities (the
noise), so no model can be perfect but a linear one reaches about 0.89 accuracy. The written
features are the latent ones in other units and with offsets, like real tabular columns, which
is why the training script standardizes them.

The CSV convention is the built-in algorithms' (study notes ``ml-specialty-notes.md``, "Data
input" and "Sagemaker", supported formats: csv): no header, the 0/1 label first, then the
features. Output layout::

    OUT/train/part-0000.csv ... part-NNNN.csv   (--files parts)
    OUT/validation/part-0000.csv

Upload ``OUT`` to the training bucket's ``data/`` prefix (FSx for Lustre imports from it), e.g.
``aws s3 sync OUT s3://BUCKET/data/``. The same ``--seed`` always writes the same bytes.

    .venv/bin/python scripts/make_training_data.py --out /tmp/tiny-data [--rows 2000]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LOGIT_STD = 5.0
VALIDATION_FRACTION = 0.2
# Column units span 0.1x to 100x and offsets of a few units, as in real tabular data.
UNIT_SCALE_EXPONENTS = (-1.0, 2.0)
OFFSET_STD = 5.0
CHANNELS = ("train", "validation")


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    rows: int


def make_dataset(rows: int, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(features float64 of shape (rows, features), labels int64 0/1 of shape (rows,))."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((rows, features))
    weights = rng.standard_normal(features)
    weights *= LOGIT_STD / np.linalg.norm(weights)
    logits = latent @ weights
    labels = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logits))).astype(np.int64)
    scales = 10.0 ** rng.uniform(*UNIT_SCALE_EXPONENTS, size=features)
    offsets = rng.normal(0.0, OFFSET_STD, size=features)
    return latent * scales + offsets, labels


def _write_csv(path: Path, features: np.ndarray, labels: np.ndarray) -> WrittenFile:
    lines = [
        ",".join([str(int(label)), *(f"{value:.6f}" for value in row)])
        for label, row in zip(labels, features, strict=True)
    ]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return WrittenFile(path, len(lines))


def write_dataset(
    out_dir: Path,
    rows: int = 2000,
    features: int = 8,
    seed: int = 0,
    files: int = 4,
    overwrite: bool = False,
) -> list[WrittenFile]:
    """Write train/ (``files`` parts) and validation/ under ``out_dir``; what was written.

    Refuses to add to directories that already hold CSV files unless ``overwrite``: the training
    script reads every CSV file in a channel, so a stale part from an earlier run would join in.
    """
    validation_rows = round(rows * VALIDATION_FRACTION)
    train_rows = rows - validation_rows
    if features < 1:
        raise ValueError("features must be at least 1")
    if files < 1:
        raise ValueError("files must be at least 1")
    if validation_rows < 1 or train_rows < files:
        raise ValueError(
            f"rows={rows} is too few: validation needs at least 1 row and each of the "
            f"{files} train files at least 1"
        )
    for channel in CHANNELS:
        existing = sorted((out_dir / channel).glob("*.csv"))
        if existing and not overwrite:
            raise ValueError(
                f"{out_dir / channel} already has CSV files ({existing[0].name}, ...); "
                "choose an empty --out or pass --overwrite"
            )
        for stale in existing:
            stale.unlink()
        (out_dir / channel).mkdir(parents=True, exist_ok=True)

    matrix, labels = make_dataset(rows, features, seed)
    written = []
    train_parts = np.array_split(np.arange(train_rows), files)
    for number, part in enumerate(train_parts):
        path = out_dir / "train" / f"part-{number:04d}.csv"
        written.append(_write_csv(path, matrix[part], labels[part]))
    held_out = slice(train_rows, rows)
    written.append(
        _write_csv(out_dir / "validation" / "part-0000.csv", matrix[held_out], labels[held_out])
    )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows in total (default 2000)")
    parser.add_argument("--features", type=int, default=8, help="feature columns (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--files", type=int, default=4, help="train CSV parts (default 4)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace CSV files already in train/ and validation/",
    )
    args = parser.parse_args(argv)
    try:
        written = write_dataset(
            args.out, args.rows, args.features, args.seed, args.files, args.overwrite
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for item in written:
        print(f"wrote {item.path} ({item.rows} rows, {args.features} features)")
    print(f"upload with: aws s3 sync {args.out} s3://<training-bucket>/data/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
