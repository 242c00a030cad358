"""Command line: ``python -m ml_refarch list | summary [CDK_OUT]``."""

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml_refarch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print the pattern catalog").set_defaults(run=_list)
    summary = commands.add_parser(
        "summary", help="per stack: resources and acknowledged findings in a cloud assembly"
    )
    summary.add_argument("cdk_out", nargs="?", default="cdk.out")
    summary.set_defaults(run=_summary)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
