"""Smoke test of a deployed ``MlRefArch-InferencePipeline`` stack.

Real time: sends the committed sample records (``f1..f8,plan``) to the endpoint and expects
the manifest's ``label,score`` answers; then sends a record with the wrong number of values
and expects the preprocessing container's 400 with its message (the runtime reports it as a
ModelError carrying the container's status).

Batch: uploads the same records with an id column (``id,f1..f8,plan``) under ``input/``,
waits for the execution the upload starts (EventBridge) and for its transform job, and reads
the joined output: one ``id,label,score`` row per record, ids in order.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke inference-pipeline [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import botocore.exceptions

from ml_refarch.model_artifacts import scores_match
from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.inference_pipeline.artifacts import load_pipeline_manifest
from ml_refarch.stacks.inference_pipeline.outputs import Outputs

INPUT_PREFIX = "input/"
BAD_ROW = "1.0,2.0,basic"
BAD_ROW_MESSAGE = "row 1 has 3 values"


# --- pure logic (unit-tested without AWS) ----------------------------------------------------


def parse_labelled(body: str) -> list[tuple[str, float]]:
    """``churn,0.9\\nstay,0.1`` -> ``[("churn", 0.9), ("stay", 0.1)]``.

    Raises:
        ValueError: for a row that is not ``label,score``.
    """
    rows = []
    for line in body.splitlines():
        if not line.strip():
            continue
        label, sep, score = line.rpartition(",")
        try:
            rows.append((label.strip(), float(score)))
        except ValueError:
            raise ValueError(f"expected label,score rows, got {line!r}") from None
        if not sep or not label.strip():
            raise ValueError(f"expected label,score rows, got {line!r}")
    return rows


def labelled_check(
    name: str, expected_labels: Sequence[str], expected_scores: Sequence[float], body: str
) -> smoke.Check:
    """Whether ``body`` holds the expected labels and (within 1e-4) scores."""
    try:
        rows = parse_labelled(body)
    except ValueError as error:
        return smoke.Check(name, False, str(error))
    labels = [label for label, _ in rows]
    scores = [score for _, score in rows]
    passed = labels == list(expected_labels) and scores_match(list(expected_scores), scores)
    return smoke.Check(name, passed, f"labels {labels}, scores {scores}")


def batch_body(rows: Sequence[str], ids: Sequence[str]) -> str:
    """The batch input: each raw record with its id in front, no header."""
    return "".join(f"{record_id},{row}\n" for record_id, row in zip(ids, rows, strict=True))


def joined_check(
    body: str, ids: Sequence[str], labels: Sequence[str], scores: Sequence[float]
) -> smoke.Check:
    """The transform output keeps ``id,label,score`` per record, in input order."""
    name = "batch transform joins id, label and score"
    rows = [line.split(",") for line in body.splitlines() if line.strip()]
    if any(len(row) != 3 for row in rows):
        return smoke.Check(name, False, f"expected id,label,score rows, got {body[:200]!r}")
    received_ids = [row[0] for row in rows]
    if received_ids != list(ids):
        return smoke.Check(name, False, f"ids {received_ids}, expected {list(ids)}")
    labelled = "\n".join(f"{label},{score}" for _, label, score in rows)
    check = labelled_check(name, labels, scores, labelled)
    return smoke.Check(name, check.passed, f"ids in order; {check.detail}")


def client_error_check(error: botocore.exceptions.ClientError) -> smoke.Check:
    """A ModelError whose container answered 400 with the bad row's message."""
    response = error.response
    status = response.get("OriginalStatusCode")
    message = response.get("OriginalMessage") or response.get("Error", {}).get("Message", "")
    passed = status == 400 and BAD_ROW_MESSAGE in message
    return smoke.Check(
        "a bad record gets a 400 with the reason", passed, f"status {status}: {message[:200]}"
    )


def execution_for_key(
    executions: Sequence[Mapping[str, Any]], describe: Callable[[str], Mapping[str, Any]], key: str
) -> str | None:
    """The ARN of the execution (newest first) whose input names ``key``."""
    for execution in executions:
        description = describe(execution["executionArn"])
        try:
            run_input = json.loads(description.get("input") or "{}")
        except ValueError:
            continue
        if run_input.get("inputKey") == key:
            return execution["executionArn"]
    return None


