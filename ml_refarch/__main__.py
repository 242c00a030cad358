"""Command line: ``python -m ml_refarch COMMAND``; ``--help`` lists the commands.

Each command is one row of ``COMMANDS``: its name, a one-line help, the function that runs it
and the function that adds its arguments. Add a command with one row.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ml_refarch import catalog
from ml_refarch.config import PROFILES


def _list(_: argparse.Namespace) -> int:
    from ml_refarch import delivery

    width_id = max(len(p.id) for p in catalog.PATTERNS)
    width_stack = max(len(delivery.STACK_NAME), *(len(p.stack_name) for p in catalog.PATTERNS))
    print(f"{'PATTERN':<{width_id}}  {'STACK':<{width_stack}}  NOTES SECTION / SUMMARY")
    for p in catalog.PATTERNS:
        print(f"{p.id:<{width_id}}  {p.stack_name:<{width_stack}}  {p.title} ({p.notes_section})")
        print(f"{'':<{width_id}}  {'':<{width_stack}}  {p.summary}")
    print()
    print(
        f"{'DELIVERY':<{width_id}}  {'STACK':<{width_stack}}  SUMMARY (not a pattern of the notes)"
    )
    print(f"{'delivery':<{width_id}}  {delivery.STACK_NAME:<{width_stack}}  {delivery.SUMMARY}")
    from ml_refarch.retired import list_lines

    for line in list_lines():
        print(line)
    return 0


def _delivery(args: argparse.Namespace) -> int:
    from ml_refarch.app import project_context
    from ml_refarch.config import ConfigError, read_config
    from ml_refarch.delivery.bootstrap import bootstrap_lines

    overrides = {}
    for item in args.context:
        key, equals, value = item.partition("=")
        if not equals or not key:
            print(f"error: -c {item}: expected KEY=VALUE", file=sys.stderr)
            return 2
        overrides[key] = value
    try:
        config = read_config(project_context(**overrides))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if config.delivery is None:
        print(
            "error: no delivery settings: give -c delivery.connection_arn=... -c "
            "delivery.repository=... -c delivery.sandbox=ACCOUNT/REGION (or keep them in "
            "cdk.json); see docs/delivery.md",
            file=sys.stderr,
        )
        return 2
    print("\n".join(bootstrap_lines(config.delivery)))
    return 0


def _summary(args: argparse.Namespace) -> int:
    from ml_refarch.compliance.report import (
        AssemblyError,
        assembly_line,
        read_assembly,
        summary_lines,
    )

    try:
        reports = read_assembly(args.cdk_out, nested=True)
    except AssemblyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(assembly_line(reports))
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
    from ml_refarch.compliance.checker import CheckError, check_assembly, status_lines
    from ml_refarch.compliance.output import table, write_junit, write_sarif

    outputs = [
        (option, path) for option, path in (("--sarif", args.sarif), ("--junit", args.junit))
    ]
    for option, path in outputs:
        problem = path and _unwritable(path)
        if problem:
            print(f"error: {option} {path}: {problem}", file=sys.stderr)
            return 2
    strict = args.strict
    if strict is None:
        strict = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
    try:
        result = check_assembly(
            args.cdk_out,
            cfn_lint=not args.no_cfn_lint,
            checkov=not args.no_checkov,
            cfn_guard=not args.no_cfn_guard,
            strict=strict,
        )
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table(result))
    print("\n".join(status_lines(result)))
    try:
        if args.sarif:
            write_sarif(result, args.sarif)
        if args.junit:
            write_junit(result, args.junit)
    except OSError as error:
        print(f"error: cannot write a report: {error}", file=sys.stderr)
        return 2
    if result.problems:
        print(f"error: {'; '.join(result.problems)}", file=sys.stderr)
    return result.exit_code


def _unwritable(path: str) -> str:
    """Why a report cannot be written at ``path``, or "" when it can."""
    target = Path(path)
    if target.is_dir():
        return "is a directory"
    parent = target.parent
    if not parent.is_dir():
        return "no such directory"
    if not os.access(target if target.exists() else parent, os.W_OK):
        return "not writable"
    return ""


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


def _docs(args: argparse.Namespace) -> int:
    from ml_refarch import generated_docs
    from ml_refarch.config import ConfigError

    try:
        files = generated_docs.expected()
    except (ConfigError, generated_docs.StaleMarkers) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    root = generated_docs.ROOT
    if args.check:
        stale = generated_docs.stale(files)
        for path in stale:
            print(f"stale: {path.relative_to(root)} (run make docs)", file=sys.stderr)
        return 1 if stale else 0
    for path in generated_docs.write(files):
        print(f"wrote {path.relative_to(root)}")
    return 0


# --------------------------------------------------------------------------------------
# Arguments


def _no_arguments(_: argparse.ArgumentParser) -> None:
    pass


def _summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cdk_out", nargs="?", default="cdk.out", help="default: cdk.out")


_CHECK_EPILOG = """\
templates: a cloud assembly (its stacks, nested assemblies and nested stacks), a directory
of *.json, *.yaml, *.yml, *.template files, or one template file; JSON or YAML by content.

