"""Check results as a readable table, SARIF 2.1.0 (code scanning) and JUnit XML (CI)."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

from ml_refarch import __version__
from ml_refarch.compliance.checker import ERROR, CheckResult, Finding, ToolError
from ml_refarch.compliance.templates import CHECKED, SKIPPED

_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def table(result: CheckResult) -> str:
    """Findings grouped per stack, errors first, then a one-line total.

    Long messages are cut to one screen line here; SARIF and JUnit keep them whole.
    """
    lines = []
    by_stack: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_stack[finding.stack].append(finding)
    for stack in result.templates:
        findings = sorted(
            by_stack.get(stack, []), key=lambda f: (f.level != ERROR, f.tool, f.rule_id)
        )
        errors = sum(f.level == ERROR for f in findings)
        lines.append(f"{stack}: {errors} error(s), {len(findings) - errors} warning(s)")
        if not findings:
            continue
        widths = [
            max(len(f.level) for f in findings),
            max(len(f.tool) for f in findings),
            max(len(f.rule_id) for f in findings),
            max(len(f.resource) for f in findings),
        ]
        for f in findings:
            cells = (f.level, f.tool, f.rule_id, f.resource)
            padded = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            message = f.message if len(f.message) <= 100 else f.message[:97] + "..."
            lines.append(f"  {padded}  {message}")
    skipped = f" (skipped: {', '.join(result.skipped_tools)})" if result.skipped_tools else ""
    lines.append(
        f"total: {len(result.errors)} error(s), "
        f"{len(result.findings) - len(result.errors)} warning(s) in "
        f"{len(result.templates)} template(s){skipped}"
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# SARIF 2.1.0

#: The base that artifact URIs are relative to (the checked-out sources in CI).
SOURCE_ROOT_ID = "%SRCROOT%"
#: The partialFingerprints key of a finding's identity (rule, stack, resource, detail).
FINGERPRINT_KEY = "mlRefarchFinding/v1"
_TOOLS = ("cdk-nag", "cfn-guard", "cfn-lint", "checkov")
#: ``AwsSolutions-IAM5[Action::s3:GetObject*]``: a rule id with a per-finding suffix.
_SUFFIXED = re.compile(r"(?P<rule>[^\[\]]+)\[(?P<detail>.*)\]")
#: cdk-nag documents each pack in a section of its RULES.md; these are the GitHub anchors of
#: that page's "## <pack>" headings (its README's "#awssolutions" matches no heading).
_CDK_NAG_RULES = "https://github.com/cdklabs/cdk-nag/blob/main/RULES.md"
_CDK_NAG_SECTIONS = {
    "AwsSolutions": "aws-solutions",
    "HIPAA.Security": "hipaa-security",
    "NIST.800.53.R5": "nist-800-53-rev-5",
    "PCI.DSS.321": "pci-dss-321",
    "Serverless": "serverless",
}
#: cfn-lint's generated docs/rules.md gives every rule an anchor named after its id.
_CFN_LINT_RULE = "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md#{}"
#: checkov has one policy index page per framework (no anchor per check).
_CHECKOV_CLOUDFORMATION = "https://www.checkov.io/5.Policy%20Index/cloudformation.html"
_CHECKOUT = Path(__file__).resolve().parents[2]


def tool_version() -> str:
    """This tool's version, as its installed package metadata says."""
    try:
        return importlib.metadata.version("ml-refarch")
    except importlib.metadata.PackageNotFoundError:
        return __version__


def checkout_uri(relative: str, fragment: str = "") -> str | None:
    """The absolute ``file:`` URI of a document of this project's checkout, if it is there.

    SARIF wants absolute help and information URIs. The project has no published home, and
    a relative URI would resolve against the repository being checked (a user's, where
    ``docs/rules.md`` does not exist), so the links point at the checkout this tool runs from.
    """
    path = _CHECKOUT / relative
    if not path.is_file():
        return None
    return path.as_uri() + (f"#{fragment}" if fragment else "")


def split_rule_id(rule_id: str) -> tuple[str, str]:
    """``AwsSolutions-IAM5[Action::s3:GetObject*]`` -> (``AwsSolutions-IAM5``, ``Action::...``)."""
    match = _SUFFIXED.fullmatch(rule_id)
    return (match["rule"], match["detail"]) if match else (rule_id, "")


@functools.cache
def _cfn_lint_rules() -> dict[str, tuple[str, str, str]]:
    """Rule id -> (title, description, source URL), from the cfn-lint installed here."""
    try:
        from cfnlint.core import get_rules

        return {r.id: (r.shortdesc, r.description, r.source_url) for r in get_rules([], [], [])}
    except Exception:  # the rule text is a courtesy: never let it break the report
        return {}


