"""The committed XGBoost models: reproducible, loadable by XGBoost, and as good as claimed."""

from __future__ import annotations

import json
import tarfile
import types
from pathlib import Path

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


# --- artifacts of the pattern units ----------------------------------------------------------


class FakeUnit:
    """A catalog entry whose ``artifacts`` module is ``module`` (or that has none)."""

    def __init__(self, pattern_id: str, module: types.ModuleType | None) -> None:
        self.id = pattern_id
        self._module = module

    def has_module(self, name: str) -> bool:
        return name == model_artifacts.UNIT_ARTIFACTS_MODULE and self._module is not None

    def module(self, name: str) -> types.ModuleType:
        assert self.has_module(name)
        return self._module


def fake_artifacts(models: dict[str, Path], built: dict[Path, bytes]) -> types.ModuleType:
    module = types.ModuleType("artifacts")
    module.MODEL_ARTIFACTS = models
    module.build_artifacts = lambda: built
    return module


def test_units_add_their_artifacts_after_the_shared_models(tmp_path):
    units = [
        FakeUnit("plain", None),
        FakeUnit("own-models", fake_artifacts({"own-a": tmp_path / "a.tar.gz"}, {})),
    ]
    found = model_artifacts.named_artifacts(units)
    assert list(found) == [*(recipe.name for recipe in RECIPES), "own-a"]
    assert found["own-a"] == tmp_path / "a.tar.gz"


def test_a_unit_may_not_reuse_an_artifact_name(tmp_path):
    unit = FakeUnit("clash", fake_artifacts({"churn-v1": tmp_path / "x.tar.gz"}, {}))
    with pytest.raises(ValueError, match="clash: model artifact 'churn-v1' is already named"):
        model_artifacts.named_artifacts([unit])


def test_unit_builds_are_gathered(tmp_path):
    units = [
        FakeUnit("one", fake_artifacts({}, {tmp_path / "a": b"a"})),
        FakeUnit("two", fake_artifacts({}, {tmp_path / "b": b"b"})),
    ]
    built = model_artifacts.build_unit_artifacts(units)
    assert built == {tmp_path / "a": b"a", tmp_path / "b": b"b"}


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
    path = Path("step.tar.gz")
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
