"""Benchmarks: ``make synth`` against an empty CDK app, and the test suite's wall time.

Run with ``make bench`` (which sets up the venv and CLI first). Both synths use the same
pinned CLI and Node, so the difference is the cost of this project's stacks and rule packs.

    .venv/bin/python scripts/bench.py [--repeat 3] [--skip-suite]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The CLI refuses an app without stacks, so the baseline has one stack with no resources.
EMPTY_APP = "import aws_cdk as cdk\napp = cdk.App()\ncdk.Stack(app, 'Empty')\napp.synth()\n"


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per synth (median reported)")
    parser.add_argument("--skip-suite", action="store_true", help="do not time the test suite")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        empty_app = Path(tmp) / "empty_app.py"
        empty_app.write_text(EMPTY_APP)
        empty_cmd = [
            "npx", "cdk", "synth", "--quiet",
            "--app", f"{sys.executable} {empty_app}",
            "--output", str(Path(tmp) / "cdk.out"),
        ]  # fmt: skip
        project_cmd = ["make", "--no-print-directory", "synth"]
        timed(project_cmd, env)  # warm-up: set-up stamps, caches
        empty = [timed(empty_cmd, env) for _ in range(args.repeat)]
        project = [timed(project_cmd, env) for _ in range(args.repeat)]
    rows.append(("empty CDK app, npx cdk synth", statistics.median(empty)))
    rows.append(("make synth (all stacks, 6 packs, summary)", statistics.median(project)))
    if not args.skip_suite:
        suite = timed([sys.executable, "-m", "pytest", "-q"], env)
        rows.append(("test suite (pytest, one run)", suite))

    print(f"{'measurement':<45} {'seconds':>8}")
    for name, seconds in rows:
        print(f"{name:<45} {seconds:>8.1f}")
    print(f"make synth / empty app: {rows[1][1] / rows[0][1]:.2f}x (median of {args.repeat} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
