"""ml_refarch/stacks/isolated_notebook/smoke.py against moto and fakes (see
tests/notebook_smoke_fakes.py).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from ml_refarch.smoke import runner
from ml_refarch.stacks.isolated_notebook import PATTERN
from ml_refarch.stacks.isolated_notebook import smoke as notebook_smoke
from tests.notebook_smoke_fakes import (
    ACCOUNT,
    API_ENDPOINT,
    CREATE_RUN_MS,
    GOOD_LOG,
    JOB_ROLE_ARN,
    KEY_ARN,
    KEY_ID,
    LOG_GROUP,
    NOTEBOOK,
    NOTEBOOK_ENDPOINT,
    NOTEBOOK_STACK,
    REGION,
    START_RUN_MS,
    FakeSession,
    GuardrailIam,
    NotebookSageMaker,
    aws_clients,
    check_lines,
    create_stack,
    failed,
    good_notebook,
    notebook_outputs,
    put_lifecycle_log,
)
from tests.smoke_fakes import runner_for

main = runner_for(PATTERN)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    yield from aws_clients(monkeypatch)


@pytest.fixture
def notebook_stack(aws: dict[str, Any]) -> dict[str, Any]:
    """A compliant notebook deployment; tests change one part of it."""
    create_stack(aws["cloudformation"], NOTEBOOK_STACK, notebook_outputs())
    # The create hook ran first; the start hook's later lines are the ones reported.
    put_lifecycle_log(aws["logs"], "LifecycleConfigOnCreate", GOOD_LOG[:2], CREATE_RUN_MS)
    put_lifecycle_log(aws["logs"], "LifecycleConfigOnStart", GOOD_LOG)
    return {
        **aws,
        "sagemaker": NotebookSageMaker(good_notebook()),
        "iam": GuardrailIam(),
    }


def run_notebook(clients: dict[str, Any], *extra: str, sleeps: list[float] | None = None) -> int:
    argv = ["--stack", NOTEBOOK_STACK, "--region", REGION, "--poll-seconds", "30", *extra]
    sleep = sleeps.append if sleeps is not None else (lambda seconds: None)
    return main(argv, session=FakeSession(**clients), sleep=sleep)


# --- isolated notebook ----------------------------------------------------------------------------


def test_notebook_dry_run_needs_no_aws(monkeypatch, capsys) -> None:
    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("dry run must not create AWS clients")

    monkeypatch.setattr(runner.boto3, "Session", no_aws)
    assert main(["--dry-run", "--start"]) == 0
    out = capsys.readouterr().out
    for name, _ in notebook_smoke.NOTEBOOK_CHECKS:
        assert f"  {name}: " in out
    assert "start it if Stopped" in out and NOTEBOOK_STACK in out
    assert "CreatePresignedNotebookInstanceUrl via vpce-0000000000000000 -> explicitDeny" in out
    assert "aws:SourceVpce (string) = <NotebookEndpointId>" in out


def test_notebook_all_checks_pass(notebook_stack, capsys) -> None:
    assert run_notebook(notebook_stack) == 0

    out = capsys.readouterr().out
    results = check_lines(out)
    start_run_time = datetime.datetime.fromtimestamp(START_RUN_MS / 1000, datetime.UTC).isoformat()
    assert [name for name, _ in notebook_smoke.NOTEBOOK_CHECKS] == list(results)[:10]
    assert set(results.values()) == {"PASS"} and len(results) == 26
    assert "PASS: all 26 checks passed" in out
    assert f"PASS volume KMS key: KmsKeyId {KEY_ID} (the stack's key)" in out
    assert (
        "PASS lifecycle script ran: ml-refarch lifecycle: configured pip for codeartifact "
        f"mlrefarch-isolatednotebook/pypi-store ({NOTEBOOK}/LifecycleConfigOnStart, "
        f"{start_run_time}); ml-refarch lifecycle: installed pandas scikit-learn"
    ) in out
    assert "packages from codeartifact (domain mlrefarch-isolatednotebook" in out
    calls = notebook_stack["iam"].calls
    assert len(calls) == 16
    assert calls[-3]["ResourceArns"] == [
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/ml-refarch-smoke-simulated"
    ]


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"NotebookInstanceStatus": "Failed", "FailureReason": "no capacity"}, "notebook status"),
        ({"DirectInternetAccess": "Enabled"}, "direct internet access"),
        ({"RootAccess": "Enabled"}, "root access"),
        ({"KmsKeyId": None}, "volume KMS key"),
        ({"SubnetId": "subnet-0other"}, "subnet"),
        ({"SecurityGroups": ["sg-0other"]}, "security group"),
        (
            {
                "InstanceMetadataServiceConfiguration": {
                    "MinimumInstanceMetadataServiceVersion": "1"
                }
            },
            "IMDSv2",
        ),
        ({"InstanceMetadataServiceConfiguration": None}, "IMDSv2"),
        ({"NotebookInstanceLifecycleConfigName": None}, "lifecycle configuration"),
        ({"RoleArn": JOB_ROLE_ARN}, "execution role"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_notebook_property_wrong_fails_that_check(
    notebook_stack, capsys, change: dict[str, Any], check: str
) -> None:
    description = good_notebook()
    for key, value in change.items():
        if value is None:
            description.pop(key)
        else:
            description[key] = value
    notebook_stack["sagemaker"] = NotebookSageMaker(description)

    assert run_notebook(notebook_stack) == 1

    out = capsys.readouterr().out
    assert failed(out) == [check]
    assert f"FAIL: 1 of 26 checks failed ({check})" in out


def test_notebook_kms_key_of_another_key_is_reported(notebook_stack, capsys) -> None:
    notebook_stack["sagemaker"].description["KmsKeyId"] = "other-key-id"
    assert run_notebook(notebook_stack) == 0
    assert f"KmsKeyId other-key-id (not the stack's key {KEY_ARN})" in capsys.readouterr().out


def test_notebook_is_started_with_start_and_waited_for(notebook_stack, capsys) -> None:
    sagemaker = NotebookSageMaker(
        good_notebook(), statuses=("Stopped", "Pending", "Pending", "InService")
    )
    notebook_stack["sagemaker"] = sagemaker
    sleeps: list[float] = []

    assert run_notebook(notebook_stack, "--start", sleeps=sleeps) == 0

    assert sagemaker.operations("StartNotebookInstance") == [{"NotebookInstanceName": NOTEBOOK}]
    assert len(sagemaker.operations("DescribeNotebookInstance")) == 4
    assert sleeps == [30, 30, 30]
    out = capsys.readouterr().out
    assert f"notebook {NOTEBOOK} is Stopped; starting it" in out
    assert f"notebook {NOTEBOOK} is Pending; waited 30 s" in out


def test_notebook_stopped_without_start_fails(notebook_stack, capsys) -> None:
    notebook_stack["sagemaker"].description["NotebookInstanceStatus"] = "Stopped"
    assert run_notebook(notebook_stack) == 1
    out = capsys.readouterr().out
    assert "FAIL notebook status: Stopped (rerun with --start)" in out
    assert notebook_stack["sagemaker"].operations("StartNotebookInstance") == []


def test_notebook_pending_past_the_timeout_fails(notebook_stack, capsys) -> None:
    notebook_stack["sagemaker"].description["NotebookInstanceStatus"] = "Pending"
    sleeps: list[float] = []

    assert run_notebook(notebook_stack, "--timeout-seconds", "70", sleeps=sleeps) == 1

    assert sleeps == [30, 30, 10]
    out = capsys.readouterr().out
    assert "FAIL notebook status: still Pending after 70 s (--timeout-seconds)" in out


@pytest.mark.parametrize(
    ("streams", "detail"),
    [
        (
            {"LifecycleConfigOnStart": ["pip install failed", "ml-refarch lifecycle: installed x"]},
            f"no 'ml-refarch lifecycle: configured pip' line in {LOG_GROUP} streams "
            f"{NOTEBOOK}/LifecycleConfigOn*",
        ),
        ({}, f"log group {LOG_GROUP} does not exist"),
    ],
    ids=["line-missing", "group-missing"],
)
def test_notebook_without_lifecycle_log_line_fails(
    aws, capsys, streams: dict[str, list[str]], detail: str
) -> None:
    create_stack(aws["cloudformation"], NOTEBOOK_STACK, notebook_outputs())
    for suffix, messages in streams.items():
        put_lifecycle_log(aws["logs"], suffix, messages)
    # Another notebook's stream must not count for this one.
    if streams:
        aws["logs"].create_log_stream(
            logGroupName=LOG_GROUP, logStreamName=f"{NOTEBOOK}-2/LifecycleConfigOnStart"
        )
        aws["logs"].put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=f"{NOTEBOOK}-2/LifecycleConfigOnStart",
            logEvents=[{"timestamp": START_RUN_MS, "message": GOOD_LOG[1]}],
        )
    clients = {**aws, "sagemaker": NotebookSageMaker(good_notebook()), "iam": GuardrailIam()}

    assert run_notebook(clients) == 1

    out = capsys.readouterr().out
    assert failed(out) == ["lifecycle script ran"]
    assert f"FAIL lifecycle script ran: {detail}" in out


def test_notebook_lifecycle_from_on_create_only_passes_without_install_line(aws, capsys) -> None:
    create_stack(aws["cloudformation"], NOTEBOOK_STACK, notebook_outputs())
    put_lifecycle_log(
        aws["logs"], "LifecycleConfigOnCreate", ["x ml-refarch lifecycle: configured pip"]
    )
    clients = {**aws, "sagemaker": NotebookSageMaker(good_notebook()), "iam": GuardrailIam()}

    assert run_notebook(clients) == 0

    out = capsys.readouterr().out
    assert f"({NOTEBOOK}/LifecycleConfigOnCreate, " in out and "no 'installed' line" in out


@pytest.mark.parametrize(
    ("unenforced", "expected_failures"),
    [
        (
            ("DenySageMakerVolumeWithoutKmsKey",),
            [
                "guardrail CreateTrainingJob without sagemaker:VolumeKmsKey -> explicitDeny",
                "guardrail CreateTransformJob without sagemaker:VolumeKmsKey -> explicitDeny",
            ],
        ),
        (
            ("DenySageMakerNetworkIsolationOff",),
            [
                "guardrail CreateTrainingJob with sagemaker:NetworkIsolation=false -> explicitDeny",
                "guardrail CreateModel with sagemaker:NetworkIsolation=false -> explicitDeny",
            ],
        ),
        (
            ("DenyPresignedUrlOutsideVpcEndpoint",),
            [
                "guardrail CreatePresignedNotebookInstanceUrl via vpce-0000000000000000 "
                "-> explicitDeny",
                "guardrail CreatePresignedNotebookInstanceUrl from outside any VPC endpoint "
                "-> explicitDeny",
            ],
        ),
    ],
    ids=["volume-key", "isolation-off", "presigned-url"],
)
def test_notebook_guardrail_unexpectedly_allowed_fails(
    notebook_stack, capsys, unenforced: tuple[str, ...], expected_failures: list[str]
) -> None:
    notebook_stack["iam"] = GuardrailIam(unenforced=unenforced)

    assert run_notebook(notebook_stack) == 1

    out = capsys.readouterr().out
    assert failed(out) == expected_failures
    assert f"FAIL {expected_failures[0]}: allowed (expected explicitDeny)" in out


def test_notebook_endpoint_not_in_the_guardrail_fails(notebook_stack, capsys) -> None:
    notebook_stack["iam"] = GuardrailIam(endpoint_ids=(API_ENDPOINT,))
    assert run_notebook(notebook_stack) == 1
    assert failed(capsys.readouterr().out) == [
        f"guardrail CreatePresignedNotebookInstanceUrl via {NOTEBOOK_ENDPOINT} -> allowed"
    ]


def test_notebook_simulation_access_denied_fails_once(notebook_stack, capsys) -> None:
    notebook_stack["iam"] = GuardrailIam(error="AccessDenied")
    assert run_notebook(notebook_stack) == 1
    out = capsys.readouterr().out
    assert failed(out) == ["guardrail simulation"]
    assert "iam:SimulatePrincipalPolicy failed (AccessDenied: AccessDenied); 16 of 16" in out
    assert len(notebook_stack["iam"].calls) == 1


def test_notebook_missing_stack_is_a_setup_error(aws, capsys) -> None:
    clients = {**aws, "sagemaker": NotebookSageMaker(good_notebook()), "iam": GuardrailIam()}
    assert run_notebook(clients) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: cannot read stack '{NOTEBOOK_STACK}': ValidationError: ")
    assert "does not exist" in err


def test_notebook_missing_output_is_a_setup_error(aws, capsys) -> None:
    outputs = notebook_outputs(NotebookEndpointId=None, KeyArn=None)
    create_stack(aws["cloudformation"], NOTEBOOK_STACK, outputs)
    sagemaker = NotebookSageMaker(good_notebook())
    clients = {**aws, "sagemaker": sagemaker, "iam": GuardrailIam()}

    assert run_notebook(clients) == 2

    assert capsys.readouterr().err == (
        "error: stack outputs missing or empty: NotebookEndpointId, KeyArn\n"
    )
    assert sagemaker.calls == []
