"""Check results as a readable table, SARIF 2.1.0 (code scanning) and JUnit XML (CI)."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree

from ml_refarch import __version__
from ml_refarch.compliance.checker import ERROR, CheckResult, Finding

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


def _uri(path: Path) -> str:
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:
        return path.as_posix()


def sarif(result: CheckResult) -> dict:
    """One SARIF run per tool, so code scanning shows which tool raised what."""
    runs = []
    for tool in ("cdk-nag", "cfn-lint", "checkov"):
        findings = [f for f in result.findings if f.tool == tool]
        if tool in result.skipped_tools:
            continue
        rules = {}
        for f in findings:
            rules.setdefault(f.rule_id, {"id": f.rule_id, "shortDescription": {"text": f.message}})
        results = []
        for f in findings:
            location = {
                "physicalLocation": {"artifactLocation": {"uri": _uri(f.template)}},
                "logicalLocations": [
                    {"name": f.resource or f.stack, "fullyQualifiedName": f"{f.stack}/{f.resource}"}
                ],
            }
            if f.line:
                location["physicalLocation"]["region"] = {"startLine": int(f.line)}
            results.append(
                {
                    "ruleId": f.rule_id,
                    "level": "error" if f.level == ERROR else "warning",
                    "message": {"text": f"{f.stack} {f.resource}: {f.message}".strip()},
                    "locations": [location],
                }
            )
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": f"ml-refarch check ({tool})",
                        "version": __version__,
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        )
    return {"$schema": _SARIF_SCHEMA, "version": "2.1.0", "runs": runs}


def junit(result: CheckResult) -> str:
    """One test suite per stack; one test case per tool, failing with that tool's errors."""
    suites = ElementTree.Element("testsuites", name="ml-refarch check")
    tools = [t for t in ("cdk-nag", "cfn-lint", "checkov") if t not in result.skipped_tools]
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
    suites.set("tests", str(len(tools) * len(result.templates)))
    suites.set("failures", str(total_failures))
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_sarif(result: CheckResult, path: str | Path) -> None:
    Path(path).write_text(json.dumps(sarif(result), indent=1) + "\n")


def write_junit(result: CheckResult, path: str | Path) -> None:
    Path(path).write_text(junit(result))
