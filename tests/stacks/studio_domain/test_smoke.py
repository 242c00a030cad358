"""ml_refarch/stacks/studio_domain/smoke.py against moto and fakes (see
tests/notebook_smoke_fakes.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ml_refarch.smoke import runner
from ml_refarch.stacks.studio_domain import PATTERN
from ml_refarch.stacks.studio_domain import smoke as studio_smoke
from tests.notebook_smoke_fakes import (
    DOMAIN_ID,
    EFS_ID,
    JOB_ROLE_ARN,
    PROFILE,
    REGION,
    STUDIO_LIFECYCLE,
    STUDIO_LIFECYCLE_ARN,
    STUDIO_STACK,
    SUBNETS,
    FakeSession,
    GuardrailIam,
    StudioSageMaker,
    aws_clients,
    check_lines,
    create_stack,
    failed,
    good_domain,
    good_profile,
    studio_outputs,
)
from tests.smoke_fakes import runner_for

main = runner_for(PATTERN)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from aws_clients(monkeypatch)


# --- Studio domain -------------------------------------------------------------------------------


@pytest.fixture
def studio_stack(aws: dict[str, Any]) -> dict[str, Any]:
    create_stack(aws["cloudformation"], STUDIO_STACK, studio_outputs())
    return {
        "cloudformation": aws["cloudformation"],
        "sagemaker": StudioSageMaker(),
        "iam": GuardrailIam(endpoint_ids=None),
    }


def run_studio(clients: dict[str, Any], *extra: str, sleeps: list[float] | None = None) -> int:
    argv = ["--stack", STUDIO_STACK, "--region", REGION, "--poll-seconds", "10", *extra]
    sleep = sleeps.append if sleeps is not None else (lambda seconds: None)
    return main(argv, session=FakeSession(**clients), sleep=sleep)


def test_studio_dry_run_needs_no_aws(monkeypatch, capsys) -> None:
    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("dry run must not create AWS clients")

    monkeypatch.setattr(runner.boto3, "Session", no_aws)
    assert main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    for name, _ in studio_smoke.STUDIO_CHECKS:
        assert f"  {name}: " in out
    assert "CreatePresigned" not in out and "CreateModel compliant -> allowed" in out

    assert main(["--dry-run", "--teardown", "--region", "eu-west-1"]) == 0
    out = capsys.readouterr().out
    assert "list_apps -> delete_app" in out
    assert "aws efs delete-file-system --file-system-id '<HomeEfsId>' --region eu-west-1" in out


def test_studio_all_checks_pass(studio_stack, capsys) -> None:
    assert run_studio(studio_stack) == 0

    out = capsys.readouterr().out
    results = check_lines(out)
    assert [name for name, _ in studio_smoke.STUDIO_CHECKS] == list(results)[:11]
    assert set(results.values()) == {"PASS"} and len(results) == 24
    assert "packages from s3-wheelhouse (s3://mlrefarch-data/wheelhouse/)" in out
    assert studio_stack["sagemaker"].operations("DescribeStudioLifecycleConfig") == [
        {"StudioLifecycleConfigName": STUDIO_LIFECYCLE}
    ]
    assert len(studio_stack["iam"].calls) == 13


def without_role(profile: dict[str, Any]) -> dict[str, Any]:
    profile["UserSettings"].pop("ExecutionRole")
    return profile


@pytest.mark.parametrize(
    ("domain_change", "profile_change", "app_type", "check"),
    [
        ({"Status": "Failed"}, {}, "JupyterLab", "domain status"),
        ({"AppNetworkAccessType": "PublicInternetOnly"}, {}, "JupyterLab", "domain network access"),
        ({"KmsKeyId": None}, {}, "JupyterLab", "domain KMS key"),
        ({"SubnetIds": SUBNETS[:1]}, {}, "JupyterLab", "domain subnets"),
        ({"HomeEfsFileSystemId": "fs-0other"}, {}, "JupyterLab", "domain home file system"),
        ({}, {"Status": "Failed"}, "JupyterLab", "user profile status"),
        (
            {},
            {"UserSettings": {"ExecutionRole": JOB_ROLE_ARN}},
            "JupyterLab",
            "user profile execution role",
        ),
        ({}, {}, "JupyterServer", "lifecycle configuration app type"),
    ],
)
def test_studio_setting_wrong_fails_that_check(
    studio_stack,
    capsys,
    domain_change: dict[str, Any],
    profile_change: dict[str, Any],
    app_type: str,
    check: str,
) -> None:
    domain, profile = good_domain(), good_profile()
    for target, change in ((domain, domain_change), (profile, profile_change)):
        for key, value in change.items():
            if value is None:
                target.pop(key)
            else:
                target[key] = value
    studio_stack["sagemaker"] = StudioSageMaker(domain=domain, profile=profile, app_type=app_type)

    assert run_studio(studio_stack) == 1

    assert failed(capsys.readouterr().out) == [check]


@pytest.mark.parametrize(
    ("setting", "value", "check"),
    [
        ("ExecutionRole", JOB_ROLE_ARN, "domain execution role"),
        ("SecurityGroups", ["sg-0other"], "domain security group"),
        ("JupyterLabAppSettings", {}, "domain lifecycle configuration"),
    ],
)
def test_studio_default_user_setting_wrong_fails_that_check(
    studio_stack, capsys, setting: str, value: Any, check: str
) -> None:
    domain = good_domain()
    domain["DefaultUserSettings"][setting] = value
    studio_stack["sagemaker"] = StudioSageMaker(domain=domain)

    assert run_studio(studio_stack) == 1

    out = capsys.readouterr().out
    # The profile has its own role, so a wrong domain default fails only the domain check.
    assert failed(out) == [check]


def test_studio_profile_inherits_the_domain_role(studio_stack, capsys) -> None:
    studio_stack["sagemaker"] = StudioSageMaker(profile=without_role(good_profile()))
    assert run_studio(studio_stack) == 0
    assert "PASS user profile execution role: ExecutionRole (domain default) " in (
        capsys.readouterr().out
    )


def test_studio_missing_lifecycle_config_fails(studio_stack, capsys) -> None:
    other = STUDIO_LIFECYCLE_ARN.replace(STUDIO_LIFECYCLE, "gone")
    domain = good_domain()
    domain["DefaultUserSettings"]["JupyterLabAppSettings"]["LifecycleConfigArns"] = [other]
    create_stack(studio_stack["cloudformation"], "Other", studio_outputs(LifecycleConfigArn=other))
    studio_stack["sagemaker"] = StudioSageMaker(domain=domain)

    assert (
        main(["--stack", "Other"], session=FakeSession(**studio_stack), sleep=lambda s: None) == 1
    )

    out = capsys.readouterr().out
    assert failed(out) == ["lifecycle configuration app type"]
    assert "FAIL lifecycle configuration app type: gone: ResourceNotFound: " in out


def test_studio_guardrail_unexpectedly_allowed_fails(studio_stack, capsys) -> None:
    studio_stack["iam"] = GuardrailIam(endpoint_ids=None, unenforced=("DenySageMakerOutsideVpc",))
    assert run_studio(studio_stack) == 1
    assert failed(capsys.readouterr().out) == [
        "guardrail CreateTrainingJob without sagemaker:VpcSubnets -> explicitDeny",
        "guardrail CreateModel without sagemaker:VpcSubnets -> explicitDeny",
    ]


def test_studio_missing_output_is_a_setup_error(aws, capsys) -> None:
    create_stack(aws["cloudformation"], STUDIO_STACK, studio_outputs(UserProfileName=None))
    clients = {**aws, "sagemaker": StudioSageMaker(), "iam": GuardrailIam(endpoint_ids=None)}
    assert run_studio(clients) == 2
    assert capsys.readouterr().err == "error: stack outputs missing or empty: UserProfileName\n"


def test_studio_missing_stack_is_a_setup_error(aws, capsys) -> None:
    clients = {**aws, "sagemaker": StudioSageMaker(), "iam": GuardrailIam(endpoint_ids=None)}
    assert run_studio(clients, "--teardown") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot read stack '{STUDIO_STACK}'" in err


def studio_apps() -> list[dict[str, Any]]:
    return [
        {"AppType": "JupyterLab", "AppName": "default", "SpaceName": "team", "Status": "InService"},
        {
            "AppType": "JupyterServer",
            "AppName": "default",
            "UserProfileName": PROFILE,
            "Status": "Failed",
        },
        {
            "AppType": "KernelGateway",
            "AppName": "old",
            "UserProfileName": PROFILE,
            "Status": "Deleted",
        },
    ]


def test_studio_teardown_deletes_apps_then_spaces_and_prints_the_efs_command(
    studio_stack, capsys
) -> None:
    sagemaker = StudioSageMaker(
        apps=studio_apps(),
        spaces=[
            {"DomainId": DOMAIN_ID, "SpaceName": "team", "Status": "InService"},
            {"DomainId": DOMAIN_ID, "SpaceName": "private", "Status": "Failed"},
        ],
    )
    studio_stack["sagemaker"] = sagemaker
    sleeps: list[float] = []

    assert run_studio(studio_stack, "--teardown", sleeps=sleeps) == 0

    assert sagemaker.operations("DeleteApp") == [
        {"DomainId": DOMAIN_ID, "AppType": "JupyterLab", "AppName": "default", "SpaceName": "team"},
        {
            "DomainId": DOMAIN_ID,
            "AppType": "JupyterServer",
            "AppName": "default",
            "UserProfileName": PROFILE,
        },
    ]
    assert sagemaker.operations("DeleteSpace") == [
        {"DomainId": DOMAIN_ID, "SpaceName": "team"},
        {"DomainId": DOMAIN_ID, "SpaceName": "private"},
    ]
    operations = [name for name, _ in sagemaker.calls]
    assert operations.index("DeleteSpace") > max(
        i for i, name in enumerate(operations) if name == "DeleteApp"
    )
    assert all(app["Status"] == "Deleted" for app in sagemaker.apps) and sagemaker.spaces == []
    assert sleeps == [10, 10]
    out = capsys.readouterr().out
    assert f"aws efs delete-file-system --file-system-id {EFS_ID} --region {REGION}\n" in out
    assert f"home file system {EFS_ID}: SageMaker keeps it" in out
    # Production's manual steps name the domain's NFS groups, which keep the VPC otherwise.
    assert "security-group-for-inbound-nfs-d-abcdef123456" in out
    assert "PASS apps deleted: 2 deleted now, 1 already Deleted or Deleting" in out
    assert "PASS spaces deleted: 2 space(s) deleted" in out
    assert "describe" not in " ".join(operations).lower()  # teardown runs no checks


def test_studio_teardown_with_nothing_to_delete(studio_stack, capsys) -> None:
    assert run_studio(studio_stack, "--teardown") == 0
    out = capsys.readouterr().out
    assert "PASS apps deleted: 0 deleted now, 0 already Deleted or Deleting" in out
    assert f"--file-system-id {EFS_ID}" in out


def test_studio_teardown_times_out_on_stuck_apps(studio_stack, capsys) -> None:
    sagemaker = StudioSageMaker(
        apps=studio_apps()[:1],
        spaces=[{"DomainId": DOMAIN_ID, "SpaceName": "team", "Status": "InService"}],
        stuck_apps=True,
    )
    studio_stack["sagemaker"] = sagemaker
    sleeps: list[float] = []

    assert run_studio(studio_stack, "--teardown", "--timeout-seconds", "25", sleeps=sleeps) == 1

    assert sleeps == [10, 10, 5]
    out = capsys.readouterr().out
    assert "FAIL apps deleted: not deleted after 25 s: JupyterLab/default of team (Deleting)" in out
    assert "FAIL spaces deleted: team: ResourceInUse: ResourceInUse" in out
    assert f"--file-system-id {EFS_ID}" in out  # printed even when teardown is incomplete


def test_studio_teardown_reports_a_space_whose_delete_failed(studio_stack, capsys) -> None:
    class FailingSpaceDeletes(StudioSageMaker):
        def handle_DeleteSpace(self, DomainId: str, SpaceName: str) -> dict[str, Any]:
            for space in self.spaces:
                if space["SpaceName"] == SpaceName:
                    space["Status"] = "Delete_Failed"
            return {}

    studio_stack["sagemaker"] = FailingSpaceDeletes(
        apps=[], spaces=[{"DomainId": DOMAIN_ID, "SpaceName": "team", "Status": "InService"}]
    )
    sleeps: list[float] = []

    assert run_studio(studio_stack, "--teardown", sleeps=sleeps) == 1

    assert sleeps == []  # a failed delete is reported at once, not waited for
    out = capsys.readouterr().out
    assert "PASS apps deleted: 0 deleted now" in out
    assert "FAIL spaces deleted: team: Delete_Failed" in out
