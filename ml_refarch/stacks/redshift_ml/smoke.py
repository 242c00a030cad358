"""Smoke test of a deployed ``MlRefArch-RedshiftMl`` stack: stream in, view out, model trained.

Puts ``--records`` JSON records (a run id, two features ``x1``, ``x2`` and a target ``y``)
into the stream, then, through the Redshift Data API as the namespace's admin user (its
secret's ARN from ``GetNamespace``), refreshes the streaming view and counts the run's rows
until all have arrived. Unless ``--skip-model``, it then runs ``CREATE MODEL`` on those rows
(SageMaker trains an XGBoost regressor; the training job bills while it runs) and checks that
``SHOW MODEL`` reports it ``TRAINING`` or ``READY``.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke redshift-ml [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.redshift_ml import sql
from ml_refarch.stacks.redshift_ml.outputs import Outputs

REQUIRED_OUTPUTS = (
    Outputs.STREAM_NAME,
    Outputs.NAMESPACE_NAME,
    Outputs.WORKGROUP_NAME,
    Outputs.DATABASE_NAME,
    Outputs.STREAMING_VIEW,
    Outputs.REDSHIFT_ROLE_ARN,
    Outputs.MODEL_BUCKET_NAME,
    Outputs.KEY_ID,
)
#: SHOW MODEL's states: a model trains, then is ready; anything else is a failure.
MODEL_OK_STATES = ("TRAINING", "READY")
MODEL_STATE_KEY = "Model State"
#: y = 3 x1 - 2 x2 + noise: a relation XGBoost learns from a few hundred rows.
WEIGHTS = (3.0, -2.0)
#: Records per PutRecords call (the API takes up to 500).
BATCH = 500


@dataclass(frozen=True)
class Target:
    """Where the Data API runs a statement, and as whom."""

    workgroup: str
    database: str
    secret_arn: str

    def request(self) -> dict[str, str]:
        return {
            "WorkgroupName": self.workgroup,
            "Database": self.database,
            "SecretArn": self.secret_arn,
        }


def make_run_id(rng: random.Random) -> str:
    return f"smoke{rng.getrandbits(40):010x}"


def make_records(count: int, run_id: str, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` records of the run: features and a target with a little noise."""
    records = []
    for index in range(count):
        x1, x2 = round(rng.uniform(-5, 5), 4), round(rng.uniform(-5, 5), 4)
        y = round(WEIGHTS[0] * x1 + WEIGHTS[1] * x2 + rng.gauss(0, 0.1), 4)
        records.append({"run_id": run_id, "seq": index, "x1": x1, "x2": x2, "y": y})
    return records


def put_records(kinesis: Any, stream_name: str, records: Sequence[Mapping[str, Any]]) -> int:
    """Puts the records; raises SmokeFailure if any is refused. Returns the request count."""
    requests = 0
    for start in range(0, len(records), BATCH):
        batch = records[start : start + BATCH]
        response = kinesis.put_records(
            StreamName=stream_name,
            Records=[
                {"Data": json.dumps(record).encode(), "PartitionKey": f"{record['seq']}"}
                for record in batch
            ],
        )
        requests += 1
        if response.get("FailedRecordCount"):
            codes = sorted({r["ErrorCode"] for r in response["Records"] if r.get("ErrorCode")})
            raise smoke.SmokeFailure(
                f"{response['FailedRecordCount']} records refused: {', '.join(codes)}"
            )
    return requests


def admin_target(serverless: Any, outputs: Mapping[str, str]) -> Target:
    """The workgroup and database, as the admin user whose secret Redshift manages."""
    namespace = serverless.get_namespace(namespaceName=outputs[Outputs.NAMESPACE_NAME])
    secret_arn = namespace["namespace"].get("adminPasswordSecretArn")
    if not secret_arn:
        raise smoke.SetupError(
            f"namespace {outputs[Outputs.NAMESPACE_NAME]} has no managed admin secret"
        )
    return Target(outputs[Outputs.WORKGROUP_NAME], outputs[Outputs.DATABASE_NAME], secret_arn)


