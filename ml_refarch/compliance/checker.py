"""``python -m ml_refarch check``: the compliance gate over any cloud assembly.

Each CloudFormation template found (``templates.py`` says where it looks) is loaded into a
throwaway CDK app with CloudFormation include, then checked by the MLSpecialty pack and the
five cdk-nag packs; the Control Tower pack (cfn-guard), cfn-lint and checkov run over the
template files. Acknowledgments that a template carries in its resource metadata
(``Metadata.cdk_nag.rules_to_suppress``, as cdk-nag writes them) are honoured, and so are
``Metadata.guard.SuppressedRules`` (cfn-guard's) and checkov's own ``Metadata.checkov.skip``.

Nothing passes unseen: every template ends checked, skipped or failed to load, and a tool
that fails (missing, exiting abnormally, printing no valid report, a cdk-nag rule that throws)
is a tool error, never "no findings". Exit codes: 0 clean, 1 findings, 2 bad input or a tool
error (``CheckResult.exit_code``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_refarch.cfn import resources
from ml_refarch.compliance.templates import (
    CHECKED,
    FAILED,
    SKIPPED,
    TEMPLATE_SUFFIXES,
    CheckError,
    Template,
    TemplateError,
    account,
    artifact_acknowledgments,
    load_template,
)

__all__ = ["CheckError", "CheckResult", "Finding", "ToolError", "check_assembly", "run_packs"]

ERROR = "error"
WARNING = "warning"
#: How cdk-nag describes a rule that raised instead of deciding (its NagPack.addViolation).
RULE_ERROR_PREFIX = "Rule threw an error during validation"
#: The end of a failing tool's standard error kept in the report.
_STDERR_KEPT = 2000


@dataclass(frozen=True)
class Finding:
    """One problem found by one tool in one template."""

    tool: str  # "cdk-nag", "cfn-guard", "cfn-lint" or "checkov"
    stack: str
    rule_id: str
    level: str  # ERROR or WARNING
    resource: str  # logical id, or "" for template-wide findings
    message: str
    template: Path
    line: int | None = None


@dataclass(frozen=True)
class ToolError:
    """A tool that did not do its job: its findings are unknown, not absent."""

    tool: str
    message: str  # one line
    detail: str = ""  # the tool's standard error, if any
    stack: str = ""
    rule_id: str = ""  # a cdk-nag rule that threw
    resource: str = ""


@dataclass
class CheckResult:
    templates: dict[str, Path] = field(default_factory=dict)  # checked: stack name -> file
    findings: list[Finding] = field(default_factory=list)
    skipped_tools: list[str] = field(default_factory=list)
    accounted: list[Template] = field(default_factory=list)  # every template found
    tool_errors: list[ToolError] = field(default_factory=list)
    strict: bool = False  # skipped templates are errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    def with_status(self, status: str) -> list[Template]:
        return [t for t in self.accounted if t.status == status]

    @property
    def problems(self) -> list[str]:
        """Why the run is incomplete (exit code 2); empty when every template was checked."""
        problems = []
        if not self.templates:
            problems.append("no template was checked")
        if self.with_status(FAILED):
            problems.append(f"{len(self.with_status(FAILED))} template(s) failed to load")
        if self.strict and self.with_status(SKIPPED):
            problems.append(f"{len(self.with_status(SKIPPED))} template(s) skipped (--strict)")
        if self.tool_errors:
            problems.append(f"{len(self.tool_errors)} tool error(s)")
        return problems

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings, 2 bad input or a tool error."""
        if self.problems:
            return 2
        return 1 if self.errors else 0


# ------------------------------------------------------------------------------------------
# cdk-nag packs through CloudFormation include


def run_packs(stack_name: str, path: Path) -> list[Finding]:
    """Every pack's findings on one template file, minus what its metadata acknowledges.

    Raises:
        CheckError: the template cannot be loaded, or a rule threw instead of deciding.
    """
    try:
        findings, rule_errors = check_template(
            stack_name, path, load_template(path), artifact_acknowledgments(path)
        )
    except TemplateError as error:
        raise CheckError(f"{path}: {error}") from None
    if rule_errors:
        raise CheckError("; ".join(error.message for error in rule_errors))
    return findings


