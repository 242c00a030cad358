"""inference-pipeline: the preprocessing and postprocessing handlers, run locally.

The handlers are imported the way the scikit-learn container imports them (top-level
modules from ``code/``). Their numpy arithmetic must give what scikit-learn's
``StandardScaler`` and ``OneHotEncoder`` give, bad rows must come back as 4xx responses
rather than exceptions, and the three committed artifacts chained together must produce the
manifest's labels.
"""

from __future__ import annotations

import ast
import io
import json
import sys
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest
import xgboost
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml_refarch import model_artifacts
from ml_refarch.model_artifacts import DATASET_FEATURES, MODEL_FILE_NAME, json_match
from ml_refarch.stacks.inference_pipeline import artifacts
from ml_refarch.stacks.inference_pipeline.artifacts import (
    PIPELINE_ARTIFACTS,
    PIPELINE_DIR,
    PIPELINE_RECIPE,
    POSTPROCESS_STEP,
    PREPROCESS_STEP,
    load_pipeline_handler,
    load_pipeline_manifest,
)

preprocess = load_pipeline_handler("preprocess")
postprocess = load_pipeline_handler("postprocess")
handler_common = sys.modules["handler_common"]

HANDLER_FILES = ("preprocess.py", "postprocess.py", "handler_common.py")
#: What the handlers may import: the container has these (Python 3.9, numpy).
ALLOWED_IMPORTS = {"__future__", "json", "math", "os", "numpy", "handler_common"}


@pytest.fixture(scope="module")
def training():
    features, labels = model_artifacts.dataset()
    plans = artifacts.make_plans(labels)
    rows = model_artifacts.DATASET_ROWS - round(
        model_artifacts.DATASET_ROWS * model_artifacts.HOLDOUT_FRACTION
    )
    return features[:rows], plans[:rows]


@pytest.fixture(scope="module")
def sklearn_transformer(training):
    features, plans = training
    frame = np.empty((len(plans), DATASET_FEATURES + 1), dtype=object)
    frame[:, :DATASET_FEATURES] = features
    frame[:, DATASET_FEATURES] = plans
    transformer = ColumnTransformer(
        [
            ("numbers", StandardScaler(), list(range(DATASET_FEATURES))),
            (
                "plan",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                [DATASET_FEATURES],
            ),
        ]
    )
    transformer.fit(frame)
    return transformer


def extract(name: str, directory: Path) -> Path:
    with tarfile.open(PIPELINE_ARTIFACTS[name]) as tar:
        tar.extractall(directory, filter="data")
    return directory


def body_of(response) -> dict:
    assert isinstance(response, handler_common.ErrorResponse), response
    assert response.content_type == "application/json"
    return json.loads(response.body)


def run_preprocess(body, content_type="text/csv", model=None):
    model = model or preprocess.Preprocessor.from_json(load_pipeline_manifest()["preprocessing"])
    return preprocess.output_fn(
        preprocess.predict_fn(preprocess.input_fn(body, content_type), model), "text/csv"
    )


# --- the same numbers as scikit-learn --------------------------------------------------------


