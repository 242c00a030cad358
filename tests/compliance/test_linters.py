"""cfn-lint and checkov over every synthesized template, each run once per session."""

from __future__ import annotations

import json
import subprocess

import pytest

#: cfn-lint warnings allowed, each with the reason it is acceptable. Errors never are.
ALLOWED_CFN_LINT_WARNINGS = {
    "W3005": (
        "CDK adds an explicit DependsOn from a Lambda function to its role (so the role "
        "exists before the function) even where a GetAtt already implies it; redundant, "
        "not wrong."
    ),
}


@pytest.fixture(scope="module")
def linter_outputs(linters) -> dict[str, subprocess.CompletedProcess]:
    """cfn-lint and checkov over every AWS template (started early by conftest)."""
    return linters.results()


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
