"""The rehearsal's moto server as a child process, and boto3 clients that talk to it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from ml_refarch.config import LOCAL_ACCOUNT, LOCAL_REGION

#: How long the server may take to start (importing moto is most of it).
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10
#: Where ``python -m ml_refarch.rehearsal.server`` can import this package from.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StandInError(RuntimeError):
    """The stand-in did not start."""


class StandIn:
    """A moto server on a free loopback port, run as a child process.

    Use it as a context manager, or call :meth:`launch` (returns at once, so the caller can
    synthesize while moto imports), :meth:`wait_until_ready` and finally :meth:`stop`, which
    stops the process this object started, by its process id, and removes its working
    directory (ready file and log).

    Attributes:
        endpoint_url: ``http://127.0.0.1:<port>`` once ready.
        modelled_types: the resource types moto's CloudFormation creates, once ready.
        pid: the server's process id once launched.
    """

    def __init__(self) -> None:
        self.endpoint_url = ""
        self.modelled_types: frozenset[str] = frozenset()
        self.pid: int | None = None
        self._process: subprocess.Popen | None = None
        self._workdir: Path | None = None

    def __enter__(self) -> StandIn:
        self.launch()
        self.wait_until_ready()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def _ready_file(self) -> Path:
        assert self._workdir is not None, "launch() first"
        return self._workdir / "ready.json"

    @property
    def log_path(self) -> Path:
        assert self._workdir is not None, "launch() first"
        return self._workdir / "moto.log"

    def launch(self) -> None:
        """Start the server process; :meth:`wait_until_ready` waits for it to listen."""
        self._workdir = Path(tempfile.mkdtemp(prefix="ml-refarch-moto-"))
        try:
            with self.log_path.open("wb") as log:
                self._process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "ml_refarch.rehearsal.server",
                        "--port",
                        "0",
                        "--ready-file",
                        str(self._ready_file),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=PROJECT_ROOT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            self.pid = self._process.pid
        except BaseException:
            self.stop()
            raise

    def wait_until_ready(self) -> None:
        """Wait until the server listens; stop it and raise if it does not in time."""
        assert self._process is not None, "launch() first"
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not self._ready_file.exists():
                if self._process.poll() is not None or time.monotonic() > deadline:
                    log_text = self.log_path.read_text(errors="replace")
                    raise StandInError(f"the moto server did not start:\n{log_text}")
                time.sleep(0.05)
            ready = json.loads(self._ready_file.read_text())
        except BaseException:
            self.stop()
            raise
        self.endpoint_url = f"http://127.0.0.1:{ready['port']}"
        self.modelled_types = frozenset(ready["modelled_types"])

    def stop(self) -> None:
        """Stop the process this object started (SIGTERM, then SIGKILL) and clean up."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def errors_in_log(self, limit: int = 20) -> list[str]:
        """The server's last exception lines: what a 500 response does not say."""
        if self._workdir is None or not self.log_path.exists():
            return []
        found = [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if line[:1].isalpha()
            and not line.startswith(("Traceback", "Error on request"))
            and ("Error" in line or "Exception" in line)
        ]
        return found[-limit:]

    def environment(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs at the stand-in, with fake credentials."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "CDK_DEFAULT_ACCOUNT": LOCAL_ACCOUNT,
            "CDK_DEFAULT_REGION": LOCAL_REGION,
        }


class Clients:
    """boto3 clients for the stand-in at ``endpoint_url``, with fake credentials.

    ``clients("s3")`` creates a service's client once (thread-safe) and reuses it. Clients
    never retry, so a failure shows at once.
    """

    def __init__(self, endpoint_url: str, region: str = LOCAL_REGION) -> None:
        self.endpoint_url = endpoint_url
        self._session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._last_error = threading.local()

    def __call__(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:  # no waiting while another thread creates a client
            return client
        # A boto3 session must not create clients in two threads at once.
        with self._lock:
            if service not in self._clients:
                client = self._session.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    config=Config(retries={"total_max_attempts": 1}, read_timeout=300),
                )
                client.meta.events.register("before-parse", self._remember_error)
                self._clients[service] = client
            return self._clients[service]

    def warm(self, services: Iterable[str]) -> None:
        """Create these clients now (loading a service model takes a while)."""
        for service in services:
            self(service)

    def _remember_error(self, response_dict: dict, **_: Any) -> None:
        if response_dict.get("status_code", 200) >= 400:
            self._last_error.body = bytes(response_dict.get("body") or b"")

    def last_error_body(self) -> str:
        """The body of this thread's last error response, unless it is an HTML page.

        moto answers some failures of a CloudFormation call in another service's protocol
        (a Lambda error as JSON), which botocore cannot parse, so the reason is only here.
        """
        body = getattr(self._last_error, "body", b"").decode(errors="replace").strip()
        return "" if body.lower().startswith("<!doctype") else body[:1000]
