"""Generated documents: the committed copies are what ``make docs`` writes."""

from __future__ import annotations

import shutil

import pytest

from ml_refarch import generated_docs
from ml_refarch.__main__ import main
from ml_refarch.generated_docs import (
    DOCUMENTS,
    StaleMarkers,
    begin_marker,
    end_marker,
    expected,
    splice,
    stale,
    write,
)
from tests.support import ROOT


@pytest.fixture
def templates(synthesized):
    """The session's synthesized profiles instead of a synth of their own."""
    return lambda profile: synthesized(profile).templates


def _copy_project_docs(tmp_path):
    for path in {document.path for document in DOCUMENTS}:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, tmp_path / path)


def test_every_generated_document_is_current(templates):
    files = expected(templates=templates)
    assert {p.relative_to(ROOT).as_posix() for p in files} >= {"README.md", "docs/rules.md"}
    assert stale(files) == [], "generated documents are stale: run make docs"


def test_a_stale_copy_is_detected_and_rewritten_outside_markers_unchanged(tmp_path, templates):
    _copy_project_docs(tmp_path)
    readme, rules = tmp_path / "README.md", tmp_path / "docs" / "rules.md"
    original_readme, original_rules = readme.read_text(), rules.read_text()
    row = "| [`kinesis-parquet`](docs/patterns/kinesis-parquet.md) |"
    assert row in original_readme
    readme.write_text(original_readme.replace(row, "| [`kinesis-parquet`](elsewhere.md) |"))
    rules.write_text(original_rules + "a line by hand\n")
    files = expected(root=tmp_path, templates=templates)
    assert sorted(stale(files)) == sorted([readme, rules])
    assert sorted(write(files)) == sorted([readme, rules])
    assert readme.read_text() == original_readme and rules.read_text() == original_rules
    assert stale(files) == []


def test_a_stale_cost_table_is_detected(tmp_path, templates):
    _copy_project_docs(tmp_path)
    readme = tmp_path / "README.md"
    text = readme.read_text()
    figure = "| `MlRefArch-KinesisParquet` | 11.95 |"
    assert figure in text
    readme.write_text(text.replace(figure, "| `MlRefArch-KinesisParquet` | 12.95 |"))
    assert stale(expected(root=tmp_path, templates=templates)) == [readme]


def test_splice_replaces_only_the_marked_block():
    text = f"head\n{begin_marker('b')}\nold\nlines\n{end_marker('b')}\ntail\n"
    assert splice(text, "b", "new") == f"head\n{begin_marker('b')}\nnew\n{end_marker('b')}\ntail\n"


@pytest.mark.parametrize(
    "text",
    [
        "no markers\n",
        f"{begin_marker('b')}\nonly the opening one\n",
        f"{end_marker('b')}\n{begin_marker('b')}\n",
        f"{begin_marker('b')}\n{end_marker('b')}\n{begin_marker('b')}\n{end_marker('b')}\n",
    ],
)
def test_splice_refuses_missing_or_misplaced_markers(text):
    with pytest.raises(StaleMarkers, match="expected one"):
        splice(text, "b", "new")


def test_docs_check_exits_1_when_stale_and_names_the_file(tmp_path, templates, monkeypatch, capsys):
    _copy_project_docs(tmp_path)
    monkeypatch.setattr(generated_docs, "ROOT", tmp_path)
    monkeypatch.setattr(
        generated_docs, "expected", lambda: expected(root=tmp_path, templates=templates)
    )
    assert main(["docs", "--check"]) == 0
    rules = tmp_path / "docs" / "rules.md"
    rules.write_text(rules.read_text() + "stale\n")
    assert main(["docs", "--check"]) == 1
    assert "stale: docs/rules.md (run make docs)" in capsys.readouterr().err
    assert main(["docs"]) == 0
    assert capsys.readouterr().out == "wrote docs/rules.md\n"
    assert main(["docs", "--check"]) == 0
