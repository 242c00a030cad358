"""``python -m ml_refarch check``: the compliance gate over any cloud assembly.

Each CloudFormation template is loaded into a throwaway CDK app with CloudFormation include,
then checked by the MLSpecialty pack and the five cdk-nag packs; cfn-lint and checkov run
over the template files. Acknowledgments that a template carries in its resource metadata
(``Metadata.cdk_nag.rules_to_suppress``, as cdk-nag writes them) are honoured, and so are
checkov's own ``Metadata.checkov.skip`` entries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_refarch.cfn import resources

ERROR = "error"
WARNING = "warning"


class CheckError(Exception):
    """Bad input: no such directory, no templates, a template that cannot be read."""


@dataclass(frozen=True)
class Finding:
    """One problem found by one tool in one template."""

    tool: str  # "cdk-nag", "cfn-lint" or "checkov"
    stack: str
    rule_id: str
    level: str  # ERROR or WARNING
    resource: str  # logical id, or "" for template-wide findings
    message: str
    template: Path
    line: int | None = None


@dataclass
class CheckResult:
    templates: dict[str, Path] = field(default_factory=dict)  # stack name -> file
    findings: list[Finding] = field(default_factory=list)
    skipped_tools: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]


# ------------------------------------------------------------------------------------------
# Finding the templates


def find_templates(out_dir: str | Path) -> dict[str, Path]:
    """Stack name -> template file, from a cloud assembly's manifest or ``*.template.json``."""
    out = Path(out_dir)
    if not out.is_dir():
        raise CheckError(f"{out}: no such directory")
    templates: dict[str, Path] = {}
    manifest = out / "manifest.json"
    if manifest.is_file():
        try:
            artifacts = json.loads(manifest.read_text()).get("artifacts", {})
        except ValueError as error:
            raise CheckError(f"{manifest}: not valid JSON ({error})") from None
        for name, artifact in sorted(artifacts.items()):
            if artifact.get("type") == "aws:cloudformation:stack":
                templates[name] = out / artifact["properties"]["templateFile"]
    else:
        for path in sorted(out.glob("*.template.json")):
            templates[path.name.removesuffix(".template.json")] = path
    if not templates:
        raise CheckError(
            f"{out}: no CloudFormation templates (expected a cdk.out or *.template.json files)"
        )
    return templates


def _load_template(path: Path) -> dict:
    try:
        template = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CheckError(f"{path}: not a readable JSON template ({error})") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise CheckError(f"{path}: not a CloudFormation template (no Resources section)")
    return template


# ------------------------------------------------------------------------------------------
# cdk-nag packs through CloudFormation include


def run_packs(stack_name: str, path: Path) -> list[Finding]:
    """Every pack's findings on one template, minus what its metadata acknowledges."""
    import aws_cdk as cdk
    from aws_cdk import cloudformation_include as cfn_inc

    from ml_refarch.compliance.packs import make_packs

    template = _load_template(path)
    app = cdk.App()
    stack = cdk.Stack(app, "Checked")
    try:
        included = cfn_inc.CfnInclude(stack, "Template", template_file=str(path))
    except RuntimeError as error:  # jsii raises CloudFormation include errors as these
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckError(f"{path}: CloudFormation include failed: {message}") from None
    for logical_id, body in resources(template).items():
        acknowledgments = ((body.get("Metadata") or {}).get("cdk_nag") or {}).get(
            "rules_to_suppress", []
        )
        if not acknowledgments:
            continue
        resource = included.get_resource(logical_id)
        for acknowledgment in acknowledgments:
            if acknowledgment.get("id") and acknowledgment.get("reason"):
                cdk.Validations.of(resource).acknowledge(
                    cdk.Acknowledgment(id=acknowledgment["id"], reason=acknowledgment["reason"])
                )
    findings = []
    for pack in make_packs().values():
        for violation in pack.validate_scope(stack).violations:
            for resource in violation.violating_resources:
                parts = resource.construct_path.split("/")
                logical_id = parts[2] if len(parts) > 2 else resource.construct_path
                findings.append(
                    Finding(
                        tool="cdk-nag",
                        stack=stack_name,
                        rule_id=violation.rule_name,
                        level=ERROR if violation.severity == "error" else WARNING,
                        resource=logical_id,
                        message=violation.description,
                        template=path,
                    )
                )
    return findings


