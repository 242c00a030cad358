"""Smoke test of a deployed ``MlRefArch-MultiModelEndpoint`` stack.

Checks that each committed artifact (``CommittedModels`` output: ``churn-v1.tar.gz``, ...)
is under the ``models/`` prefix of the stack's bucket, waits for the endpoint, then invokes
it once per artifact with ``TargetModel`` set to the artifact's name and the committed
sample rows (``text/csv``). Each answer must carry the scores the manifest records for that
model, and the models must answer differently: proof that ``TargetModel`` picked them. The
first call of a model includes loading it from S3; its latency is printed.

``--target my-model.tar.gz`` (repeatable) also invokes artifacts you added with
``aws s3 cp my-model.tar.gz s3://<ModelsBucketName>/models/``; having no expected scores,
they must return one probability per sample row.

A stack synthesized with ``-c target=local`` copies no artifacts (no custom resources);
``--upload`` puts the committed ones under the prefix first.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke multi-model-endpoint [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import botocore.exceptions

from ml_refarch.model_artifacts import (
    MODELS_DIR,
    load_manifest,
    parse_scores,
    sample_csv,
    scores_match,
)
from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.multi_model_endpoint.outputs import Outputs


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/models/`` -> (``bucket``, ``models/``); SetupError otherwise."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise smoke.SetupError(f"ModelsUri output is not an s3://bucket/prefix/ URI: {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket or not prefix.endswith("/"):
        raise smoke.SetupError(f"ModelsUri output is not an s3://bucket/prefix/ URI: {uri!r}")
    return bucket, prefix


def expected_by_artifact(
    artifacts: Sequence[str], manifest: Mapping[str, Any]
) -> dict[str, list[float]]:
    """{artifact file name: the manifest's sample scores of that model}."""
    by_file = {facts["file"]: name for name, facts in manifest["models"].items()}
    unknown = [artifact for artifact in artifacts if artifact not in by_file]
    if unknown:
        raise smoke.SetupError(
            f"CommittedModels names {', '.join(unknown)}, which the manifest does not list "
            f"(it has {', '.join(sorted(by_file))}): is this checkout older than the stack?"
        )
    scores = manifest["samples"]["scores"]
    return {artifact: list(scores[by_file[artifact]]) for artifact in artifacts}


def artifact_checks(
    s3: Any, bucket: str, prefix: str, artifacts: Sequence[str], *, upload: bool, log
) -> list[smoke.Check]:
    """Each artifact is under the prefix; with ``upload``, missing committed ones are put."""
    checks = []
    for artifact in artifacts:
        key = f"{prefix}{artifact}"
        try:
            s3.head_object(Bucket=bucket, Key=key)
            found, detail = True, f"s3://{bucket}/{key}"
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            found, detail = False, f"s3://{bucket}/{key} is missing"
            local = MODELS_DIR / artifact
            if upload and local.is_file():
                s3.put_object(Bucket=bucket, Key=key, Body=local.read_bytes())
                log(f"uploaded {local.name} to s3://{bucket}/{key}")
                found, detail = True, f"uploaded to s3://{bucket}/{key}"
            elif not upload:
                detail += " (run with --upload, or aws s3 cp it there)"
        checks.append(smoke.Check(f"artifact {artifact} under {prefix}", found, detail))
    return checks


def invoke_target(
    runtime: Any,
    endpoint_name: str,
    target: str,
    body: str,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[list[float] | None, float, str]:
    """One InvokeEndpoint of ``target``: (scores or None, seconds taken, raw answer)."""
    started = clock()
    _, text = endpoint_smoke.invoke_csv(runtime, endpoint_name, body, target_model=target)
    seconds = clock() - started
    try:
        return parse_scores(text), seconds, text
    except ValueError:
        return None, seconds, text


def model_checks(
    runtime: Any,
    endpoint_name: str,
    expected: Mapping[str, list[float]],
    extra_targets: Sequence[str],
    body: str,
    *,
    rows: int,
    clock: Callable[[], float] = time.perf_counter,
    log=print,
) -> list[smoke.Check]:
    """Invoke every target once and judge its scores."""
    checks: list[smoke.Check] = []
    answers: dict[str, list[float]] = {}
    for target in [*expected, *extra_targets]:
        try:
            scores, seconds, text = invoke_target(runtime, endpoint_name, target, body, clock)
        except botocore.exceptions.ClientError as error:
            checks.append(
                smoke.Check(f"TargetModel {target}", False, smoke.aws_error_message(error))
            )
            continue
        log(f"{target}: answered in {seconds * 1000:.0f} ms (first call loads it from S3)")
        if scores is None:
            checks.append(smoke.Check(f"TargetModel {target}", False, f"not scores: {text!r}"))
            continue
        answers[target] = scores
        if target in expected:
            checks.append(
                smoke.Check(
                    f"TargetModel {target} scores match the manifest",
                    scores_match(expected[target], scores),
                    f"{scores} (expected {expected[target]})",
                )
            )
        else:
            probabilities = len(scores) == rows and all(0.0 <= s <= 1.0 for s in scores)
            checks.append(
                smoke.Check(
                    f"TargetModel {target} returns one probability per row",
                    probabilities,
                    f"{len(scores)} scores for {rows} rows: {scores}",
                )
            )
    committed = [answers[target] for target in expected if target in answers]
    if len(expected) > 1 and len(committed) == len(expected):
        distinct = all(
            not scores_match(a, b) for i, a in enumerate(committed) for b in committed[i + 1 :]
        )
        checks.append(
            smoke.Check(
                "TargetModel routes to different models",
                distinct,
                "each model answered differently"
                if distinct
                else "two targets gave the same scores: the endpoint ignored TargetModel",
            )
        )
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--upload",
        action="store_true",
        help="put missing committed artifacts under the prefix (needed with -c target=local)",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME.tar.gz",
        help="also invoke an artifact you added under the prefix (repeatable)",
    )


def plan(args: argparse.Namespace) -> str:
    targets = ", ".join(["the committed artifacts (CommittedModels output)", *args.target])
    upload = "; upload missing committed artifacts" if args.upload else ""
    return (
        f"dry run: would read stack {args.stack_name}, check {targets} under ModelsUri{upload}, "
        "wait for the endpoint and invoke each with TargetModel and the sample rows"
    )


def run(run: Run) -> list[smoke.Check]:
    """The checks; the hook ``clock`` (default ``time.perf_counter``) times the calls."""
    clock = run.hooks.get("clock", time.perf_counter)
    log = run.log
    args, outputs = run.args, run.outputs
    s3, sagemaker, runtime = (run.client(name) for name in ("s3", "sagemaker", "sagemaker-runtime"))
    bucket, prefix = split_uri(outputs[Outputs.MODELS_URI])
    committed = smoke.split_ids(outputs[Outputs.COMMITTED_MODELS])
    manifest = load_manifest()
    expected = expected_by_artifact(committed, manifest)
    checks = artifact_checks(
        s3, bucket, prefix, [*committed, *args.target], upload=args.upload, log=log
    )
    deadline = run.deadline()
    in_service, _ = endpoint_smoke.wait_in_service(
        sagemaker, outputs[Outputs.ENDPOINT_NAME], deadline, args.poll_seconds, log
    )
    checks.append(in_service)
    if in_service.passed:
        checks += model_checks(
            runtime,
            outputs[Outputs.ENDPOINT_NAME],
            expected,
            args.target,
            sample_csv(manifest),
            rows=len(manifest["samples"]["rows"]),
            clock=clock,
            log=log,
        )
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.ENDPOINT_NAME,
        Outputs.MODELS_BUCKET_NAME,
        Outputs.MODELS_URI,
        Outputs.COMMITTED_MODELS,
    ),
    clients=("s3", "sagemaker", "sagemaker-runtime"),
    timeout_seconds=1800.0,
)
