"""Smoke test for a deployed isolated SageMaker notebook instance (MlRefArch-IsolatedNotebook).

Reads the stack's CloudFormation outputs and checks that:

- the notebook instance is InService (with ``--start`` a Stopped instance is started; a
  Pending one is waited for, up to ``--timeout-seconds``);
- it has no direct internet access and no root access, a KMS key for its volume, its network
  interface in one of the stack's subnets with the stack's security group, IMDSv2 only, the
  stack's lifecycle configuration, and runs as the data-scientist role;
- the lifecycle script ran: its log stream in ``/aws/sagemaker/NotebookInstances`` has the
  line ``ml-refarch lifecycle: configured pip`` (and, when packages were installed,
  ``ml-refarch lifecycle: installed``);
- the data-scientist role's guardrails hold, by simulating compliant and non-compliant
  SageMaker requests with the IAM policy simulator (nothing is created), including presigned
  notebook URLs through the notebook VPC endpoint and through another one.

Exit codes: 0 every check passed, 1 a check failed, 2 setup error (stack or outputs missing,
no credentials). ``--dry-run`` needs no AWS access: it prints the checks and the simulated
requests.

Usage::

    python -m ml_refarch smoke isolated-notebook [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Mapping
from typing import Any

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import guardrails
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.isolated_notebook.outputs import Outputs

LOG_GROUP = "/aws/sagemaker/NotebookInstances"
# SageMaker writes each hook's output to <notebook>/LifecycleConfigOnCreate and ...OnStart.
LOG_STREAM_SUFFIXES = ("LifecycleConfigOnStart", "LifecycleConfigOnCreate")
CONFIGURED_MARKER = "ml-refarch lifecycle: configured pip"
INSTALLED_MARKER = "ml-refarch lifecycle: installed"
# The filter pattern is a quoted phrase: CloudWatch matches it as one term, colon included.
LOG_FILTER_PATTERN = '"ml-refarch lifecycle:"'

#: Statuses that turn into InService (or Stopped) without anyone acting.
TRANSITIONAL_STATUSES = frozenset({"Pending", "Updating", "Stopping"})

#: (check name, what it verifies), in the order the checks run; also printed by --dry-run.
NOTEBOOK_CHECKS = (
    ("notebook status", "NotebookInstanceStatus is InService"),
    ("direct internet access", "DirectInternetAccess is Disabled"),
    ("root access", "RootAccess is Disabled"),
    ("volume KMS key", "KmsKeyId is set"),
    ("subnet", "SubnetId is one of the SubnetIds output"),
    ("security group", "SecurityGroups contains the SecurityGroupId output"),
    ("IMDSv2", "MinimumInstanceMetadataServiceVersion is 2"),
    ("lifecycle configuration", "NotebookInstanceLifecycleConfigName is LifecycleConfigName"),
    ("execution role", "RoleArn is DataScientistRoleArn"),
    (
        "lifecycle script ran",
        f"{LOG_GROUP} <NotebookName>/{{{','.join(LOG_STREAM_SUFFIXES)}}} has '{CONFIGURED_MARKER}'",
    ),
)


# --- notebook state ---------------------------------------------------------------------------


def wait_for_in_service(
    sagemaker: Any,
    notebook_name: str,
    *,
    start: bool,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
) -> tuple[dict[str, Any], str | None]:
    """Describes the notebook until it is InService; returns (description, problem or None).

    A Stopped notebook is started once when ``start`` is true; a Stopped notebook that was
    already started once (its start failed), a Failed one, or a timeout is a problem.
    """
    started = False

    def settle(status: str, description: Mapping[str, Any]) -> str | None:
        nonlocal started
        if status == "Stopped" and start and not started:
            log(f"notebook {notebook_name} is Stopped; starting it")
            sagemaker.start_notebook_instance(NotebookInstanceName=notebook_name)
            started = True
            return None
        if status == "Stopped":
            hint = "it stopped again after the start" if started else "rerun with --start"
            return f"Stopped ({hint})"
        return smoke.status_problem(status, description)

    return smoke.wait_for_status(
        lambda: sagemaker.describe_notebook_instance(NotebookInstanceName=notebook_name),
        f"notebook {notebook_name}",
        transitional=TRANSITIONAL_STATUSES,
        status_key="NotebookInstanceStatus",
        deadline=deadline,
        poll_seconds=poll_seconds,
        log=log,
        settle=settle,
    )


def notebook_checks(
    description: Mapping[str, Any], outputs: Mapping[str, str], status_problem: str | None
) -> list[smoke.Check]:
    """The configuration checks of one describe_notebook_instance response."""
    subnet_ids = smoke.split_ids(outputs[Outputs.SUBNET_IDS])
    security_groups = description.get("SecurityGroups") or []
    imds = description.get("InstanceMetadataServiceConfiguration") or {}
    imds_version = imds.get("MinimumInstanceMetadataServiceVersion")
    kms_key_id = description.get("KmsKeyId")
    status = description.get("NotebookInstanceStatus", "unknown")

    def equals(name: str, key: str, expected: str | None) -> smoke.Check:
        return smoke.equals_check(name, key, description.get(key), expected)

    key_note = ""
    if kms_key_id:
        # The stack passes the key id; the output is the key ARN, which ends with the id.
        key_arn = outputs[Outputs.KEY_ARN]
        same_key = kms_key_id in (key_arn, key_arn.rsplit("/", 1)[-1])
        key_note = (
            " (the stack's key)"
            if same_key
            else f" (not the stack's key {outputs[Outputs.KEY_ARN]})"
        )
    return [
        smoke.Check("notebook status", status_problem is None, status_problem or status),
        equals("direct internet access", "DirectInternetAccess", "Disabled"),
        equals("root access", "RootAccess", "Disabled"),
        smoke.Check(
            "volume KMS key",
            bool(kms_key_id),
            f"KmsKeyId {kms_key_id}{key_note}" if kms_key_id else "KmsKeyId not set",
        ),
        smoke.Check(
            "subnet",
            description.get("SubnetId") in subnet_ids,
            f"SubnetId {description.get('SubnetId')}, stack subnets {', '.join(subnet_ids)}",
        ),
        smoke.contains_check(
            "security group", "SecurityGroups", security_groups, outputs[Outputs.SECURITY_GROUP_ID]
        ),
        smoke.Check(
            "IMDSv2",
            imds_version == "2",
            f"MinimumInstanceMetadataServiceVersion {imds_version or 'not set'}",
        ),
        equals(
            "lifecycle configuration",
            "NotebookInstanceLifecycleConfigName",
            outputs[Outputs.LIFECYCLE_CONFIG_NAME],
        ),
        equals("execution role", "RoleArn", outputs[Outputs.DATA_SCIENTIST_ROLE_ARN]),
    ]


# --- lifecycle log ------------------------------------------------------------------------------


def _marker_line(message: str, marker: str) -> str | None:
    position = message.find(marker)
    return message[position:].strip() if position >= 0 else None


def _event_time(event: Mapping[str, Any]) -> str:
    moment = datetime.datetime.fromtimestamp(event.get("timestamp", 0) / 1000, datetime.UTC)
    return moment.isoformat(timespec="seconds")


def lifecycle_log_check(logs: Any, notebook_name: str) -> smoke.Check:
    """Whether the lifecycle script logged that it configured pip (latest run wins)."""
    name = "lifecycle script ran"
    stream_prefix = f"{notebook_name}/LifecycleConfigOn"
    streams = {f"{notebook_name}/{suffix}" for suffix in LOG_STREAM_SUFFIXES}
    events: list[dict[str, Any]] = []
    try:
        paginator = logs.get_paginator("filter_log_events")
        for page in paginator.paginate(
            logGroupName=LOG_GROUP,
            logStreamNamePrefix=stream_prefix,
            filterPattern=LOG_FILTER_PATTERN,
        ):
            # Filter again locally: the prefix would also match other suffixes.
            events += [e for e in page.get("events", []) if e.get("logStreamName") in streams]
    except logs.exceptions.ResourceNotFoundException:
        return smoke.Check(name, False, f"log group {LOG_GROUP} does not exist")
    configured = [e for e in events if _marker_line(e.get("message", ""), CONFIGURED_MARKER)]
    if not configured:
        return smoke.Check(
            name,
            False,
            f"no '{CONFIGURED_MARKER}' line in {LOG_GROUP} streams {stream_prefix}*",
        )
    latest = max(configured, key=lambda e: e.get("timestamp", 0))
    detail = (
        f"{_marker_line(latest['message'], CONFIGURED_MARKER)} "
        f"({latest['logStreamName']}, {_event_time(latest)})"
    )
    installed = [e for e in events if _marker_line(e.get("message", ""), INSTALLED_MARKER)]
    if installed:
        last_install = max(installed, key=lambda e: e.get("timestamp", 0))
        detail += f"; {_marker_line(last_install['message'], INSTALLED_MARKER)}"
    else:
        detail += "; no 'installed' line (no packages configured, or the install is not logged)"
    return smoke.Check(name, True, detail)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start", action="store_true", help="start the notebook if it is Stopped, then wait"
    )


def plan(args: argparse.Namespace) -> str:
    waiting = "start it if Stopped, " if args.start else ""
    lines = [
        smoke.dry_run_intro(args),
        f"would describe notebook <NotebookName> ({waiting}wait while Pending up to "
        f"{args.timeout_seconds:g} s, polling every {args.poll_seconds:g} s) and check:",
    ]
    lines += [f"  {name}: {description}" for name, description in NOTEBOOK_CHECKS]
    lines += guardrails.plan_lines(endpoint_ids=["<NotebookEndpointId>"])
    return "\n".join(lines)


def run(run: Run) -> list[smoke.Check]:
    args, outputs, log = run.args, run.outputs, run.log
    sagemaker, logs, iam = (run.client(name) for name in SMOKE.clients)
    packages = guardrails.package_source(outputs)
    notebook_name = outputs[Outputs.NOTEBOOK_NAME]
    log(
        f"stack {args.stack_name}: notebook {notebook_name}, lifecycle "
        f"{outputs[Outputs.LIFECYCLE_CONFIG_NAME]}, "
        f"endpoint {outputs[Outputs.NOTEBOOK_ENDPOINT_ID]}, packages from {packages}"
    )

    description, status_problem = wait_for_in_service(
        sagemaker,
        notebook_name,
        start=args.start,
        deadline=run.deadline(),
        poll_seconds=args.poll_seconds,
        log=log,
    )
    log(
        f"notebook {notebook_name}: {description.get('NotebookInstanceStatus')}, "
        f"{description.get('InstanceType', 'unknown type')}"
    )
    checks = notebook_checks(description, outputs, status_problem)

    log(f"reading lifecycle output from {LOG_GROUP}")
    checks.append(lifecycle_log_check(logs, notebook_name))

    checks += guardrails.role_guardrail_checks(
        iam, outputs, log, endpoint_ids=[outputs[Outputs.NOTEBOOK_ENDPOINT_ID]]
    )
    return checks


SMOKE = SmokeTest(
    required_outputs=(
        Outputs.NOTEBOOK_NAME,
        Outputs.LIFECYCLE_CONFIG_NAME,
        Outputs.NOTEBOOK_ENDPOINT_ID,
        Outputs.DATA_SCIENTIST_ROLE_ARN,
        Outputs.SUBNET_IDS,
        Outputs.SECURITY_GROUP_ID,
        Outputs.KEY_ARN,
    ),
    clients=("sagemaker", "logs", "iam"),
    timeout_seconds=900.0,
)
