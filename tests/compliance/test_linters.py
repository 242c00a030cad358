"""cfn-lint and checkov over every synthesized template, each run once per session."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

#: cfn-lint warnings allowed, each with the reason it is acceptable. Errors never are.
ALLOWED_CFN_LINT_WARNINGS = {
    "W3005": (
        "CDK adds an explicit DependsOn from a Lambda function to its role (so the role "
        "exists before the function) even where a GetAtt already implies it; redundant, "
        "not wrong."
    ),
}

CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def template_files(all_variants) -> list[Path]:
    return sorted(
        variant.template_path(stack)
        for variant in all_variants.values()
        for stack in variant.templates
    )


@pytest.fixture(scope="module")
def linter_outputs(template_files) -> dict[str, subprocess.CompletedProcess]:
    """cfn-lint and checkov over every template, run side by side (each uses one core)."""
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint, "cfn-lint is not installed in this venv; run make test"
    assert CHECKOV.is_file(), f"{CHECKOV} is missing; run make test to install it"
    checkov = [str(CHECKOV), "--framework", "cloudformation", "--output", "json"]
    for path in template_files:
        checkov += ["--file", str(path)]
    commands = {
        "cfn-lint": [cfn_lint, "--format", "json", "--", *map(str, template_files)],
        "checkov": checkov,
    }
    running = {
        name: subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, command in commands.items()
    }
    outputs = {}
    for name, process in running.items():
        stdout, stderr = process.communicate()
        outputs[name] = subprocess.CompletedProcess(
            commands[name], process.returncode, stdout, stderr
        )
    return outputs


@pytest.fixture(scope="module")
def cfn_lint_matches(linter_outputs) -> list[dict]:
    result = linter_outputs["cfn-lint"]
    # Exit codes are a bit mask of error/warning/info; the JSON is the result.
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def test_cfn_lint_finds_no_errors(cfn_lint_matches):
    errors = [m for m in cfn_lint_matches if m["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)


def test_cfn_lint_warnings_are_only_the_allowed_ones(cfn_lint_matches):
    unexpected = [
        m
        for m in cfn_lint_matches
        if m["Level"] == "Warning" and m["Rule"]["Id"] not in ALLOWED_CFN_LINT_WARNINGS
    ]
    assert not unexpected, json.dumps(unexpected, indent=1)


@pytest.fixture(scope="module")
def checkov_results(linter_outputs) -> list[dict]:
    result = linter_outputs["checkov"]
    assert result.stdout.strip(), result.stderr
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_passes_every_template(checkov_results):
    failed = [
        f"{check['file_path']} {check['resource']}: {check['check_id']} {check['check_name']}"
        for report in checkov_results
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    passed = sum(len(report["results"]["passed_checks"]) for report in checkov_results)
    assert passed > 50, "checkov ran too few checks to be trusted"


def test_checkov_skips_carry_a_reason(checkov_results):
    skipped = [c for report in checkov_results for c in report["results"]["skipped_checks"]]
    for check in skipped:
        comment = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(comment) >= 60, f"{check['resource']} skips {check['check_id']}: {comment!r}"
