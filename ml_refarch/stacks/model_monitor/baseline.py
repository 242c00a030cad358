"""Baseline the data quality monitor of a deployed model-monitor stack.

The monitoring schedule compares what the endpoint receives with ``constraints.json`` and
``statistics.json`` at fixed S3 URIs (the ``ConstraintsUri`` and ``StatisticsUri`` outputs).
This command (``python -m ml_refarch.stacks.model_monitor.baseline``) writes them:

1. builds the baseline dataset from the committed model's training rows
   (``ml_refarch.model_artifacts.dataset()``, the generator of
   ``scripts/make_training_data.py``): no header, the model's score first, then the eight
   features, which is how Model Monitor lays out a captured CSV request and its response,
   so both name the columns ``_c0`` (score) to ``_c8``. Scoring needs ``xgboost-cpu``
   (requirements-dev.txt);
2. uploads it to ``BaselineDatasetUri`` (encrypted with the stack's key);
3. runs the sagemaker SDK's ``DefaultModelMonitor.suggest_baseline`` with the stack's role,
   KMS keys (volume and output), instances and network (isolated subnets, security group,
   network isolation, inter-container encryption), writing to ``BaselineResultsUri``.

Every setting of the job comes from the stack's outputs. ``--dry-run`` needs no AWS: it
runs the same SDK call against a stubbed SageMaker client and prints the exact
CreateProcessingJob request, with the outputs of ``--outputs-file`` (``cdk deploy
--outputs-file`` writes one) or, without it, example outputs.

Exit codes: 0 baselined (or printed), 1 the job failed, 2 setup error.

Usage::

    python -m ml_refarch.stacks.model_monitor.baseline [--stack MlRefArch-ModelMonitor] [--no-wait]
    python -m ml_refarch.stacks.model_monitor.baseline --dry-run [--outputs-file outputs.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from ml_refarch import model_artifacts
from ml_refarch.smoke import core as smoke
from ml_refarch.stacks.model_monitor import PATTERN
from ml_refarch.stacks.model_monitor.outputs import Outputs

DEFAULT_STACK_NAME = PATTERN.stack_name
REQUIRED_OUTPUTS = (
    Outputs.ROLE_ARN,
    Outputs.KEY_ARN,
    Outputs.SUBNET_IDS,
    Outputs.SECURITY_GROUP_IDS,
    Outputs.BASELINE_DATASET_URI,
    Outputs.BASELINE_RESULTS_URI,
    Outputs.MONITORING_INSTANCE_TYPE,
    Outputs.MONITORING_INSTANCE_COUNT,
    Outputs.MONITORING_VOLUME_SIZE_GI_B,
    Outputs.MAX_RUNTIME_SECONDS,
)
#: What ``--dry-run`` shows without ``--outputs-file``: outputs shaped like a deployment's.
EXAMPLE_OUTPUTS = {
    Outputs.ROLE_ARN: "arn:aws:iam::123456789012:role/MlRefArch-ModelMonitor-ExecutionRole-EXAMPLE",
    Outputs.KEY_ARN: "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    Outputs.SUBNET_IDS: "subnet-0example0000000a,subnet-0example0000000b",
    Outputs.SECURITY_GROUP_IDS: "sg-0example000000000",
    Outputs.BASELINE_DATASET_URI: "s3://mlrefarch-modelmonitor-example/baseline/dataset/baseline.csv",
    Outputs.BASELINE_RESULTS_URI: "s3://mlrefarch-modelmonitor-example/baseline/results",
    Outputs.MONITORING_INSTANCE_TYPE: "ml.m5.xlarge",
    Outputs.MONITORING_INSTANCE_COUNT: "1",
    Outputs.MONITORING_VOLUME_SIZE_GI_B: "30",
    Outputs.MAX_RUNTIME_SECONDS: "1800",
}
#: The baseline's CSV layout: no header, the endpoint's output columns first.
DATASET_FORMAT = {"csv": {"header": False, "output_columns_position": "START"}}


@dataclass(frozen=True)
class BaselinePlan:
    """The baselining job, entirely from the stack's outputs."""

    region: str
    role_arn: str
    key_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    dataset_uri: str
    results_uri: str
    instance_type: str
    instance_count: int
    volume_size_gib: int
    max_runtime_seconds: int
    job_name: str

    @property
    def dataset_location(self) -> tuple[str, str]:
        """(bucket, key) of the baseline dataset."""
        return split_s3_uri(self.dataset_uri)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key); raises SetupError for anything else."""
    if not uri.startswith("s3://") or "/" not in uri[5:] or uri.endswith("/"):
        raise smoke.SetupError(f"expected an s3://bucket/key URI, got {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def _whole_number(outputs: Mapping[str, str], key: str) -> int:
    text = outputs[key].strip()
    if not text.isdigit() or int(text) < 1:
        raise smoke.SetupError(f"output {key} must be a whole number above 0, got {text!r}")
    return int(text)


def plan_from_outputs(
    outputs: Mapping[str, str], *, region: str | None, job_name: str
) -> BaselinePlan:
    """The job the outputs describe; the region defaults to the key's.

    Raises:
        SetupError: naming missing or malformed outputs.
    """
    smoke.require(outputs, *REQUIRED_OUTPUTS)
    key_parts = outputs[Outputs.KEY_ARN].split(":")
    if len(key_parts) < 6 or key_parts[2] != "kms":
        raise smoke.SetupError(f"output KeyArn is not a KMS key ARN: {outputs[Outputs.KEY_ARN]!r}")
    subnets = tuple(smoke.split_ids(outputs[Outputs.SUBNET_IDS]))
    groups = tuple(smoke.split_ids(outputs[Outputs.SECURITY_GROUP_IDS]))
    if len(subnets) < 2:
        raise smoke.SetupError(
            f"output SubnetIds must list subnets in two or more zones, got {subnets}"
        )
    if not groups:
        raise smoke.SetupError("output SecurityGroupIds lists no security group")
    split_s3_uri(outputs[Outputs.BASELINE_DATASET_URI])
    if not outputs[Outputs.BASELINE_RESULTS_URI].startswith("s3://"):
        raise smoke.SetupError(
            f"output BaselineResultsUri is not an S3 URI: {outputs[Outputs.BASELINE_RESULTS_URI]!r}"
        )
    return BaselinePlan(
        region=region or key_parts[3],
        role_arn=outputs[Outputs.ROLE_ARN],
        key_arn=outputs[Outputs.KEY_ARN],
        subnet_ids=subnets,
        security_group_ids=groups,
        dataset_uri=outputs[Outputs.BASELINE_DATASET_URI],
        results_uri=outputs[Outputs.BASELINE_RESULTS_URI].rstrip("/"),
        instance_type=outputs[Outputs.MONITORING_INSTANCE_TYPE],
        instance_count=_whole_number(outputs, Outputs.MONITORING_INSTANCE_COUNT),
        volume_size_gib=_whole_number(outputs, Outputs.MONITORING_VOLUME_SIZE_GI_B),
        max_runtime_seconds=_whole_number(outputs, Outputs.MAX_RUNTIME_SECONDS),
        job_name=job_name,
    )


# --- the dataset -------------------------------------------------------------------------------


def load_booster(model_name: str = model_artifacts.DEFAULT_MODEL) -> Any:
    """The committed model the stack serves, loaded with xgboost."""
    import xgboost

    with tarfile.open(model_artifacts.artifact_path(model_name), "r:gz") as tar:
        member = tar.extractfile(model_artifacts.MODEL_FILE_NAME)
        assert member is not None
        booster = xgboost.Booster()
        booster.load_model(bytearray(member.read()))
    return booster


def baseline_rows(features: Any, score: Any) -> list[str]:
    """``score,feature1,...,featureN`` per row, features printed as the endpoint gets them.

    ``score`` maps a list of rows (lists of floats) to their scores.
    """
    printed = [model_artifacts.format_row(row) for row in features]
    parsed = [[float(value) for value in line.split(",")] for line in printed]
    scores = score(parsed)
    return [f"{float(s):.6f},{line}" for s, line in zip(scores, printed, strict=True)]


def _scored_training_rows(model_name: str) -> tuple[list[str], Any]:
    """The model's training rows (the holdout left out), each ``score,feature_1..`` as
    :func:`baseline_rows` prints them, and their labels."""
    import numpy as np
    import xgboost

    features, labels = model_artifacts.dataset()
    holdout = round(model_artifacts.DATASET_ROWS * model_artifacts.HOLDOUT_FRACTION)
    kept = model_artifacts.DATASET_ROWS - holdout
    booster = load_booster(model_name)
    rows = baseline_rows(
        features[:kept], lambda parsed: booster.predict(xgboost.DMatrix(np.array(parsed))).tolist()
    )
    return rows, labels[:kept]


def baseline_csv(model_name: str = model_artifacts.DEFAULT_MODEL) -> str:
    """The baseline dataset: the model's training rows, scored by the model."""
    rows, _labels = _scored_training_rows(model_name)
    return "".join(f"{row}\n" for row in rows)


