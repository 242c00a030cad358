"""Evaluating a stack's scenarios: failures name the scenario, call, principal and page;
roles that act in no scenario fail; the command's exit codes and report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml_refarch.permissions.run import evaluate, report_lines
from ml_refarch.permissions.scenarios import Call, Scenario, ScenarioError

DOC = "https://docs.aws.amazon.com/example"


def _function_stack(*, with_logs_permission: bool) -> dict:
    statements = [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]
    if with_logs_permission:
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": {"Fn::GetAtt": ["FnLogs", "Arn"]},
            }
        )
    return {
        "Resources": {
            "FnRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Statement": []},
                    "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": statements}}],
                },
            },
            "FnLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Role": {"Fn::GetAtt": ["FnRole", "Arn"]},
                    "LoggingConfig": {"LogGroup": {"Ref": "FnLogs"}},
                },
            },
        }
    }


def test_a_function_role_that_cannot_write_its_logs_fails_with_the_page():
    result = evaluate("Stack", _function_stack(with_logs_permission=False))
    assert not result.ok
    failing = {(f.principal, f.call.action) for f in result.failures}
    assert failing == {("FnRole", "logs:CreateLogStream"), ("FnRole", "logs:PutLogEvents")}
    text = "\n".join(report_lines(result))
    assert "FAIL Fn: the function writes its logs" in text
    assert "monitoring-cloudwatchlogs.html" in text
    assert evaluate("Stack", _function_stack(with_logs_permission=True)).ok


def test_a_role_that_acts_in_no_scenario_fails():
    template = _function_stack(with_logs_permission=True)
    template["Resources"]["IdleRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {"Statement": []}},
    }
    result = evaluate("Stack", template)
    assert result.uncovered_roles == ["IdleRole"] and not result.ok
    assert any("role IdleRole acts in no scenario" in line for line in report_lines(result))


def test_written_scenarios_expect_allow_or_deny_and_can_require_resources():
    template = _function_stack(with_logs_permission=True)
    written = [
        Scenario("sends", "FnRole", (Call("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q"),), DOC),
        Scenario(
            "cannot delete",
            "FnRole",
            (Call("sqs:DeleteQueue", "arn:aws:sqs:us-east-1:1:q", expect="deny"),),
            DOC,
        ),
        Scenario("only with a key", "FnRole", (Call("kms:Decrypt", "*"),), DOC, requires=("Key",)),
    ]
    result = evaluate("Stack", template, written)
    assert result.ok, report_lines(result)
    assert [s.name for s in result.not_applicable] == ["only with a key"]
    wrong = [Scenario("deletes", "FnRole", (Call("sqs:DeleteQueue", "*"),), DOC)]
    assert [f.call.action for f in evaluate("Stack", template, wrong).failures] == [
        "sqs:DeleteQueue"
    ]


def test_a_scenario_naming_an_unknown_principal_or_resource_is_an_error():
    template = _function_stack(with_logs_permission=True)
    with pytest.raises(ScenarioError, match=r"unknown principal 'Nobody'.*FnRole"):
        evaluate("Stack", template, [Scenario("x", "Nobody", (Call("s3:GetObject", "*"),), DOC)])
    with pytest.raises(ScenarioError, match="no resource 'Missing'"):
        evaluate(
            "Stack",
            template,
            [Scenario("x", "FnRole", (Call("s3:GetObject", "${Missing.Arn}"),), DOC)],
        )


def _assembly(tmp_path: Path, template: dict) -> Path:
    out = tmp_path / "cdk.out"
    out.mkdir(parents=True)
    (out / "Stack.template.json").write_text(json.dumps(template))
    manifest = {
        "artifacts": {
            "Stack": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Stack.template.json"},
            }
        }
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def _permissions(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ml_refarch", "permissions", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_command_exits_0_when_every_call_is_as_expected_and_1_when_not(tmp_path):
    good = _permissions(
        str(_assembly(tmp_path / "good", _function_stack(with_logs_permission=True)))
    )
    assert good.returncode == 0, good.stderr
    assert "Stack: 1 runtime scenarios, 2/2 calls as expected" in good.stdout
    bad = _permissions(
        str(_assembly(tmp_path / "bad", _function_stack(with_logs_permission=False)))
    )
    assert bad.returncode == 1
    assert "0/2 calls as expected  FAILED" in bad.stdout


def test_the_command_exits_2_with_one_line_for_bad_input(tmp_path):
    missing = _permissions(str(tmp_path / "nothing"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")
    assert "Traceback" not in missing.stderr
    out = _assembly(tmp_path, _function_stack(with_logs_permission=True))
    stack = _permissions(str(out), "--stack", "Other")
    assert stack.returncode == 2 and "no stack Other" in stack.stderr


def test_the_rehearsal_reports_each_stack_s_scenarios_and_fails_on_one(tmp_path, capsys):
    from ml_refarch.rehearsal.deploy import StackArtifact
    from ml_refarch.rehearsal.run import permission_failures

    stacks = {}
    for name, ok in (("Good", True), ("Bad", False)):
        path = tmp_path / f"{name}.template.json"
        path.write_text(json.dumps(_function_stack(with_logs_permission=ok)))
        stacks[name] = StackArtifact(name, path, None, False)
    failures = permission_failures(stacks)
    assert failures == ["Bad: runtime permission scenarios fail (see above)"]
    printed = capsys.readouterr().out
    assert "Good: 1 runtime scenarios, 2/2 calls as expected\n" in printed
    assert "Bad: 1 runtime scenarios, 0/2 calls as expected  FAILED" in printed
