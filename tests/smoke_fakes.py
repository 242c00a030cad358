"""AWS clients and sessions for the smoke tests, with canned answers and no AWS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
from moto import mock_aws


def client(service: str):
    """A real boto3 client with made-up credentials, for ``botocore.stub.Stubber``."""
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class Fake:
    """A client whose methods return canned responses and record their calls.

    A response that is a list is consumed in order (with :attr:`last_repeats`, its last
    item answers every further call); an exception is raised; a callable is called with
    the request's arguments.
    """

    last_repeats = False

    def __init__(self, **responses: Any):
        self.responses = responses
        self.calls: list[tuple[str, dict]] = []

    def __getattr__(self, name: str):
        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            response = self.responses[name]
            if isinstance(response, list):
                repeat = self.last_repeats and len(response) == 1
                response = response[0] if repeat else response.pop(0)
            if isinstance(response, Exception):
                raise response
            return response(**kwargs) if callable(response) else response

        return call


class Pages:
    """A paginator that returns the same pages whatever it is asked."""

    def __init__(self, pages):
        self.pages = pages

    def paginate(self, **_: Any):
        return self.pages


class Session:
    """A boto3 session whose clients are the given fakes, by service name."""

    def __init__(self, **clients):
        self.clients = clients

    def client(self, name):
        return self.clients[name]


def stack(outputs: Mapping[str, str], status: str = "CREATE_COMPLETE") -> Fake:
    """CloudFormation describing one stack with ``outputs``."""
    listed = [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()]
    return Fake(describe_stacks={"Stacks": [{"StackStatus": status, "Outputs": listed}]})


class NoAws:
    """A session for dry runs: any use of it fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"a dry run used the AWS session ({name})")


def runner_for(pattern: Any):
    """``main(argv, **injected)`` running ``pattern``'s smoke test through the shared runner."""
    from ml_refarch.smoke import runner

    def main(argv: Sequence[str] = (), **injected: Any) -> int:
        return runner.run_pattern(pattern, list(argv), **injected)

    return main


def moto_clients(
    monkeypatch: Any, session: boto3.Session, region: str, *services: str
) -> Iterator[dict[str, Any]]:
    """moto's ``services`` with test credentials in ``region``, as ``{name: client}``: the body
    of a test module's ``aws`` fixture (``yield from moto_clients(...)``)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield {service: session.client(service) for service in services}
