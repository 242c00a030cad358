"""Smoke test and teardown helper for a deployed SageMaker Studio domain (MlRefArch-StudioDomain).

Reads the stack's CloudFormation outputs and checks that:

- the domain is InService, VPC-only, encrypted with a KMS key, in the stack's subnets, with
  the data-scientist role, the stack's security group and the JupyterLab lifecycle
  configuration as user defaults, and with the stack's home file system;
- the user profile is InService and runs as the data-scientist role;
- the lifecycle configuration is for JupyterLab apps;
- the data-scientist role's guardrails hold, by simulating compliant and non-compliant
  SageMaker requests with the IAM policy simulator (nothing is created).

A Pending or Updating domain or profile is waited for, up to ``--timeout-seconds``.

``--teardown`` prepares ``cdk destroy`` instead: CloudFormation cannot delete a domain that
still has apps or spaces, so it deletes every app and space of the domain, waits until they
are gone, and prints what happens to the home EFS file system, which SageMaker keeps when the
domain is deleted: the sandbox stack deletes it, and for production the commands that remove
its mount targets and NFS groups (so the VPC can go) and, later, the file system.

Exit codes: 0 every check passed (or teardown finished), 1 a check failed (or teardown timed
out), 2 setup error (stack or outputs missing, no credentials). ``--dry-run`` needs no AWS
access: it prints the checks, the simulated requests and the teardown steps.

Usage::

    python -m ml_refarch smoke studio-domain [--stack-name NAME] [--region R] [--dry-run]
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Mapping
from typing import Any

import botocore.exceptions

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import guardrails
from ml_refarch.smoke.runner import Run, SmokeTest
from ml_refarch.stacks.studio_domain.outputs import Outputs

CHECK_OUTPUTS = (
    Outputs.DOMAIN_ID,
    Outputs.USER_PROFILE_NAME,
    Outputs.HOME_EFS_ID,
    Outputs.LIFECYCLE_CONFIG_ARN,
    Outputs.DATA_SCIENTIST_ROLE_ARN,
    Outputs.SUBNET_IDS,
    Outputs.SECURITY_GROUP_ID,
    Outputs.KEY_ARN,
)
TEARDOWN_OUTPUTS = (Outputs.DOMAIN_ID, Outputs.HOME_EFS_ID)
LIFECYCLE_APP_TYPE = "JupyterLab"

#: Statuses that turn into InService without anyone acting.
TRANSITIONAL_STATUSES = frozenset({"Pending", "Updating"})

#: (check name, what it verifies), in the order the checks run; also printed by --dry-run.
STUDIO_CHECKS = (
    ("domain status", "Status is InService"),
    ("domain network access", "AppNetworkAccessType is VpcOnly"),
    ("domain KMS key", "KmsKeyId is set"),
    ("domain subnets", "SubnetIds are the SubnetIds output"),
    ("domain execution role", "DefaultUserSettings.ExecutionRole is DataScientistRoleArn"),
    ("domain security group", "DefaultUserSettings.SecurityGroups contains SecurityGroupId"),
    (
        "domain lifecycle configuration",
        "DefaultUserSettings.JupyterLabAppSettings.LifecycleConfigArns contains LifecycleConfigArn",
    ),
    ("domain home file system", "HomeEfsFileSystemId is HomeEfsId"),
    ("user profile status", "Status of UserProfileName is InService"),
    (
        "user profile execution role",
        "UserSettings.ExecutionRole (or the domain default) is DataScientistRoleArn",
    ),
    ("lifecycle configuration app type", f"StudioLifecycleConfigAppType is {LIFECYCLE_APP_TYPE}"),
)


# --- checks --------------------------------------------------------------------------------------


def domain_checks(
    domain: Mapping[str, Any], outputs: Mapping[str, str], status_problem: str | None
) -> list[smoke.Check]:
    """The checks of one describe_domain response."""
    defaults = domain.get("DefaultUserSettings") or {}
    jupyter_lab = defaults.get("JupyterLabAppSettings") or {}
    lifecycle_arns = jupyter_lab.get("LifecycleConfigArns") or []
    security_groups = defaults.get("SecurityGroups") or []
    subnets = sorted(domain.get("SubnetIds") or [])
    expected_subnets = sorted(smoke.split_ids(outputs[Outputs.SUBNET_IDS]))
    kms_key_id = domain.get("KmsKeyId")
    return [
        smoke.Check(
            "domain status", status_problem is None, status_problem or domain.get("Status", "")
        ),
        smoke.equals_check(
            "domain network access",
            "AppNetworkAccessType",
            domain.get("AppNetworkAccessType"),
            "VpcOnly",
        ),
        smoke.Check("domain KMS key", bool(kms_key_id), f"KmsKeyId {kms_key_id or 'not set'}"),
        smoke.Check(
            "domain subnets",
            subnets == expected_subnets,
            f"SubnetIds {', '.join(subnets) or 'none'}"
            + ("" if subnets == expected_subnets else f", expected {', '.join(expected_subnets)}"),
        ),
        smoke.equals_check(
            "domain execution role",
            "ExecutionRole",
            defaults.get("ExecutionRole"),
            outputs[Outputs.DATA_SCIENTIST_ROLE_ARN],
        ),
        smoke.contains_check(
            "domain security group",
            "SecurityGroups",
            security_groups,
            outputs[Outputs.SECURITY_GROUP_ID],
        ),
        smoke.contains_check(
            "domain lifecycle configuration",
            "LifecycleConfigArns",
            lifecycle_arns,
            outputs[Outputs.LIFECYCLE_CONFIG_ARN],
        ),
        smoke.equals_check(
            "domain home file system",
            "HomeEfsFileSystemId",
            domain.get("HomeEfsFileSystemId"),
            outputs[Outputs.HOME_EFS_ID],
        ),
    ]


def user_profile_checks(
    profile: Mapping[str, Any],
    domain: Mapping[str, Any],
    outputs: Mapping[str, str],
    status_problem: str | None,
) -> list[smoke.Check]:
    """The checks of one describe_user_profile response."""
    role = (profile.get("UserSettings") or {}).get("ExecutionRole")
    source = "ExecutionRole"
    if not role:
        # A profile without its own role runs as the domain's default role.
        role = (domain.get("DefaultUserSettings") or {}).get("ExecutionRole")
        source = "ExecutionRole (domain default)"
    return [
        smoke.Check(
            "user profile status",
            status_problem is None,
            status_problem or profile.get("Status", ""),
        ),
        smoke.equals_check(
            "user profile execution role", source, role, outputs[Outputs.DATA_SCIENTIST_ROLE_ARN]
        ),
    ]


def lifecycle_config_check(sagemaker: Any, lifecycle_arn: str) -> smoke.Check:
    name = "lifecycle configuration app type"
    config_name = lifecycle_arn.rsplit("/", 1)[-1]
    try:
        config = sagemaker.describe_studio_lifecycle_config(StudioLifecycleConfigName=config_name)
    except botocore.exceptions.ClientError as error:
        return smoke.Check(name, False, f"{config_name}: {smoke.aws_error_message(error)}")
    return smoke.equals_check(
        name,
        f"{config_name} StudioLifecycleConfigAppType",
        config.get("StudioLifecycleConfigAppType"),
        LIFECYCLE_APP_TYPE,
    )


def run_checks(
    sagemaker: Any,
    iam: Any,
    outputs: Mapping[str, str],
    *,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
) -> list[smoke.Check]:
    domain_id, profile_name = outputs[Outputs.DOMAIN_ID], outputs[Outputs.USER_PROFILE_NAME]
    domain, problem = smoke.wait_for_status(
        lambda: sagemaker.describe_domain(DomainId=domain_id),
        f"domain {domain_id}",
        transitional=TRANSITIONAL_STATUSES,
        deadline=deadline,
        poll_seconds=poll_seconds,
        log=log,
    )
    log(f"domain {domain_id} ({domain.get('DomainName', '?')}): {domain.get('Status')}")
    checks = domain_checks(domain, outputs, problem)

    profile, problem = smoke.wait_for_status(
        lambda: sagemaker.describe_user_profile(DomainId=domain_id, UserProfileName=profile_name),
        f"user profile {profile_name}",
        transitional=TRANSITIONAL_STATUSES,
        deadline=deadline,
        poll_seconds=poll_seconds,
        log=log,
    )
    log(f"user profile {profile_name}: {profile.get('Status')}")
    checks += user_profile_checks(profile, domain, outputs, problem)

    log(f"describing lifecycle configuration {outputs[Outputs.LIFECYCLE_CONFIG_ARN]}")
    checks.append(lifecycle_config_check(sagemaker, outputs[Outputs.LIFECYCLE_CONFIG_ARN]))

    checks += guardrails.role_guardrail_checks(iam, outputs, log)
    return checks


# --- teardown ------------------------------------------------------------------------------------


def list_all(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated SageMaker List call."""
    items: list[dict[str, Any]] = []
    while True:
        page = call(**params)
        items += page.get(key, [])
        if not page.get("NextToken"):
            return items
        params["NextToken"] = page["NextToken"]


