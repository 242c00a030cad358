"""Tests for the log-group cleanup custom resource (lambdas/log_group_cleanup/handler.py),
against moto's CloudWatch Logs."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.load import load_by_path

HANDLER_PATH = Path(__file__).resolve().parents[2] / "lambdas" / "log_group_cleanup" / "handler.py"
MARKER = "MlRefArch-SecureDataLake-0123456789ab"
OURS = [
    f"/aws-glue/jobs/{MARKER}-role/JobRole-ABC/output",
    f"/aws-glue/jobs/{MARKER}-role/JobRole-ABC/error",
    f"/aws-glue/jobs-JobRole-ABC-{MARKER}/output",
]
THEIRS = ["/aws-glue/jobs/output", "/aws-glue/jobs/other-config-role/R/output", f"/other/{MARKER}"]


@pytest.fixture
def cleanup() -> ModuleType:
    return load_by_path("log_group_cleanup_handler", HANDLER_PATH)


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("logs")
        for name in OURS + THEIRS:
            client.create_log_group(logGroupName=name)
        yield client


@pytest.fixture
def responses(cleanup: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def record(event, context, status, physical_id, *, reason=""):
        sent.append({"Status": status, "PhysicalResourceId": physical_id, "Reason": reason})

    monkeypatch.setattr(cleanup, "send_response", record)
    return sent


def _event(request_type: str, marker: str = MARKER) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/put",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/MlRefArch-X/1",
        "RequestId": "request-1",
        "LogicalResourceId": "JobLogCleanup",
        "ResourceType": "Custom::LogGroupCleanup",
        "ResourceProperties": {"ServiceToken": "arn", "Prefix": "/aws-glue/jobs", "Marker": marker},
    }


def _names(client) -> list[str]:
    return sorted(group["logGroupName"] for group in client.describe_log_groups()["logGroups"])


def _context() -> SimpleNamespace:
    return SimpleNamespace(log_stream_name="stream")


def test_delete_removes_only_the_groups_under_the_prefix_that_carry_the_marker(
    logs, cleanup, responses
):
    cleanup.handler(_event("Delete"), _context())
    assert responses == [
        {"Status": "SUCCESS", "PhysicalResourceId": f"log-group-cleanup-{MARKER}", "Reason": ""}
    ]
    assert _names(logs) == sorted(THEIRS)


def test_a_second_delete_finds_nothing_and_succeeds(logs, cleanup, responses):
    cleanup.handler(_event("Delete"), _context())
    cleanup.handler(_event("Delete"), _context())
    assert [response["Status"] for response in responses] == ["SUCCESS", "SUCCESS"]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_delete_nothing(logs, cleanup, responses, request_type):
    cleanup.handler(_event(request_type), _context())
    assert responses[0]["Status"] == "SUCCESS"
    assert _names(logs) == sorted(OURS + THEIRS)


def test_an_empty_marker_fails_instead_of_deleting_every_group(logs, cleanup, responses):
    cleanup.handler(_event("Delete", marker=""), _context())
    assert responses[0]["Status"] == "FAILED" and "Marker" in responses[0]["Reason"]
    assert _names(logs) == sorted(OURS + THEIRS)


def test_the_response_is_put_to_the_presigned_url(cleanup, monkeypatch):
    sent = []

    class Answer:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

    def urlopen(request, timeout):
        sent.append((request.full_url, request.get_method(), request.data))
        return Answer()

    monkeypatch.setattr(cleanup.urllib.request, "urlopen", urlopen)
    cleanup.send_response(_event("Delete"), _context(), "SUCCESS", "id-1")
    ((url, method, body),) = sent
    assert method == "PUT" and url.endswith("/put") and b'"Status": "SUCCESS"' in body