def check_template(
    stack_name: str,
    path: Path,
    template: dict,
    acknowledged: dict[str, dict[str, str]] | None = None,
) -> tuple[list[Finding], list[ToolError]]:
    """The packs' findings on one loaded template, and the rules that threw.

    ``acknowledged`` adds acknowledgments (rule id -> reason by logical id) to those the
    template's own metadata carries: what the cloud assembly recorded for the stack.

    Raises:
        TemplateError: CloudFormation include refuses the template.
    """
    import aws_cdk as cdk

    from ml_refarch.compliance.packs import make_packs

    stack = cdk.Stack(cdk.App(), "Checked")
    _include(stack, template, acknowledged or {})
    findings, rule_errors = [], []
    for pack_name, pack in make_packs().items():
        try:
            violations = pack.validate_scope(stack).violations
        except Exception as error:  # jsii raises whatever the pack threw
            rule_errors.append(ToolError("cdk-nag", f"{pack_name} failed: {_first_line(error)}"))
            continue
        for violation in violations:
            for resource in violation.violating_resources:
                parts = resource.construct_path.split("/")
                logical_id = parts[2] if len(parts) > 2 else resource.construct_path
                if violation.description.startswith(RULE_ERROR_PREFIX):
                    rule_errors.append(
                        ToolError(
                            "cdk-nag",
                            f"{stack_name} {logical_id}: {violation.rule_name}: "
                            f"{violation.description}",
                            stack=stack_name,
                            rule_id=violation.rule_name,
                            resource=logical_id,
                        )
                    )
                    continue
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
    return findings, rule_errors


def _include(stack: Any, template: dict, acknowledged: dict[str, dict[str, str]]) -> None:
    """``template`` in ``stack`` through CloudFormation include, its acknowledgments (and
    ``acknowledged``'s) applied."""
    import aws_cdk as cdk
    from aws_cdk import cloudformation_include as cfn_inc

    with tempfile.TemporaryDirectory() as tmp:
        # The long (JSON) form, whatever the file was written in: include reads it now.
        long_form = Path(tmp) / "template.json"
        long_form.write_text(json.dumps(template))
        try:
            included = cfn_inc.CfnInclude(stack, "Template", template_file=str(long_form))
        except Exception as error:  # jsii raises include errors as several types
            raise TemplateError(f"CloudFormation include failed: {_first_line(error)}") from None
    for logical_id, body in resources(template).items():
        written = ((body.get("Metadata") or {}).get("cdk_nag") or {}).get("rules_to_suppress", [])
        reasons = {
            a["id"]: a["reason"]
            for a in written
            if isinstance(a, dict) and a.get("id") and a.get("reason")
        }
        reasons.update(acknowledged.get(logical_id, {}))
        if not reasons:
            continue
        resource = included.get_resource(logical_id)
        for rule_id, reason in reasons.items():
            cdk.Validations.of(resource).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ------------------------------------------------------------------------------------------
# cfn-lint and checkov