def _app_label(app: Mapping[str, Any]) -> str:
    owner = app.get("UserProfileName") or app.get("SpaceName") or "?"
    return f"{app['AppType']}/{app['AppName']} of {owner}"


def _app_key(app: Mapping[str, Any]) -> tuple[str, str, str]:
    owner = app.get("UserProfileName") or app.get("SpaceName") or ""
    return owner, app["AppType"], app["AppName"]


def _space_name(space: Mapping[str, Any]) -> str:
    return space["SpaceName"]


def _is_not_found(error: botocore.exceptions.ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ResourceNotFound"


def _request_deletes(
    items: list[dict[str, Any]],
    delete: Callable[[Mapping[str, Any]], Any],
    *,
    skip: tuple[str, ...],
    label: Callable[[Mapping[str, Any]], str],
    key: Callable[[Mapping[str, Any]], Any],
    noun: str,
    log: smoke.Log,
) -> tuple[int, list[str], set[Any]]:
    """Asks to delete each item whose status is not in ``skip``: (how many were asked for,
    the problems, the keys of the items whose delete call failed)."""
    requested, problems, undeletable = 0, [], set()
    for item in items:
        if item.get("Status") in skip:
            continue
        try:
            delete(item)
        except botocore.exceptions.ClientError as error:
            # Gone in the meantime is what was wanted; anything else stays visible.
            if not _is_not_found(error):
                problems.append(f"{label(item)}: {smoke.aws_error_message(error)}")
                undeletable.add(key(item))
            continue
        requested += 1
        log(f"deleting {noun} {label(item)} ({item.get('Status')})")
    return requested, problems, undeletable


def _wait_until_deleted(
    list_remaining: Callable[[], list[dict[str, Any]]],
    label: Callable[[Mapping[str, Any]], str],
    noun: str,
    *,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
    failed: Callable[[list[dict[str, Any]]], list[str]] = lambda _: [],
) -> list[str]:
    """Lists what is left until nothing is, ``failed`` finds problems, or time runs out;
    returns the problems."""
    while True:
        remaining = list_remaining()
        problems = failed(remaining)
        if problems or not remaining:
            return problems
        if deadline.expired:
            listed = ", ".join(f"{label(item)} ({item.get('Status')})" for item in remaining)
            return [f"not deleted after {deadline.timeout_seconds:g} s: {listed}"]
        waited_seconds = deadline.wait(poll_seconds)
        log(f"{len(remaining)} {noun}(s) not deleted yet; waited {waited_seconds:.0f} s")


def delete_apps(
    sagemaker: Any,
    domain_id: str,
    *,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
) -> smoke.Check:
    """Deletes every app of the domain that is not Deleted, and waits until all are Deleted."""
    name = "apps deleted"
    apps = list_all(sagemaker.list_apps, "Apps", DomainIdEquals=domain_id)

    def delete(app: Mapping[str, Any]) -> None:
        owner = (
            {"UserProfileName": app["UserProfileName"]}
            if app.get("UserProfileName")
            else {"SpaceName": app["SpaceName"]}
        )
        sagemaker.delete_app(
            DomainId=domain_id, AppType=app["AppType"], AppName=app["AppName"], **owner
        )

    # Apps whose delete call failed are reported once, not waited for.
    requested, problems, undeletable = _request_deletes(
        apps,
        delete,
        skip=("Deleted", "Deleting"),
        label=_app_label,
        key=_app_key,
        noun="app",
        log=log,
    )
    problems += _wait_until_deleted(
        lambda: [
            app
            for app in list_all(sagemaker.list_apps, "Apps", DomainIdEquals=domain_id)
            if app.get("Status") != "Deleted" and _app_key(app) not in undeletable
        ],
        _app_label,
        "app",
        deadline=deadline,
        poll_seconds=poll_seconds,
        log=log,
    )
    if problems:
        return smoke.Check(name, False, "; ".join(problems))
    return smoke.Check(
        name, True, f"{requested} deleted now, {len(apps) - requested} already Deleted or Deleting"
    )


def delete_spaces(
    sagemaker: Any,
    domain_id: str,
    *,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
) -> smoke.Check:
    """Deletes every space of the domain and waits until none is listed."""
    name = "spaces deleted"
    spaces = list_all(sagemaker.list_spaces, "Spaces", DomainIdEquals=domain_id)
    _, problems, undeletable = _request_deletes(
        spaces,
        lambda space: sagemaker.delete_space(DomainId=domain_id, SpaceName=space["SpaceName"]),
        skip=("Deleting",),
        label=_space_name,
        key=_space_name,
        noun="space",
        log=log,
    )
    problems += _wait_until_deleted(
        lambda: [
            space
            for space in list_all(sagemaker.list_spaces, "Spaces", DomainIdEquals=domain_id)
            if space["SpaceName"] not in undeletable
        ],
        _space_name,
        "space",
        deadline=deadline,
        poll_seconds=poll_seconds,
        log=log,
        failed=lambda remaining: [
            f"{s['SpaceName']}: Delete_Failed"
            for s in remaining
            if s.get("Status") == "Delete_Failed"
        ],
    )
    if problems:
        return smoke.Check(name, False, "; ".join(problems))
    return smoke.Check(name, True, f"{len(spaces)} space(s) deleted")


def efs_cleanup_lines(
    file_system_id: str, region: str | None, domain_id: str = "<DomainId>"
) -> list[str]:
    """What is left of the home file system after ``cdk destroy``, per profile."""
    region_option = f" --region {shlex.quote(region)}" if region else ""
    fs = shlex.quote(file_system_id)
    return [
        f"home file system {file_system_id}: SageMaker keeps it when the domain is deleted.",
        "sandbox profile: the stack's HomeCleanup custom resource deletes it, its mount "
        "targets and its NFS security groups after the domain and before the VPC.",
        "production profile: it is kept with its data. Its mount targets keep the stack's "
        "subnets from being deleted; delete them first:",
        f"  for id in $(aws efs describe-mount-targets --file-system-id {fs}{region_option} "
        "--query 'MountTargets[].MountTargetId' --output text); do "
        f'aws efs delete-mount-target --mount-target-id "$id"{region_option}; done',
        f"then the security groups security-group-for-inbound-nfs-{domain_id} and "
        f"security-group-for-outbound-nfs-{domain_id} (their rules name each other: revoke "
        "them first), and run cdk destroy again. When the data is no longer needed:",
        f"  aws efs delete-file-system --file-system-id {fs}{region_option}",
    ]


def run_teardown(
    sagemaker: Any,
    outputs: Mapping[str, str],
    region: str | None,
    *,
    deadline: smoke.Deadline,
    poll_seconds: float,
    log: smoke.Log,
) -> list[smoke.Check]:
    domain_id = outputs[Outputs.DOMAIN_ID]
    log(f"deleting the apps of domain {domain_id}")
    checks = [
        delete_apps(sagemaker, domain_id, deadline=deadline, poll_seconds=poll_seconds, log=log)
    ]
    # A space with a running app cannot be deleted, so spaces go after their apps.
    log(f"deleting the spaces of domain {domain_id}")
    checks.append(
        delete_spaces(sagemaker, domain_id, deadline=deadline, poll_seconds=poll_seconds, log=log)
    )
    for line in efs_cleanup_lines(outputs[Outputs.HOME_EFS_ID], region, domain_id):
        print(line, flush=True)
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--teardown",
        action="store_true",
        help="delete the domain's apps and spaces before cdk destroy, instead of checking",
    )


