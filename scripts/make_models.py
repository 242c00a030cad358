"""Rebuild the committed models (ml_refarch/assets/models/ and the pattern units' own).

Under ``assets/models/``: the shared XGBoost models and their manifest. Then each pattern
unit whose ``artifacts`` module builds artifacts of its own (handler code, parameters, models
and a manifest under the unit): see ``ml_refarch.model_artifacts.build_unit_artifacts``.

The same code and xgboost version always build the same models; their floats may differ in
the last digits from one CPU to another, so ``--check`` (and a test) compare the files'
content with a tolerance (``model_artifacts.artifacts_match``), and only files that differ
beyond it are written:

    .venv/bin/python scripts/make_models.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ml_refarch.model_artifacts import (
    MANIFEST_FILE,
    build_all,
    build_unit_artifacts,
    manifest_bytes,
    stale_artifacts,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files; write nothing"
    )
    args = parser.parse_args(argv)
    files, manifest = build_all()
    files[MANIFEST_FILE] = manifest_bytes(manifest)
    files.update(build_unit_artifacts())
    stale = stale_artifacts(files)
    if args.check:
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[path])
        print(f"wrote {path} ({len(files[path])} bytes)")
    if not stale:
        print("every committed model is current")
    for name, facts in manifest["models"].items():
        print(f"{name}: hold-out accuracy {facts['holdout_accuracy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
