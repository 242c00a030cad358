"""ml_refarch.smoke.core and ml_refarch.smoke.guardrails: reports, outputs, deadlines and the
guardrail simulation, without real AWS.
"""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from ml_refarch.smoke import core as smoke
from ml_refarch.smoke import guardrails
from tests.notebook_smoke_fakes import (
    ACCOUNT,
    DOMAIN_ID,
    KEY_ARN,
    KEY_ID,
    NOTEBOOK_ENDPOINT,
    REGION,
    ROLE_ARN,
    SESSION,
    SUBNETS,
    GuardrailIam,
    notebook_outputs,
)

# --- ml_refarch.smoke.core and guardrails ------------------------------------------------------


def test_report_prints_each_check_and_a_summary() -> None:
    lines: list[str] = []
    checks = [
        smoke.Check("a", True, "fine"),
        smoke.Check("b", False, "broken"),
        smoke.Check("c", True),
    ]
    assert smoke.report(checks, lines.append) == 1
    assert lines == ["PASS a: fine", "FAIL b: broken", "PASS c", "FAIL: 1 of 3 checks failed (b)"]
    lines.clear()
    assert smoke.report(checks[:1], lines.append) == 0
    assert lines[-1] == "PASS: all 1 checks passed"
    assert smoke.report([], lines.append) == 1  # nothing verified is not a pass


def test_require_names_every_missing_key() -> None:
    smoke.require({"A": "1", "B": "2"}, "A", "B")
    with pytest.raises(smoke.SetupError, match=r"missing or empty: B, C$"):
        smoke.require({"A": "1", "B": ""}, "A", "B", "C")


def test_equals_and_contains_checks_name_what_was_expected() -> None:
    assert smoke.equals_check("role", "RoleArn", "a", "a") == smoke.Check("role", True, "RoleArn a")
    assert smoke.equals_check("role", "RoleArn", None, "a") == smoke.Check(
        "role", False, "RoleArn None, expected a"
    )
    assert smoke.contains_check("sg", "SecurityGroups", ["sg-1", "sg-2"], "sg-2").passed
    assert smoke.contains_check("sg", "SecurityGroups", [], "sg-2") == smoke.Check(
        "sg", False, "SecurityGroups none, expected sg-2"
    )


def describing(*statuses: str, **extra: str):
    """A describe call that answers ``statuses`` in turn (the last one repeats)."""
    answers = list(statuses)

    def describe() -> dict[str, str]:
        status = answers.pop(0) if len(answers) > 1 else answers[0]
        return {"Status": status, **extra}

    return describe


def wait(describe, seconds: float = 100.0, **options: Any):
    logged: list[str] = []
    deadline = smoke.Deadline(seconds, sleep=lambda _: None)
    result = smoke.wait_for_status(
        describe,
        "domain d-1",
        transitional=("Pending",),
        deadline=deadline,
        poll_seconds=10,
        log=logged.append,
        **options,
    )
    return result, logged


def test_wait_for_status_waits_through_transitional_statuses() -> None:
    (description, problem), logged = wait(describing("Pending", "Pending", "InService"))
    assert (description["Status"], problem) == ("InService", None)
    assert logged == ["domain d-1 is Pending; waited 10 s"] * 2


def test_wait_for_status_reports_a_final_status_with_its_reason_or_the_timeout() -> None:
    (_, problem), _ = wait(describing("Pending", "Failed", FailureReason="no subnet"))
    assert problem == "Failed: no subnet"
    (_, problem), logged = wait(describing("Pending"), seconds=25)
    assert problem == "still Pending after 25 s (--timeout-seconds)"
    assert len(logged) == 3


def test_wait_for_status_lets_settle_act_on_a_status_and_keep_waiting() -> None:
    seen: list[str] = []

    def settle(status: str, description: Any) -> str | None:
        seen.append(status)
        return None if len(seen) == 1 else f"{status} again"

    (_, problem), _ = wait(describing("Stopped", "Pending", "InService"), settle=settle)
    assert (problem, seen) == (None, ["Stopped"])
    (_, problem), _ = wait(describing("Stopped", "Stopped"), settle=settle)
    assert problem == "Stopped again"


class FakeCloudFormation:
    def __init__(self, status: str) -> None:
        self.status = status

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        outputs = [{"OutputKey": "DomainId", "OutputValue": DOMAIN_ID}]
        return {
            "Stacks": [{"StackName": StackName, "StackStatus": self.status, "Outputs": outputs}]
        }


@pytest.mark.parametrize(
    "status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"]
)
def test_stack_outputs_of_usable_stacks(status: str) -> None:
    assert smoke.stack_outputs(FakeCloudFormation(status), "s") == {"DomainId": DOMAIN_ID}


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_FAILED"])
def test_stack_outputs_rejects_unusable_states(status: str) -> None:
    with pytest.raises(smoke.SetupError, match=f"stack 's' is {status}, not in a usable"):
        smoke.stack_outputs(FakeCloudFormation(status), "s")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"PackageSource": "pypi"}, "must be one of codeartifact, s3-wheelhouse, got 'pypi'"),
        ({"CodeArtifactRepository": None}, "missing or empty: CodeArtifactRepository"),
        ({"PackageSource": "s3-wheelhouse"}, "missing or empty: WheelhouseUri"),
    ],
)
def test_package_source_must_match_its_outputs(
    overrides: dict[str, str | None], message: str
) -> None:
    assert guardrails.package_source(notebook_outputs()).startswith("codeartifact (domain ")
    with pytest.raises(smoke.SetupError, match=message):
        guardrails.package_source(notebook_outputs(**overrides))