def plan(args: argparse.Namespace) -> str:
    lines = [smoke.dry_run_intro(args)]
    if args.teardown:
        lines.append(
            "would delete every app (list_apps -> delete_app) and then every space "
            "(list_spaces -> delete_space) of <DomainId>, waiting up to "
            f"{args.timeout_seconds:g} s, polling every {args.poll_seconds:g} s"
        )
        lines += efs_cleanup_lines("<HomeEfsId>", args.region)
        return "\n".join(lines)
    lines.append(
        f"would describe domain <DomainId>, user profile <UserProfileName> and lifecycle "
        f"configuration <LifecycleConfigArn> (waiting while Pending up to "
        f"{args.timeout_seconds:g} s) and check:"
    )
    lines += [f"  {name}: {description}" for name, description in STUDIO_CHECKS]
    lines += guardrails.plan_lines()
    return "\n".join(lines)


def required_outputs(args: argparse.Namespace) -> tuple[str, ...]:
    return TEARDOWN_OUTPUTS if args.teardown else CHECK_OUTPUTS


def run(run: Run) -> list[smoke.Check]:
    args, outputs, log = run.args, run.outputs, run.log
    sagemaker, iam = run.client("sagemaker"), run.client("iam")
    deadline = run.deadline()
    if args.teardown:
        cloudformation = run.client("cloudformation")
        region = args.region or getattr(getattr(cloudformation, "meta", None), "region_name", None)
        return run_teardown(
            sagemaker,
            outputs,
            region,
            deadline=deadline,
            poll_seconds=args.poll_seconds,
            log=log,
        )
    packages = guardrails.package_source(outputs)
    log(
        f"stack {args.stack_name}: domain {outputs[Outputs.DOMAIN_ID]}, user profile "
        f"{outputs[Outputs.USER_PROFILE_NAME]}, packages from {packages}"
    )
    return run_checks(
        sagemaker, iam, outputs, deadline=deadline, poll_seconds=args.poll_seconds, log=log
    )


SMOKE = SmokeTest(
    required_outputs=required_outputs,
    clients=("sagemaker", "iam"),
    timeout_seconds=900.0,
)
