"""Shared pieces of the smoke scripts that check deployed stacks (``scripts/smoke_*.py``).

A smoke script reads a stack's CloudFormation outputs, asks AWS how the deployed resources
are configured, and turns each expectation into a :class:`Check`; :func:`report` prints them
and gives the exit code. Setup problems (no stack, missing outputs, no credentials) raise
:class:`SetupError`, which :func:`run_guarded` turns into exit code 2 with one line on stderr.

:func:`guardrail_checks` verifies a data scientist's SageMaker guardrails with
``iam:SimulatePrincipalPolicy``: it evaluates the role's policies against simulated requests
(a compliant job, then the same job with one control left out or turned off) without
creating anything, so it is safe against a real account.

Exit codes: 0 every check passed, 1 a check failed or an AWS call failed, 2 setup error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

Log = Callable[[str], None]

#: Stack states whose outputs describe resources that exist: a completed create, update or
#: import, including an update that was rolled back to the previous working template.
#: ROLLBACK_COMPLETE is a failed create whose resources are gone.
_UNUSABLE_COMPLETE_STATES = frozenset({"ROLLBACK_COMPLETE", "DELETE_COMPLETE"})

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"

#: Name of the resource in simulated ARNs; the simulation never creates it.
SIMULATED_RESOURCE_NAME = "ml-refarch-smoke-simulated"
#: An endpoint id that belongs to no stack, for the request the guardrail must deny.
FOREIGN_VPC_ENDPOINT_ID = "vpce-0000000000000000"

PACKAGE_SOURCES = {
    "codeartifact": ("CodeArtifactDomain", "CodeArtifactRepository"),
    "s3-wheelhouse": ("WheelhouseUri",),
}


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


def package_source(outputs: Mapping[str, str]) -> str:
    """Describes where notebooks get packages; raises SetupError if the outputs disagree."""
    require(outputs, "PackageSource")
    source = outputs["PackageSource"]
    if source not in PACKAGE_SOURCES:
        raise SetupError(
            f"PackageSource output must be one of {', '.join(PACKAGE_SOURCES)}, got {source!r}"
        )
    require(outputs, *PACKAGE_SOURCES[source])
    if source == "codeartifact":
        return (
            f"codeartifact (domain {outputs['CodeArtifactDomain']}, "
            f"repository {outputs['CodeArtifactRepository']})"
        )
    return f"s3-wheelhouse ({outputs['WheelhouseUri']})"


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


# --- guardrail simulation -------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedRequest:
    """A request to evaluate with the IAM policy simulator, and the decision it must get.

    ``context`` holds ContextEntries in the SimulatePrincipalPolicy format. ``resource_type``
    is the SageMaker resource type in the ARN of the simulated resource.
    """

    name: str
    action: str
    resource_type: str
    context: tuple[dict[str, Any], ...]
    expected: str


def context_entry(key: str, key_type: str, values: Iterable[str]) -> dict[str, Any]:
    """One ContextEntries item: ``context_entry("sagemaker:VpcSubnets", "stringList", ids)``.

    Booleans are ``context_entry(key, "boolean", ["true"])``.
    """
    return {"ContextKeyName": key, "ContextKeyValues": list(values), "ContextKeyType": key_type}


def guardrail_requests(
    *, subnet_ids: Sequence[str], key_arn: str, endpoint_ids: Sequence[str] | None = None
) -> list[SimulatedRequest]:
    """The requests :func:`guardrail_checks` simulates, with the decisions they must get.

    Each compliant request must be allowed, so the guardrails leave the data scientist able
    to work; each request with one control left out, or turned off, must hit an explicit
    Deny. "Left out" and "off" are separate requests because the policy denies them with
    separate statements.
    """
    subnets = context_entry("sagemaker:VpcSubnets", "stringList", subnet_ids)
    volume_key = context_entry("sagemaker:VolumeKmsKey", "string", [key_arn])

    def flag(key: str, value: bool) -> dict[str, Any]:
        return context_entry(key, "boolean", ["true" if value else "false"])

    isolation = "sagemaker:NetworkIsolation"
    encryption = "sagemaker:InterContainerTrafficEncryption"
    job_controls = {
        "sagemaker:VpcSubnets": subnets,
        isolation: flag(isolation, True),
        encryption: flag(encryption, True),
        "sagemaker:VolumeKmsKey": volume_key,
    }
    model_controls = {"sagemaker:VpcSubnets": subnets, isolation: flag(isolation, True)}

    def request(
        action: str,
        resource_type: str,
        what: str,
        context: Iterable[dict[str, Any]],
        expected: str,
    ) -> SimulatedRequest:
        return SimulatedRequest(
            name=f"guardrail {action} {what} -> {expected}",
            action=f"sagemaker:{action}",
            resource_type=resource_type,
            context=tuple(context),
            expected=expected,
        )

    def without(controls: dict[str, dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [entry for name, entry in controls.items() if name != key]

    def turned_off(controls: dict[str, dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [*without(controls, key), flag(key, False)]

    training = ("CreateTrainingJob", "training-job")
    requests = [request(*training, "compliant", job_controls.values(), ALLOWED)]
    for key in job_controls:
        requests.append(
            request(*training, f"without {key}", without(job_controls, key), EXPLICIT_DENY)
        )
    for key in (isolation, encryption):
        requests.append(
            request(*training, f"with {key}=false", turned_off(job_controls, key), EXPLICIT_DENY)
        )

    model = ("CreateModel", "model")
    requests += [
        request(*model, "compliant", model_controls.values(), ALLOWED),
        request(*model, f"without {isolation}", without(model_controls, isolation), EXPLICIT_DENY),
        request(
            *model, f"with {isolation}=false", turned_off(model_controls, isolation), EXPLICIT_DENY
        ),
        request(
            *model,
            "without sagemaker:VpcSubnets",
            without(model_controls, "sagemaker:VpcSubnets"),
            EXPLICIT_DENY,
        ),
    ]

    transform = ("CreateTransformJob", "transform-job")
    requests += [
        request(*transform, "compliant", [volume_key], ALLOWED),
        request(*transform, "without sagemaker:VolumeKmsKey", [], EXPLICIT_DENY),
    ]

    if endpoint_ids:
        presigned = ("CreatePresignedNotebookInstanceUrl", "notebook-instance")

        def source_vpce(endpoint_id: str) -> list[dict[str, Any]]:
            return [context_entry("aws:SourceVpce", "string", [endpoint_id])]

        requests += [
            request(*presigned, f"via {endpoint_ids[0]}", source_vpce(endpoint_ids[0]), ALLOWED),
            request(
                *presigned,
                f"via {FOREIGN_VPC_ENDPOINT_ID}",
                source_vpce(FOREIGN_VPC_ENDPOINT_ID),
                EXPLICIT_DENY,
            ),
            request(*presigned, "from outside any VPC endpoint", [], EXPLICIT_DENY),
        ]
    return requests


def format_context(context: Iterable[Mapping[str, Any]]) -> str:
    """``key (type) = v1,v2; ...`` or ``(no context keys)``, for log lines and dry runs."""
    parts = [
        f"{entry['ContextKeyName']} ({entry['ContextKeyType']}) = "
        + ",".join(entry["ContextKeyValues"])
        for entry in context
    ]
    return "; ".join(parts) if parts else "(no context keys)"


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else []


def _evaluation(response: Mapping[str, Any], action: str) -> tuple[str, str]:
    """The decision for ``action`` in a SimulatePrincipalPolicy response, and notes on it."""
    for result in response.get("EvaluationResults", []):
        if result.get("EvalActionName", "").lower() != action.lower():
            continue
        notes = []
        missing = result.get("MissingContextValues") or []
        if missing:
            notes.append(f"missing context values: {', '.join(missing)}")
        boundary = result.get("PermissionsBoundaryDecisionDetail", {})
        if boundary and not boundary.get("AllowedByPermissionsBoundary", True):
            notes.append("denied by the permissions boundary")
        organizations = result.get("OrganizationsDecisionDetail", {})
        if organizations and not organizations.get("AllowedByOrganizations", True):
            notes.append("denied by an organizations policy")
        return result.get("EvalDecision", "unknown"), "; ".join(notes)
    return "no result", ""


def guardrail_checks(
    iam_client: Any,
    role_arn: str,
    *,
    subnet_ids: Sequence[str],
    key_arn: str,
    endpoint_ids: Sequence[str] | None = None,
) -> list[Check]:
    """Simulates :func:`guardrail_requests` as ``role_arn``; one Check per request.

    Each request names one resource of the matching type in the role's account, in the
    region of ``key_arn`` (the stack's region): the role's Allow statements are scoped to
    such ARNs, and a simulation against the default resource ``*`` would not match them.
    If the simulator cannot be called (for example, the caller lacks
    ``iam:SimulatePrincipalPolicy``), the checks end with one failed check naming the error.
    """
    role_parts = _arn_parts(role_arn)
    if not role_parts or role_parts[2] != "iam":
        raise SetupError(f"DataScientistRoleArn is not an IAM role ARN: {role_arn!r}")
    partition, account = role_parts[1], role_parts[4]
    key_parts = _arn_parts(key_arn)
    region = key_parts[3] if key_parts else ""
    if not region:
        raise SetupError(f"KeyArn is not a regional KMS key ARN: {key_arn!r}")

    checks: list[Check] = []
    requests = guardrail_requests(subnet_ids=subnet_ids, key_arn=key_arn, endpoint_ids=endpoint_ids)
    for position, request in enumerate(requests):
        resource_arn = (
            f"arn:{partition}:sagemaker:{region}:{account}:"
            f"{request.resource_type}/{SIMULATED_RESOURCE_NAME}"
        )
        try:
            response = iam_client.simulate_principal_policy(
                PolicySourceArn=role_arn,
                ActionNames=[request.action],
                ResourceArns=[resource_arn],
                ContextEntries=list(request.context),
            )
        except botocore.exceptions.ClientError as error:
            checks.append(
                Check(
                    "guardrail simulation",
                    False,
                    f"iam:SimulatePrincipalPolicy failed ({aws_error_message(error)}); "
                    f"{len(requests) - position} of {len(requests)} requests not simulated",
                )
            )
            break
        decision, notes = _evaluation(response, request.action)
        detail = f"{decision} (expected {request.expected})" + (f"; {notes}" if notes else "")
        checks.append(Check(request.name, decision == request.expected, detail))
    return checks


# --- command line ------------------------------------------------------------------------------


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def base_parser(description: str, default_stack: str) -> argparse.ArgumentParser:
    """A parser with the options every notebook smoke script shares."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--stack", default=default_stack, help="CloudFormation stack name")
    parser.add_argument("--region", help="AWS region (default: from the environment/profile)")
    parser.add_argument(
        "--timeout-seconds",
        type=non_negative_float,
        default=900.0,
        help="how long to wait for resources to reach their expected state",
    )
    parser.add_argument(
        "--poll-seconds", type=non_negative_float, default=30.0, help="seconds between polls"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be checked, without AWS calls"
    )
    return parser


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


def connect(
    session_factory: Callable[[], Any],
    stack_name: str,
    required_outputs: Sequence[str],
    *names: str,
) -> tuple[dict[str, str], list[Any]]:
    """The stack's outputs (each of ``required_outputs`` present) and clients for ``names``."""
    cloudformation, *clients = make_clients(session_factory, stack_name, "cloudformation", *names)
    outputs = stack_outputs(cloudformation, stack_name)
    require(outputs, *required_outputs)
    return outputs, clients


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