@functools.cache
def _ml_rules() -> dict:
    """The MLSpecialty rules by id (imported late: the registry is not needed for JUnit)."""
    from ml_refarch.compliance.rules import RULES

    return {rule.id: rule for rule in RULES}


def _guard_rule(rule_id: str):
    """The bundled Control Tower rule ``rule_id`` names, or None (the text is a courtesy)."""
    from ml_refarch.compliance import control_tower

    try:
        return control_tower.rule_of(rule_id)
    except (ValueError, control_tower.GuardFailure):
        return None


def _rule(tool: str, rule_id: str, findings: list[Finding]) -> dict:
    """The reportingDescriptor of one rule: its own text and where it is documented."""
    short = full = findings[0].message  # cdk-nag's rule info, checkov's check name
    help_uri = source = None
    pack = rule_id.split("-", 1)[0]
    if rule_id in _ml_rules():
        from ml_refarch.compliance.docs import rule_anchor  # imports the cdk-nag pack

        rule = _ml_rules()[rule_id]
        short, full = rule.info, f"{rule.info} {rule.explanation}"
        help_uri = checkout_uri("docs/rules.md", rule_anchor(rule_id))
    elif tool == "cdk-nag" and pack in _CDK_NAG_SECTIONS:
        help_uri = f"{_CDK_NAG_RULES}#{_CDK_NAG_SECTIONS[pack]}"
    elif tool == "cfn-guard" and (guard_rule := _guard_rule(rule_id)) is not None:
        short = full = f"[{guard_rule.control}] {guard_rule.title}"
        help_uri = guard_rule.doc_url
    elif tool == "cfn-lint":
        title = f"cfn-lint rule {rule_id}"
        short, full, source = _cfn_lint_rules().get(rule_id, (title, title, None))
        help_uri = _CFN_LINT_RULE.format(rule_id)
    elif tool == "checkov":
        help_uri = _CHECKOV_CLOUDFORMATION
    markdown = full + "".join(
        f"\n\n[{label}]({uri})"
        for label, uri in (("Rule documentation", help_uri), ("Source", source))
        if uri and uri.startswith(("https://", "file:"))
    )
    descriptor = {
        "id": rule_id,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": full + (f" See {help_uri}" if help_uri else ""), "markdown": markdown},
        "defaultConfiguration": {
            "level": "error" if any(f.level == ERROR for f in findings) else "warning"
        },
        "properties": {"tags": [tool, pack] if tool == "cdk-nag" else [tool]},
    }
    if help_uri:
        descriptor["helpUri"] = help_uri
    return descriptor


def resource_lines(text: str) -> dict[str, int]:
    """Logical id -> line (1-based) of its key under ``Resources``, in JSON or YAML text.

    Finds keys written one a line (as ``cdk synth`` and people write templates); a template
    on one line has no such lines, and its findings get no region.
    """
    lines = text.splitlines()
    key = re.compile(r"(?P<indent>\s*)[\"']?(?P<key>[A-Za-z0-9]+)[\"']?\s*:")
    sections = [
        (len(m["indent"]), number)
        for number, line in enumerate(lines)
        if (m := key.match(line)) and m["key"] == "Resources"
    ]
    if not sections:
        return {}
    found: dict[str, int] = {}
    indent = None
    for number, line in enumerate(lines[min(sections)[1] + 1 :], min(sections)[1] + 2):
        match = key.match(line)
        if not match:
            continue
        indent = len(match["indent"]) if indent is None else indent
        if len(match["indent"]) < indent:
            break  # the next top-level section
        if len(match["indent"]) == indent:
            found.setdefault(match["key"], number)
    return found


class _Locator:
    """Artifact locations relative to the source root, and resource lines, per template."""

    def __init__(self, source_root: str | Path | None):
        self.root = Path(source_root or Path.cwd()).resolve()
        self._lines: dict[Path, dict[str, int]] = {}

    def base_ids(self) -> dict:
        return {
            SOURCE_ROOT_ID: {
                "uri": self.root.as_uri().rstrip("/") + "/",
                "description": {"text": "The source root (by default, where the check ran)."},
            }
        }

    def artifact(self, template: Path) -> dict:
        path = template.resolve()
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return {"uri": path.as_uri()}
        return {"uri": quote(relative.as_posix()), "uriBaseId": SOURCE_ROOT_ID}

    def line(self, finding: Finding) -> int | None:
        if finding.line:
            return int(finding.line)
        if not finding.resource:
            return None
        if finding.template not in self._lines:
            try:
                self._lines[finding.template] = resource_lines(finding.template.read_text())
            except (OSError, UnicodeDecodeError):
                self._lines[finding.template] = {}
        return self._lines[finding.template].get(finding.resource)


