"""Evaluate a stack's runtime scenarios against its template, and report.

``python -m ml_refarch permissions [CDK_OUT] [--scenarios FILE ...]`` reads a cloud
assembly, evaluates for each stack the scenarios derived from its template and those of its
pattern's ``scenarios.toml`` (plus any file given), and prints per stack what was evaluated
and whether it passed. Exit status: 0 every call as expected, 1 a call denied (or allowed
where it must not be), a condition left unresolved, or a role no scenario covers; 2 bad
input (an assembly or a scenario file that cannot be read or does not fit).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_refarch import catalog
from ml_refarch.permissions.derive import derived_scenarios
from ml_refarch.permissions.model import Decision, StackPolicies, read_policies
from ml_refarch.permissions.policy import ContextValue
from ml_refarch.permissions.scenarios import (
    Call,
    Scenario,
    ScenarioError,
    applies,
    load,
    resolve_principal,
    resolve_text,
)
from ml_refarch.permissions.values import ACCOUNT, REGION


@dataclass(frozen=True)
class CallResult:
    scenario: Scenario
    call: Call
    principal: str  # the role's logical id or service:NAME
    resource: str  # resolved
    decision: Decision

    @property
    def passed(self) -> bool:
        outcome = self.decision.outcome
        if self.call.expect == "allow":
            return outcome == "Allow"
        return outcome in ("Deny", "ImplicitDeny")

    def describe(self) -> str:
        return (
            f"{self.scenario.name}: {self.principal} {self.call.action} on {self.resource}: "
            f"{self.decision.outcome} (expected {self.call.expect}; {self.decision.reason}); "
            f"see {self.scenario.doc}"
        )


@dataclass
class StackResult:
    stack_name: str
    results: list[CallResult] = field(default_factory=list)
    not_applicable: list[Scenario] = field(default_factory=list)
    #: Roles of the stack that no scenario acts as.
    uncovered_roles: list[str] = field(default_factory=list)
    #: Each role's logical id -> the service principals its trust policy names.
    trusted_by: dict[str, set[str]] = field(default_factory=dict)

    @property
    def scenarios(self) -> list[Scenario]:
        seen: dict[tuple[str, str], Scenario] = {}
        for result in self.results:
            seen.setdefault((result.scenario.source, result.scenario.name), result.scenario)
        return list(seen.values())

    @property
    def failures(self) -> list[CallResult]:
        return [result for result in self.results if not result.passed]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.uncovered_roles


def base_context(principal: str, policies: StackPolicies) -> dict[str, ContextValue]:
    """The request context every call carries: TLS, the region, and who calls ("AWS global
    condition context keys", IAM User Guide)."""
    context: dict[str, ContextValue] = {
        "aws:SecureTransport": True,
        "aws:RequestedRegion": REGION,
        # True when an AWS service calls with its own service principal, not a role.
        "aws:PrincipalIsAWSService": principal.startswith("service:"),
    }
    if not principal.startswith("service:"):
        arn = principal if principal.startswith("arn:") else policies.role(principal).arn
        context.update(
            {
                "aws:PrincipalArn": arn,
                "aws:PrincipalAccount": ACCOUNT,
                "aws:PrincipalType": "AssumedRole",
                "kms:CallerAccount": ACCOUNT,
            }
        )
    return context


def _resolve_context(
    context: Mapping[str, ContextValue],
    policies: StackPolicies,
    resources: Mapping[str, Any],
    where: str,
) -> dict[str, ContextValue]:
    resolved: dict[str, ContextValue] = {}
    for key, value in context.items():
        if isinstance(value, str):
            value = resolve_text(value, policies.values, resources, where)
        elif isinstance(value, list):
            value = [resolve_text(v, policies.values, resources, where) for v in value]
        resolved[key] = value
    return resolved


def evaluate(
    stack_name: str, template: Mapping[str, Any], written: Iterable[Scenario] = ()
) -> StackResult:
    """Every scenario of ``template``: the derived ones and ``written``.

    Raises:
        ScenarioError: a written scenario names a principal or resource the template lacks.
    """
    policies = read_policies(template)
    resources = policies.template.get("Resources", {})
    result = StackResult(
        stack_name, trusted_by={i: r.trusted_by for i, r in policies.roles.items()}
    )
    acting: set[str] = set()
    for scenario in [*derived_scenarios(template), *written]:
        if not applies(scenario, resources):
            result.not_applicable.append(scenario)
            continue
        principal = resolve_principal(scenario, resources)
        if principal.startswith("arn:"):
            where = f"{scenario.source}: {scenario.name!r} principal"
            principal = resolve_text(principal, policies.values, resources, where)
        acting.add(principal)
        for index, call in enumerate(scenario.calls):
            where = f"{scenario.source}: {scenario.name!r} call {index + 1}"
            resource = resolve_text(call.resource, policies.values, resources, where)
            context = {
                **base_context(principal, policies),
                **_resolve_context(call.request_context(), policies, resources, where),
            }
            decision = policies.decide(principal, call.action, resource, context)
            result.results.append(CallResult(scenario, call, principal, resource, decision))
    result.uncovered_roles = sorted(set(policies.roles) - acting)
    return result


def written_scenarios(stack_name: str) -> list[Scenario]:
    """The scenarios of the pattern whose stack this is (none for other stacks)."""
    for pattern in catalog.discover():
        if pattern.stack_name == stack_name:
            path = pattern.file("scenarios.toml")
            return load(path) if path.is_file() else []
    return []


def report_lines(result: StackResult) -> list[str]:
    """What the rehearsal prints for one stack."""
    calls = len(result.results)
    passed = calls - len(result.failures)
    lines = [
        f"{result.stack_name}: {len(result.scenarios)} runtime scenarios, {passed}/{calls} "
        f"calls as expected" + ("" if result.ok else "  FAILED")
    ]
    for scenario in result.scenarios:
        mine = [r for r in result.results if r.scenario is scenario]
        mark = "ok " if all(r.passed for r in mine) else "FAIL"
        lines.append(f"  {mark} {scenario.name} ({len(mine)} calls, as {mine[0].principal})")
    for failure in result.failures:
        lines.append(f"    - {failure.describe()}")
    for scenario in result.not_applicable:
        lines.append(f"  n/a {scenario.name} (needs {', '.join(scenario.requires)})")
    for role in result.uncovered_roles:
        lines.append(
            f"  FAIL role {role} acts in no scenario: add one to the unit's "
            "scenarios.toml, or a deriver for what uses it"
        )
    return lines


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cdk_out", nargs="?", default="cdk.out", help="a cloud assembly")
    parser.add_argument(
        "--scenarios",
        action="append",
        default=[],
        metavar="FILE",
        help="a scenarios.toml to evaluate too, against every stack chosen (repeatable)",
    )
    parser.add_argument(
        "--stack",
        action="append",
        default=[],
        metavar="NAME",
        help="only this stack of the assembly (repeatable; default: every stack)",
    )


def main(args: argparse.Namespace) -> int:
    from ml_refarch.compliance.report import AssemblyError, read_assembly

    try:
        reports = read_assembly(args.cdk_out)
        if args.stack:
            unknown = sorted(set(args.stack) - {r.stack_name for r in reports})
            if unknown:
                raise ScenarioError(f"no stack {', '.join(unknown)} in {args.cdk_out}")
            reports = [r for r in reports if r.stack_name in args.stack]
        extra = [scenario for path in args.scenarios for scenario in load(Path(path))]
        results = [
            evaluate(r.stack_name, r.template, [*written_scenarios(r.stack_name), *extra])
            for r in reports
        ]
    except (AssemblyError, ScenarioError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for result in results:
        print("\n".join(report_lines(result)))
    calls = sum(len(r.results) for r in results)
    failed = sum(len(r.failures) for r in results)
    print(
        f"{len(results)} stacks, {sum(len(r.scenarios) for r in results)} scenarios, "
        f"{calls} calls, {failed} not as expected"
    )
    return 0 if all(r.ok for r in results) else 1
