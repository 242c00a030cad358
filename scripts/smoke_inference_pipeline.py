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

    python scripts/smoke_inference_pipeline.py [--stack MlRefArch-InferencePipeline]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from ml_refarch import smoke  # noqa: E402
from ml_refarch.model_artifacts import scores_match  # noqa: E402
from ml_refarch.stacks.inference_pipeline.artifacts import load_pipeline_manifest  # noqa: E402

DEFAULT_STACK_NAME = "MlRefArch-InferencePipeline"
REQUIRED_OUTPUTS = ("EndpointName", "BucketName", "StateMachineArn")
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
    response = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body.encode()
    )
    answer = response["Body"].read().decode()
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
    bucket = outputs["BucketName"]
    key = f"{INPUT_PREFIX}smoke-{run_id}.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=batch_body(samples["rows"], ids).encode())
    log(f"uploaded s3://{bucket}/{key}")
    machine = outputs["StateMachineArn"]
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


def parse_args(argv: Sequence[str] | None):
    parser = smoke.base_parser(__doc__.split("\n\n")[0], DEFAULT_STACK_NAME)
    parser.set_defaults(timeout_seconds=3600.0)
    parser.add_argument("--skip-batch", action="store_true", help="check the endpoint only")
    return parser.parse_args(argv)


def _run(args, session: Any, sleep, run_id: str) -> int:
    log = smoke.make_log()
    outputs, (runtime, s3, sfn) = smoke.connect(
        lambda: session or boto3.Session(region_name=args.region),
        args.stack,
        REQUIRED_OUTPUTS,
        "sagemaker-runtime",
        "s3",
        "stepfunctions",
    )
    manifest = load_pipeline_manifest()
    checks = realtime_checks(runtime, outputs["EndpointName"], manifest)
    if not args.skip_batch:
        deadline = smoke.Deadline(args.timeout_seconds, sleep=sleep)
        checks += batch_checks(s3, sfn, outputs, manifest, deadline, args.poll_seconds, log, run_id)
    return smoke.report(checks, log=print)


def main(
    argv: Sequence[str] | None = None, *, session: Any = None, sleep=None, run_id: str | None = None
) -> int:
    """Runs the smoke test; ``session``, ``sleep`` and ``run_id`` are for tests."""
    args = parse_args(argv)
    if args.dry_run:
        batch = "" if args.skip_batch else ", upload id,f1..f8,plan rows under input/, wait for "
        batch += "" if args.skip_batch else "the run and read the id,label,score output"
        print(
            f"dry run: would read stack {args.stack}, invoke the endpoint with the sample "
            f"records and one bad record{batch}"
        )
        return 0
    run_id = run_id or time.strftime("%Y%m%d%H%M%S")
    return smoke.run_guarded(lambda: _run(args, session, sleep or time.sleep, run_id))


if __name__ == "__main__":
    sys.exit(main())
