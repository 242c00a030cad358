"""``check`` never gives a false green: every template accounted for, failing tools reported.

Each test here fails on a checker that reads only the top manifest, only ``*.template.json``
files, aborts on one bad template, or reads a failing tool's output as "no findings".
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from xml.etree import ElementTree

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from ml_refarch.__main__ import main, parser
from ml_refarch.compliance.checker import check_assembly
from ml_refarch.compliance.templates import CHECKED, FAILED, SKIPPED, account, find_templates

FIXTURES = Path(__file__).parent / "fixtures"
INSECURE = json.loads((FIXTURES / "insecure" / "Notebook.template.json").read_text())
NO_TOOLS = ["--no-cfn-lint", "--no-checkov"]

#: The insecure notebook again, in YAML with CloudFormation's short-form tags.
YAML_TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Subnet:
    Type: AWS::EC2::Subnet::Id
Conditions:
  HasSubnet: !Not [!Equals [!Ref Subnet, ""]]
Resources:
  Notebook:
    Type: AWS::SageMaker::NotebookInstance
    Properties:
      InstanceType: ml.t3.medium
      RoleArn: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/notebook"
      DirectInternetAccess: Enabled
      RootAccess: Enabled
      SubnetId: !If [HasSubnet, !Ref Subnet, !Ref AWS::NoValue]
  Artifacts:
    Type: AWS::S3::Bucket
Outputs:
  Bucket:
    Value: !GetAtt Artifacts.Arn
"""

SAM_TEMPLATE = {
    "Transform": "AWS::Serverless-2016-10-31",
    "Resources": {
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Runtime": "python3.12", "Handler": "a.b", "InlineCode": "x"},
        }
    },
}


def stacks_with(result, rule_id: str) -> set[str]:
    return {f.stack for f in result.findings if f.rule_id == rule_id}


def write(directory: Path, name: str, content: dict | str) -> Path:
    path = directory / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


# ------------------------------------------------------------------------------------------
# Where templates are found


@pytest.fixture(scope="module")
def staged_assembly(tmp_path_factory) -> Path:
    """A CDK Pipelines-shaped app: a top stack, a Stage with a stack and a nested stack."""
    out = tmp_path_factory.mktemp("staged")
    app = cdk.App(outdir=str(out))
    s3.CfnBucket(cdk.Stack(app, "Top"), "Bucket")
    stage = cdk.Stage(app, "Prod")
    inner = cdk.Stack(stage, "Data")
    s3.CfnBucket(inner, "Bucket")
    s3.CfnBucket(cdk.NestedStack(inner, "Deep"), "Bucket")
    app.synth()
    return out


def test_nested_assemblies_and_nested_stacks_are_checked(staged_assembly):
    templates = find_templates(staged_assembly)
    assert "Top" in templates and "Prod/Data" in templates
    assert templates["Prod/Data"].parent.name == "assembly-Prod"
    deep = [name for name in templates if "Deep" in name]
    assert len(deep) == 1 and templates[deep[0]].name.endswith(".nested.template.json")
    result = check_assembly(staged_assembly, cfn_lint=False, checkov=False)
    assert stacks_with(result, "AwsSolutions-S1") == set(templates)
    assert result.exit_code == 1


def test_a_plain_directory_reads_yaml_json_and_template_files_by_content(tmp_path):
    write(tmp_path, "notebook.yaml", YAML_TEMPLATE)
    write(tmp_path, "notebook.yml", YAML_TEMPLATE)
    write(tmp_path, "notebook.template", json.dumps(INSECURE))
    write(tmp_path, "stack.json", INSECURE)
    write(tmp_path, "package.json", {"name": "not-a-template"})
    write(tmp_path, "README.md", "# not read")
    result = check_assembly(tmp_path, cfn_lint=False, checkov=False)
    assert [t.path.name for t in result.accounted] == [
        "notebook.template",
        "notebook.yaml",
        "notebook.yml",
        "stack.json",
    ]
    assert all(t.status == CHECKED for t in result.accounted)
    assert len(stacks_with(result, "MLS-NB1")) == 4
    yaml_findings = {f.rule_id for f in result.findings if f.template.name == "notebook.yaml"}
    assert {"MLS-NB1", "MLS-NB2", "AwsSolutions-S1"} <= yaml_findings


def test_short_form_tags_are_read_in_their_long_form(tmp_path):
    [template] = account(write(tmp_path, "t.yaml", YAML_TEMPLATE))
    notebook = template.body["Resources"]["Notebook"]["Properties"]
    assert notebook["SubnetId"] == {
        "Fn::If": ["HasSubnet", {"Ref": "Subnet"}, {"Ref": "AWS::NoValue"}]
    }
    assert template.body["Outputs"]["Bucket"]["Value"] == {"Fn::GetAtt": ["Artifacts", "Arn"]}
    assert template.body["AWSTemplateFormatVersion"] == "2010-09-09"


