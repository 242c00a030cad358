"""The catalog, the README table, docs pages, and the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from ml_refarch import catalog
from ml_refarch.__main__ import COMMANDS, main
from ml_refarch.compliance import controls
from ml_refarch.compliance.report import (
    Acknowledgment,
    StackReport,
    assembly_line,
    read_assembly,
    summary_lines,
)
from tests.support import ROOT


def test_readme_carries_the_catalog_table():
    readme = (ROOT / "README.md").read_text()
    assert catalog.markdown_table() in readme, (
        "README.md's pattern table differs from ml_refarch/catalog.py: run make docs"
    )


def test_every_pattern_has_a_docs_page_smoke_checks_and_output_names():
    for pattern in catalog.PATTERNS:
        assert (ROOT / pattern.docs_page).is_file(), pattern.docs_page
        assert pattern.has_module("smoke") and pattern.has_module("outputs"), pattern.package
        assert hasattr(pattern.module("smoke"), "SMOKE"), pattern.package


def test_pattern_ids_and_stack_names_are_unique_and_well_formed():
    ids = [p.id for p in catalog.PATTERNS]
    names = [p.stack_name for p in catalog.PATTERNS]
    assert len(set(ids)) == len(ids) and len(set(names)) == len(names)
    for pattern in catalog.PATTERNS:
        assert pattern.stack_name.startswith("MlRefArch-")
        assert pattern.stack_type.pattern_id == pattern.id


def test_by_id_names_the_known_patterns_when_it_fails():
    with pytest.raises(KeyError, match="kinesis-parquet"):
        catalog.by_id("no-such-pattern")


def test_list_prints_every_pattern(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for pattern in catalog.PATTERNS:
        assert pattern.id in out and pattern.stack_name in out


def test_summary_prints_a_line_per_stack_and_totals(synthesized, capsys):
    outdir = synthesized("sandbox").outdir
    assert main(["summary", str(outdir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"assembly: {len(catalog.PATTERNS)} stacks, sandbox profile, aws target"
    lines = [line for line in out[1:] if not line.startswith("warning")]
    reports = read_assembly(outdir)
    assert lines == summary_lines(reports)
    assert len(lines) == len(reports) + 1
    stack_line = next(line for line in lines if line.startswith("MlRefArch-KinesisParquet"))
    template = synthesized("sandbox").templates["MlRefArch-KinesisParquet"]
    assert f"resources {len(template['Resources']):>4}" in stack_line
    assert "AwsSolutions " in stack_line


def test_summary_counts_a_control_family_once_per_resource():
    reason = "why"
    in_vpc = controls.LAMBDA_INSIDE_VPC.rule_ids
    acks = (
        *(Acknowledgment("S/Function/Resource", rule_id, reason) for rule_id in in_vpc),
        Acknowledgment("S/Function/Resource", "AwsSolutions-IAM5[Resource::*]", reason),
        Acknowledgment("S/Function/Resource", "AwsSolutions-IAM5[Resource::a/*]", reason),
        *(Acknowledgment("S/Other/Resource", rule_id, reason) for rule_id in in_vpc),
        Acknowledgment("S/Other/Resource", "Serverless-LambdaTracing", reason),
    )
    report = StackReport("S", {"Resources": {"Function": {}, "Other": {}}}, acks)
    # The family once per resource (2), each IAM5 finding (2), the single rule (1); counting
    # the family once per pack (three cdk-nag packs and Control Tower) would give 11.
    assert report.acknowledged_controls == 5
    stack_line, total_line = summary_lines([report, StackReport("T", {"Resources": {}})])[::2]
    assert "resources    2  acknowledged controls   5, findings  11 (" in stack_line
    assert (
        "AwsSolutions 2, HIPAA.Security 2, NIST.800.53.R5 2, PCI.DSS.321 2, Serverless 1, "
        "MLSpecialty 0, ControlTower 2)"
    ) in stack_line
    assert total_line.startswith("total") and "controls   5, findings  11" in total_line


def test_summary_of_a_missing_assembly_is_a_one_line_error(tmp_path, capsys):
    assert main(["summary", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no manifest.json" in err


def test_app_reports_bad_context_as_one_error_without_a_stack_trace(tmp_path):
    env = dict(
        os.environ,
        CDK_OUTDIR=str(tmp_path),
        CDK_CONTEXT_JSON=json.dumps(
            {"profle": "production", "kinesis-parquet.retention_hours": "12"}
        ),
    )
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "did you mean 'profile'" in result.stderr
    assert "kinesis-parquet.retention_hours: received '12'" in result.stderr
    assert "Traceback" not in result.stderr and "jsii" not in result.stderr


def test_readme_carries_the_sandbox_idle_cost_table(synthesized):
    from ml_refarch.cost import cost_table_markdown, estimate_assembly, load_prices

    prices = load_prices()
    costs = estimate_assembly(synthesized("sandbox").templates, prices)
    table = cost_table_markdown(costs, "sandbox", prices)
    assert table in (ROOT / "README.md").read_text(), (
        "README.md's idle-cost table is stale: run make docs"
    )


def test_cost_command_prints_every_stack(capsys):
    assert main(["cost"]) == 0
    out = capsys.readouterr().out
    for pattern in catalog.PATTERNS:
        assert f"{pattern.stack_name}: about $" in out


def test_summary_warns_about_stacks_that_cost_much_idle(synthesized, capsys):
    assert main(["summary", str(synthesized("sandbox").outdir)]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning")]
    from ml_refarch.cost import IDLE_WARNING_THRESHOLD_USD, estimate_assembly, load_prices

    costs = estimate_assembly(synthesized("sandbox").templates, load_prices())
    expensive = [c.stack_name for c in costs if c.monthly_usd > IDLE_WARNING_THRESHOLD_USD]
    assert len(expensive) >= 3
    assert len(warnings) == len(expensive)
    for stack_name in expensive:
        assert any(f"{stack_name} costs about $" in line for line in warnings), stack_name
    assert any("MlRefArch-FsxTraining costs about $169" in line for line in warnings)
    assert not any("MlRefArch-ServerlessInference" in line for line in warnings)


def test_every_pattern_page_embeds_its_diagram():
    for pattern in catalog.PATTERNS:
        page = (ROOT / pattern.docs_page).read_text()
        assert f"](../diagrams/{pattern.id}.svg)" in page, pattern.docs_page
        assert (ROOT / "docs" / "diagrams" / f"{pattern.id}.svg").is_file()


def test_readme_documents_every_subcommand():
    readme = (ROOT / "README.md").read_text()
    commands = [command.name for command in COMMANDS]
    assert set(commands) >= {
        "list", "summary", "check", "rules", "cost", "diagram", "rehearse", "docs"
    }  # fmt: skip
    for command in commands:
        assert f"| `{command}" in readme, command


# --------------------------------------------------------------------------------------
# --help, closed pipes, the assembly's profile


def _commands_in_help(text: str) -> list[str]:
    """The subcommands a ``--help`` text lists under ``commands:``, one per line."""
    section = text.split("commands:", 1)[1]
    return re.findall(r"^    ([a-z][a-z-]*)\s{2,}\S", section, flags=re.MULTILINE)


def _help(argv: list[str], capsys) -> str:
    """What ``--help`` prints; argparse exits, a command that reads its own line returns."""
    try:
        status = main(argv)
    except SystemExit as exited:
        status = exited.code
    assert status == 0
    return capsys.readouterr().out


def test_help_lists_every_subcommand_with_a_one_line_help(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    text = _help(["--help"], capsys)
    assert _commands_in_help(text) == [command.name for command in COMMANDS]
    width = max(len(command.name) for command in COMMANDS)
    for command in COMMANDS:
        assert f"    {command.name:<{width}}  {command.help}\n" in text, command.name
        assert len(command.help) <= 70 and "\n" not in command.help
    assert "``" not in text  # no docstring markup


def test_help_check_finds_a_subcommand_missing_from_help(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    text = _help(["--help"], capsys)
    without_docs = "\n".join(line for line in text.splitlines() if " docs " not in line)
    assert "docs" not in _commands_in_help(without_docs)


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_subcommand_has_its_own_help(command, capsys):
    text = _help([command, "--help"], capsys)
    assert text.startswith(f"usage: python -m ml_refarch {command}")
    assert next(c for c in COMMANDS if c.name == command).help.split()[0] in text


def _run_with_closed_stdout(args: list[str]) -> subprocess.CompletedProcess:
    """Run ``args`` with stdout a pipe whose reading end is already closed (``| head -0``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            args, cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True, check=False
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("argv", [["list"], ["rules"], ["--help"], ["summary"]])
def test_a_closed_stdout_ends_quietly(argv, synthesized):
    if argv == ["summary"]:
        argv = ["summary", str(synthesized("sandbox").outdir)]
    result = _run_with_closed_stdout([sys.executable, "-m", "ml_refarch", *argv])
    assert result.stderr == ""
    assert result.returncode in (0, 141)  # --help may exit before it writes; 141 = SIGPIPE


def test_the_closed_stdout_check_sees_a_traceback():
    result = _run_with_closed_stdout([sys.executable, "-c", "print('x' * 100_000)"])
    assert "BrokenPipeError" in result.stderr


def _template(profile: str | None, *, local: bool = False, tag_only: bool = False) -> dict:
    template: dict = {"Resources": {}}
    if profile and not tag_only:
        template["Description"] = f"ml-refarch pattern x ({profile} profile): X."
    if profile and tag_only:
        tags = [{"Key": "ml-refarch:profile", "Value": profile}]
        template["Resources"]["Key"] = {"Type": "AWS::KMS::Key", "Properties": {"Tags": tags}}
    if not local:
        template["Rules"] = {"CheckBootstrapVersion": {}}
    return template


def _line(*templates: dict) -> str:
    return assembly_line([StackReport(f"S{i}", t) for i, t in enumerate(templates)])


def test_assembly_line_names_the_profile_and_target():
    assert _line(_template("sandbox")) == "assembly: 1 stack, sandbox profile, aws target"
    assert _line(_template("production", tag_only=True), _template("production")) == (
        "assembly: 2 stacks, production profile, aws target"
    )
    assert _line(_template("sandbox", local=True)).endswith("sandbox profile, local target")
    assert _line(_template("sandbox"), _template("production", local=True)) == (
        "assembly: 2 stacks, mixed profiles (production, sandbox), mixed targets (aws, local)"
    )
    assert _line(_template(None)) == "assembly: 1 stack, unknown profile, aws target"
    assert _line() == "assembly: 0 stacks, unknown profile, unknown target"


def test_summary_names_the_local_target(synthesized, capsys):
    assert main(["summary", str(synthesized("local").outdir)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"assembly: {len(catalog.PATTERNS)} stacks, sandbox profile, local target"