def test_fitted_parameters_are_what_scikit_learn_fits(training, sklearn_transformer):
    parameters = artifacts.fit_preprocessing(*training)
    scaler = sklearn_transformer.named_transformers_["numbers"]
    encoder = sklearn_transformer.named_transformers_["plan"]
    np.testing.assert_allclose(parameters["numeric"]["means"], scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(parameters["numeric"]["scales"], scaler.scale_, rtol=1e-12)
    assert parameters["categorical"]["categories"] == list(encoder.categories_[0])
    # The committed artifact carries these parameters, as JSON: the same keys, counts and
    # categories, and the same means and scales but for the last digits, which numpy's
    # vectorised sums round differently on different CPUs.
    committed = load_pipeline_manifest()["preprocessing"]
    rebuilt = json.loads(json.dumps(parameters))
    assert json_match(committed, rebuilt)
    assert committed["categorical"] == rebuilt["categorical"]
    assert committed["numeric"]["count"] == rebuilt["numeric"]["count"] == DATASET_FEATURES
    np.testing.assert_allclose(committed["numeric"]["means"], scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(committed["numeric"]["scales"], scaler.scale_, rtol=1e-12)


def test_preprocessing_gives_scikit_learns_matrix_for_generated_rows(sklearn_transformer):
    rng = np.random.default_rng(5)
    numbers = rng.normal(0, 30, size=(50, DATASET_FEATURES))
    plans = list(rng.choice(["basic", "premium", "standard", "enterprise"], size=50))
    assert "enterprise" in plans  # an unknown plan encodes as all zeros, as with "ignore"
    frame = np.empty((50, DATASET_FEATURES + 1), dtype=object)
    frame[:, :DATASET_FEATURES] = numbers
    frame[:, DATASET_FEATURES] = plans
    expected = sklearn_transformer.transform(frame)
    model = preprocess.Preprocessor.from_json(load_pipeline_manifest()["preprocessing"])
    np.testing.assert_allclose(model.transform(numbers, plans), expected, rtol=1e-12, atol=1e-12)
    # And through the CSV the next container reads (9 significant digits).
    body = "".join(
        ",".join(repr(float(v)) for v in row) + f",{plan}\n"
        for row, plan in zip(numbers, plans, strict=True)
    )
    text, content_type = run_preprocess(body.encode(), model=model)
    assert content_type == "text/csv"
    received = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
    np.testing.assert_allclose(received, expected, rtol=1e-8, atol=1e-8)


def test_constant_feature_is_left_unscaled_like_scikit_learn():
    features = np.array([[1.0, 5.0], [3.0, 5.0]])
    parameters = artifacts.fit_preprocessing(features, ["a", "b"])
    assert parameters["numeric"]["scales"] == list(StandardScaler().fit(features).scale_)


# --- bad input is a 4xx response, never a crash ---------------------------------------------

GOOD_ROW = "1,2,3,4,5,6,7,8,basic"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("1,2,3,basic", "row 1 has 4 values, expected 9"),
        (f"{GOOD_ROW}\n1,2,3,4,5,6,7,8,9,basic", "row 2 has 10 values, expected 9"),
        (f"{GOOD_ROW}\n1,2,abc,4,5,6,7,8,basic", "row 2 column 3: 'abc' is not a finite number"),
        ("1,2,3,4,nan,6,7,8,basic", "row 1 column 5: 'nan' is not a finite number"),
        ("1,2,3,4,5,inf,7,8,basic", "row 1 column 6: 'inf' is not a finite number"),
        ("1,2,3,4,5,6,7,,basic", "row 1 column 8: '' is not a finite number"),
        ("\n\n", "empty body"),
    ],
)
def test_bad_rows_get_a_400_naming_the_row(body, fragment):
    error = body_of(run_preprocess(body))
    assert error["status"] == 400
    assert fragment in error["error"]


def test_many_bad_rows_are_summarised():
    body = "\n".join(["x"] * 12)
    error = body_of(run_preprocess(body))
    assert error["error"].count("row ") == handler_common.MAX_PROBLEMS_LISTED
    assert error["error"].endswith("and 7 more")


def test_other_content_types_get_a_415_and_binary_junk_a_400():
    error = body_of(run_preprocess(b'{"rows": []}', "application/json"))
    assert error["status"] == 415 and "text/csv" in error["error"]
    assert body_of(run_preprocess(b"\xff\xfe\x00", "text/csv"))["status"] == 400


def test_content_type_parameters_and_whitespace_are_accepted():
    text, _ = run_preprocess(f" {GOOD_ROW.replace(',', ' , ')} \n", "text/csv; charset=utf-8")
    assert len(text.splitlines()) == 1
    assert len(text.split(",")) == DATASET_FEATURES + 3


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("0.5\nhigh", "score 2: 'high' is not a number from 0 to 1"),
        ("1.5", "score 1: '1.5' is not a number from 0 to 1"),
        ("-0.1", "score 1: '-0.1'"),
        ("nan", "score 1: 'nan'"),
        ("", "empty body"),
    ],
)
def test_postprocessing_refuses_what_is_not_a_probability(body, fragment):
    labeller = postprocess.Labeller(0.5, "churn", "stay")
    response = postprocess.output_fn(
        postprocess.predict_fn(postprocess.input_fn(body, "text/csv"), labeller), "text/csv"
    )
    error = body_of(response)
    assert error["status"] == 400 and fragment in error["error"]


def test_postprocessing_labels_at_the_threshold_and_answers_csv_or_json():
    labeller = postprocess.Labeller(0.5, "churn", "stay")
    labelled = postprocess.predict_fn(
        postprocess.input_fn("0.5\n0.49999,0.9", "text/csv"), labeller
    )
    assert [label for label, _ in labelled] == ["churn", "stay", "churn"]
    text, content_type = postprocess.output_fn(labelled, "text/csv")
    assert (text, content_type) == ("churn,0.500000\nstay,0.499990\nchurn,0.900000\n", "text/csv")
    document, content_type = postprocess.output_fn(labelled, "application/json")
    assert content_type == "application/json"
    assert json.loads(document)["predictions"][1] == {"label": "stay", "score": 0.49999}
    assert body_of(postprocess.output_fn(labelled, "application/xml"))["status"] == 406


