"""Smoke tests of deployed stacks: ``python -m ml_refarch smoke <pattern>``.

- :mod:`ml_refarch.smoke.core`: checks, stack outputs, reporting, deadlines and waiting for
  a status, argument types, exit codes.
- :mod:`ml_refarch.smoke.runner`: the command; finds ``SMOKE`` in each pattern's
  ``ml_refarch/stacks/<pattern>/smoke.py`` through the catalog.
- :mod:`ml_refarch.smoke.endpoint`: waiting for a SageMaker endpoint, invoking it with CSV
  rows and judging the scores.
- :mod:`ml_refarch.smoke.guardrails`: the notebook patterns' guardrail simulation and
  package source.

This module imports nothing heavy, so registering the command keeps ``list`` fast.
"""

from __future__ import annotations

import argparse


def arguments(parser: argparse.ArgumentParser) -> None:
    """``smoke``'s command line: everything after ``smoke`` goes to
    :func:`ml_refarch.smoke.runner.main` as it is, so each pattern's options (and
    ``smoke PATTERN --help``) come from that pattern's command line."""
    parser.add_argument("argv", nargs=argparse.REMAINDER)


def run(args: argparse.Namespace) -> int:
    from ml_refarch.smoke.runner import main

    return main(args.argv)
