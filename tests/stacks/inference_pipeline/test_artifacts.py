"""inference-pipeline: the committed artifacts are reproducible, found by name, and as good as
claimed."""

from __future__ import annotations

import pytest

from ml_refarch import model_artifacts
from ml_refarch.model_artifacts import artifact_path, artifacts_match
from ml_refarch.stacks.inference_pipeline import artifacts


@pytest.fixture(scope="module")
def rebuilt_pipeline():
    return artifacts.build_artifacts()


def test_committed_pipeline_files_are_what_the_script_builds(rebuilt_pipeline):
    assert set(rebuilt_pipeline) == {
        *artifacts.PIPELINE_ARTIFACTS.values(),
        artifacts.PIPELINE_MANIFEST_FILE,
    }
    for path, data in rebuilt_pipeline.items():
        assert artifacts_match(path, path.read_bytes(), data), (
            f"{path} is stale: run scripts/make_models.py"
        )


def test_pipeline_artifacts_are_found_by_name_beside_the_churn_models():
    for name, path in artifacts.PIPELINE_ARTIFACTS.items():
        assert artifact_path(name) == path
        assert path.stat().st_size < 20_000
    with pytest.raises(KeyError, match="pipeline-preprocess, pipeline-xgboost"):
        artifact_path("pipeline-sparkml")


def test_pipeline_model_reads_the_preprocessed_columns_and_beats_chance():
    manifest = artifacts.load_pipeline_manifest()
    facts = manifest["model"]
    categories = manifest["preprocessing"]["categorical"]["categories"]
    assert facts["input_columns"] == model_artifacts.DATASET_FEATURES + len(categories)
    assert facts["holdout_accuracy"] > 0.8
    samples = manifest["samples"]
    assert all(len(row.split(",")) == len(manifest["raw_columns"]) for row in samples["rows"])
    threshold = manifest["postprocessing"]["threshold"]
    assert samples["predicted"] == [
        "churn" if score >= threshold else "stay" for score in samples["scores"]
    ]
    assert set(samples["predicted"]) == {"churn", "stay"}, "samples should show both labels"