# ------------------------------------------------------------------------------------------
# cfn-lint and checkov


def _tool(name: str, env_var: str, candidates: Iterable[Path]) -> str | None:
    if os.environ.get(env_var):
        configured = os.environ[env_var]
        return configured if Path(configured).is_file() else None
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    return shutil.which(name)


def cfn_lint_command() -> str | None:
    return _tool("cfn-lint", "ML_REFARCH_CFN_LINT", [Path(sys.executable).parent / "cfn-lint"])


def checkov_command() -> str | None:
    root = Path(__file__).resolve().parents[2]
    return _tool(
        "checkov",
        "ML_REFARCH_CHECKOV",
        [root / ".venv" / "checkov" / "bin" / "checkov", Path(sys.executable).parent / "checkov"],
    )


def _json_report(tool: str, arguments: list[str]) -> Any:
    """What a linter prints as JSON on standard output (it exits non-zero on findings)."""
    result = subprocess.run(arguments, capture_output=True, text=True, check=False)
    try:
        return json.loads(result.stdout or "[]")
    except ValueError:
        raise CheckError(f"{tool} failed: {result.stderr.strip()[:300]}") from None


def run_cfn_lint(command: str, templates: dict[str, Path]) -> list[Finding]:
    by_file = {str(path): name for name, path in templates.items()}
    matches = _json_report("cfn-lint", [command, "--format", "json", "--", *by_file])
    findings = []
    for match in matches:
        level = match.get("Level")
        if level not in ("Error", "Warning"):
            continue
        path = match["Filename"]
        resource_path = match.get("Location", {}).get("Path") or []
        findings.append(
            Finding(
                tool="cfn-lint",
                stack=by_file.get(path, Path(path).stem),
                rule_id=match["Rule"]["Id"],
                level=ERROR if level == "Error" else WARNING,
                resource=str(resource_path[1])
                if len(resource_path) > 1 and resource_path[0] == "Resources"
                else "",
                message=match["Message"],
                template=Path(path),
                line=match.get("Location", {}).get("Start", {}).get("LineNumber"),
            )
        )
    return findings


def run_checkov(command: str, templates: dict[str, Path]) -> list[Finding]:
    by_name = {path.name: name for name, path in templates.items()}
    # checkov only reads templates from disk; copying them under their own names keeps
    # cdk.out's other JSON files (manifest, tree) out of its way.
    with tempfile.TemporaryDirectory() as tmp:
        for path in templates.values():
            shutil.copyfile(path, Path(tmp) / path.name)
        reports = _json_report(
            "checkov",
            [command, "--directory", tmp, "--framework", "cloudformation", "--output", "json"],
        )
    if isinstance(reports, dict):
        reports = [reports]
    findings = []
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            file_name = Path(check["file_path"]).name
            line_range = check.get("file_line_range") or [None]
            findings.append(
                Finding(
                    tool="checkov",
                    stack=by_name.get(file_name, file_name),
                    rule_id=check["check_id"],
                    level=ERROR,
                    resource=check["resource"].split(".", 1)[-1],
                    message=check["check_name"],
                    template=templates.get(by_name.get(file_name, ""), Path(file_name)),
                    line=line_range[0],
                )
            )
    return findings


# ------------------------------------------------------------------------------------------
# The whole check


def check_assembly(
    out_dir: str | Path, *, cfn_lint: bool = True, checkov: bool = True
) -> CheckResult:
    """Run every pack, cfn-lint and checkov over the templates in ``out_dir``.

    Raises:
        CheckError: on bad input, or when an enabled tool is not installed.
    """
    result = CheckResult(templates=find_templates(out_dir))
    for path in result.templates.values():
        _load_template(path)  # bad input is reported before any tool runs
    for name, path in result.templates.items():
        result.findings += run_packs(name, path)
    linters = (
        ("cfn-lint", cfn_lint, cfn_lint_command, run_cfn_lint),
        ("checkov", checkov, checkov_command, run_checkov),
    )
    for tool, wanted, find_command, run in linters:
        if not wanted:
            result.skipped_tools.append(tool)
            continue
        command = find_command()
        if command is None:
            raise CheckError(f"{tool} is not installed (pip install {tool}, or --no-{tool})")
        result.findings += run(command, result.templates)
    return result
