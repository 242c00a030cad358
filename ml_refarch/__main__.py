"""Command line: ``python -m ml_refarch list | summary | check | rules``.

- ``list``: the pattern catalog.
- ``summary [CDK_OUT]``: per stack, resources and acknowledged findings (``make synth``).
- ``check [CDK_OUT] [--sarif FILE] [--junit FILE]``: every rule pack, cfn-lint and checkov
  over any cloud assembly; exit 0 clean, 1 on errors, 2 on bad input.
- ``rules``: the MLSpecialty rules as Markdown (``docs/rules.md``).
"""

from __future__ import annotations

import argparse
import sys

from ml_refarch import catalog


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
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