def test_one_template_file_can_be_checked_on_its_own(capsys):
    path = FIXTURES / "insecure" / "Notebook.template.json"
    assert main(["check", str(path), *NO_TOOLS]) == 1
    assert "Notebook: " in capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# One status per template


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """One template of each fate, beside an insecure one that is checked."""
    directory = tmp_path_factory.mktemp("mixed")
    write(directory, "Good.template.json", INSECURE)
    write(directory, "Sam.template.json", SAM_TEMPLATE)
    write(directory, "Empty.template.json", {"Description": "no resources"})
    write(directory, "Broken.template.json", '{"Resources": {"Oops": ')
    write(directory, "BadYaml.yaml", "Resources:\n  A: [\n")
    write(directory, "Deep.template.json", '{"Resources": ' + "[" * 5000 + "]" * 5000 + "}")
    cycle = {
        "Resources": {
            "A": {"Type": "AWS::SQS::Queue", "DependsOn": "B"},
            "B": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": {"Fn::GetAtt": ["A", "QueueName"]}},
            },
        }
    }
    write(directory, "Cycle.template.json", cycle)
    return directory


@pytest.fixture(scope="module")
def mixed_result(mixed):
    return check_assembly(mixed, cfn_lint=False, checkov=False)


def test_every_template_has_one_status_and_a_reason(mixed_result):
    fate = {t.name: (t.status, t.reason) for t in mixed_result.accounted}
    assert fate["Good"] == (CHECKED, "")
    assert fate["Sam"][0] == SKIPPED and "AWS::Serverless-2016-10-31" in fate["Sam"][1]
    # Nothing in a template without resources is left unchecked.
    assert fate["Empty"] == (CHECKED, "no resources: nothing to check")
    assert fate["Broken"][0] == FAILED and "not valid JSON" in fate["Broken"][1]
    assert fate["BadYaml"][0] == FAILED and "not valid YAML" in fate["BadYaml"][1]
    assert fate["Deep"] == (FAILED, "nested too deeply to be read")
    assert fate["Cycle"][0] == FAILED and "CloudFormation include failed" in fate["Cycle"][1]
    assert "cycle" in fate["Cycle"][1]
    assert set(mixed_result.templates) == {"Good", "Empty"}
    assert stacks_with(mixed_result, "MLS-NB1") == {"Good"}
    assert mixed_result.exit_code == 2


def test_a_template_that_fails_still_leaves_the_reports_written(mixed, tmp_path, capsys):
    sarif, junit = tmp_path / "out.sarif", tmp_path / "out.xml"
    outputs = ["--sarif", str(sarif), "--junit", str(junit)]
    code = main(["check", str(mixed), *outputs, *NO_TOOLS, "--no-strict"])
    assert code == 2
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[-1].startswith("templates: 2 checked, 1 skipped, 4 failed to load")
    assert any(line.startswith("failed to load: Deep (") for line in lines)
    assert any(line.startswith("skipped: Sam (") for line in lines)
    assert captured.err == "error: 4 template(s) failed to load\n"
    runs = json.loads(sarif.read_text())["runs"]
    results = [r for run in runs for r in run["results"]]
    assert any(r["ruleId"] == "MLS-NB1" for r in results)
    (invocation,) = runs[-1]["invocations"]
    assert invocation["executionSuccessful"] is False
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert sum(": failed to load: " in note for note in notes) == 4
    assert sum(": skipped: " in note for note in notes) == 1
    report = ElementTree.parse(junit).getroot()
    assert [s.get("name") for s in report] == ["Empty", "Good", "templates"]
    assert (report.get("errors"), report.get("skipped")) == ("4", "1")


@pytest.mark.parametrize(
    ("arguments", "ci", "code"),
    [
        ([], None, 1),
        (["--strict"], None, 2),
        ([], "true", 2),
        (["--no-strict"], "true", 1),
    ],
)
def test_strict_turns_skipped_into_an_error(tmp_path, monkeypatch, capsys, arguments, ci, code):
    write(tmp_path, "Good.template.json", INSECURE)
    write(tmp_path, "Sam.template.json", SAM_TEMPLATE)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert main(["check", str(tmp_path), *NO_TOOLS, *arguments]) == code
    err = capsys.readouterr().err
    assert ("1 template(s) skipped (--strict)" in err) == (code == 2)


def test_nothing_checked_is_never_green(tmp_path, capsys):
    write(tmp_path, "Sam.template.json", SAM_TEMPLATE)
    assert main(["check", str(tmp_path), *NO_TOOLS, "--no-strict"]) == 2
    assert "no template was checked" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# Tools that fail