class ToolFailure(Exception):
    """A linter that did not produce a report: a message and its standard error."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message, self.detail = message, detail


def locate_tool(name: str, env_var: str, candidates: Iterable[Path]) -> tuple[str | None, str]:
    """The command to run a tool, or None and why there is none."""
    configured = os.environ.get(env_var)
    if configured:
        path = Path(configured)
        if not path.exists():
            return None, f"{env_var}={configured}: no such file"
        if not path.is_file() or not os.access(path, os.X_OK):
            return None, f"{env_var}={configured}: not an executable file"
        return configured, ""
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate), ""
    found = shutil.which(name)
    if found:
        return found, ""
    return None, f"{name} is not installed (pip install {name}, or --no-{name})"


def cfn_lint_command() -> tuple[str | None, str]:
    return locate_tool(
        "cfn-lint", "ML_REFARCH_CFN_LINT", [Path(sys.executable).parent / "cfn-lint"]
    )


def checkov_command() -> tuple[str | None, str]:
    root = Path(__file__).resolve().parents[2]
    return locate_tool(
        "checkov",
        "ML_REFARCH_CHECKOV",
        [root / ".venv" / "checkov" / "bin" / "checkov", Path(sys.executable).parent / "checkov"],
    )


def _json_report(tool: str, arguments: list[str], normal_exit: Callable[[int], bool]) -> Any:
    """What a linter prints as JSON on standard output (it exits non-zero on findings).

    Raises:
        ToolFailure: it cannot start, exits abnormally or prints no valid JSON.
    """
    try:
        result = subprocess.run(arguments, capture_output=True, text=True, check=False)
    except OSError as error:
        raise ToolFailure(f"{tool} could not be started ({error})") from None
    stderr = result.stderr.strip()[-_STDERR_KEPT:]
    if not normal_exit(result.returncode):
        raise ToolFailure(f"{tool} exited abnormally (exit code {result.returncode})", stderr)
    try:
        return json.loads(result.stdout)
    except (ValueError, RecursionError):
        raise ToolFailure(
            f"{tool} printed no valid JSON report (exit code {result.returncode})", stderr
        ) from None


def _cfn_lint_exit(code: int) -> bool:
    """cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational; 1 a failure."""
    return 0 <= code <= 14 and code % 2 == 0


def run_cfn_lint(command: str, templates: dict[str, Path]) -> list[Finding]:
    by_file = {str(path): name for name, path in templates.items()}
    matches = _json_report(
        "cfn-lint", [command, "--format", "json", "--", *by_file], _cfn_lint_exit
    )
    if not isinstance(matches, list) or not all(isinstance(m, dict) for m in matches):
        raise ToolFailure("cfn-lint printed JSON that is not a list of matches")
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
    # checkov only reads templates from disk; copying them keeps cdk.out's other JSON files
    # (manifest, tree) out of its way. Nested assemblies may repeat a file name, and checkov
    # silently passes over files whose name does not end as a template's.
    by_copy: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in templates.items():
            copy = path.name if path.name not in by_copy else f"{len(by_copy)}-{path.name}"
            if not copy.endswith(TEMPLATE_SUFFIXES):
                copy += ".template"
            by_copy[copy] = name
            shutil.copyfile(path, Path(tmp) / copy)
        reports = _json_report(
            "checkov",
            [command, "--directory", tmp, "--framework", "cloudformation", "--output", "json"],
            lambda code: code in (0, 1),  # 1: failed checks
        )
    if isinstance(reports, dict):
        reports = [reports]
    if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
        raise ToolFailure("checkov printed JSON that is not a report")
    unparsed = sum((r.get("summary") or {}).get("parsing_errors", 0) for r in reports)
    if unparsed:
        raise ToolFailure(f"checkov could not parse {unparsed} of the templates")
    findings = []
    for report in reports:
        for check in (report.get("results") or {}).get("failed_checks", []):
            file_name = Path(check["file_path"]).name
            line_range = check.get("file_line_range") or [None]
            stack = by_copy.get(file_name, file_name)
            findings.append(
                Finding(
                    tool="checkov",
                    stack=stack,
                    rule_id=check["check_id"],
                    level=ERROR,
                    resource=check["resource"].split(".", 1)[-1],
                    message=check["check_name"],
                    template=templates.get(stack, Path(file_name)),
                    line=line_range[0],
                )
            )
    return findings


# ------------------------------------------------------------------------------------------
# The whole check


def run_control_tower(command: str, templates: dict[str, Path]) -> list[Finding]:
    """The Control Tower pack's findings over ``templates`` (cfn-guard), minus what their
    ``Metadata.guard.SuppressedRules`` acknowledge; a badly shaped list is an error finding,
    a name that is no Control Tower rule a warning (it may be another rule set's).

    Raises:
        ToolFailure: cfn-guard cannot start, fails or prints no valid report.
    """
    from ml_refarch.compliance import control_tower

    bodies = {name: load_template(path) for name, path in templates.items()}
    try:
        outcome = control_tower.evaluate(command, bodies)
    except control_tower.GuardFailure as failure:
        raise ToolFailure(failure.message, failure.detail) from None
    findings = [
        Finding(
            tool=control_tower.TOOL,
            stack=f.template,
            rule_id=f.rule.rule_id,
            level=ERROR,
            resource=f.resource,
            message=control_tower.message(f.rule),
            template=templates[f.template],
        )
        for f in outcome.findings
    ]
    suppression_problems = (
        (ERROR, outcome.bad_suppressions),
        (WARNING, outcome.unknown_suppressions),
    )
    for level, problems in suppression_problems:
        findings += [
            Finding(
                tool=control_tower.TOOL,
                stack=stack,
                rule_id=f"{control_tower.RULE_PREFIX}-SuppressedRules",
                level=level,
                resource=logical_id,
                message=problem,
                template=templates[stack],
            )
            for stack, logical_id, problem in problems
        ]
    return findings


def control_tower_command() -> tuple[str | None, str]:
    from ml_refarch.compliance import control_tower

    return control_tower.engine_command()


def check_assembly(
    out_dir: str | Path,
    *,
    cfn_lint: bool = True,
    checkov: bool = True,
    strict: bool = False,
    cfn_guard: bool = True,
) -> CheckResult:
    """Run every pack, cfn-guard, cfn-lint and checkov over the templates in ``out_dir``.

    A template that cannot be loaded, or a tool that fails, is recorded in the result (its
    ``exit_code`` is then 2); the other templates and tools still run.

    Raises:
        CheckError: no such target, an unreadable manifest, no templates at all.
    """
    result = CheckResult(accounted=account(out_dir), strict=strict)
    for template in result.with_status(CHECKED):
        try:
            findings, rule_errors = check_template(
                template.name, template.path, template.body, template.acknowledgments
            )
        except TemplateError as error:
            template.status, template.reason = FAILED, str(error)
            continue
        result.findings += findings
        result.tool_errors += rule_errors
        result.templates[template.name] = template.path
    linters = (
        ("cfn-guard", cfn_guard, control_tower_command, run_control_tower),
        ("cfn-lint", cfn_lint, cfn_lint_command, run_cfn_lint),
        ("checkov", checkov, checkov_command, run_checkov),
    )
    for tool, wanted, find_command, run in linters:
        if not wanted:
            result.skipped_tools.append(tool)
            continue
        command, missing = find_command()
        if command is None:
            result.tool_errors.append(ToolError(tool, missing))
        elif result.templates:
            try:
                result.findings += run(command, result.templates)
            except ToolFailure as failure:
                result.tool_errors.append(ToolError(tool, failure.message, failure.detail))
    return result


# ------------------------------------------------------------------------------------------
# What was checked


def status_lines(result: CheckResult) -> list[str]:
    """The templates not checked and the tool errors, then the summary line."""
    lines = []
    for template in result.accounted:
        if template.status != CHECKED:
            lines.append(f"{template.status}: {template.name} ({template.path}): {template.reason}")
    for error in result.tool_errors:
        lines.append(f"tool error: {error.tool}: {error.message}")
        lines += [f"  | {line}" for line in error.detail.splitlines()]
    rule_errors = sum(1 for e in result.tool_errors if e.rule_id)
    counts = ", ".join(f"{len(result.with_status(s))} {s}" for s in (CHECKED, SKIPPED, FAILED))
    strict = " (strict: skipped is an error)" if result.strict else ""
    lines.append(
        f"templates: {counts}{strict}; tool errors: {len(result.tool_errors)}"
        f" ({rule_errors} cdk-nag rule evaluation(s) that threw)"
    )
    return lines
