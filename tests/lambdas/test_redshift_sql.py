"""Tests for the Redshift SQL custom resource (lambdas/redshift_sql/handler.py), with fake
Redshift Serverless and Data API clients (moto models neither statement execution nor
managed admin secrets)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests.load import load_by_path
from tests.smoke_fakes import Fake

HANDLER_PATH = Path(__file__).resolve().parents[2] / "lambdas" / "redshift_sql" / "handler.py"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift!ns-admin-AbCdEf"
PROPERTIES = {
    "NamespaceName": "ns",
    "WorkgroupName": "wg",
    "Database": "dev",
    "Statements": ["CREATE EXTERNAL SCHEMA s FROM KINESIS IAM_ROLE 'r';", "SELECT 1;"],
    "Purpose": "streaming ingestion",
}


@pytest.fixture
def runner() -> ModuleType:
    return load_by_path("redshift_sql_handler", HANDLER_PATH)


def serverless(secret: str | None = SECRET) -> Fake:
    namespace = {"namespaceName": "ns", **({"adminPasswordSecretArn": secret} if secret else {})}
    return Fake(get_namespace={"namespace": namespace})


def data_api(*statuses_per_statement: list[str]) -> Fake:
    """ExecuteStatement returns s1, s2, ...; DescribeStatement walks each one's statuses."""
    queues = {f"s{i}": list(statuses) for i, statuses in enumerate(statuses_per_statement, 1)}
    started = iter(queues)

    def describe(Id):
        statuses = queues[Id]
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return {"Id": Id, "Status": status, "Error": "ERROR: permission denied for relation"}

    return Fake(execute_statement=lambda **_: {"Id": next(started)}, describe_statement=describe)


def test_statements_run_in_order_each_to_completion_as_the_admin_secret(runner):
    data = data_api(["SUBMITTED", "STARTED", "FINISHED"], ["FINISHED"])
    slept: list[float] = []
    ids = runner.run_statements(
        serverless(), data, PROPERTIES, deadline=100.0, sleep=slept.append, clock=lambda: 0.0
    )
    assert ids == ["s1", "s2"]
    executed = [kwargs for name, kwargs in data.calls if name == "execute_statement"]
    assert [e["Sql"] for e in executed] == PROPERTIES["Statements"]
    assert {(e["WorkgroupName"], e["Database"], e["SecretArn"]) for e in executed} == {
        ("wg", "dev", SECRET)
    }
    # The second statement starts only after the first finished.
    names = [name for name, _ in data.calls]
    assert names.index("execute_statement", 1) > names.index("describe_statement") + 1
    assert slept == [runner.POLL_SECONDS, runner.POLL_SECONDS]


@pytest.mark.parametrize("status", ["FAILED", "ABORTED"])
def test_a_failed_statement_stops_the_run_with_redshifts_error(runner, status):
    data = data_api(["STARTED", status], ["FINISHED"])
    with pytest.raises(runner.StatementError, match=f"statement 1 {status}: ERROR: permission"):
        runner.run_statements(
            serverless(), data, PROPERTIES, deadline=100.0, sleep=lambda _: None, clock=lambda: 0.0
        )
    assert [name for name, _ in data.calls].count("execute_statement") == 1


def test_a_statement_still_running_at_the_deadline_fails(runner):
    times = iter([0.0, 50.0, 101.0])
    data = data_api(["STARTED"])
    with pytest.raises(runner.StatementError, match="did not finish in time"):
        runner.run_statements(
            serverless(), data, PROPERTIES, deadline=100.0, sleep=lambda _: None,
            clock=lambda: next(times),
        )  # fmt: skip


def test_a_namespace_without_a_managed_password_is_an_error(runner):
    with pytest.raises(runner.StatementError, match="no managed admin secret"):
        runner.admin_secret_arn(serverless(secret=None), "ns")


def _event(request_type: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResourceProperties": PROPERTIES,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r-1",
        "LogicalResourceId": "StreamingSql",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/put",
    }


def _context():
    return SimpleNamespace(get_remaining_time_in_millis=lambda: 900_000, log_stream_name="l")


@pytest.fixture
def answers(runner, monkeypatch):
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        runner, "send_response", lambda e, c, status, pid, reason="": sent.append((status, reason))
    )
    return sent


def test_delete_runs_nothing_and_succeeds(runner, answers, monkeypatch):
    monkeypatch.setattr(runner.boto3, "client", lambda name: pytest.fail(f"called {name}"))
    runner.handler(_event("Delete"), _context())
    assert answers == [("SUCCESS", "")]


def test_create_answers_failed_with_the_reason_when_sql_fails(runner, answers, monkeypatch):
    clients = {"redshift-serverless": serverless(), "redshift-data": data_api(["FAILED"])}
    monkeypatch.setattr(runner.boto3, "client", clients.__getitem__)
    runner.handler(_event("Create"), _context())
    ((status, reason),) = answers
    assert status == "FAILED" and "StatementError" in reason and "permission denied" in reason


def test_update_runs_the_statements_again(runner, answers, monkeypatch):
    data = data_api(["FINISHED"], ["FINISHED"])
    clients = {"redshift-serverless": serverless(), "redshift-data": data}
    monkeypatch.setattr(runner.boto3, "client", clients.__getitem__)
    runner.handler(_event("Update"), _context())
    assert answers == [("SUCCESS", "")]
    assert [name for name, _ in data.calls].count("execute_statement") == 2


def test_the_response_is_put_to_cloudformations_url(runner, monkeypatch):
    sent: dict[str, Any] = {}

    class Response:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

    def urlopen(request, timeout):
        sent.update(url=request.full_url, method=request.method, body=json.loads(request.data))
        return Response()

    monkeypatch.setattr(runner.urllib.request, "urlopen", urlopen)
    event = _event("Create")
    runner.send_response(event, _context(), "SUCCESS", "id-1")
    assert sent["method"] == "PUT" and sent["url"] == event["ResponseURL"]
    assert sent["body"]["PhysicalResourceId"] == "id-1" and sent["body"]["Status"] == "SUCCESS"
