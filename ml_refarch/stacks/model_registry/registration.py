"""The files the ``model-registry`` pattern registers beside the committed model.

A model package carries, besides the artifact, the sample payload Inference Recommender
sends in its load tests (``SamplePayloadUrl``: "a compressed tar archive (.tar.gz suffix)" of
request bodies, CreateModelPackage,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html) and
its model quality metrics (``ModelMetrics.ModelQuality.Statistics``: a JSON object in S3
with its content type and, optionally, a SHA-256 digest, MetricsSource,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_MetricsSource.html).

Both are committed under ``runtime/`` and rebuilt from the committed models' manifest
(``ml_refarch/assets/models/manifest.json``) by :func:`build_files`; a test checks the
committed files against the rebuild. The metrics use the layout of SageMaker's model quality
statistics for a binary classifier (``binary_classification_metrics``, each metric a
``value``: "Model quality metrics and monitoring",
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html):
the hold-out accuracy the manifest records.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ml_refarch.model_artifacts import RECIPES, deterministic_tarball, load_manifest, sample_csv

ASSETS_DIR = Path(__file__).resolve().parent / "runtime"
PAYLOAD_PATH = ASSETS_DIR / "sample-payload.tar.gz"
#: The one request body in the payload archive: the manifest's sample rows as CSV.
PAYLOAD_MEMBER = "sample-rows.csv"
PAYLOAD_CONTENT_TYPE = "text/csv"
METRICS_CONTENT_TYPE = "application/json"


def metrics_path(model: str) -> Path:
    """The committed model quality statistics of ``model`` (a committed model's name)."""
    return ASSETS_DIR / f"model-quality-{model}.json"


def metrics_document(manifest: dict[str, Any], model: str) -> dict[str, Any]:
    """Model quality statistics of ``model`` from the manifest's hold-out evaluation."""
    facts = manifest["models"][model]
    return {
        "version": 0.0,
        "dataset": {"item_count": manifest["dataset"]["holdout_rows"]},
        "binary_classification_metrics": {
            "accuracy": {"value": facts["holdout_accuracy"], "standard_deviation": "NaN"}
        },
    }


def build_files(manifest: dict[str, Any] | None = None) -> dict[Path, bytes]:
    """Every file the unit commits under ``runtime/``, computed afresh, by path."""
    manifest = manifest or load_manifest()
    files = {PAYLOAD_PATH: deterministic_tarball({PAYLOAD_MEMBER: sample_csv(manifest).encode()})}
    for recipe in RECIPES:
        document = metrics_document(manifest, recipe.name)
        text = json.dumps(document, indent=1, sort_keys=True) + "\n"
        files[metrics_path(recipe.name)] = text.encode("utf-8")
    return files


def content_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file, as MetricsSource's ``ContentDigest`` takes it."""
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def write_files() -> list[Path]:
    """Write the rebuilt files; returns their paths."""
    files = build_files()
    ASSETS_DIR.mkdir(exist_ok=True)
    for path, data in files.items():
        path.write_bytes(data)
    return sorted(files)


if __name__ == "__main__":  # pragma: no cover - regeneration by hand
    for written in write_files():
        print(written)
