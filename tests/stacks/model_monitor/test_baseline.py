"""model-monitor: the baseline command, from the outputs to the plan, the dataset, the request."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from ml_refarch import model_artifacts
from ml_refarch.smoke import core as smoke
from ml_refarch.stacks.model_monitor import baseline
from ml_refarch.stacks.model_monitor.outputs import Outputs
from tests.smoke_fakes import Fake

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OUTPUTS = {
    Outputs.ROLE_ARN: "arn:aws:iam::111122223333:role/monitor-role",
    Outputs.KEY_ARN: KEY,
    Outputs.SUBNET_IDS: "subnet-aaa,subnet-bbb",
    Outputs.SECURITY_GROUP_IDS: "sg-123",
    Outputs.BASELINE_DATASET_URI: "s3://monitor-bucket/baseline/dataset/baseline.csv",
    Outputs.BASELINE_RESULTS_URI: "s3://monitor-bucket/baseline/results",
    Outputs.MONITORING_INSTANCE_TYPE: "ml.m5.large",
    Outputs.MONITORING_INSTANCE_COUNT: "2",
    Outputs.MONITORING_VOLUME_SIZE_GI_B: "40",
    Outputs.MAX_RUNTIME_SECONDS: "900",
    Outputs.ENDPOINT_NAME: "ignored-by-the-baseline",
}


def dry_run(tmp_path, outputs_file_content) -> tuple[int, str]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs_file_content))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = baseline.main(["--dry-run", "--outputs-file", str(path), "--job-name", "bl-1"])
    return code, out.getvalue()


def request_of(printed: str) -> dict:
    return json.loads(printed.split("would send CreateProcessingJob:\n", 1)[1])


@pytest.fixture(scope="module")
def dry_run_request(tmp_path_factory) -> dict:
    code, printed = dry_run(
        tmp_path_factory.mktemp("outputs"), {baseline.DEFAULT_STACK_NAME: OUTPUTS}
    )
    assert code == 0
    assert "would upload 1600 rows" in printed
    return request_of(printed)


def test_dry_run_request_takes_keys_network_and_uris_from_the_outputs(dry_run_request):
    request = dry_run_request
    cluster = request["ProcessingResources"]["ClusterConfig"]
    assert cluster == {
        "InstanceCount": 2,
        "InstanceType": "ml.m5.large",
        "VolumeKmsKeyId": KEY,
        "VolumeSizeInGB": 40,
    }
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == KEY
    assert request["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": True,
        "VpcConfig": {"SecurityGroupIds": ["sg-123"], "Subnets": ["subnet-aaa", "subnet-bbb"]},
    }
    (dataset,) = request["ProcessingInputs"]
    assert dataset["S3Input"]["S3Uri"] == OUTPUTS["BaselineDatasetUri"]
    (output,) = request["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == "s3://monitor-bucket/baseline/results"
    assert request["RoleArn"] == OUTPUTS["RoleArn"]
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 900}
    assert request["ProcessingJobName"] == "bl-1"


def test_dry_run_request_reads_a_headerless_csv_with_the_score_first(dry_run_request):
    environment = dry_run_request["Environment"]
    assert json.loads(environment["dataset_format"]) == {
        "csv": {"header": False, "output_columns_position": "START"}
    }
    # The analyzer for the key's region, since no --region was given.
    assert dry_run_request["AppSpecification"]["ImageUri"] == (
        "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )


def test_dry_run_accepts_flat_outputs_and_an_explicit_region(tmp_path):
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(OUTPUTS))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = baseline.main(
            ["--dry-run", "--outputs-file", str(path), "--region", "us-west-2", "--job-name", "x"]
        )
    assert code == 0
    request = request_of(out.getvalue())
    assert request["AppSpecification"]["ImageUri"].startswith("159807026194.dkr.ecr.us-west-2.")


def test_dry_run_with_bad_outputs_is_a_setup_error(tmp_path, capsys):
    broken = {k: v for k, v in OUTPUTS.items() if k not in ("KeyArn", "SubnetIds")}
    code, _ = dry_run(tmp_path, broken)
    assert code == 2
    assert "KeyArn, SubnetIds" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("SubnetIds", "subnet-aaa", "two or more zones"),
        ("SecurityGroupIds", " , ", "SecurityGroupIds"),
        ("KeyArn", "alias/monitor", "not a KMS key ARN"),
        ("MonitoringInstanceCount", "zero", "whole number"),
        ("MaxRuntimeSeconds", "0", "whole number"),
        ("BaselineDatasetUri", "monitor-bucket/baseline.csv", "s3://bucket/key"),
        ("BaselineResultsUri", "https://example.com/results", "not an S3 URI"),
    ],
)
def test_plan_rejects_malformed_outputs(key, value, message):
    with pytest.raises(smoke.SetupError, match=message):
        baseline.plan_from_outputs({**OUTPUTS, key: value}, region=None, job_name="x")


def test_plan_takes_the_region_from_the_key_unless_given():
    plan = baseline.plan_from_outputs(OUTPUTS, region=None, job_name="x")
    assert plan.region == "eu-west-1"
    assert plan.dataset_location == ("monitor-bucket", "baseline/dataset/baseline.csv")
    assert baseline.plan_from_outputs(OUTPUTS, region="us-east-2", job_name="x").region == (
        "us-east-2"
    )


# --- the dataset -----------------------------------------------------------------------------


def test_baseline_rows_put_the_model_score_first_as_the_endpoint_answers():
    manifest = model_artifacts.load_manifest()
    features = [[float(v) for v in row.split(",")] for row in manifest["samples"]["rows"]]
    booster = baseline.load_booster()
    import numpy as np
    import xgboost

    rows = baseline.baseline_rows(
        features, lambda parsed: booster.predict(xgboost.DMatrix(np.array(parsed))).tolist()
    )
    assert [row.split(",", 1)[1] for row in rows] == manifest["samples"]["rows"]
    scores = [float(row.split(",", 1)[0]) for row in rows]
    assert model_artifacts.scores_match(manifest["samples"]["scores"]["churn-v1"], scores)


def test_baseline_csv_has_no_header_and_nine_numeric_columns():
    lines = baseline.baseline_csv().splitlines()
    assert len(lines) == 1600
    for line in lines:
        values = [float(v) for v in line.split(",")]
        assert len(values) == 1 + model_artifacts.DATASET_FEATURES
        assert 0.0 <= values[0] <= 1.0


def test_the_committed_job_baseline_is_what_the_model_scores_today():
    # Compared as numbers to 1e-6, never as text: the last printed digit of a score may
    # differ between CPUs (the model artifacts' own rule).
    from ml_refarch.stacks.model_monitor.processing_engine import BASELINE_FILE

    committed = BASELINE_FILE.read_text().splitlines()
    fresh = baseline.job_baseline_csv().splitlines()
    assert (
        committed[0]
        == fresh[0]
        == "label,score,"
        + ",".join(f"feature_{i + 1}" for i in range(model_artifacts.DATASET_FEATURES))
    )
    assert len(committed) == len(fresh) == 1601
    for old, new in zip(committed[1:], fresh[1:], strict=True):
        assert [float(v) for v in old.split(",")] == pytest.approx(
            [float(v) for v in new.split(",")], abs=1e-6
        )


# --- the real run's S3 calls -------------------------------------------------------------------


def test_upload_encrypts_the_dataset_with_the_stack_key():
    s3 = Fake(put_object={})
    plan = baseline.plan_from_outputs(OUTPUTS, region=None, job_name="x")
    baseline.upload_dataset(s3, plan, "0.5,1,2\n")
    ((name, kwargs),) = s3.calls
    assert name == "put_object"
    assert kwargs["Bucket"] == "monitor-bucket"
    assert kwargs["Key"] == "baseline/dataset/baseline.csv"
    assert kwargs["ServerSideEncryption"] == "aws:kms" and kwargs["SSEKMSKeyId"] == KEY


def test_results_checks_need_a_completed_job_and_both_files():
    import boto3
    import botocore.stub

    s3 = boto3.client("s3", region_name="eu-west-1")
    stubber = botocore.stub.Stubber(s3)
    stubber.add_response(
        "head_object", {}, {"Bucket": "monitor-bucket", "Key": "baseline/results/constraints.json"}
    )
    stubber.add_client_error(
        "head_object",
        "404",
        "Not Found",
        expected_params={"Bucket": "monitor-bucket", "Key": "baseline/results/statistics.json"},
    )
    sagemaker = Fake(describe_processing_job={"ProcessingJobStatus": "Completed"})
    plan = baseline.plan_from_outputs(OUTPUTS, region=None, job_name="bl-1")
    with stubber:
        checks = baseline.results_checks(s3, sagemaker, plan)
    assert [(c.name, c.passed) for c in checks] == [
        ("baselining job completed", True),
        ("constraints.json written", True),
        ("statistics.json written", False),
    ]