def job_baseline_csv(model_name: str = model_artifacts.DEFAULT_MODEL) -> str:
    """The processing-job engine's baseline: the model's training rows with their labels and
    scores, ``label,score,feature_1..feature_8`` with a header (the layout
    :func:`ml_refarch.stacks.model_monitor.job.capture.read_baseline` reads). The stack ships
    the committed copy (``sample_data/churn-v1-baseline.csv``) as an asset; a test holds the
    copy to this function."""
    rows, labels = _scored_training_rows(model_name)
    width = len(rows[0].split(",")) - 1
    header = ",".join(["label", "score", *(f"feature_{i + 1}" for i in range(width))])
    lines = [f"{int(label)},{row}" for label, row in zip(labels, rows, strict=True)]
    return "\n".join([header, *lines]) + "\n"


# --- the SDK call ------------------------------------------------------------------------------


def suggest_baseline(plan: BaselinePlan, sagemaker_session: Any, *, wait: bool) -> Any:
    """``DefaultModelMonitor.suggest_baseline`` for ``plan`` (the one path, real or dry)."""
    from sagemaker.core.model_monitor import DefaultModelMonitor
    from sagemaker.core.network import NetworkConfig

    monitor = DefaultModelMonitor(
        role=plan.role_arn,
        instance_count=plan.instance_count,
        instance_type=plan.instance_type,
        volume_size_in_gb=plan.volume_size_gib,
        volume_kms_key=plan.key_arn,
        output_kms_key=plan.key_arn,
        max_runtime_in_seconds=plan.max_runtime_seconds,
        sagemaker_session=sagemaker_session,
        network_config=NetworkConfig(
            enable_network_isolation=True,
            encrypt_inter_container_traffic=True,
            subnets=list(plan.subnet_ids),
            security_group_ids=list(plan.security_group_ids),
        ),
        tags=[{"Key": "ml-refarch:pattern", "Value": PATTERN.id}],
    )
    return monitor.suggest_baseline(
        baseline_dataset=plan.dataset_uri,
        dataset_format=DATASET_FORMAT,
        output_s3_uri=plan.results_uri,
        wait=wait,
        logs=False,
        job_name=plan.job_name,
    )


