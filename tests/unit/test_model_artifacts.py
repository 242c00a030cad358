"""The committed XGBoost models: reproducible, loadable by XGBoost, and as good as claimed."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest
import xgboost

from ml_refarch import model_artifacts
from ml_refarch.model_artifacts import (
    MODEL_FILE_NAME,
    RECIPES,
    artifact_path,
    artifacts_match,
    deterministic_tarball,
    json_match,
    load_manifest,
    parse_scores,
    sample_csv,
    scores_match,
)


@pytest.fixture(scope="module")
def rebuilt():
    return model_artifacts.build_all()


def test_committed_files_are_what_the_script_builds(rebuilt):
    files, manifest = rebuilt
    for path, data in files.items():
        assert artifacts_match(path, path.read_bytes(), data), (
            f"{path} is stale: run scripts/make_models.py"
        )
    manifest_file = model_artifacts.MANIFEST_FILE
    assert artifacts_match(
        manifest_file, manifest_file.read_bytes(), model_artifacts.manifest_bytes(manifest)
    )


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_each_artifact_is_one_xgboost_model_that_scores_the_samples(recipe, tmp_path):
    path = recipe.artifact_path
    assert path.stat().st_size < 20_000, "the artifacts are meant to be a few KB"
    with tarfile.open(path) as tar:
        assert tar.getnames() == [MODEL_FILE_NAME]
        tar.extractall(tmp_path, filter="data")
    booster = xgboost.Booster()
    # No extension, as in the container: XGBoost must recognise the JSON content itself.
    booster.load_model(str(tmp_path / MODEL_FILE_NAME))
    assert booster.num_boosted_rounds() == recipe.rounds
    manifest = load_manifest()
    rows = [[float(v) for v in row.split(",")] for row in manifest["samples"]["rows"]]
    scores = booster.predict(xgboost.DMatrix(np.array(rows))).tolist()
    assert scores_match(manifest["samples"]["scores"][recipe.name], scores, tolerance=1e-6)


def test_models_beat_chance_clearly_and_differ():
    manifest = load_manifest()
    accuracies = [facts["holdout_accuracy"] for facts in manifest["models"].values()]
    assert all(accuracy > 0.8 for accuracy in accuracies)
    scores = manifest["samples"]["scores"]
    assert scores["churn-v1"] != scores["churn-v2"], "the two versions must be different models"


def test_sample_csv_is_rows_without_header_or_label():
    manifest = load_manifest()
    body = sample_csv(manifest)
    lines = body.splitlines()
    assert len(lines) == len(manifest["samples"]["labels"])
    assert all(len(line.split(",")) == manifest["dataset"]["features"] for line in lines)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(KeyError, match="churn-v1, churn-v2"):
        artifact_path("churn-v3")


@pytest.mark.parametrize(
    ("body", "expected"),
    [("0.5\n0.25\n", [0.5, 0.25]), ("0.5,0.25", [0.5, 0.25]), ("0.9", [0.9]), ("", [])],
)
def test_parse_scores_reads_csv_or_lines(body, expected):
    assert parse_scores(body) == expected


def test_parse_scores_rejects_text():
    with pytest.raises(ValueError, match="expected numbers"):
        parse_scores('{"predictions": [0.5]}')


def test_scores_match_needs_same_length_and_tolerance():
    assert scores_match([0.5, 0.25], [0.50001, 0.25])
    assert not scores_match([0.5, 0.25], [0.5])
    assert not scores_match([0.5], [0.51])


# --- the inference pipeline's artifacts ------------------------------------------------------


@pytest.fixture(scope="module")
def rebuilt_pipeline():
    return model_artifacts.build_pipeline()


def test_committed_pipeline_files_are_what_the_script_builds(rebuilt_pipeline):
    assert set(rebuilt_pipeline) == {
        *model_artifacts.PIPELINE_ARTIFACTS.values(),
        model_artifacts.PIPELINE_MANIFEST_FILE,
    }
    for path, data in rebuilt_pipeline.items():
        assert artifacts_match(path, path.read_bytes(), data), (
            f"{path} is stale: run scripts/make_models.py"
        )


def test_pipeline_artifacts_are_found_by_name_beside_the_churn_models():
    for name, path in model_artifacts.PIPELINE_ARTIFACTS.items():
        assert artifact_path(name) == path
        assert path.stat().st_size < 20_000
    with pytest.raises(KeyError, match="pipeline-preprocess, pipeline-xgboost"):
        artifact_path("pipeline-sparkml")


def test_pipeline_model_reads_the_preprocessed_columns_and_beats_chance():
    manifest = model_artifacts.load_pipeline_manifest()
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


# --- what a rebuild must match: the content, not the bytes a CPU rounds ---------------------


def _last_digit_off(value: float) -> float:
    return value * (1 + 3e-15)


def _model_json() -> dict:
    with tarfile.open(RECIPES[0].artifact_path) as tar:
        return json.loads(tar.extractfile(MODEL_FILE_NAME).read())  # type: ignore[union-attr]


def _leaf_values(model: dict) -> list[float]:
    return model["learner"]["gradient_booster"]["model"]["trees"][0]["base_weights"]


def _tarball(model: dict) -> bytes:
    return deterministic_tarball({MODEL_FILE_NAME: json.dumps(model).encode()})


def test_a_model_whose_floats_differ_in_the_last_digit_matches():
    model = _model_json()
    rounded = json.loads(json.dumps(model))
    weights = _leaf_values(rounded)
    weights[:] = [_last_digit_off(w) for w in weights]
    path = RECIPES[0].artifact_path
    assert _tarball(model) != _tarball(rounded)
    assert artifacts_match(path, _tarball(model), _tarball(rounded))


@pytest.mark.parametrize(
    "change",
    [
        lambda m: _leaf_values(m).__setitem__(0, _leaf_values(m)[0] + 1e-3),
        lambda m: m["learner"]["gradient_booster"]["model"]["trees"].pop(),
        lambda m: m["learner"]["gradient_booster"]["model"]["trees"][0][
            "split_indices"
        ].__setitem__(0, 7),
        lambda m: m["learner"].__setitem__("objective", {"name": "reg:squarederror"}),
        lambda m: m.__setitem__("extra", 1),
    ],
    ids=["a leaf value", "a tree less", "a split feature", "the objective", "a key more"],
)
def test_a_model_that_differs_beyond_rounding_does_not_match(change):
    model = _model_json()
    changed = json.loads(json.dumps(model))
    change(changed)
    assert not artifacts_match(RECIPES[0].artifact_path, _tarball(model), _tarball(changed))


def test_code_and_members_must_match_exactly():
    path = model_artifacts.PREPROCESS_STEP.artifact_path
    code = {"code/preprocess.py": b"x = 1\n", "preprocessing.json": b"{}"}
    assert artifacts_match(path, deterministic_tarball(code), deterministic_tarball(dict(code)))
    edited = {**code, "code/preprocess.py": b"x = 1.0000000001\n"}
    assert not artifacts_match(path, deterministic_tarball(code), deterministic_tarball(edited))
    fewer = {"preprocessing.json": b"{}"}
    assert not artifacts_match(path, deterministic_tarball(code), deterministic_tarball(fewer))


def test_manifest_numbers_match_within_the_tolerance_only():
    manifest = load_manifest()
    row = manifest["samples"]["rows"][0]
    first, rest = row.split(",", 1)
    nudged = json.loads(json.dumps(manifest))
    nudged["samples"]["rows"][0] = f"{float(first) + 1e-9:.9f},{rest}"
    nudged["samples"]["scores"]["churn-v1"][0] += 1e-9
    assert json_match(manifest, nudged)
    nudged["samples"]["scores"]["churn-v1"][0] += 1e-3
    assert not json_match(manifest, nudged)
    assert not json_match({"rows": 2000}, {"rows": 2001})
    assert not json_match({"flag": True}, {"flag": 1})
    assert not json_match(["basic"], ["premium"])
