"""scripts/bench.py: the per-stack marginal cost, and figures kept when a command fails."""

from __future__ import annotations

import subprocess
import types

import pytest

from ml_refarch.catalog import PATTERNS
from tests.load import load_by_path
from tests.support import ROOT

bench = load_by_path("ml_refarch_scripts_bench", ROOT / "scripts" / "bench.py")


class FakeMachine:
    """Runs nothing: each command takes the seconds its kind is given, on a fake clock."""

    def __init__(self, seconds: dict[str, float], failing: frozenset[str] = frozenset()):
        self.now = 0.0
        self.seconds = seconds
        self.failing = failing
        self.commands: list[list[str]] = []

    def kind(self, command: list[str]) -> str:
        if "pytest" in command:
            return "suite"
        app = command[command.index("--app") + 1] if "--app" in command else "app.py"
        if "empty_app.py" in app:
            return "empty"
        return "one" if "some_stacks_app.py" in app else "all"

    def run(self, command, env):
        self.commands.append(command)
        kind = self.kind(command)
        self.now += self.seconds.get(kind, 0.0)
        failed = kind in self.failing
        return subprocess.CompletedProcess(
            command, 1 if failed else 0, "1 failed, 9 passed\n" if failed else "", ""
        )


@pytest.fixture
def machine(monkeypatch):
    def make(**kwargs) -> FakeMachine:
        fake = FakeMachine(**kwargs)
        monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=lambda: fake.now))
        return fake

    return make


SECONDS = {"empty": 4.0, "one": 5.0, "all": 10.5, "suite": 100.0}


def test_prints_the_marginal_cost_from_all_stacks_and_one(machine, capsys):
    fake = machine(seconds=SECONDS)
    assert bench.main(["--skip-suite"], runner=fake.run) == 0
    out = capsys.readouterr().out
    n = len(PATTERNS)
    marginal = (10.5 - 5.0) / (n - 1)
    assert f"per-stack marginal cost: (10.5 - 5.0) / ({n} - 1) = {marginal:.2f} s" in out
    assert "empty CDK app" in out and "4.0" in out
    assert "noisy" in out
    synths = [c for c in fake.commands if c[:3] == ["npx", "cdk", "synth"]]
    one = next(c for c in synths if fake.kind(c) == "one")
    assert one[-1].endswith(PATTERNS[0].stack_name)
    assert not any("pytest" in c for c in fake.commands)


def test_a_failing_suite_keeps_the_synth_figures(machine, capsys):
    fake = machine(seconds=SECONDS, failing=frozenset({"suite"}))
    assert bench.main([], runner=fake.run) == 1
    out = capsys.readouterr().out
    assert "per-stack marginal cost" in out
    assert "FAILED (exit 1)" in out and "1 failed, 9 passed" in out
    assert "100.0" in out


def test_a_failing_synth_is_reported_without_a_marginal_cost(machine, capsys):
    fake = machine(seconds=SECONDS, failing=frozenset({"all"}))
    assert bench.main(["--skip-suite"], runner=fake.run) == 1
    out = capsys.readouterr().out
    assert "per-stack marginal cost" not in out
    assert "FAILED (exit 1)" in out and "empty CDK app" in out


def test_over_budget_is_said():
    timings = [bench.Timing("one stack (S)", 5.0), bench.Timing("all stacks (12, app.py)", 20.0)]
    assert "over the 0.5 s budget" in "\n".join(bench.report(timings, 12, 1))


def fake_corpus(root):
    """Two templates as the fetch leaves them: a file and an assembly's (with its manifest)."""
    (root / ".fetched").write_text("digest\n")
    snapshot = root / "pkg" / "integ.a.js.snapshot"
    snapshot.mkdir(parents=True)
    (root / "pkg" / "integ.b.expected.json").write_text("{}")
    (snapshot / "a.template.json").write_text("{}")
    (snapshot / "manifest.json").write_text("{}")
    return root


def check_runner(returncode: int, stdout: str, seconds: float, clock: FakeMachine):
    def run(command, env):
        clock.now += seconds
        assert command[1:4] == ["-m", "ml_refarch", "check"] and "--no-checkov" in command
        return subprocess.CompletedProcess(command, returncode, stdout, "")

    return run


def test_the_corpus_is_timed_per_template_with_cfn_lint_and_without(machine, tmp_path):
    clock = machine(seconds={})
    summary = "templates: 1 checked, 1 skipped, 0 failed to load; tool errors: 1\n"
    run = check_runner(2, summary, 1.5, clock)  # exit 2: a cdk-nag rule threw, still a run
    lines, failed = bench.corpus_timings(fake_corpus(tmp_path), {}, 1, run)
    assert not failed
    text = "\n".join(lines)
    assert "check, packs + cfn-lint" in text and "check, packs only" in text
    assert "0.75  (within the 1.0 s budget)" in text  # 1.5 s / 2 templates
    assert "2 templates" in text


def test_a_check_that_read_nothing_is_a_failed_measurement(machine, tmp_path):
    clock = machine(seconds={})
    run = check_runner(2, "", 1.0, clock)  # exit 2 without a summary: bad input
    lines, failed = bench.corpus_timings(fake_corpus(tmp_path), {}, 1, run)
    assert failed and "FAILED (exit 2)" in "\n".join(lines)


def test_no_corpus_says_how_to_fetch_it(tmp_path):
    with pytest.raises(SystemExit, match="make setup-dev"):
        bench.copy_corpus(tmp_path, tmp_path)