def processing_job_request(plan: BaselinePlan) -> dict[str, Any]:
    """The CreateProcessingJob request the SDK sends for ``plan``, built without AWS.

    The SDK runs against a SageMaker client whose calls a botocore Stubber answers, so the
    request is validated against the API model and never leaves the machine.
    """
    import botocore.stub
    from sagemaker.core.helper.session_helper import Session

    boto_session = boto3.Session(
        region_name=plan.region, aws_access_key_id="dry-run", aws_secret_access_key="dry-run"
    )
    client = boto_session.client("sagemaker")
    captured: dict[str, Any] = {}
    client.meta.events.register(
        "provide-client-params.sagemaker.CreateProcessingJob",
        lambda params, **_: captured.update(params),
    )
    stubber = botocore.stub.Stubber(client)
    stubber.add_response(
        "create_processing_job",
        {"ProcessingJobArn": f"arn:aws:sagemaker:{plan.region}:000000000000:processing-job/x"},
    )
    with stubber:
        session = Session(
            boto_session=boto_session, sagemaker_client=client, default_bucket="dry-run-unused"
        )
        suggest_baseline(plan, session, wait=False)
    stubber.assert_no_pending_responses()
    return captured


# --- running it --------------------------------------------------------------------------------


def read_outputs_file(path: Path, stack_name: str) -> dict[str, str]:
    """Outputs from ``cdk deploy --outputs-file`` ({stack: {key: value}}) or a flat object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise smoke.SetupError(f"cannot read outputs file {path}: {error}") from None
    if isinstance(data, dict) and isinstance(data.get(stack_name), dict):
        data = data[stack_name]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise smoke.SetupError(
            f"{path} holds neither {{{stack_name!r}: {{output: value}}}} nor {{output: value}}"
        )
    return data


def upload_dataset(s3: Any, plan: BaselinePlan, body: str) -> None:
    bucket, key = plan.dataset_location
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body.encode(),
        ContentType="text/csv",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=plan.key_arn,
    )


def results_checks(s3: Any, sagemaker: Any, plan: BaselinePlan) -> list[smoke.Check]:
    """Whether the job completed and left both files where the job definition reads them."""
    job = sagemaker.describe_processing_job(ProcessingJobName=plan.job_name)
    status = job["ProcessingJobStatus"]
    checks = [
        smoke.Check(
            "baselining job completed",
            status == "Completed",
            f"{plan.job_name} is {status}"
            + (f": {job['FailureReason']}" if "FailureReason" in job else ""),
        )
    ]
    bucket, _, prefix = plan.results_uri.removeprefix("s3://").partition("/")
    for name in ("constraints.json", "statistics.json"):
        key = f"{prefix}/{name}"
        try:
            s3.head_object(Bucket=bucket, Key=key)
            checks.append(smoke.Check(f"{name} written", True, f"s3://{bucket}/{key}"))
        except s3.exceptions.ClientError as error:
            checks.append(
                smoke.Check(
                    f"{name} written",
                    False,
                    f"s3://{bucket}/{key}: {smoke.aws_error_message(error)}",
                )
            )
    return checks


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ml_refarch.stacks.model_monitor.baseline",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--stack", default=DEFAULT_STACK_NAME, help="CloudFormation stack name")
    parser.add_argument("--region", help="AWS region (default: the region of the stack's key)")
    parser.add_argument(
        "--job-name",
        default=f"mlrefarch-baseline-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}",
        help="processing job name (default: mlrefarch-baseline-<UTC time>)",
    )
    parser.add_argument("--no-wait", action="store_true", help="start the job and return")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the CreateProcessingJob request without AWS calls",
    )
    parser.add_argument(
        "--outputs-file", type=Path, help="stack outputs as JSON, instead of CloudFormation"
    )
    return parser.parse_args(argv)


def dry_run(args: argparse.Namespace, out: Any = None) -> int:
    out = out or sys.stdout
    if args.outputs_file is not None:
        outputs, source = read_outputs_file(args.outputs_file, args.stack), str(args.outputs_file)
    else:
        outputs, source = dict(EXAMPLE_OUTPUTS), "example outputs (pass --outputs-file)"
    plan = plan_from_outputs(outputs, region=args.region, job_name=args.job_name)
    rows = model_artifacts.DATASET_ROWS - round(
        model_artifacts.DATASET_ROWS * model_artifacts.HOLDOUT_FRACTION
    )
    print(f"dry run: stack {args.stack}, {source}", file=out)
    print(
        f"would upload {rows} rows (score + {model_artifacts.DATASET_FEATURES} features, "
        f"no header) to {plan.dataset_uri}, encrypted with {plan.key_arn}",
        file=out,
    )
    print("would send CreateProcessingJob:", file=out)
    print(json.dumps(processing_job_request(plan), indent=2, sort_keys=True), file=out)
    return 0


def _run(args: argparse.Namespace, session: Any) -> int:
    log = smoke.make_log()
    factory = (
        (lambda: session)
        if session is not None
        else (lambda: boto3.Session(region_name=args.region))
    )
    cloudformation, s3, sagemaker = smoke.make_clients(
        factory, args.stack, "cloudformation", "s3", "sagemaker"
    )
    if args.outputs_file is not None:
        outputs = read_outputs_file(args.outputs_file, args.stack)
    else:
        outputs = smoke.stack_outputs(cloudformation, args.stack)
    plan = plan_from_outputs(outputs, region=args.region, job_name=args.job_name)
    try:
        body = baseline_csv()
    except ImportError as error:
        raise smoke.SetupError(
            f"scoring the baseline rows needs xgboost-cpu (requirements-dev.txt): {error}"
        ) from None
    upload_dataset(s3, plan, body)
    log(f"uploaded {body.count(chr(10))} rows to {plan.dataset_uri}")
    from sagemaker.core.helper.session_helper import Session

    boto_session = session if session is not None else boto3.Session(region_name=plan.region)
    log(f"starting baselining job {plan.job_name}")
    suggest_baseline(plan, Session(boto_session=boto_session), wait=not args.no_wait)
    if args.no_wait:
        print(f"started {plan.job_name}; results go to {plan.results_uri}")
        return 0
    return smoke.report(results_checks(s3, sagemaker, plan), log=print)


def main(argv: Sequence[str] | None = None, *, session: Any = None) -> int:
    """Baselines the deployed monitor, or prints the request; ``session`` is for tests."""
    args = parse_args(argv)
    if args.dry_run:
        return smoke.run_guarded(lambda: dry_run(args))
    return smoke.run_guarded(lambda: _run(args, session))


if __name__ == "__main__":
    sys.exit(main())