exit codes:
  0  every template checked, no error findings
  1  error findings
  2  bad input (no templates, a template that fails to load, a skipped template with
     --strict, an output file that cannot be written) or a tool error (a tool missing,
     failing, printing no valid report, a cdk-nag rule that threw; cfn-guard is the
     Control Tower pack's engine)
"""


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = _CHECK_EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "cdk_out",
        nargs="?",
        default="cdk.out",
        help="assembly, directory or template file (default: cdk.out)",
    )
    parser.add_argument("--sarif", metavar="FILE", help="also write the findings as SARIF 2.1.0")
    parser.add_argument("--junit", metavar="FILE", help="also write the findings as JUnit XML")
    parser.add_argument(
        "--no-cfn-guard",
        action="store_true",
        help="do not run the Control Tower pack (cfn-guard)",
    )
    parser.add_argument("--no-cfn-lint", action="store_true", help="do not run cfn-lint")
    parser.add_argument("--no-checkov", action="store_true", help="do not run checkov")
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a skipped template (a SAM transform, no Resources) is an error "
        "(default: on when the environment has CI=true)",
    )


def _delivery_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    commands = actions.add_parser(
        "bootstrap-commands",
        help="print the cdk bootstrap command each account of the pipeline needs",
        description="The cdk bootstrap command (--trust, --cloudformation-execution-policies) "
        "each account of the delivery pipeline needs, from cdk.json's delivery.* settings "
        "and any -c given here.",
    )
    commands.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting, as for cdk synth (repeatable)",
    )


def _cost_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=tuple(PROFILES), default="sandbox")
    parser.add_argument("--markdown", action="store_true", help="the table the README carries")


def _diagram_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", help="pattern id (python -m ml_refarch list)")
    parser.add_argument("--all", action="store_true", help="every pattern")


def _rehearse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cdk-cli",
        action="store_true",
        help="bootstrap and deploy with the pinned CDK CLI (make deploy-local) instead of boto3",
    )


def _docs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a document is stale"
    )


# --------------------------------------------------------------------------------------
# The commands


def lazy(target: str) -> Callable:
    """``"module:function"`` as a function that imports its module when first called."""
    module, _, name = target.partition(":")

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


@dataclass(frozen=True)
class Command:
    """One subcommand: ``run(args)`` returns the exit status; ``arguments(parser)`` adds
    its arguments. Either may be ``lazy("module:function")`` to keep ``--help`` fast."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    #: The command reads its own ``--help`` (it passes the rest of the line on).
    own_help: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("list", "the pattern catalog, the delivery entry, the retired services", _list),
    Command(
        "summary",
        "per stack of an assembly: resources, acknowledged controls, cost",
        _summary,
        _summary_arguments,
    ),
    Command(
        "check",
        "every rule pack, cfn-lint and checkov over any assembly; exit 0/1/2",
        _check,
        _check_arguments,
    ),
    Command("rules", "print the MLSpecialty rules as Markdown (docs/rules.md)", _rules),
    Command("cost", "estimate each stack's monthly cost when idle", _cost, _cost_arguments),
    Command(
        "diagram",
        "draw a pattern's architecture (docs/diagrams/*.svg)",
        _diagram,
        _diagram_arguments,
    ),
    Command(
        "rehearse",
        "deploy every stack to a local moto server and check what exists",
        _rehearse,
        _rehearse_arguments,
    ),
    Command(
        "permissions",
        "evaluate each stack's runtime permission scenarios offline; exit 0/1/2",
        lazy("ml_refarch.permissions.run:main"),
        lazy("ml_refarch.permissions.run:arguments"),
    ),
    Command(
        "smoke",
        "check a deployed pattern's stack (see smoke PATTERN --help)",
        lazy("ml_refarch.smoke:run"),
        lazy("ml_refarch.smoke:arguments"),
        own_help=True,
    ),
    Command(
        "delivery",
        "the delivery pipeline: bootstrap-commands (docs/delivery.md)",
        _delivery,
        _delivery_arguments,
    ),
    Command(
        "docs",
        "write every generated document (README tables, docs/*.md)",
        _docs,
        _docs_arguments,
    ),
)


class _CommandListFormatter(argparse.HelpFormatter):
    """Leaves room for the longest command name before its help: argparse measures command
    names one indent short, so a long one (``permissions``) pushes its help to a new line."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        for subaction in getattr(action, "_get_subactions", list)():
            length = len(self._format_action_invocation(subaction))
            indent = self._current_indent + self._indent_increment
            self._action_max_length = max(self._action_max_length, length + indent)


def parser() -> argparse.ArgumentParser:
    """The command line: one subparser per row of ``COMMANDS``."""
    root = argparse.ArgumentParser(
        prog="python -m ml_refarch",
        description="ml-refarch: AWS CDK reference architectures for the AWS ML Specialty "
        "patterns. Run from the project root.",
        formatter_class=_CommandListFormatter,
    )
    commands = root.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands"
    )
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            add_help=not command.own_help,
        )
        command.arguments(sub)
        sub.set_defaults(run=command.run)
    return root


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        own = next((c for c in COMMANDS if c.own_help and argv[:1] == [c.name]), None)
        # A command that reads its own line gets it whole, options and --help included.
        args = argparse.Namespace(argv=argv[1:]) if own else parser().parse_args(argv)
        status = (own or args).run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``summary | head -1``): stop quietly, as a process killed
        # by SIGPIPE does, and keep Python from failing again when it flushes at exit.
        # https://docs.python.org/3/library/signal.html#note-on-sigpipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return status


if __name__ == "__main__":
    sys.exit(main())