def fake_tool(directory: Path, name: str, stdout: str, stderr: str, code: int) -> Path:
    script = directory / name
    script.write_text(
        f"#!/bin/sh\nprintf '%s' '{stdout}'\nprintf '%s\\n' '{stderr}' >&2\nexit {code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.parametrize(
    ("tool", "stdout", "code", "message"),
    [
        ("cfn-lint", "", 1, "cfn-lint exited abnormally (exit code 1)"),
        ("cfn-lint", "Traceback", 2, "cfn-lint printed no valid JSON report (exit code 2)"),
        ("cfn-lint", "", 0, "cfn-lint printed no valid JSON report (exit code 0)"),
        ("cfn-lint", '{"a": 1}', 0, "cfn-lint printed JSON that is not a list of matches"),
        ("checkov", "", 1, "checkov printed no valid JSON report (exit code 1)"),
        ("checkov", "[]", 3, "checkov exited abnormally (exit code 3)"),
        (
            "checkov",
            '{"summary": {"parsing_errors": 1}}',
            1,
            "checkov could not parse 1 of the templates",
        ),
    ],
)
def test_a_failing_linter_is_a_tool_error_with_its_stderr(
    tmp_path, monkeypatch, capsys, tool, stdout, code, message
):
    script = fake_tool(tmp_path, tool, stdout, "boom: the linter broke", code)
    monkeypatch.setenv(f"ML_REFARCH_{tool.upper().replace('-', '_')}", str(script))
    other = "--no-checkov" if tool == "cfn-lint" else "--no-cfn-lint"
    assert main(["check", str(FIXTURES / "insecure"), other]) == 2
    out = capsys.readouterr().out
    assert f"tool error: {tool}: {message}" in out
    assert "  | boom: the linter broke" in out or not message.endswith(")")


def test_checkov_reads_a_template_whatever_its_file_name(tmp_path):
    path = write(tmp_path, "notebook.cfn", INSECURE)
    result = check_assembly(path, cfn_lint=False)
    assert not result.tool_errors
    assert {f.template for f in result.findings if f.tool == "checkov"} == {path}


def test_a_linter_with_a_valid_empty_report_adds_nothing(tmp_path, monkeypatch, capsys):
    script = fake_tool(tmp_path, "cfn-lint", "[]", "", 0)
    monkeypatch.setenv("ML_REFARCH_CFN_LINT", str(script))
    assert main(["check", str(FIXTURES / "insecure"), "--no-checkov"]) == 1
    assert "tool errors: 0 " in capsys.readouterr().out


SECURITY_GROUP = {
    "Parameters": {"Open": {"Type": "String"}},
    "Conditions": {"IsOpen": {"Fn::Equals": [{"Ref": "Open"}, "yes"]}},
    "Resources": {
        "Group": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "Security group whose rules are chosen at deploy time",
                "SecurityGroupIngress": {"Fn::If": ["IsOpen", [], []]},
            },
        }
    },
}


def test_a_cdk_nag_rule_that_throws_is_a_tool_error_not_a_finding(tmp_path):
    write(tmp_path, "Sg.template.json", SECURITY_GROUP)
    result = check_assembly(tmp_path, cfn_lint=False, checkov=False)
    threw = [e for e in result.tool_errors if e.tool == "cdk-nag"]
    assert threw and all(e.rule_id and e.resource == "Group" for e in threw)
    assert "AwsSolutions-EC23" in {e.rule_id for e in threw}
    assert not [f for f in result.findings if "threw an error" in f.message]
    assert result.exit_code == 2


# ------------------------------------------------------------------------------------------
# Output files and exit codes


@pytest.mark.parametrize(
    ("option", "path", "problem"),
    [
        ("--sarif", "missing-dir/out.sarif", "no such directory"),
        ("--junit", ".", "is a directory"),
    ],
)
def test_an_unwritable_report_path_stops_before_the_run(
    tmp_path, monkeypatch, capsys, option, path, problem
):
    def must_not_run(*args, **kwargs):
        raise AssertionError("the check ran")

    monkeypatch.setattr("ml_refarch.compliance.checker.check_assembly", must_not_run)
    target = str(tmp_path / path)
    assert main(["check", str(FIXTURES / "insecure"), option, target]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {option} {target}: {problem}\n" and not captured.out


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_report_path_is_refused(tmp_path, capsys):
    read_only = tmp_path / "ro"
    read_only.mkdir(mode=0o500)
    assert main(["check", str(FIXTURES / "insecure"), "--sarif", str(read_only / "x")]) == 2
    assert "not writable" in capsys.readouterr().err


def test_help_documents_the_exit_codes_and_strict():
    check = next(
        action.choices["check"]
        for action in parser()._actions
        if hasattr(action, "choices") and action.choices and "check" in action.choices
    )
    text = check.format_help()
    assert re.search(r"0\s+every template checked", text)
    assert re.search(r"1\s+error findings", text)
    assert re.search(r"2\s+bad input", text) and "tool error" in text
    assert "--strict, --no-strict" in text and "CI=true" in text
