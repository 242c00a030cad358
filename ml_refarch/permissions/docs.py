"""The "What runs as whom" section of each pattern page, generated from its scenarios."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ml_refarch import catalog
from ml_refarch.permissions.run import CallResult, evaluate, written_scenarios

_CDK_SUFFIX = re.compile(r"[0-9A-F]{8}\b")


def _readable(text: str) -> str:
    """Logical ids without the 8-character suffix CDK adds."""
    return _CDK_SUFFIX.sub("", text)


def _principal(result: CallResult, trusted: Mapping[str, set[str]]) -> str:
    if result.scenario.is_service:
        return f"the `{result.scenario.service}` service"
    services = ", ".join(sorted(trusted.get(result.principal, ())))
    by = f", assumed by {services}" if services else ""
    return f"role `{_readable(result.principal)}`{by}"


def _calls(results: list[CallResult]) -> str:
    allowed = sorted({f"`{r.call.action}`" for r in results if r.call.expect == "allow"})
    denied = sorted({f"`{r.call.action}`" for r in results if r.call.expect == "deny"})
    text = ", ".join(allowed)
    if denied:
        text += ("; " if text else "") + "denied: " + ", ".join(denied)
    failing = [r for r in results if not r.passed]
    if failing:
        text += f" (**{len(failing)} not as expected**)"
    return text


def runs_as_markdown(templates: Mapping[str, Any], pattern_id: str) -> str:
    """The section's table for the pattern's sandbox stack: one row per principal."""
    pattern = catalog.by_id(pattern_id)
    template = templates[pattern.stack_name]
    result = evaluate(pattern.stack_name, template, written_scenarios(pattern.stack_name))
    trusted = result.trusted_by
    lines = [
        f"Generated from the stack's runtime permission scenarios (sandbox profile): "
        f"{len(result.scenarios)} scenarios, {len(result.results)} calls, each evaluated "
        "against the synthesized policies by `python -m ml_refarch permissions` and in "
        "`make test`. Scenarios marked *derived* are read off the template; the others are "
        f"in `ml_refarch/stacks/{catalog.package_name(pattern_id)}/scenarios.toml`.",
        "",
        "| Who | What happens | Calls | AWS pages |",
        "| --- | --- | --- | --- |",
    ]
    by_principal: dict[str, list[CallResult]] = {}
    for call_result in result.results:
        by_principal.setdefault(call_result.principal, []).append(call_result)
    for results in by_principal.values():
        names, pages = [], []
        for call_result in results:
            scenario = call_result.scenario
            name = _readable(scenario.name) + (
                " (*derived*)" if scenario.source.startswith("derived") else ""
            )
            if name not in names:
                names.append(name)
            if scenario.doc not in pages:
                pages.append(scenario.doc)
        links = ", ".join(f"[{i}]({page})" for i, page in enumerate(pages, 1))
        lines.append(
            f"| {_principal(results[0], trusted)} | {'; '.join(names)} | {_calls(results)} "
            f"| {links} |"
        )
    return "\n".join(lines)
