"""``python -m ml_refarch smoke <pattern>``: one runner for every pattern's smoke checks.

A pattern takes part by defining ``SMOKE``, a :class:`SmokeTest`, in
``ml_refarch/stacks/<pattern>/smoke.py``, beside that module's ``plan`` and ``run`` functions
(and, if it has options, ``add_arguments`` and ``check_arguments``); the runner finds it
through :mod:`ml_refarch.catalog`.
The runner owns what every smoke test shares: the command line (``--stack-name``,
``--region``, ``--dry-run``, and ``--timeout-seconds`` / ``--poll-seconds`` for tests that
wait), the boto3 session and clients, the stack's outputs and the ones the checks require,
reporting and the exit codes (0 every check passed, 1 a check or an AWS call failed, 2 setup
error: no stack, missing outputs, no region or credentials, bad arguments). ``--dry-run``
prints the plan and calls no AWS API.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import botocore.exceptions

from ml_refarch import catalog
from ml_refarch.smoke.core import (
    Check,
    Deadline,
    Log,
    SetupError,
    make_clients,
    make_log,
    non_negative_float,
    report,
    require,
    run_guarded,
    stack_outputs,
)

#: The module of a pattern unit that holds its smoke checks, and the name of its SmokeTest.
MODULE = "smoke"
ATTRIBUTE = "SMOKE"

NO_REGION = "no AWS region: pass --region REGION or set AWS_REGION"
NO_CREDENTIALS = (
    "no AWS credentials (environment, shared config or instance role); "
    "configure them and pass --region REGION or set AWS_REGION"
)


@dataclass
class Run:
    """What a pattern's checks get: the arguments, outputs, AWS clients and test hooks.

    ``hooks`` holds what a test injects besides the session and ``sleep`` (for example the
    HTTP sender of an API smoke test); each pattern documents the hooks it reads.
    """

    args: argparse.Namespace
    outputs: dict[str, str]
    session: Any
    clients: dict[str, Any]
    sleep: Callable[[float], None] = time.sleep
    log: Log = print
    hooks: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        return self.args.stack_name

    def client(self, service: str) -> Any:
        return self.clients[service]

    def deadline(self) -> Deadline:
        """A budget of ``--timeout-seconds`` that ``sleep`` counts against."""
        return Deadline(self.args.timeout_seconds, sleep=self.sleep)


def _no_arguments(_: argparse.ArgumentParser) -> None:
    return None


def _arguments_valid(_: argparse.Namespace) -> str | None:
    return None


@dataclass(frozen=True, kw_only=True)
class SmokeTest:
    """A pattern's smoke checks (``SMOKE`` in ``ml_refarch/stacks/<pattern>/smoke.py``).

    The hooks are the smoke module's functions of these names, unless given here:
    ``plan(args)`` says what a run would do (``--dry-run``; no AWS) and may raise SetupError
    for bad arguments; ``run(run)`` makes the checks and returns them (the runner reports
    them) or an exit code; ``add_arguments(parser)`` adds the pattern's options;
    ``check_arguments(args)`` returns a usage error or None. ``plan`` and ``run`` are
    required. ``timeout_seconds`` (when set) adds ``--timeout-seconds`` and
    ``--poll-seconds`` (every ``poll_seconds`` by default). ``description`` (one line, for
    ``smoke --help`` and the pattern list) defaults to the first paragraph of the smoke
    module's docstring. ``required_outputs`` may depend on the arguments (a function of
    them), for a test with modes that read different outputs.
    """

    required_outputs: tuple[str, ...] | Callable[[argparse.Namespace], tuple[str, ...]]
    clients: tuple[str, ...]
    plan: Callable[[argparse.Namespace], str] | None = None
    run: Callable[[Run], int | Sequence[Check]] | None = None
    description: str = ""
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    check_arguments: Callable[[argparse.Namespace], str | None] | None = None
    timeout_seconds: float | None = None
    poll_seconds: float = 30.0

    def outputs_for(self, args: argparse.Namespace) -> tuple[str, ...]:
        """The outputs a run with ``args`` reads, each of which must be present."""
        required = self.required_outputs
        return required(args) if callable(required) else required


#: The hooks a smoke module may define as functions, and what stands in for a missing one
#: (``None``: the hook is required).
HOOKS: dict[str, Callable | None] = {
    "plan": None,
    "run": None,
    "add_arguments": _no_arguments,
    "check_arguments": _arguments_valid,
}


def smoke_test(pattern: catalog.Pattern) -> SmokeTest:
    """The pattern's ``SMOKE`` with every hook and its description filled in from its module.

    Raises:
        TypeError: the module has no ``SMOKE``, or lacks a required hook.
    """
    module = pattern.module(MODULE)
    test = getattr(module, ATTRIBUTE, None)
    if not isinstance(test, SmokeTest):
        raise TypeError(f"{module.__name__} defines no {ATTRIBUTE} (a SmokeTest)")
    filled: dict[str, Any] = {}
    for name, fallback in HOOKS.items():
        if getattr(test, name) is not None:
            continue
        hook = getattr(module, name, fallback)
        if hook is None:
            raise TypeError(f"{module.__name__} defines no {name}() for its smoke test")
        filled[name] = hook
    if not test.description:
        filled["description"] = (module.__doc__ or "").strip().split("\n\n")[0]
    return replace(test, **filled)


def smoke_tests() -> dict[str, SmokeTest]:
    """{pattern id: its SmokeTest}, in catalog order, for every unit with smoke checks."""
    return {
        pattern.id: smoke_test(pattern)
        for pattern in catalog.discover()
        if pattern.has_module(MODULE)
    }


def parser_for(pattern: catalog.Pattern, test: SmokeTest) -> argparse.ArgumentParser:
    """The command line of one pattern's smoke test."""
    parser = argparse.ArgumentParser(
        prog=f"python -m ml_refarch smoke {pattern.id}", description=test.description
    )
    parser.add_argument(
        "--stack-name",
        "--stack",
        dest="stack_name",
        default=pattern.stack_name,
        help=f"CloudFormation stack name (default {pattern.stack_name})",
    )
    parser.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be checked, without AWS calls"
    )
    if test.timeout_seconds is not None:
        parser.add_argument(
            "--timeout-seconds",
            type=non_negative_float,
            default=test.timeout_seconds,
            help=f"how long to wait for resources (default {test.timeout_seconds:g})",
        )
        parser.add_argument(
            "--poll-seconds",
            type=non_negative_float,
            default=test.poll_seconds,
            help=f"seconds between polls (default {test.poll_seconds:g})",
        )
    test.add_arguments(parser)
    return parser


