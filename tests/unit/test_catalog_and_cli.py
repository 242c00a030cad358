"""The catalog, the README table, docs pages, and the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ml_refarch import catalog
from ml_refarch.__main__ import main
from ml_refarch.compliance.report import read_assembly, summary_lines
from tests.support import ROOT


def test_readme_carries_the_catalog_table():
    readme = (ROOT / "README.md").read_text()
    assert catalog.markdown_table() in readme, (
        "README.md's pattern table differs from ml_refarch/catalog.py; paste "
        "`python -c 'from ml_refarch import catalog; print(catalog.markdown_table())'`"
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
    lines = [
        line for line in capsys.readouterr().out.splitlines() if not line.startswith("warning")
    ]
    reports = read_assembly(outdir)
    assert lines == summary_lines(reports)
    assert len(lines) == len(reports) + 1
    stack_line = next(line for line in lines if line.startswith("MlRefArch-KinesisParquet"))
    template = synthesized("sandbox").templates["MlRefArch-KinesisParquet"]
    assert f"resources {len(template['Resources']):>4}" in stack_line
    assert "AwsSolutions " in stack_line


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
        "README.md's idle-cost table is stale: paste `python -m ml_refarch cost --markdown`"
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
    from ml_refarch import __main__ as cli

    readme = (ROOT / "README.md").read_text()
    source = Path(cli.__file__).read_text()
    commands = re.findall(r'commands\.add_parser\(\s*"([a-z]+)"', source)
    assert set(commands) == {"list", "summary", "check", "rules", "cost", "diagram", "rehearse"}
    for command in commands:
        assert f"| `{command}" in readme, command