def _fingerprint(finding: Finding, rule_id: str, detail: str) -> str:
    """A digest of what the finding is, not where its lines are: stable across runs.

    cfn-lint's message says what is wrong where (the per-finding detail); cdk-nag's and
    checkov's are the rule's text, left out so that rewording a rule keeps its findings.
    """
    if not detail and finding.tool == "cfn-lint":
        detail = finding.message
    identity = "\x1f".join((finding.tool, rule_id, finding.stack, finding.resource, detail))
    return hashlib.sha256(identity.encode()).hexdigest()


def _result(finding: Finding, rule_index: int, locator: _Locator, seen: Counter) -> dict:
    rule_id, detail = split_rule_id(finding.rule_id)
    where = f"{finding.stack} {finding.resource}".strip()
    physical: dict = {"artifactLocation": locator.artifact(finding.template)}
    line = locator.line(finding)
    if line:
        physical["region"] = {"startLine": line}
    digest = _fingerprint(finding, rule_id, detail)
    seen[digest] += 1
    result = {
        "ruleId": rule_id,
        "ruleIndex": rule_index,
        "level": "error" if finding.level == ERROR else "warning",
        "message": {"text": f"{where}: {finding.message}" + (f" [{detail}]" if detail else "")},
        "locations": [
            {
                "physicalLocation": physical,
                "logicalLocations": [
                    {
                        "name": finding.resource or finding.stack,
                        "fullyQualifiedName": f"{finding.stack}/{finding.resource}",
                        "kind": "resource",
                    }
                ],
            }
        ],
        # GitHub code scanning matches alerts across runs by primaryLocationLineHash only;
        # synthesized templates move lines with every change, so it gets the finding's
        # identity (numbered like GitHub's own, should one identity occur twice).
        "partialFingerprints": {
            FINGERPRINT_KEY: f"{digest}:{seen[digest]}",
            "primaryLocationLineHash": f"{digest[:16]}:{seen[digest]}",
        },
    }
    if detail:
        result["properties"] = {"findingId": finding.rule_id}  # what an acknowledgment names
    return result


def sarif(result: CheckResult, *, source_root: str | Path | None = None) -> dict:
    """One SARIF run per tool, so code scanning shows which tool raised what.

    Each rule is described once, by its base id (cdk-nag's ``[...]`` finding suffix goes to
    the result); artifact URIs are relative to ``source_root`` (default: the working
    directory, the repository root in CI), named by :data:`SOURCE_ROOT_ID`.
    """
    locator = _Locator(source_root)
    runs = []
    for tool in dict.fromkeys([*_TOOLS, *(f.tool for f in result.findings)]):
        if tool in result.skipped_tools:
            continue
        findings = [f for f in result.findings if f.tool == tool]
        by_rule: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            by_rule[split_rule_id(finding.rule_id)[0]].append(finding)
        index = {rule_id: number for number, rule_id in enumerate(by_rule)}
        seen: Counter = Counter()
        driver = {"name": f"ml-refarch check ({tool})", "version": tool_version()}
        if information := checkout_uri("README.md", "checking-any-cloud-assembly-in-ci"):
            driver["informationUri"] = information
        driver["rules"] = [_rule(tool, rule_id, group) for rule_id, group in by_rule.items()]
        errors = [e for e in result.tool_errors if e.tool == tool]
        runs.append(
            {
                "tool": {"driver": driver},
                "invocations": [_invocation([_tool_error_notification(e) for e in errors])],
                "originalUriBaseIds": locator.base_ids(),
                "results": [
                    _result(f, index[split_rule_id(f.rule_id)[0]], locator, seen) for f in findings
                ],
            }
        )
    runs.append(_accounting_run(result, locator))
    return {"$schema": _SARIF_SCHEMA, "version": "2.1.0", "runs": runs}


