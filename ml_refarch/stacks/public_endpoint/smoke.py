"""Smoke test of a deployed ``MlRefArch-PublicEndpoint`` stack.

Sends the committed sample rows (``ml_refarch/assets/models/manifest.json``) to
``POST /predict`` as ``{"instances": [[8 numbers], ...]}`` and compares the scores with
those the ``churn-v1`` model gives locally. Requests are signed with SigV4 (service
``execute-api``) when the stack's ``AuthMode`` output is ``iam``, or carry the usage plan's
API key (read by id with ``apigateway:GetApiKey``) when it is ``api-key``. Then it checks
what must be refused:

- the same request without a signature or key gets 403,
- a body with rows of the wrong length gets 400 from the request validator,
- a CSV body (no mapping template for ``text/csv``) gets 415,

so the endpoint is reachable only through validated, authenticated requests.

Exit codes: 0 passed, 1 failed, 2 setup error. ``--dry-run`` prints the plan without AWS.

Usage::

    python -m ml_refarch smoke public-endpoint [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from ml_refarch.model_artifacts import DEFAULT_MODEL, load_manifest, sample_csv
from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import endpoint as endpoint_smoke
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.public_endpoint.outputs import Outputs

AUTH_MODES = ("iam", "api-key")
QUOTED = endpoint_smoke.QUOTED_ANSWER_CHARACTERS
SERVICE = "execute-api"
_API_HOST = re.compile(r"^https://[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")


@dataclass(frozen=True)
class Response:
    status: int
    body: str


#: Sends (method, url, headers, body) and returns the response, errors included.
Send = Callable[[str, str, Mapping[str, str], bytes], Response]


def http_send(
    method: str, url: str, headers: Mapping[str, str], body: bytes, timeout: float = 30
) -> Response:
    """One HTTPS request with the standard library; 4xx and 5xx are answers, not errors."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(answer.status, answer.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read().decode("utf-8", "replace"))


# --- requests ------------------------------------------------------------------------


def rows_body(csv_text: str) -> bytes:
    """``{"instances": [[...], ...]}`` of CSV rows, the JSON the API's schema accepts."""
    rows = [[float(value) for value in line.split(",")] for line in csv_text.splitlines() if line]
    return json.dumps({"instances": rows}).encode("utf-8")


def malformed_body(csv_text: str) -> bytes:
    """The first row with its last feature cut off: the schema requires exactly 8."""
    first = json.loads(rows_body(csv_text))["instances"][0]
    return json.dumps({"instances": [first[:-1]]}).encode("utf-8")


def region_of(url: str) -> str:
    """The region in an ``execute-api`` URL; raises SetupError for any other URL."""
    match = _API_HOST.match(url)
    if match is None:
        raise smoke.SetupError(f"PredictUrl is not an execute-api URL: {url!r}")
    return match.group(1)


def signed_headers(
    url: str, body: bytes, credentials: Any, region: str, content_type: str = "application/json"
) -> dict[str, str]:
    """Headers of a SigV4-signed POST (Authorization, X-Amz-Date, and the session token)."""
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": content_type})
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return dict(request.headers.items())


@dataclass(frozen=True)
class Caller:
    """How requests authenticate: ``iam`` signs them, ``api-key`` adds ``x-api-key``."""

    mode: str
    region: str
    credentials: Any = None
    api_key: str | None = None

    def headers(
        self, url: str, body: bytes, content_type: str = "application/json"
    ) -> dict[str, str]:
        if self.mode == "iam":
            return signed_headers(url, body, self.credentials, self.region, content_type)
        return {"Content-Type": content_type, "x-api-key": self.api_key or ""}


# --- checks --------------------------------------------------------------------------


def score_check(response: Response, expected: Sequence[float]) -> smoke.Check:
    name = f"signed rows get {DEFAULT_MODEL}'s scores"
    if response.status != 200:
        return smoke.Check(name, False, f"HTTP {response.status}: {response.body[:QUOTED]}")
    return endpoint_smoke.scores_check(name, expected, response.body)


def status_check(name: str, response: Response, expected_status: int) -> smoke.Check:
    return smoke.Check(
        name,
        response.status == expected_status,
        f"HTTP {response.status} (expected {expected_status}): {response.body[:200]}",
    )


def run_checks(url: str, caller: Caller, send: Send, manifest: Mapping[str, Any]) -> list:
    """Every request the smoke test makes, and what each must get."""
    csv_text = sample_csv(dict(manifest))
    body = rows_body(csv_text)
    expected = manifest["samples"]["scores"][DEFAULT_MODEL]
    checks = [score_check(send("POST", url, caller.headers(url, body), body), expected)]
    anonymous = send("POST", url, {"Content-Type": "application/json"}, body)
    checks.append(status_check("a request without credentials is refused", anonymous, 403))
    bad = malformed_body(csv_text)
    checks.append(
        status_check(
            "rows of 7 features are refused by the validator",
            send("POST", url, caller.headers(url, bad), bad),
            400,
        )
    )
    csv_body = csv_text.encode("utf-8")
    checks.append(
        status_check(
            "a text/csv body is refused (JSON only)",
            send("POST", url, caller.headers(url, csv_body, "text/csv"), csv_body),
            415,
        )
    )
    return checks


# --- the runner's hooks ------------------------------------------------------------


def caller_for(outputs: Mapping[str, str], session: Any, apigateway: Any) -> Caller:
    mode = outputs[Outputs.AUTH_MODE]
    if mode not in AUTH_MODES:
        raise smoke.SetupError(f"AuthMode output must be iam or api-key, got {mode!r}")
    region = region_of(outputs[Outputs.PREDICT_URL])
    if mode == "iam":
        credentials = session.get_credentials()
        if credentials is None:
            raise smoke.SetupError("no AWS credentials to sign requests with")
        return Caller(mode, region, credentials=credentials.get_frozen_credentials())
    smoke.require(outputs, Outputs.API_KEY_ID)
    key = apigateway.get_api_key(apiKey=outputs[Outputs.API_KEY_ID], includeValue=True)
    return Caller(mode, region, api_key=key["value"])


def plan(args: argparse.Namespace) -> str:
    return (
        f"dry run: would read stack {args.stack_name}, POST the {DEFAULT_MODEL} sample rows "
        "signed (or with the API key) and compare the scores, then expect 403 without "
        "credentials, 400 for rows of 7 features and 415 for a text/csv body"
    )


def run(run: Run) -> list[smoke.Check]:
    """The checks; the hook ``send`` (default :func:`http_send`) is for tests."""
    outputs = run.outputs
    caller = caller_for(outputs, run.session, run.client("apigateway"))
    url = outputs[Outputs.PREDICT_URL]
    run.log(f"POST {url} ({caller.mode} auth)")
    return run_checks(url, caller, run.hooks.get("send", http_send), load_manifest())


SMOKE = SmokeTest(
    required_outputs=(Outputs.PREDICT_URL, Outputs.AUTH_MODE),
    clients=("apigateway",),
)