def test_deadline_counts_slept_time_with_a_fake_sleep() -> None:
    sleeps: list[float] = []
    deadline = smoke.Deadline(70, sleep=sleeps.append, clock=lambda: 0.0)
    assert deadline.wait(30) == 30 and deadline.wait(30) == 30 and deadline.wait(30) == 10
    assert deadline.expired and sleeps == [30, 30, 10]


def test_guardrail_requests_cover_each_control() -> None:
    requests = guardrails.guardrail_requests(
        subnet_ids=SUBNETS, key_arn=KEY_ARN, endpoint_ids=[NOTEBOOK_ENDPOINT]
    )
    by_name = {request.name: request for request in requests}
    compliant = by_name["guardrail CreateTrainingJob compliant -> allowed"]
    assert compliant.context == (
        {
            "ContextKeyName": "sagemaker:VpcSubnets",
            "ContextKeyValues": SUBNETS,
            "ContextKeyType": "stringList",
        },
        {
            "ContextKeyName": "sagemaker:NetworkIsolation",
            "ContextKeyValues": ["true"],
            "ContextKeyType": "boolean",
        },
        {
            "ContextKeyName": "sagemaker:InterContainerTrafficEncryption",
            "ContextKeyValues": ["true"],
            "ContextKeyType": "boolean",
        },
        {
            "ContextKeyName": "sagemaker:VolumeKmsKey",
            "ContextKeyValues": [KEY_ARN],
            "ContextKeyType": "string",
        },
    )
    without_key = by_name[
        "guardrail CreateTrainingJob without sagemaker:VolumeKmsKey -> explicitDeny"
    ]
    assert [e["ContextKeyName"] for e in without_key.context] == [
        "sagemaker:VpcSubnets",
        "sagemaker:NetworkIsolation",
        "sagemaker:InterContainerTrafficEncryption",
    ]
    presigned = [r for r in requests if r.action == "sagemaker:CreatePresignedNotebookInstanceUrl"]
    assert [(r.context, r.expected) for r in presigned] == [
        ((guardrails.context_entry("aws:SourceVpce", "string", [NOTEBOOK_ENDPOINT]),), "allowed"),
        (
            (guardrails.context_entry("aws:SourceVpce", "string", ["vpce-0000000000000000"]),),
            "explicitDeny",
        ),
        ((), "explicitDeny"),
    ]
    assert len(requests) == 16
    assert len(guardrails.guardrail_requests(subnet_ids=SUBNETS, key_arn=KEY_ARN)) == 13


def test_guardrail_checks_send_valid_requests_through_a_real_client() -> None:
    iam = SESSION.client("iam")
    requests = guardrails.guardrail_requests(subnet_ids=SUBNETS, key_arn=KEY_ARN)
    with Stubber(iam) as stubber:
        for position, request in enumerate(requests):
            expected = {
                "PolicySourceArn": ROLE_ARN,
                "ActionNames": [request.action],
                "ResourceArns": [ANY],
                "ContextEntries": list(request.context),
            }
            if position == 0:
                expected["ResourceArns"] = [
                    f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/ml-refarch-smoke-simulated"
                ]
            result = {
                "EvalActionName": request.action,
                "EvalResourceName": "*",
                "EvalDecision": request.expected,
            }
            stubber.add_response(
                "simulate_principal_policy", {"EvaluationResults": [result]}, expected
            )
        checks = guardrails.guardrail_checks(iam, ROLE_ARN, subnet_ids=SUBNETS, key_arn=KEY_ARN)
        stubber.assert_no_pending_responses()
    assert [check.passed for check in checks] == [True] * len(requests)


def test_guardrail_checks_report_missing_context_and_boundaries() -> None:
    class Iam:
        def simulate_principal_policy(self, **params: Any) -> dict[str, Any]:
            return {
                "EvaluationResults": [
                    {
                        "EvalActionName": params["ActionNames"][0],
                        "EvalResourceName": "*",
                        "EvalDecision": "implicitDeny",
                        "MissingContextValues": ["sagemaker:VpcSubnets"],
                        "PermissionsBoundaryDecisionDetail": {
                            "AllowedByPermissionsBoundary": False
                        },
                    }
                ]
            }

    checks = guardrails.guardrail_checks(Iam(), ROLE_ARN, subnet_ids=SUBNETS, key_arn=KEY_ARN)
    assert checks[0] == smoke.Check(
        "guardrail CreateTrainingJob compliant -> allowed",
        False,
        "implicitDeny (expected allowed); missing context values: sagemaker:VpcSubnets; "
        "denied by the permissions boundary",
    )


def test_guardrail_checks_reject_malformed_arns() -> None:
    with pytest.raises(smoke.SetupError, match="not an IAM role ARN"):
        guardrails.guardrail_checks(GuardrailIam(), "role/x", subnet_ids=SUBNETS, key_arn=KEY_ARN)
    with pytest.raises(smoke.SetupError, match="not a regional KMS key ARN"):
        guardrails.guardrail_checks(GuardrailIam(), ROLE_ARN, subnet_ids=SUBNETS, key_arn=KEY_ID)


def test_whole_number_arguments_name_their_bounds(capsys) -> None:
    at_least_one, one_to_hundred = smoke.whole_number(1), smoke.whole_number(1, 100)
    assert at_least_one("7") == 7 and one_to_hundred("100") == 100
    with pytest.raises(argparse.ArgumentTypeError, match=r"^must be at least 1$"):
        at_least_one("0")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^must be from 1 to 100$"):
        one_to_hundred("101")
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=one_to_hundred)
    with pytest.raises(SystemExit):
        parser.parse_args(["--calls", "x"])
    assert "argument --calls: invalid int value: 'x'" in capsys.readouterr().err
