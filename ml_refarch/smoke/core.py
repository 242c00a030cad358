"""The smoke tests' building blocks: checks, stack outputs, reporting, deadlines, waiting
for a status, argument types, exit codes.

A pattern's smoke checks (``ml_refarch/stacks/<pattern>/smoke.py``, run by
``python -m ml_refarch smoke <pattern>``) read the stack's CloudFormation outputs, ask AWS how
the deployed resources are configured, and turn each expectation into a :class:`Check`;
:func:`report` prints them and gives the exit code. Setup problems (no stack, missing outputs,
no credentials) raise :class:`SetupError`, which :func:`run_guarded` turns into exit code 2
with one line on stderr.

Exit codes: 0 every check passed, 1 a check failed or an AWS call failed, 2 setup error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

Log = Callable[[str], None]

#: Stack states whose outputs describe resources that exist: a completed create, update or
#: import, including an update that was rolled back to the previous working template.
#: ROLLBACK_COMPLETE is a failed create whose resources are gone.
_UNUSABLE_COMPLETE_STATES = frozenset({"ROLLBACK_COMPLETE", "DELETE_COMPLETE"})


class SetupError(Exception):
    """The stack, its outputs, the credentials or the arguments are unusable (exit code 2)."""


class SmokeFailure(Exception):
    """The deployed resources did not behave as expected (exit code 1)."""


@dataclass(frozen=True)
class Check:
    """One expectation about the deployment and whether it held."""

    name: str
    passed: bool
    detail: str = ""


# --- outputs -----------------------------------------------------------------------------------


def aws_error_message(error: Exception) -> str:
    """``Code: Message`` of a ClientError, or the text of any other botocore error."""
    if isinstance(error, botocore.exceptions.ClientError):
        details = error.response.get("Error", {})
        code, message = details.get("Code", ""), details.get("Message", str(error))
        return f"{code}: {message}" if code else message
    return str(error)


def stack_outputs(cloudformation_client: Any, stack_name: str) -> dict[str, str]:
    """The stack's outputs as {OutputKey: OutputValue}; raises SetupError if it is unusable."""
    try:
        stacks = cloudformation_client.describe_stacks(StackName=stack_name)["Stacks"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        message = " ".join(aws_error_message(error).split())
        raise SetupError(f"cannot read stack {stack_name!r}: {message}") from None
    if not stacks:
        raise SetupError(f"stack {stack_name!r} not found")
    stack = stacks[0]
    status = stack.get("StackStatus", "")
    if not status.endswith("_COMPLETE") or status in _UNUSABLE_COMPLETE_STATES:
        raise SetupError(f"stack {stack_name!r} is {status}, not in a usable *_COMPLETE state")
    return {item["OutputKey"]: item.get("OutputValue", "") for item in stack.get("Outputs") or []}


def require(outputs: Mapping[str, str], *keys: str) -> None:
    """Raises SetupError naming every key that is missing from ``outputs`` or empty."""
    missing = [key for key in keys if not outputs.get(key)]
    if missing:
        raise SetupError(f"stack outputs missing or empty: {', '.join(missing)}")


def split_ids(text: str) -> list[str]:
    """``"subnet-a, subnet-b"`` -> ``["subnet-a", "subnet-b"]``."""
    return [part.strip() for part in text.split(",") if part.strip()]


# --- checks of described settings -------------------------------------------------------------


def equals_check(name: str, label: str, actual: Any, expected: Any) -> Check:
    """``label actual`` passes when it is ``expected``; the detail names what was expected."""
    detail = f"{label} {actual}" + ("" if actual == expected else f", expected {expected}")
    return Check(name, actual == expected, detail)


def contains_check(name: str, label: str, items: Iterable[str], expected: str) -> Check:
    """``label`` (a list) passes when it holds ``expected``; the detail lists it either way."""
    listed = list(items)
    return Check(
        name, expected in listed, f"{label} {', '.join(listed) or 'none'}, expected {expected}"
    )


# --- reporting and waiting ----------------------------------------------------------------------


def report(checks: Sequence[Check], log: Log = print) -> int:
    """Prints one PASS/FAIL line per check and a summary; 0 if all passed, else 1.

    No checks at all is a failure: nothing was verified.
    """
    for check in checks:
        outcome = "PASS" if check.passed else "FAIL"
        log(f"{outcome} {check.name}" + (f": {check.detail}" if check.detail else ""))
    failed = [check.name for check in checks if not check.passed]
    if failed or not checks:
        log(f"FAIL: {len(failed)} of {len(checks)} checks failed" + _listed(failed))
        return 1
    log(f"PASS: all {len(checks)} checks passed")
    return 0


def _listed(names: Sequence[str]) -> str:
    return f" ({', '.join(names)})" if names else ""


def make_log(clock: Callable[[], float] = time.monotonic) -> Log:
    """A log function that prefixes each line with the seconds since it was made."""
    started = clock()

    def log(message: str) -> None:
        print(f"[{clock() - started:6.1f}s] {message}", flush=True)

    return log


class Deadline:
    """A time budget for polling.

    Time counts as the larger of the wall-clock time and the time slept through ``sleep``, so
    a test that injects a fake ``sleep`` still runs out of budget.
    """

    def __init__(
        self,
        timeout_seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._sleep = sleep
        self._clock = clock
        self._started = clock()
        self._slept_seconds = 0.0

    @property
    def elapsed_seconds(self) -> float:
        return max(self._clock() - self._started, self._slept_seconds)

    @property
    def remaining_seconds(self) -> float:
        return max(self.timeout_seconds - self.elapsed_seconds, 0.0)

    @property
    def expired(self) -> bool:
        return self.remaining_seconds <= 0

    def wait(self, poll_seconds: float) -> float:
        """Sleeps ``poll_seconds`` or what is left of the budget; returns the seconds slept."""
        seconds = min(poll_seconds, self.remaining_seconds)
        self._sleep(seconds)
        self._slept_seconds += seconds
        return seconds


def status_problem(status: str, description: Mapping[str, Any]) -> str:
    """``status`` with the description's ``FailureReason``, if any."""
    reason = description.get("FailureReason")
    return status + (f": {reason}" if reason else "")


def wait_for_status(
    describe: Callable[[], Mapping[str, Any]],
    what: str,
    *,
    transitional: Collection[str],
    deadline: Deadline,
    poll_seconds: float,
    log: Log,
    status_key: str = "Status",
    ready: str = "InService",
    settle: Callable[[str, Mapping[str, Any]], str | None] | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Calls ``describe`` until its ``status_key`` is ``ready``; (description, problem or None).

    A ``transitional`` status is waited for, up to ``deadline``. Any other status is the
    problem :func:`status_problem`, unless ``settle(status, description)`` says otherwise:
    it may act (start a stopped resource) and return None to keep waiting, or return the
    problem to report.
    """
    while True:
        description = dict(describe())
        status = description.get(status_key, "unknown")
        if status == ready:
            return description, None
        if status not in transitional:
            problem = (settle or status_problem)(status, description)
            if problem is not None:
                return description, problem
        if deadline.expired:
            return description, (
                f"still {status} after {deadline.timeout_seconds:g} s (--timeout-seconds)"
            )
        waited_seconds = deadline.wait(poll_seconds)
        log(f"{what} is {status}; waited {waited_seconds:.0f} s")


# --- command line ------------------------------------------------------------------------------


def dry_run_intro(args: argparse.Namespace) -> str:
    """The first line of a dry run that reads the stack's outputs: the stack and the region."""
    return (
        f"dry run: would read the outputs of stack {args.stack_name!r}"
        f" (region {args.region or 'from environment'})"
    )


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``minimum`` (and at most ``maximum``)."""

    def parse(text: str) -> int:
        value = int(text)
        if maximum is not None and not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be from {minimum} to {maximum}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    parse.__name__ = "int"  # argparse names the type in "invalid int value: 'x'"
    return parse


def run_guarded(body: Callable[[], int]) -> int:
    """Runs ``body`` and maps its exceptions to exit codes (2 setup error, 1 failure)."""
    try:
        return body()
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    except SmokeFailure as error:
        print(f"FAIL: {error}", flush=True)
        return 1
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"FAIL: AWS call failed: {aws_error_message(error)}", flush=True)
        return 1


def make_clients(session_factory: Callable[[], Any], stack_name: str, *names: str) -> list[Any]:
    """Clients for ``names``; a missing region or credential setup becomes a SetupError."""
    try:
        session = session_factory()
        return [session.client(name) for name in names]
    except botocore.exceptions.BotoCoreError as error:
        raise SetupError(f"cannot create AWS clients for stack {stack_name!r}: {error}") from None


#: The statuses in which a Step Functions execution has ended.
FINAL_EXECUTION_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def follow_execution(
    sfn: Any, execution_arn: str, deadline: Deadline, poll_seconds: float, log: Log
) -> dict[str, Any]:
    """Poll a Step Functions execution until it ends or ``deadline`` passes, logging each
    new status; returns its last description."""
    last = None
    while True:
        description = sfn.describe_execution(executionArn=execution_arn)
        status = description["status"]
        if status != last:
            log(f"execution {status}")
            last = status
        if status in FINAL_EXECUTION_STATUSES or deadline.expired:
            return description
        deadline.wait(poll_seconds)
