"""ml_refarch/stacks/redshift_ml/smoke.py against a fake stream and a fake warehouse.

The fake warehouse plays Redshift's part: records put to the stream reach the view when it
is refreshed (as streaming ingestion does), the count statement counts the run's rows, and
CREATE MODEL leaves a model that SHOW MODEL reports.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ml_refarch.stacks.redshift_ml import PATTERN, smoke
from ml_refarch.stacks.redshift_ml.outputs import Outputs
from tests import smoke_fakes as fakes
from tests.smoke_fakes import Fake, Session, runner_for

main = runner_for(PATTERN)

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift!ns-admin-AbCdEf"
OUTPUTS = {
    Outputs.STREAM_NAME: "stream",
    Outputs.NAMESPACE_NAME: "ns",
    Outputs.WORKGROUP_NAME: "wg",
    Outputs.DATABASE_NAME: "dev",
    Outputs.STREAMING_VIEW: "stream_events",
    Outputs.REDSHIFT_ROLE_ARN: "arn:aws:iam::123456789012:role/redshift",
    Outputs.MODEL_BUCKET_NAME: "models",
    Outputs.KEY_ID: "1234abcd-12ab-34cd-56ef-1234567890ab",
}


class Stream:
    """Kinesis PutRecords; ``refuse`` records come back with an error code."""

    def __init__(self, refuse: int = 0):
        self.records: list[dict[str, Any]] = []
        self.refuse = refuse

    def put_records(self, StreamName, Records):
        assert StreamName == "stream"
        self.records += [json.loads(r["Data"]) for r in Records]
        results = [{"SequenceNumber": "1"} for _ in Records]
        for result in results[: self.refuse]:
            result["ErrorCode"] = "ProvisionedThroughputExceededException"
        return {"FailedRecordCount": min(self.refuse, len(Records)), "Records": results}


class Warehouse:
    """The Data API over a view that ingests ``stream`` on REFRESH."""

    def __init__(self, stream: Stream, *, lag: int = 0, model_state="TRAINING", fail=None):
        self.stream, self.lag, self.model_state, self.fail = stream, lag, model_state, fail
        self.view: list[dict[str, Any]] = []
        self.statements: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []

    def execute_statement(self, **request):
        self.requests.append(request)
        statement_id = f"s{len(self.requests)}"
        sql, result = request["Sql"], None
        status = "FAILED" if self.fail and self.fail in sql else "FINISHED"
        if sql.startswith("REFRESH MATERIALIZED VIEW"):
            if self.lag:
                self.lag -= 1  # the records have not reached Redshift yet
            else:
                self.view = list(self.stream.records)
        elif sql.startswith("SELECT COUNT(*)"):
            (parameter,) = request["Parameters"]
            count = sum(1 for row in self.view if row["run_id"] == parameter["value"])
            result = [[{"longValue": count}]]
        elif sql.startswith("SHOW MODEL"):
            result = [
                [{"stringValue": "Model Name"}, {"stringValue": sql.split()[2].rstrip(";")}],
                [{"stringValue": "Model State"}, {"stringValue": self.model_state}],
            ]
        self.statements[statement_id] = {"Status": status, "Error": "ERROR: boom", "rows": result}
        return {"Id": statement_id}

    def describe_statement(self, Id):
        return {"Id": Id, **self.statements[Id]}

    def get_statement_result(self, Id):
        return {"Records": self.statements[Id]["rows"] or []}


def session(**options):
    stream = Stream(refuse=options.pop("refuse", 0))
    warehouse = Warehouse(stream, **options)
    serverless = Fake(get_namespace={"namespace": {"adminPasswordSecretArn": SECRET}})
    aws = Session(
        cloudformation=fakes.stack(OUTPUTS),
        kinesis=stream,
        **{"redshift-data": warehouse, "redshift-serverless": serverless},
    )
    return aws, warehouse


def run(*argv, **options):
    aws, warehouse = session(**options)
    code = main(["--records", "20", "--seed", "1", *argv], session=aws, sleep=lambda s: None)
    return code, warehouse


def test_records_reach_the_view_and_the_model_trains(capsys):
    code, warehouse = run()
    assert code == 0, capsys.readouterr().out
    assert len(warehouse.view) == 20
    assert {r["SecretArn"] for r in warehouse.requests} == {SECRET}
    assert {(r["WorkgroupName"], r["Database"]) for r in warehouse.requests} == {("wg", "dev")}
    create = next(r["Sql"] for r in warehouse.requests if r["Sql"].startswith("CREATE MODEL"))
    run_id = warehouse.view[0]["run_id"]
    assert f"= '{run_id}'" in create and "S3_BUCKET 'models'" in create
    assert "PASS" in capsys.readouterr().out


def test_the_check_waits_for_records_that_arrive_late():
    code, warehouse = run("--skip-model", lag=2)
    assert code == 0
    refreshes = [r for r in warehouse.requests if r["Sql"].startswith("REFRESH")]
    assert len(refreshes) == 3
    assert not any(r["Sql"].startswith("CREATE MODEL") for r in warehouse.requests)


def test_records_that_never_arrive_fail_after_the_timeout(capsys):
    aws, _ = session(lag=10**6)
    argv = ["--records", "20", "--skip-model", "--timeout-seconds", "30", "--poll-seconds", "5"]
    assert main(argv, session=aws, sleep=lambda s: None) == 1
    assert "the streaming view holds every record" in capsys.readouterr().out


@pytest.mark.parametrize("state", ["FAILED", "unknown"])
def test_a_model_that_is_not_training_or_ready_fails(state, capsys):
    code, _ = run(model_state=state)
    assert code == 1
    assert "CREATE MODEL is training or ready" in capsys.readouterr().out


def test_a_failed_statement_fails_with_redshifts_error(capsys):
    code, _ = run(fail="CREATE MODEL")
    assert code == 1
    assert "ERROR: boom" in capsys.readouterr().out


def test_refused_records_fail_the_run(capsys):
    code, _ = run(refuse=3)
    assert code == 1
    assert "ProvisionedThroughputExceededException" in capsys.readouterr().out


def test_a_namespace_without_a_managed_secret_is_a_setup_error():
    aws, _ = session()
    aws.clients["redshift-serverless"] = Fake(get_namespace={"namespace": {}})
    assert main(["--records", "10"], session=aws, sleep=lambda s: None) == 2


def test_the_dry_run_plans_without_aws(capsys):
    assert main(["--dry-run", "--seed", "3"], session=fakes.NoAws()) == 0
    out = capsys.readouterr().out
    assert "put 300 records of run smoke" in out and "CREATE MODEL" in out


def test_model_state_reads_show_models_key_value_rows():
    assert smoke.model_state([["Model Name", "m"], ["Model State", "ready "]]) == "READY"
    assert smoke.model_state([["Model Name", "m"]]) == "unknown"


def test_records_follow_the_linear_relation_the_model_learns():
    import random

    records = smoke.make_records(50, "run", random.Random(0))
    for record in records:
        expected = 3 * record["x1"] - 2 * record["x2"]
        assert abs(record["y"] - expected) < 1.0
    assert re.fullmatch(r"smoke[0-9a-f]{10}", smoke.make_run_id(random.Random(0)))