def run_statement(
    data: Any,
    target: Target,
    statement: str,
    *,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Runs one statement to its end; its description. Raises SmokeFailure if it fails."""
    request = {**target.request(), "Sql": statement}
    if parameters:
        request["Parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
    statement_id = data.execute_statement(**request)["Id"]
    description, problem = smoke.wait_for_status(
        lambda: data.describe_statement(Id=statement_id),
        f"statement {statement_id}",
        transitional=("SUBMITTED", "PICKED", "STARTED"),
        deadline=deadline,
        poll_seconds=poll_seconds,
        log=log,
        ready="FINISHED",
        settle=lambda status, d: f"{status}: {d.get('Error', 'no error given')}",
    )
    if problem:
        first_line = statement.splitlines()[0]
        raise smoke.SmokeFailure(f"{first_line} ...: {problem}")
    return description


def result_rows(data: Any, statement_id: str) -> list[list[Any]]:
    """The statement's rows, each field as its Python value (None for NULL)."""
    rows = []
    token = None
    while True:
        page = data.get_statement_result(Id=statement_id, **({"NextToken": token} if token else {}))
        for record in page["Records"]:
            rows.append([None if f.get("isNull") else next(iter(f.values())) for f in record])
        token = page.get("NextToken")
        if not token:
            return rows


def model_state(rows: Sequence[Sequence[Any]]) -> str:
    """The ``Model State`` among SHOW MODEL's key/value rows, or ``unknown``."""
    for row in rows:
        if len(row) >= 2 and str(row[0]).strip() == MODEL_STATE_KEY:
            return str(row[1]).strip().upper()
    return "unknown"


def sql_values(outputs: Mapping[str, str], run_id: str) -> dict[str, str]:
    """The values the smoke check's SQL files take."""
    return {
        "streaming_view": outputs[Outputs.STREAMING_VIEW],
        "redshift_role_arn": outputs[Outputs.REDSHIFT_ROLE_ARN],
        "model_bucket": outputs[Outputs.MODEL_BUCKET_NAME],
        "key_id": outputs[Outputs.KEY_ID],
        "run_id": run_id,
        "model_name": f"{run_id}_model",
        "function_name": f"{run_id}_predict",
    }


def count_rows(
    data: Any, target: Target, values: Mapping[str, str], expected: int, *, deadline, poll, log
) -> smoke.Check:
    """Refreshes the view and counts the run's rows until all arrived or time runs out."""
    count = 0
    while True:
        run_statement(
            data, target, sql.render(sql.REFRESH_VIEW, values), deadline=deadline,
            poll_seconds=poll, log=log,
        )  # fmt: skip
        description = run_statement(
            data, target, sql.render(sql.COUNT_RUN, values), deadline=deadline,
            poll_seconds=poll, log=log, parameters={"run_id": values["run_id"]},
        )  # fmt: skip
        ((count, *_),) = result_rows(data, description["Id"]) or [[0]]
        log(f"the view holds {count}/{expected} rows of run {values['run_id']}")
        if int(count) >= expected or deadline.expired:
            break
        deadline.wait(poll)
    return smoke.Check(
        "the streaming view holds every record", int(count) == expected, f"{count}/{expected}"
    )


def model_checks(data: Any, target: Target, values: Mapping[str, str], *, deadline, poll, log):
    """CREATE MODEL on the run's rows, then SHOW MODEL's state."""
    run_statement(
        data, target, sql.render(sql.CREATE_MODEL, values), deadline=deadline,
        poll_seconds=poll, log=log,
    )  # fmt: skip
    description = run_statement(
        data, target, sql.render(sql.SHOW_MODEL, values), deadline=deadline,
        poll_seconds=poll, log=log,
    )  # fmt: skip
    state = model_state(result_rows(data, description["Id"]))
    return smoke.Check(
        "CREATE MODEL is training or ready",
        state in MODEL_OK_STATES,
        f"{values['model_name']}: {state}",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--records", type=smoke.whole_number(10, 10_000), default=300, help="records to put"
    )
    parser.add_argument("--seed", type=int, help="makes the run id and values deterministic")
    parser.add_argument(
        "--skip-model", action="store_true", help="do not run CREATE MODEL (no training job)"
    )


def plan(args: argparse.Namespace) -> str:
    rng = random.Random(args.seed)
    run_id = make_run_id(rng)
    lines = [
        smoke.dry_run_intro(args),
        f"put {args.records} records of run {run_id}, e.g. "
        + json.dumps(make_records(1, run_id, rng)[0]),
        "refresh the streaming view and count the run's rows through the Data API",
        "skip CREATE MODEL"
        if args.skip_model
        else "run CREATE MODEL on the run's rows and check SHOW MODEL",
    ]
    return "\n".join(lines)


def run(run: Run) -> list[smoke.Check]:
    args, outputs, log = run.args, run.outputs, run.log
    rng = random.Random(args.seed)
    run_id = make_run_id(rng)
    deadline = run.deadline()
    records = make_records(args.records, run_id, rng)
    requests = put_records(run.client("kinesis"), outputs[Outputs.STREAM_NAME], records)
    log(f"put {len(records)} records of run {run_id} in {requests} request(s)")
    data = run.client("redshift-data")
    target = admin_target(run.client("redshift-serverless"), outputs)
    values = sql_values(outputs, run_id)
    options = {"deadline": deadline, "poll": args.poll_seconds, "log": log}
    checks = [count_rows(data, target, values, len(records), **options)]
    if args.skip_model:
        log("CREATE MODEL skipped (--skip-model)")
    elif checks[0].passed:
        checks.append(model_checks(data, target, values, **options))
    return checks


SMOKE = SmokeTest(
    required_outputs=REQUIRED_OUTPUTS,
    clients=("kinesis", "redshift-data", "redshift-serverless"),
    timeout_seconds=1200.0,
    poll_seconds=5.0,
)
