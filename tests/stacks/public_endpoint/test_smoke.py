"""ml_refarch/stacks/public_endpoint/smoke.py: requests, SigV4 signing and checks, without AWS."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ml_refarch.model_artifacts import DEFAULT_MODEL, load_manifest, sample_csv
from ml_refarch.stacks.public_endpoint import PATTERN
from ml_refarch.stacks.public_endpoint import smoke as smoke_public
from ml_refarch.stacks.public_endpoint.outputs import Outputs
from tests.smoke_fakes import NoAws, runner_for

main = runner_for(PATTERN)
Response = smoke_public.Response

URL = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/predict"
CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token")
MANIFEST = load_manifest()
SCORES = MANIFEST["samples"]["scores"][DEFAULT_MODEL]


def outputs(mode: str = "iam", **extra: str) -> list[dict[str, str]]:
    values = {Outputs.PREDICT_URL: URL, Outputs.AUTH_MODE: mode, **extra}
    return [{"OutputKey": key, "OutputValue": value} for key, value in values.items()]


class FakeApi:
    """A deployed API as the checks see it: validates, authenticates, scores."""

    def __init__(self, mode: str = "iam", scores: list[float] | None = None, key: str = "k3y"):
        self.mode, self.key = mode, key
        self.scores = SCORES if scores is None else scores
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.statuses: list[int] = []

    def __call__(self, method: str, url: str, headers: Any, body: bytes) -> Any:
        headers = dict(headers)
        self.requests.append((method, url, headers, body))
        response = self.answer(url, headers, body)
        self.statuses.append(response.status)
        return response

    def answer(self, url: str, headers: dict, body: bytes) -> Any:
        if self.mode == "iam" and not self._signature_valid(url, headers, body):
            return Response(403, '{"message":"Missing Authentication Token"}')
        if self.mode == "api-key" and headers.get("x-api-key") != self.key:
            return Response(403, '{"message":"Forbidden"}')
        if headers.get("Content-Type") != "application/json":
            return Response(415, '{"message":"Unsupported Media Type"}')
        rows = json.loads(body)["instances"]
        if any(len(row) != 8 for row in rows):
            return Response(400, '{"message": "Invalid request body"}')
        return Response(200, "\n".join(str(score) for score in self.scores[: len(rows)]))

    @staticmethod
    def _signature_valid(url: str, headers: dict, body: bytes) -> bool:
        if "Authorization" not in headers:
            return False
        # Re-sign with the same date and compare, as API Gateway does.
        check = AWSRequest(
            method="POST",
            url=url,
            data=body,
            headers={"Content-Type": headers["Content-Type"], "X-Amz-Date": headers["X-Amz-Date"]},
        )
        signer = SigV4Auth(CREDENTIALS, "execute-api", "eu-west-1")
        # add_auth stamps the current time, which may be a second past the request's.
        signed_at = datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
            signer.add_auth(check)
        return check.headers["Authorization"] == headers["Authorization"]


# --- request building --------------------------------------------------------------------


def test_rows_become_the_json_the_schema_accepts():
    body = json.loads(smoke_public.rows_body(sample_csv(MANIFEST)))
    assert list(body) == ["instances"]
    rows = body["instances"]
    assert len(rows) == len(MANIFEST["samples"]["rows"]) and all(len(row) == 8 for row in rows)
    assert rows[0][0] == float(MANIFEST["samples"]["rows"][0].split(",")[0])


def test_the_malformed_body_has_seven_features():
    body = json.loads(smoke_public.malformed_body(sample_csv(MANIFEST)))
    assert [len(row) for row in body["instances"]] == [7]


def test_the_region_comes_from_the_url():
    assert smoke_public.region_of(URL) == "eu-west-1"
    with pytest.raises(smoke_public.smoke.SetupError, match="execute-api"):
        smoke_public.region_of("https://example.com/v1/predict")


def test_signed_headers_carry_a_sigv4_signature_for_execute_api():
    body = b'{"instances": []}'
    headers = smoke_public.signed_headers(URL, body, CREDENTIALS, "eu-west-1")
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token" in authorization
    assert headers["X-Amz-Security-Token"] == "token"
    assert FakeApi._signature_valid(URL, headers, body)
    assert not FakeApi._signature_valid(URL, headers, body + b" ")  # the body is signed


def test_api_key_callers_send_the_key_and_no_signature():
    caller = smoke_public.Caller("api-key", "eu-west-1", api_key="secret")
    headers = caller.headers(URL, b"{}")
    assert headers == {"Content-Type": "application/json", "x-api-key": "secret"}


# --- checks --------------------------------------------------------------------------------


def run(api: FakeApi, caller) -> dict[str, Any]:
    return {c.name: c for c in smoke_public.run_checks(URL, caller, api, MANIFEST)}


def iam_caller():
    return smoke_public.Caller("iam", "eu-west-1", credentials=CREDENTIALS)


def test_every_check_passes_against_a_correct_api():
    api = FakeApi()
    checks = run(api, iam_caller())
    assert len(checks) == 4 and all(check.passed for check in checks.values()), checks
    assert api.statuses == [200, 403, 400, 415]


def test_wrong_scores_fail():
    checks = run(FakeApi(scores=[0.5] * 5), iam_caller())
    assert not checks[f"signed rows get {DEFAULT_MODEL}'s scores"].passed


def test_an_open_api_fails_the_anonymous_check():
    class OpenApi(FakeApi):
        @staticmethod
        def _signature_valid(url, headers, body):
            return True

    checks = run(OpenApi(), iam_caller())
    assert not checks["a request without credentials is refused"].passed
    assert "HTTP 200 (expected 403)" in checks["a request without credentials is refused"].detail


def test_an_api_without_validation_fails_the_malformed_check():
    class Unvalidated(FakeApi):
        def answer(self, url, headers, body):
            response = super().answer(url, headers, body)
            return Response(502, "model error") if response.status == 400 else response

    checks = run(Unvalidated(), iam_caller())
    assert not checks["rows of 7 features are refused by the validator"].passed


def test_a_non_numeric_answer_fails_with_its_text():
    check = smoke_public.score_check(Response(200, "<html>"), SCORES)
    assert not check.passed and "<html>" in check.detail


# --- main, with fake AWS ---------------------------------------------------------------------


class FakeSession:
    def __init__(self, stack_outputs, api_key_value="k3y"):
        self.stack_outputs = stack_outputs
        self.api_key_value = api_key_value
        self.key_requests: list[dict] = []

    def client(self, name):
        session = self

        class Client:
            def describe_stacks(self, StackName):
                return {
                    "Stacks": [{"StackStatus": "CREATE_COMPLETE", "Outputs": session.stack_outputs}]
                }

            def get_api_key(self, **kwargs):
                session.key_requests.append(kwargs)
                return {"id": kwargs["apiKey"], "value": session.api_key_value}

        return Client()

    def get_credentials(self):
        class Holder:
            def get_frozen_credentials(self):
                return CREDENTIALS

        return Holder()


def test_main_signs_with_the_session_credentials(capsys):
    api = FakeApi()
    code = main([], session=FakeSession(outputs()), send=api)
    assert code == 0, capsys.readouterr().out
    assert "PASS: all 4 checks passed" in capsys.readouterr().out


def test_main_reads_the_api_key_by_id_with_its_value(capsys):
    session = FakeSession(outputs("api-key", **{Outputs.API_KEY_ID: "abc123"}))
    api = FakeApi(mode="api-key")
    assert main([], session=session, send=api) == 0
    assert session.key_requests == [{"apiKey": "abc123", "includeValue": True}]
    assert api.requests[0][2]["x-api-key"] == "k3y"


@pytest.mark.parametrize(
    ("stack_outputs", "message"),
    [
        (outputs("cognito"), "AuthMode output must be iam or api-key"),
        (outputs("api-key"), "ApiKeyId"),
        ([{"OutputKey": Outputs.AUTH_MODE, "OutputValue": "iam"}], "PredictUrl"),
    ],
)
def test_setup_problems_exit_2(stack_outputs, message, capsys):
    code = main([], session=FakeSession(stack_outputs), send=FakeApi())
    assert code == 2 and message in capsys.readouterr().err


def test_dry_run_makes_no_calls(capsys):
    assert main(["--dry-run"], session=NoAws()) == 0
    assert "403" in capsys.readouterr().out