def test_labeller_threshold_must_be_a_probability():
    with pytest.raises(ValueError, match="between 0 and 1"):
        postprocess.Labeller(1.0, "churn", "stay")


# --- the response in each kind of server ------------------------------------------------------


def test_in_the_single_model_container_the_error_is_a_flask_response(monkeypatch):
    class Response:
        def __init__(self, response=None, status=200, mimetype=None):
            self.response, self.status, self.mimetype = response, status, mimetype

    worker = types.SimpleNamespace(Response=Response)
    framework = types.ModuleType("sagemaker_containers.beta.framework")
    framework.worker = worker
    for name in ("sagemaker_containers", "sagemaker_containers.beta"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "sagemaker_containers.beta.framework", framework)
    monkeypatch.delenv("SAGEMAKER_MULTI_MODEL", raising=False)
    response = run_preprocess("1,2,3")
    assert isinstance(response, Response)
    assert response.status == 400 and response.mimetype == "application/json"
    assert "row 1 has 3 values" in json.loads(response.response)["error"]


def test_in_a_multi_model_server_the_error_is_the_toolkits_exception(monkeypatch):
    class GenericInferenceToolkitError(Exception):
        def __init__(self, status_code, message=None, phrase=None):
            super().__init__(status_code, message, phrase)
            self.status_code, self.message = status_code, message

    errors = types.ModuleType("sagemaker_inference.errors")
    errors.GenericInferenceToolkitError = GenericInferenceToolkitError
    monkeypatch.setitem(sys.modules, "sagemaker_inference", types.ModuleType("sagemaker_inference"))
    monkeypatch.setitem(sys.modules, "sagemaker_inference.errors", errors)
    monkeypatch.setenv("SAGEMAKER_MULTI_MODEL", "true")
    with pytest.raises(GenericInferenceToolkitError) as raised:
        run_preprocess("1,2,3,4,5,6,7,8,basic\nnot,a,row")
    assert raised.value.status_code == 400
    assert "row 2 has 3 values" in raised.value.message


# --- what goes into the container ------------------------------------------------------------


@pytest.mark.parametrize("file_name", HANDLER_FILES)
def test_handlers_run_on_the_containers_python_with_what_it_has(file_name):
    tree = ast.parse((PIPELINE_DIR / file_name).read_text(), feature_version=(3, 9))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    # sagemaker_* exist only in the container and are imported inside error_response.
    assert imported - ALLOWED_IMPORTS <= {"sagemaker_inference", "sagemaker_containers"}


@pytest.mark.parametrize("step", [PREPROCESS_STEP, POSTPROCESS_STEP], ids=lambda s: s.name)
def test_each_step_artifact_holds_its_code_under_code_and_json_parameters(step):
    with tarfile.open(step.artifact_path) as tar:
        names = tar.getnames()
        files = {name: tar.extractfile(name).read() for name in names}
    assert sorted(names) == sorted(
        [step.parameters_file, f"code/{step.program}", "code/handler_common.py"]
    )
    assert not any(name.endswith((".pkl", ".joblib")) for name in names)
    for module in (step.program, "handler_common.py"):
        assert files[f"code/{module}"] == (PIPELINE_DIR / module).read_bytes()
    json.loads(files[step.parameters_file])


def test_the_three_committed_artifacts_chained_give_the_manifests_labels(tmp_path):
    manifest = load_pipeline_manifest()
    first = preprocess.model_fn(str(extract(PREPROCESS_STEP.name, tmp_path / "pre")))
    last = postprocess.model_fn(str(extract(POSTPROCESS_STEP.name, tmp_path / "post")))
    booster = xgboost.Booster()
    booster.load_model(str(extract(PIPELINE_RECIPE.name, tmp_path / "xgb") / MODEL_FILE_NAME))

    body = "".join(f"{row}\n" for row in manifest["samples"]["rows"]).encode()
    features, _ = run_preprocess(body, model=first)
    matrix = np.loadtxt(io.StringIO(features), delimiter=",", ndmin=2)
    scores = "\n".join(str(score) for score in booster.predict(xgboost.DMatrix(matrix)))
    answer, content_type = postprocess.output_fn(
        postprocess.predict_fn(postprocess.input_fn(scores, "text/csv"), last), "text/csv"
    )
    rows = [line.split(",") for line in answer.splitlines()]
    assert content_type == "text/csv"
    assert [label for label, _ in rows] == manifest["samples"]["predicted"]
    np.testing.assert_allclose(
        [float(score) for _, score in rows], manifest["samples"]["scores"], atol=2e-6
    )
