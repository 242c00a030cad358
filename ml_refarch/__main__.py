"""Command line: ``python -m ml_refarch list | summary | check | rules``.

- ``list``: the pattern catalog.
- ``summary [CDK_OUT]``: per stack, resources and acknowledged findings (``make synth``).
- ``check [CDK_OUT] [--sarif FILE] [--junit FILE]``: every rule pack, cfn-lint and checkov
  over any cloud assembly; exit 0 clean, 1 on errors, 2 on bad input.
- ``rules``: the MLSpecialty rules as Markdown (``docs/rules.md``).
- ``cost [--profile P] [--markdown]``: each stack's idle monthly cost estimate.
- ``diagram PATTERN | --all``: draw a pattern's architecture into ``docs/diagrams/``.
- ``rehearse [--cdk-cli]``: deploy every stack to a local moto server and check what exists.
"""

from __future__ import annotations

import argparse
import sys

from ml_refarch import catalog, smoke


def _list(_: argparse.Namespace) -> int:
    width_id = max(len(p.id) for p in catalog.PATTERNS)
    width_stack = max(len(p.stack_name) for p in catalog.PATTERNS)
    print(f"{'PATTERN':<{width_id}}  {'STACK':<{width_stack}}  NOTES SECTION / SUMMARY")
    for p in catalog.PATTERNS:
        print(f"{p.id:<{width_id}}  {p.stack_name:<{width_stack}}  {p.title} ({p.notes_section})")
        print(f"{'':<{width_id}}  {'':<{width_stack}}  {p.summary}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from ml_refarch.compliance.report import AssemblyError, read_assembly, summary_lines

    try:
        reports = read_assembly(args.cdk_out)
    except AssemblyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in summary_lines(reports):
        print(line)
    from ml_refarch.cost import (
        IDLE_WARNING_THRESHOLD_USD,
        estimate_assembly,
        load_prices,
        over_threshold,
    )

    costs = estimate_assembly({r.stack_name: r.template for r in reports}, load_prices())
    for cost in over_threshold(costs, IDLE_WARNING_THRESHOLD_USD):
        print(
            f"warning: {cost.stack_name} costs about ${cost.monthly_usd:,.0f} a month while it "
            f"exists, even idle (over ${IDLE_WARNING_THRESHOLD_USD:,.0f}; see python -m "
            "ml_refarch cost)"
        )
    return 0


def _check(args: argparse.Namespace) -> int:
    from ml_refarch.compliance.checker import CheckError, check_assembly
    from ml_refarch.compliance.output import table, write_junit, write_sarif

    try:
        result = check_assembly(
            args.cdk_out, cfn_lint=not args.no_cfn_lint, checkov=not args.no_checkov
        )
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table(result))
    if args.sarif:
        write_sarif(result, args.sarif)
    if args.junit:
        write_junit(result, args.junit)
    return 1 if result.errors else 0


def _rules(_: argparse.Namespace) -> int:
    from ml_refarch.compliance.docs import rules_markdown

    print(rules_markdown(), end="")
    return 0


def _cost(args: argparse.Namespace) -> int:
    from ml_refarch.app import synthesize_templates
    from ml_refarch.config import ConfigError
    from ml_refarch.cost import cost_lines, cost_table_markdown, estimate_assembly, load_prices

    try:
        templates = synthesize_templates(profile=args.profile)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    prices = load_prices()
    costs = estimate_assembly(templates, prices)
    lines = (
        [cost_table_markdown(costs, args.profile, prices)] if args.markdown else cost_lines(costs)
    )
    for line in lines:
        print(line)
    return 0


def _diagram(args: argparse.Namespace) -> int:
    from ml_refarch.diagram import synthesize_templates, write_pattern_diagram

    if args.all == bool(args.pattern):
        print("error: name one pattern or pass --all", file=sys.stderr)
        return 2
    try:
        patterns = catalog.PATTERNS if args.all else (catalog.by_id(args.pattern),)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    templates = synthesize_templates([p.id for p in patterns])
    for pattern in patterns:
        path = write_pattern_diagram(pattern.id, templates[pattern.id])
        print(f"wrote {path}")
    return 0


def _rehearse(args: argparse.Namespace) -> int:
    from ml_refarch.config import ConfigError
    from ml_refarch.rehearsal.deploy import RehearsalError
    from ml_refarch.rehearsal.run import run
    from ml_refarch.rehearsal.stand_in import StandInError

    try:
        return run(cdk_cli=args.cdk_cli)
    except (ConfigError, StandInError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RehearsalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml_refarch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print the pattern catalog").set_defaults(run=_list)
    summary = commands.add_parser(
        "summary", help="per stack: resources and acknowledged findings in a cloud assembly"
    )
    summary.add_argument("cdk_out", nargs="?", default="cdk.out")
    summary.set_defaults(run=_summary)
    check = commands.add_parser(
        "check", help="run every rule pack, cfn-lint and checkov over a cloud assembly"
    )
    check.add_argument("cdk_out", nargs="?", default="cdk.out", help="default: cdk.out")
    check.add_argument("--sarif", metavar="FILE", help="also write the findings as SARIF 2.1.0")
    check.add_argument("--junit", metavar="FILE", help="also write the findings as JUnit XML")
    check.add_argument("--no-cfn-lint", action="store_true", help="do not run cfn-lint")
    check.add_argument("--no-checkov", action="store_true", help="do not run checkov")
    check.set_defaults(run=_check)
    commands.add_parser("rules", help="print the MLSpecialty rules as Markdown").set_defaults(
        run=_rules
    )
    cost = commands.add_parser("cost", help="estimate each stack's monthly cost when idle")
    cost.add_argument("--profile", choices=("sandbox", "production"), default="sandbox")
    cost.add_argument("--markdown", action="store_true", help="the table the README carries")
    cost.set_defaults(run=_cost)
    diagram = commands.add_parser("diagram", help="draw a pattern's architecture (SVG)")
    diagram.add_argument("pattern", nargs="?", help="pattern id, e.g. kinesis-parquet")
    diagram.add_argument("--all", action="store_true", help="every pattern")
    diagram.set_defaults(run=_diagram)
    rehearse = commands.add_parser(
        "rehearse", help="deploy every stack to a local moto server and check what exists"
    )
    rehearse.add_argument(
        "--cdk-cli",
        action="store_true",
        help="bootstrap and deploy with the pinned CDK CLI (make deploy-local) instead of boto3",
    )
    rehearse.set_defaults(run=_rehearse)
    smoke.add_command(commands)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