def default_session(region: str | None) -> Any:
    """A boto3 session for ``region`` (default: ``AWS_REGION``, then boto3's own lookup:
    ``AWS_DEFAULT_REGION`` and the profile); SetupError naming --region when it has no region
    or no credentials."""
    try:
        session = boto3.Session(region_name=region or os.environ.get("AWS_REGION") or None)
    except botocore.exceptions.BotoCoreError as error:  # e.g. a profile that does not exist
        raise SetupError(f"cannot create an AWS session: {error}") from None
    if not session.region_name:
        raise SetupError(NO_REGION)
    if session.get_credentials() is None:
        raise SetupError(NO_CREDENTIALS)
    return session


def connect(test: SmokeTest, args: argparse.Namespace, session: Any) -> Run:
    """The session's clients, the stack's outputs (each required one present)."""
    session = session if session is not None else default_session(args.region)
    names = ("cloudformation", *test.clients)
    clients = dict(zip(names, make_clients(lambda: session, args.stack_name, *names), strict=True))
    outputs = stack_outputs(clients["cloudformation"], args.stack_name)
    require(outputs, *test.outputs_for(args))
    return Run(args=args, outputs=outputs, session=session, clients=clients)


def run_pattern(
    pattern: catalog.Pattern,
    argv: Sequence[str],
    *,
    session: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    **hooks: Any,
) -> int:
    """Runs one pattern's smoke test; ``session``, ``sleep`` and ``hooks`` are for tests."""
    test = smoke_test(pattern)
    parser = parser_for(pattern, test)
    args = parser.parse_args(list(argv))
    problem = test.check_arguments(args)
    if problem:
        parser.error(problem)

    def body() -> int:
        if args.dry_run:
            print(test.plan(args), flush=True)
            return 0
        run = connect(test, args, session)
        run.sleep, run.log, run.hooks = sleep, make_log(), hooks
        result = test.run(run)
        return result if isinstance(result, int) else report(result, log=print)

    return run_guarded(body)


def pattern_lines() -> list[str]:
    """One line per pattern with smoke checks: its id and what the checks do."""
    tests = smoke_tests()
    width = max(len(pattern_id) for pattern_id in tests)
    return [
        f"  {pattern_id:<{width}}  {test.description.replace('``', '')}"
        for pattern_id, test in tests.items()
    ]


def main(argv: Sequence[str] | None = None, **injected: Any) -> int:
    """``smoke <pattern> [options]``; without a known pattern, lists the patterns (exit 2)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m ml_refarch smoke PATTERN [--stack-name NAME] [--region REGION] "
    usage += "[--dry-run] [options]\n\nCheck a deployed pattern's stack against AWS; "
    usage += "smoke PATTERN --help lists that pattern's checks and options."
    if not argv or argv[0] in ("-h", "--help"):
        print("\n".join([usage, "", "patterns:", *pattern_lines()]))
        return 0 if argv else 2
    tests = smoke_tests()
    if argv[0] not in tests:
        print(f"error: no smoke test for pattern {argv[0]!r}", file=sys.stderr)
        print("\n".join([usage, "", "patterns:", *pattern_lines()]), file=sys.stderr)
        return 2
    return run_pattern(catalog.by_id(argv[0]), argv[1:], **injected)
