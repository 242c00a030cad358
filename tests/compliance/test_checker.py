"""``python -m ml_refarch check``: on this project's assembly, insecure templates, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ml_refarch.__main__ import main
from ml_refarch.compliance.checker import CheckError, check_assembly, locate_tool
from ml_refarch.compliance.docs import rules_markdown
from ml_refarch.compliance.output import junit, sarif
from ml_refarch.compliance.rules import RULES
from ml_refarch.compliance.templates import find_templates

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def insecure():
    return check_assembly(FIXTURES / "insecure")


def rule_ids(result, tool: str) -> set[str]:
    return {f.rule_id for f in result.findings if f.tool == tool}


def test_this_projects_assembly_passes_and_honours_its_acknowledgments(synthesized, capsys):
    # cfn-lint and checkov run over these templates in test_linters; this is about the packs
    # and the acknowledgments the templates carry.
    outdir = synthesized("sandbox-csv").outdir
    # --strict (the default under CI=true) explicitly, so the test reads the same anywhere.
    assert main(["check", str(outdir), "--no-cfn-lint", "--no-checkov", "--strict"]) == 0
    out = capsys.readouterr().out
    assert "MlRefArch-KinesisParquet: 0 error(s)" in out
    *_, total, templates = out.strip().splitlines()
    assert total.startswith("total: 0 error(s)")
    assert re.match(
        r"templates: \d+ checked, 0 skipped, 0 failed to load \(strict: skipped is an error\); "
        r"tool errors: 0 ",
        templates,
    )


def test_insecure_templates_fail_with_findings_from_every_tool(insecure):
    assert {
        "MLS-NB1",
        "MLS-NB2",
        "MLS-NB3",
        "MLS-NB4",
        "MLS-NB5",
        "MLS-S3B1",
        "MLS-FH1",
        "MLS-FH2",
        "MLS-FH3",
        "MLS-KV1",
        "MLS-KV2",
        "AwsSolutions-SM3",
    } <= rule_ids(insecure, "cdk-nag")
    assert {"CKV_AWS_187", "CKV_AWS_371"} <= rule_ids(insecure, "checkov")
    by_stack = {f.stack for f in insecure.errors}
    assert by_stack == {"Notebook", "Streaming"}
    notebook = [f for f in insecure.findings if f.rule_id == "MLS-NB1"]
    assert [(f.stack, f.resource) for f in notebook] == [("Notebook", "Notebook")]


def test_exit_code_is_one_on_errors_and_reports_are_written(tmp_path, capsys):
    sarif_path, junit_path = tmp_path / "out.sarif", tmp_path / "out.xml"
    code = main(
        [
            "check",
            str(FIXTURES / "insecure"),
            "--sarif",
            str(sarif_path),
            "--junit",
            str(junit_path),
            "--no-checkov",
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "Notebook:" in out and "MLS-NB1" in out
    document = json.loads(sarif_path.read_text())
    assert document["version"] == "2.1.0"
    results = [r for run in document["runs"] for r in run["results"]]
    assert any(r["ruleId"] == "MLS-FH1" and r["level"] == "error" for r in results)
    suites = ElementTree.parse(junit_path).getroot()
    assert int(suites.get("failures")) >= 2


def test_sarif_has_one_result_per_finding_with_a_location(insecure):
    document = sarif(insecure)
    results = [r for run in document["runs"] for r in run["results"]]
    assert len(results) == len(insecure.findings)
    for result in results:
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"].endswith(".template.json")
        assert location["logicalLocations"][0]["fullyQualifiedName"].count("/") == 1
    rule_ids_declared = {
        rule["id"] for run in document["runs"] for rule in run["tool"]["driver"]["rules"]
    }
    assert {r["ruleId"] for r in results} == rule_ids_declared


def test_junit_has_a_suite_per_stack_and_a_case_per_tool(insecure):
    suites = ElementTree.fromstring(junit(insecure))
    assert [s.get("name") for s in suites] == ["Notebook", "Streaming"]
    notebook = suites[0]
    assert [c.get("name") for c in notebook] == ["cdk-nag", "cfn-guard", "cfn-lint", "checkov"]
    failures = {c.get("name"): c.find("failure") for c in notebook}
    assert failures["cdk-nag"] is not None and "MLS-NB1" in failures["cdk-nag"].text
    # Control Tower's CT.SAGEMAKER.PR.1: no direct internet access for notebooks.
    assert "ControlTower-sagemaker_notebook_no_direct_internet_access_check" in (
        failures["cfn-guard"].text
    )
    assert failures["checkov"] is not None


def test_skipping_tools_is_reported(capsys):
    assert main(["check", str(FIXTURES / "insecure"), "--no-cfn-lint", "--no-checkov"]) == 1
    assert "(skipped: cfn-lint, checkov)" in capsys.readouterr().out
    arguments = ["check", str(FIXTURES / "insecure"), "--no-cfn-guard", "--no-checkov"]
    assert main(arguments) == 1
    assert "(skipped: cfn-guard, checkov)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda tmp: tmp / "missing", "no such file or directory"),
        (lambda tmp: tmp, "no CloudFormation templates"),
        (
            lambda tmp: (tmp / "manifest.json").write_text("{not json") and tmp,
            "manifest.json: not a valid cloud assembly manifest",
        ),
        (lambda tmp: (tmp / "package.json").write_text("{}") and tmp, "no CloudFormation"),
    ],
)
def test_bad_input_is_a_one_line_error_with_exit_code_2(tmp_path, capsys, setup, message):
    target = setup(tmp_path)
    assert main(["check", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("error: ")


def test_a_missing_tool_is_a_tool_error_naming_the_path(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ML_REFARCH_CHECKOV", str(tmp_path / "no-checkov"))
    assert main(["check", str(FIXTURES / "insecure"), "--no-cfn-lint"]) == 2
    captured = capsys.readouterr()
    assert f"tool error: checkov: ML_REFARCH_CHECKOV={tmp_path / 'no-checkov'}: no such file" in (
        captured.out
    )
    assert captured.err == "error: 1 tool error(s)\n"


def test_a_tool_not_on_the_path_is_not_installed(monkeypatch, tmp_path):
    monkeypatch.delenv("ML_REFARCH_SOME_LINTER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    command, problem = locate_tool("some-linter", "ML_REFARCH_SOME_LINTER", [tmp_path / "x"])
    assert command is None and problem.startswith("some-linter is not installed")
    (tmp_path / "dir").mkdir()
    monkeypatch.setenv("ML_REFARCH_SOME_LINTER", str(tmp_path / "dir"))
    _, problem = locate_tool("some-linter", "ML_REFARCH_SOME_LINTER", [])
    assert problem.endswith("not an executable file")


def test_plain_template_directories_are_accepted():
    templates = find_templates(FIXTURES / "insecure")
    assert set(templates) == {"Notebook", "Streaming"}
    with pytest.raises(CheckError):
        find_templates(FIXTURES / "nothing-here")


EXPECTED_RULES = [
    "NB1",
    "NB2",
    "NB3",
    "NB4",
    "NB5",
    "NB6",
    "MD1",
    "MD2",
    "EC1",
    "MZ1",
    "MZ2",
    "MZ3",
    "AS1",
    "SV1",
    "SV2",
    "SV3",
    "PL1",
    "JB1",
    "JB2",
    "JB3",
    "JB4",
    "JB5",
    "FH1",
    "FH2",
    "FH3",
    "KDS1",
    "KDS2",
    "KV1",
    "KV2",
    "S3B1",
    "FX1",
    "FX2",
    "AG1",
    "AG2",
    "AG3",
    "SD1",
    "SD2",
    "SD3",
    "SD4",
]


def test_every_rule_has_its_metadata():
    assert sorted(rule.suffix for rule in RULES) == sorted(EXPECTED_RULES)
    assert [r.suffix for r in RULES if r.level == "warning"] == ["AS1"]
    for rule in RULES:
        assert rule.id.startswith("MLS-") and rule.level in ("error", "warning")
        assert rule.info.endswith(".") and len(rule.info) < 120, rule.id
        assert len(rule.explanation) > 80, rule.id
        assert rule.notes_section, rule.id


def test_rules_doc_lists_every_rule_with_its_level():
    doc = rules_markdown()
    for rule in RULES:
        assert f"| `{rule.id}` | {rule.level} |" in doc
