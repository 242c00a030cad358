"""The retired services of the notes (ml_refarch/retired.py and its data file)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ml_refarch import retired
from ml_refarch.__main__ import main
from ml_refarch.retired import RetiredServicesError, catalog_sections, load, parse

ROOT = Path(__file__).resolve().parents[2]
#: The study notes, beside the project (or where ML_REFARCH_NOTES points).
NOTES = Path(
    os.environ.get("ML_REFARCH_NOTES", ROOT.parent / "shared" / "notes" / "ml-specialty-notes.md")
)

ROW = """
[[retired]]
name = "Amazon Kendra"
notes_service = "Kendra"
notes_quote = "Enterprise search"
status = "closed to new customers"
date = "2026-07-30"
page = "https://docs.aws.amazon.com/kendra/latest/dg/kendra-availability-change.html"
quote = "no longer open to new customers."
successor = "Amazon Bedrock Knowledge Bases"

[[notes]]
name = "Kendra"
retired = ["Amazon Kendra"]
"""
SECTIONS = {"etl-export": {"Data pipelines", "Step functions"}}


def test_the_committed_data_loads_and_every_notes_service_is_covered_or_explained():
    rows, notes = load()
    assert {r.name for r in rows} >= {
        "AWS Data Pipeline",
        "Amazon SageMaker Model Monitor",
        "Amazon Lex V1",
        "AWS IoT Greengrass Version 1",
        "Amazon Elastic Inference",
    }
    for entry in notes:
        assert entry.patterns or entry.retired or entry.note, entry.name


def test_a_valid_row_parses():
    rows, notes = parse(ROW, SECTIONS)
    assert rows[0].name == "Amazon Kendra" and notes[0].retired == ("Amazon Kendra",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('date = "2026-07-30"', 'date = "30/07/2026"'), "YYYY-MM-DD"),
        (('date = "2026-07-30"', 'date = ""'), "no date"),
        (("https://docs.aws.amazon.com/kendra", "http://example.com/kendra"), "https AWS page"),
        (('quote = "no longer', 'quote = "' + "word " * 26 + "no longer"), "25 words"),
        (('successor = "Amazon Bedrock Knowledge Bases"\n', ""), "keys must be"),
        (('successor = "Amazon', 'patterns = []\nsuccessor = "Amazon'), "keys must be"),
        (('retired = ["Amazon Kendra"]', 'note = "closed"'), "must list it under retired"),
        (('retired = ["Amazon Kendra"]', 'retired = ["Amazon Kendra", "X"]'), "no [[retired]] row"),
        (('notes_service = "Kendra"', 'notes_service = "Lex"'), "must list it under retired"),
        (('name = "Amazon Kendra"', 'name = ""'), "non-empty text"),
        (('[[notes]]\nname = "Kendra"', '[[notes]]\nname = "Kendra"\nnote = 3'), "notes_section"),
        (("[[notes]]", "[[notes]\n"), "not valid TOML"),
    ],
)
def test_bad_data_is_one_clear_error(change, message):
    old, new = change
    assert old in ROW
    with pytest.raises(RetiredServicesError, match=re.escape(message)):
        parse(ROW.replace(old, new, 1), SECTIONS)


def test_a_notes_service_needs_a_pattern_a_retired_row_or_a_note():
    text = ROW + '\n[[notes]]\nname = "Polly"\n'
    with pytest.raises(RetiredServicesError, match="give retired rows or a note"):
        parse(text, SECTIONS)
    parse(text.replace('name = "Polly"', 'name = "Polly"\nnote = "no pattern yet"'), SECTIONS)


def test_a_note_saying_no_pattern_yet_fails_once_a_pattern_names_the_service():
    text = ROW + '\n[[notes]]\nname = "Step functions"\nnote = "no pattern yet"\n'
    with pytest.raises(RetiredServicesError, match="etl-export"):
        parse(text, SECTIONS)


def test_a_pattern_replacing_a_service_without_a_row_is_refused():
    rows, _ = parse(ROW, SECTIONS, {"etl-export": ("Amazon Kendra",)})
    assert rows[0].patterns == ("etl-export",)
    with pytest.raises(RetiredServicesError, match="without a \\[\\[retired\\]\\] row"):
        parse(ROW, SECTIONS, {"etl-export": ("AWS Data Pipeline",)})


def test_a_service_listed_twice_is_refused():
    with pytest.raises(RetiredServicesError, match="named twice"):
        parse(ROW + '\n[[notes]]\nname = "Kendra"\nnote = "again"\n', SECTIONS)


def test_patterns_cover_the_services_their_notes_section_names():
    _, notes = load()
    by_name = {n.name: n for n in notes}
    for pattern_id, sections in catalog_sections().items():
        for section in sections & set(by_name):
            assert pattern_id in by_name[section].patterns


def test_list_prints_the_retired_services_after_the_catalog(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    catalog_end = out.index("redshift-ml")
    heading = out.index("Services in the notes that a new account cannot use")
    assert catalog_end < heading
    for row in load()[0]:
        assert row.name in out[heading:]


def notes_services(text: str) -> list[str]:
    """The services the notes name, by the rule the data file's header states."""
    names, chapter, section = [], "", ""
    for line in text.splitlines():
        if heading := re.match(r"^(#{2,4}) (.+?)\s*$", line):
            level, title = len(heading.group(1)), heading.group(2)
            chapter, section = (title, "") if level == 2 else (chapter, title)
            listing = title in ("Sagemaker tools", "Other AI services")  # its bullets are
            if (
                level == 3
                and not listing
                and chapter in ("Data engineering", "High-level AI services")
            ) or (level == 4 and chapter == "ML implementation and operations"):
                names.append(title)
            continue
        bullet = re.match(r"^\* (?:SG )?([A-Z][^:]*?)\s*(?::|$)", line)
        if bullet and section in ("Sagemaker tools", "Other AI services"):
            names.append(bullet.group(1))
        if sg := re.match(r"^\* (SG [a-z][^:]*?):", line):
            names.append(sg.group(1))
        if section == "SageMaker on the Edge" and (bold := re.match(r"^\* \*\*(.+?)\*\*", line)):
            names.append(bold.group(1))
    return names


@pytest.mark.skipif(not NOTES.is_file(), reason=f"the study notes are not at {NOTES}")
def test_the_data_is_in_step_with_the_notes():
    text = NOTES.read_text()
    rows, notes = load()
    named = notes_services(text)
    listed = [n.name for n in notes]
    assert (sorted(set(named) - set(listed)), sorted(set(listed) - set(named))) == ([], [])
    assert len(named) == len(set(named))
    for row in rows:
        assert row.notes_quote in text, row.name


def test_the_notes_rule_finds_services_and_skips_techniques():
    text = "\n".join(
        [
            "## Data engineering",
            "### Data pipelines",
            "* ETL service",
            "## Sagemaker",
            "### Sagemaker tools",
            "* SG Debugger",
            "* Model monitor",
            "  * Monitoring types:",
            "## High-level AI services",
            "### Other AI services",
            "* Kendra: enterprise search",
            "## Evaluation",
            "* Confusion matrix: a table",
            "## ML implementation and operations",
            "### SageMaker on the Edge",
            "* **Neo**",
            "### Inference",
            "#### Elastic inference",
        ]
    )
    assert notes_services(text) == [
        "Data pipelines",
        "Debugger",
        "Model monitor",
        "Kendra",
        "Neo",
        "Elastic inference",
    ]


def test_the_page_holds_the_generated_rows():
    page = (ROOT / "docs" / "retired-services.md").read_text()
    assert retired.document() in page