def _invocation(notifications: list[dict], successful: bool | None = None) -> dict:
    """A run's invocation: unsuccessful when a notification says the tool failed."""
    invocation: dict = {
        "executionSuccessful": not notifications if successful is None else successful
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _tool_error_notification(error: ToolError) -> dict:
    text = " ".join(part for part in (error.message, error.detail.strip()) if part)
    notification: dict = {"level": "error", "message": {"text": text}}
    if error.rule_id:
        notification["associatedRule"] = {"id": split_rule_id(error.rule_id)[0]}
    return notification


def _accounting_run(result: CheckResult, locator: _Locator) -> dict:
    """The check's own run: every template it did not check, and whether the run is whole.

    Code scanning shows a run's tool execution notifications; a template that failed to
    load (or was skipped under ``--strict``) makes the invocation unsuccessful, so a report
    never reads as clean when templates went unread.
    """
    notifications = []
    for template in result.accounted:
        if template.status == CHECKED:
            continue
        level = "warning" if template.status == SKIPPED and not result.strict else "error"
        notifications.append(
            {
                "level": level,
                "message": {"text": f"{template.name}: {template.status}: {template.reason}"},
                "locations": [
                    {"physicalLocation": {"artifactLocation": locator.artifact(template.path)}}
                ],
            }
        )
    driver = {"name": "ml-refarch check", "version": tool_version(), "rules": []}
    return {
        "tool": {"driver": driver},
        "invocations": [_invocation(notifications, successful=not result.problems)],
        "originalUriBaseIds": locator.base_ids(),
        "results": [],
    }


def junit(result: CheckResult) -> str:
    """One test suite per stack; one test case per tool, failing with that tool's errors."""
    suites = ElementTree.Element("testsuites", name="ml-refarch check")
    tools = [t for t in _TOOLS if t not in result.skipped_tools]
    total_failures = 0
    for stack in result.templates:
        suite = ElementTree.SubElement(suites, "testsuite", name=stack)
        failures = 0
        for tool in tools:
            case = ElementTree.SubElement(suite, "testcase", classname=stack, name=tool)
            findings = [f for f in result.findings if f.stack == stack and f.tool == tool]
            errors = [f for f in findings if f.level == ERROR]
            warnings = [f for f in findings if f.level != ERROR]
            if errors:
                failures += 1
                failure = ElementTree.SubElement(
                    case, "failure", message=f"{len(errors)} error(s)", type="error"
                )
                failure.text = "\n".join(f"{f.rule_id} {f.resource}: {f.message}" for f in errors)
            if warnings:
                out = ElementTree.SubElement(case, "system-out")
                out.text = "\n".join(
                    f"warning {f.rule_id} {f.resource}: {f.message}" for f in warnings
                )
        suite.set("tests", str(len(tools)))
        suite.set("failures", str(failures))
        total_failures += failures
    accounting = _junit_accounting(suites, result)
    suites.set("tests", str(len(tools) * len(result.templates) + accounting["tests"]))
    suites.set("failures", str(total_failures + accounting["failures"]))
    suites.set("errors", str(accounting["errors"]))
    suites.set("skipped", str(accounting["skipped"]))
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _junit_accounting(suites: ElementTree.Element, result: CheckResult) -> Counter:
    """A suite for the templates the check did not check and one for the tools that failed,
    so a CI test report shows a run that is not whole (exit code 2) as not green."""
    counts: Counter = Counter()
    unchecked = [t for t in result.accounted if t.status != CHECKED]
    if unchecked:
        suite = ElementTree.SubElement(suites, "testsuite", name="templates")
        for template in unchecked:
            case = ElementTree.SubElement(
                suite, "testcase", classname="templates", name=template.name
            )
            if template.status == SKIPPED and not result.strict:
                ElementTree.SubElement(case, "skipped", message=template.reason)
                counts["skipped"] += 1
            elif template.status == SKIPPED:
                failure = ElementTree.SubElement(case, "failure", message="skipped (--strict)")
                failure.text = template.reason
                counts["failures"] += 1
            else:
                error = ElementTree.SubElement(case, "error", message=template.status)
                error.text = template.reason
                counts["errors"] += 1
        counts["tests"] += len(unchecked)
    if result.tool_errors:
        suite = ElementTree.SubElement(suites, "testsuite", name="tools")
        for number, tool_error in enumerate(result.tool_errors, start=1):
            case = ElementTree.SubElement(
                suite, "testcase", classname="tools", name=f"{tool_error.tool} #{number}"
            )
            error = ElementTree.SubElement(case, "error", message=tool_error.message)
            error.text = tool_error.detail
        counts["tests"] += len(result.tool_errors)
        counts["errors"] += len(result.tool_errors)
    return counts


def write_sarif(
    result: CheckResult, path: str | Path, *, source_root: str | Path | None = None
) -> None:
    """Write :func:`sarif` to ``path``; URIs are relative to ``source_root`` (default: cwd)."""
    Path(path).write_text(json.dumps(sarif(result, source_root=source_root), indent=1) + "\n")


def write_junit(result: CheckResult, path: str | Path) -> None:
    Path(path).write_text(junit(result))
