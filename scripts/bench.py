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

With ``--corpus``, it times ``python -m ml_refarch check`` instead, without checkov, over the
third-party template corpus (tests/corpus/README.md; ``make setup-dev`` fetches it into
.corpus/), with cfn-lint and without: every corpus template copied into one directory, one
run each, and the time per template (the issue's budget: under 1 s a template on 2 cores).

    .venv/bin/python scripts/bench.py [--repeat 1] [--stack STACK] [--skip-suite] [--corpus]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
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
BUDGET_S_PER_CORPUS_TEMPLATE = 1.0
#: ``check``'s summary line: "templates: 53 checked, 29 skipped, 0 failed to load ...".
CHECK_SUMMARY = re.compile(r"templates: (\d+) checked, (\d+) skipped, (\d+) failed to load")


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


def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    repeat: int,
    runner: Runner,
    ran: Callable[[subprocess.CompletedProcess], bool] = lambda result: result.returncode == 0,
):
    """Run ``command`` ``repeat`` times; stop at the first failure (not ``ran``), report it."""
    seconds, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), children_cpu_seconds()
        result = runner(command, env)
        elapsed = time.perf_counter() - start
        if not ran(result):
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


def copy_corpus(corpus: Path, into: Path) -> int:
    """Every template of the fetched corpus into one directory; how many there are.

    Raises:
        SystemExit: no corpus (``make setup-dev`` fetches it).
    """
    if not (corpus / ".fetched").is_file():
        raise SystemExit(f"no template corpus in {corpus}: run make setup-dev")
    count = 0
    for path in sorted(corpus.glob("*/**/*")):
        if path.is_file() and path.name != "manifest.json":
            relative = path.relative_to(corpus)
            if not relative.parts[0].startswith("."):
                shutil.copyfile(path, into / "--".join(relative.parts))
                count += 1
    return count


def check_ran(result: subprocess.CompletedProcess) -> bool:
    """``check`` read the templates: exit 0, 1 (findings) or 2 with its summary line (a
    cdk-nag rule that threw is a tool error, exit 2)."""
    return result.returncode in (0, 1, 2) and bool(CHECK_SUMMARY.search(result.stdout or ""))


def corpus_timings(
    corpus: Path, env: dict[str, str], repeat: int, runner: Runner
) -> tuple[list[str], bool]:
    """``check`` over the whole corpus without checkov, with cfn-lint and without: the lines
    to print, and whether a run failed."""
    with tempfile.TemporaryDirectory(prefix="ml-refarch-corpus-") as tmp:
        templates = copy_corpus(corpus, Path(tmp))
        check = [sys.executable, "-m", "ml_refarch", "check", tmp, "--no-checkov"]
        timings = [
            measure("check, packs + cfn-lint", check, env, repeat, runner, check_ran),
            measure("check, packs only", [*check, "--no-cfn-lint"], env, repeat, runner, check_ran),
        ]
    lines = [
        f"{'check over the corpus (no checkov)':<36} {'seconds':>8} {'CPU s':>8} {'s/tmpl':>7}"
    ]
    for t in timings:
        if t.failed:
            lines.append(f"{t.name:<36} FAILED (exit {t.returncode})\n{t.stderr_tail}")
            continue
        per = t.seconds / templates
        verdict = "within" if per <= BUDGET_S_PER_CORPUS_TEMPLATE else "over"
        lines.append(
            f"{t.name:<36} {t.seconds:>8.1f} {t.cpu_seconds:>8.1f} {per:>7.2f}  ({verdict} the "
            f"{BUDGET_S_PER_CORPUS_TEMPLATE} s budget)"
        )
    runs = "one run each" if repeat == 1 else f"median of {repeat} runs each"
    lines.append(
        f"{templates} templates ({runs}, {os.cpu_count()} CPUs; other work on this machine "
        "makes the figures noisy)"
    )
    return lines, any(t.failed for t in timings)


def main(argv: list[str] | None = None, runner: Runner = run) -> int:
    if str(ROOT) not in sys.path:  # run as a file, from any directory
        sys.path.insert(0, str(ROOT))
    from ml_refarch.catalog import PATTERNS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per synth (median reported)")
    parser.add_argument("--stack", default=PATTERNS[0].stack_name, help="the one-stack app's")
    parser.add_argument("--skip-suite", action="store_true", help="do not time the test suite")
    parser.add_argument(
        "--corpus", action="store_true", help="time check over the template corpus instead"
    )
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if args.corpus:
        lines, failed = corpus_timings(ROOT / ".corpus", env, args.repeat, runner)
        print("\n".join(lines))
        return 1 if failed else 0
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