def output_key(output_uri: str, bucket: str, input_key: str) -> str:
    """Where batch transform writes the output of ``input_key``: ``<path>/<file>.out``."""
    prefix = f"s3://{bucket}/"
    if not output_uri.startswith(prefix):
        raise ValueError(f"output {output_uri!r} is not in bucket {bucket}")
    path = output_uri[len(prefix) :].rstrip("/")
    return f"{path}/{input_key.rsplit('/', 1)[-1]}.out"


# --- AWS -------------------------------------------------------------------------------------


def realtime_checks(runtime: Any, endpoint: str, manifest: Mapping[str, Any]) -> list[smoke.Check]:
    samples = manifest["samples"]
    body = "".join(f"{row}\n" for row in samples["rows"])
    _, answer = endpoint_smoke.invoke_csv(runtime, endpoint, body)
    checks = [
        labelled_check(
            "endpoint labels the sample records", samples["predicted"], samples["scores"], answer
        )
    ]
    try:
        runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Body=f"{BAD_ROW}\n".encode()
        )
    except botocore.exceptions.ClientError as error:
        checks.append(client_error_check(error))
    else:
        checks.append(smoke.Check("a bad record gets a 400 with the reason", False, "no error"))
    return checks


def batch_checks(
    s3: Any,
    sfn: Any,
    outputs: Mapping[str, str],
    manifest: Mapping[str, Any],
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
    run_id: str,
) -> list[smoke.Check]:
    samples = manifest["samples"]
    ids = [f"{run_id}-{index}" for index in range(len(samples["rows"]))]
    bucket = outputs[Outputs.BUCKET_NAME]
    key = f"{INPUT_PREFIX}smoke-{run_id}.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=batch_body(samples["rows"], ids).encode())
    log(f"uploaded s3://{bucket}/{key}")
    machine = outputs[Outputs.STATE_MACHINE_ARN]
    execution_arn = None
    while execution_arn is None:
        listed = sfn.list_executions(stateMachineArn=machine, maxResults=20)["executions"]
        execution_arn = execution_for_key(
            listed, lambda arn: sfn.describe_execution(executionArn=arn), key
        )
        if execution_arn is None:
            if deadline.expired:
                return [smoke.Check("upload starts a run", False, f"no execution for {key}")]
            deadline.wait(poll_seconds)
    checks = [smoke.Check("upload starts a run", True, execution_arn)]
    description = smoke.follow_execution(sfn, execution_arn, deadline, poll_seconds, log)
    status = description["status"]
    detail = description.get("output") or description.get("cause") or status
    checks.append(smoke.Check("batch transform run succeeded", status == "SUCCEEDED", detail[:300]))
    if status != "SUCCEEDED":
        return checks
    result = json.loads(description["output"])
    location = output_key(result["transform"]["output"], bucket, key)
    body = s3.get_object(Bucket=bucket, Key=location)["Body"].read().decode()
    checks.append(joined_check(body, ids, samples["predicted"], samples["scores"]))
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skip-batch", action="store_true", help="check the endpoint only")


def plan(args: argparse.Namespace) -> str:
    batch = "" if args.skip_batch else ", upload id,f1..f8,plan rows under input/, wait for "
    batch += "" if args.skip_batch else "the run and read the id,label,score output"
    return (
        f"dry run: would read stack {args.stack_name}, invoke the endpoint with the sample "
        f"records and one bad record{batch}"
    )


def run(run: Run) -> list[smoke.Check]:
    """The checks; the hook ``run_id`` (default: the time, to the second) names the upload."""
    run_id = run.hooks.get("run_id") or time.strftime("%Y%m%d%H%M%S")
    log = run.log
    args, outputs = run.args, run.outputs
    runtime, s3, sfn = (run.client(name) for name in ("sagemaker-runtime", "s3", "stepfunctions"))
    manifest = load_pipeline_manifest()
    checks = realtime_checks(runtime, outputs[Outputs.ENDPOINT_NAME], manifest)
    if not args.skip_batch:
        deadline = run.deadline()
        checks += batch_checks(s3, sfn, outputs, manifest, deadline, args.poll_seconds, log, run_id)
    return checks


SMOKE = SmokeTest(
    required_outputs=(Outputs.ENDPOINT_NAME, Outputs.BUCKET_NAME, Outputs.STATE_MACHINE_ARN),
    clients=("sagemaker-runtime", "s3", "stepfunctions"),
    timeout_seconds=3600.0,
)
