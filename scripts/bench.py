"""Benchmarks: the per-stack cost of ``make synth``, and the test suite's wall time.

Run with ``make bench`` (which sets up the venv and CLI first). Every synth uses the pinned
CLI (``npx cdk synth --quiet``), cdk.json's context and the rule packs, into a temporary
directory:

- an empty CDK app (one stack without resources): the fixed cost of Node, the CLI and jsii;
- the app with one stack (the first pattern's, or ``--stack``);
- the full app, every stack.

The per-stack marginal cost is (all stacks - one stack) / (stacks - 1): what each further
stack adds to ``make synth``; the same in CPU seconds (the synths' processes' user + system
time) is printed too, as it depends less on other work on the machine. The issue's budget is
0.5 s per stack on 2 cores. Figures from a machine that runs other work meanwhile are noisy:
repeat (``--repeat``) and compare medians.

A failing command (a synth, or the suite) is reported with its exit status; the figures
measured so far are still printed, and the exit status is 1.

    .venv/bin/python scripts/bench.py [--repeat 1] [--stack STACK] [--skip-suite]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The CLI refuses an app without stacks, so the baseline has one stack with no resources.
EMPTY_APP = "import aws_cdk as cdk\napp = cdk.App()\ncdk.Stack(app, 'Empty')\napp.synth()\n"
# app.py (ml_refarch.app.build_app) limited to the stacks named as arguments.
SOME_STACKS_APP = f"""\
import sys
sys.path.insert(0, {str(ROOT)!r})
import aws_cdk as cdk
from ml_refarch.app import add_pattern_stacks, register_packs
from ml_refarch.config import config_from_scope
app = cdk.App()
add_pattern_stacks(app, config_from_scope(app), only=set(sys.argv[1:]))
register_packs(app)
app.synth()
"""
BUDGET_S_PER_STACK = 0.5


@dataclass(frozen=True)
class Timing:
    """One measurement: the median of its runs, or the first failure's exit status."""

    name: str
    seconds: float | None
    returncode: int = 0
    #: user + system CPU seconds of the command and its children: less sensitive than the
    #: wall time to other work on the machine.
    cpu_seconds: float | None = None
    stderr_tail: str = ""

    @property
    def failed(self) -> bool:
        return self.returncode != 0


Runner = Callable[[list[str], dict[str, str]], subprocess.CompletedProcess]


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True, text=True)


def measure(name: str, command: list[str], env: dict[str, str], repeat: int, runner: Runner):
    """Run ``command`` ``repeat`` times; stop at the first failure and report it."""
    seconds, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), children_cpu_seconds()
        result = runner(command, env)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            output = f"{result.stdout or ''}\n{result.stderr or ''}".strip()
            tail = "\n".join(output.splitlines()[-5:])
            return Timing(name, elapsed, result.returncode, stderr_tail=tail)
        seconds.append(elapsed)
        cpu.append(children_cpu_seconds() - start_cpu)
    return Timing(name, statistics.median(seconds), cpu_seconds=statistics.median(cpu))


def children_cpu_seconds() -> float:
    """CPU seconds used so far by finished child processes (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def synth_command(app: str | None, outdir: Path) -> list[str]:
    """The pinned CLI's synth of ``app`` (cdk.json's, the project's app.py, when None)."""
    command = ["npx", "cdk", "synth", "--quiet", "--output", str(outdir)]
    return command + (["--app", app] if app else [])


def report(timings: Sequence[Timing], stacks: int, repeat: int) -> list[str]:
    """The table, then the per-stack marginal cost when both synths it needs succeeded."""
    lines = [f"{'measurement':<48} {'seconds':>8} {'CPU s':>8}"]
    for t in timings:
        figures = " ".join(
            f"{value:>8.1f}" if value is not None else f"{'-':>8}"
            for value in (t.seconds, t.cpu_seconds)
        )
        status = f"  FAILED (exit {t.returncode})" if t.failed else ""
        lines.append(f"{t.name:<48} {figures}{status}")
    by_name = {t.name.split(" (")[0]: t for t in timings}
    one, every = by_name.get("one stack"), by_name.get("all stacks")
    if one and every and not one.failed and not every.failed and stacks > 1:
        marginal = (every.seconds - one.seconds) / (stacks - 1)
        verdict = "within" if marginal <= BUDGET_S_PER_STACK else "over"
        lines.append(
            f"per-stack marginal cost: ({every.seconds:.1f} - {one.seconds:.1f}) / "
            f"({stacks} - 1) = {marginal:.2f} s, {verdict} the {BUDGET_S_PER_STACK} s budget"
        )
        if every.cpu_seconds is not None and one.cpu_seconds is not None:
            cpu = (every.cpu_seconds - one.cpu_seconds) / (stacks - 1)
            lines.append(f"in CPU time: {cpu:.2f} s per stack")
    runs = "one run each" if repeat == 1 else f"median of {repeat} runs each"
    lines.append(
        f"({runs}, {os.cpu_count()} CPUs; other work on this machine makes the figures noisy)"
    )
    for t in timings:
        if t.failed and t.stderr_tail:
            lines.append(f"{t.name} failed; its last lines:\n{t.stderr_tail}")
    return lines


def main(argv: list[str] | None = None, runner: Runner = run) -> int:
    if str(ROOT) not in sys.path:  # run as a file, from any directory
        sys.path.insert(0, str(ROOT))
    from ml_refarch.catalog import PATTERNS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per synth (median reported)")
    parser.add_argument("--stack", default=PATTERNS[0].stack_name, help="the one-stack app's")
    parser.add_argument("--skip-suite", action="store_true", help="do not time the test suite")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    timings = []
    with tempfile.TemporaryDirectory(prefix="ml-refarch-bench-") as tmp:
        empty_app, some_app = Path(tmp) / "empty_app.py", Path(tmp) / "some_stacks_app.py"
        empty_app.write_text(EMPTY_APP)
        some_app.write_text(SOME_STACKS_APP)
        synths = [
            ("empty CDK app", f"{sys.executable} {empty_app}"),
            (f"one stack ({args.stack})", f"{sys.executable} {some_app} {args.stack}"),
            (f"all stacks ({len(PATTERNS)}, app.py)", None),
        ]
        runner(synth_command(synths[0][1], Path(tmp) / "warm-up"), env)  # npx, caches
        for name, app in synths:
            out = Path(tmp) / f"cdk.out.{len(timings)}"
            timings.append(measure(name, synth_command(app, out), env, args.repeat, runner))
    if not args.skip_suite:
        suite = [sys.executable, "-m", "pytest", "-q"]
        timings.append(measure("test suite (pytest, one run)", suite, env, 1, runner))
    for line in report(timings, len(PATTERNS), args.repeat):
        print(line)
    return 1 if any(t.failed for t in timings) else 0


if __name__ == "__main__":
    sys.exit(main())
