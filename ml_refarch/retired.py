"""Services the notes name that a new AWS account can no longer use, and what replaces them.

The data is ``ml_refarch/data/retired-services.toml`` (its header explains the fields): one
``[[retired]]`` row per closed or retired service, with its AWS page, and the notes' service
list (``[[notes]]``), each service with its retired rows or why nothing is built. Which
patterns cover what comes from the catalog: a pattern's ``notes_section`` names the notes'
services it builds, and its ``replaces`` the retired services whose successor it is.
``python -m ml_refarch list`` prints the rows after the catalog, and
``docs/retired-services.md`` holds them as a generated table.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from ml_refarch.catalog import discover

DATA = Path(__file__).parent / "data" / "retired-services.toml"
#: Where a status page may live: AWS documentation, blogs and announcements.
AWS_PAGE = re.compile(r"https://(docs\.aws\.amazon\.com|aws\.amazon\.com)/\S+")
QUOTE_WORDS = 25


class RetiredServicesError(Exception):
    """The data file is malformed: one line naming the row and what is wrong."""


@dataclass(frozen=True)
class Retired:
    """One closed or retired service (or closed part of a service)."""

    name: str
    notes_service: str
    notes_quote: str
    status: str
    date: str
    page: str
    quote: str
    successor: str
    patterns: tuple[str, ...]  # the patterns whose PATTERN.replaces names the service


@dataclass(frozen=True)
class NotesService:
    """One service the notes name, and how the project covers it.

    ``patterns`` are the catalog's patterns whose ``notes_section`` names the service.
    """

    name: str
    patterns: tuple[str, ...]
    retired: tuple[str, ...]
    note: str


_RETIRED_KEYS = set(Retired.__dataclass_fields__) - {"patterns"}
_NOTES_KEYS = {"name", "retired", "note"}
#: A note saying nothing is built yet, which a pattern naming the service makes false.
NOT_YET = "no pattern yet"


def _strings(row: dict, key: str, where: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RetiredServicesError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(value)


def _retired(row: dict, replacing: dict[str, tuple[str, ...]]) -> Retired:
    where = f"[[retired]] {row.get('name', '?')!r}"
    if set(row) != _RETIRED_KEYS:
        raise RetiredServicesError(
            f"{where}: keys must be {sorted(_RETIRED_KEYS)}, got {sorted(row)}"
        )
    text = {k: row[k] for k in _RETIRED_KEYS - {"date"}}
    for key, value in text.items():
        if not isinstance(value, str) or not value.strip():
            raise RetiredServicesError(f"{where}: {key} must be non-empty text")
    if row["date"]:
        try:
            date.fromisoformat(row["date"])
        except (TypeError, ValueError):
            raise RetiredServicesError(f"{where}: date must be YYYY-MM-DD or ''") from None
    elif "no date" not in row["status"]:
        raise RetiredServicesError(f"{where}: without a date the status must say 'no date'")
    if not AWS_PAGE.fullmatch(row["page"]):
        raise RetiredServicesError(f"{where}: page must be an https AWS page, got {row['page']}")
    if len(row["quote"].split()) > QUOTE_WORDS:
        raise RetiredServicesError(f"{where}: quote longer than {QUOTE_WORDS} words")
    return Retired(**row, patterns=replacing.get(row["name"], ()))


def _notes(row: dict, sections: dict[str, set[str]]) -> NotesService:
    where = f"[[notes]] {row.get('name', '?')!r}"
    if not set(row) <= _NOTES_KEYS or not isinstance(row.get("name"), str):
        raise RetiredServicesError(f"{where}: keys must be among {sorted(_NOTES_KEYS)}")
    retired, note = _strings(row, "retired", where), row.get("note", "")
    patterns = tuple(p for p, named in sections.items() if row["name"] in named)
    if not isinstance(note, str) or not (patterns or retired or note.strip()):
        raise RetiredServicesError(
            f"{where}: no pattern names it in its notes_section: give retired rows or a note"
        )
    if patterns and note.startswith(NOT_YET):
        raise RetiredServicesError(f"{where}: note says {NOT_YET!r} but {patterns} name it")
    return NotesService(row["name"], patterns, retired, note)


def parse(
    text: str,
    sections: dict[str, set[str]],
    replaces: dict[str, tuple[str, ...]] | None = None,
) -> tuple[tuple[Retired, ...], tuple[NotesService, ...]]:
    """The rows and the notes' service list of ``text``, checked against each other.

    ``sections``: the notes sections each pattern id names (its ``notes_section``);
    ``replaces``: the retired services each pattern id builds the successor of.
    """
    replacing: dict[str, tuple[str, ...]] = {}
    for pattern_id, names in (replaces or {}).items():
        for name in names:
            replacing[name] = (*replacing.get(name, ()), pattern_id)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RetiredServicesError(f"not valid TOML: {error}") from None
    rows = tuple(_retired(row, replacing) for row in data.get("retired", []))
    notes = tuple(_notes(row, sections) for row in data.get("notes", []))
    for label, names in (("retired", [r.name for r in rows]), ("notes", [n.name for n in notes])):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise RetiredServicesError(f"[[{label}]] named twice: {twice}")
    by_name = {n.name: n for n in notes}
    for row in rows:
        entry = by_name.get(row.notes_service)
        if entry is None or row.name not in entry.retired:
            raise RetiredServicesError(
                f"[[retired]] {row.name!r}: the [[notes]] entry {row.notes_service!r} must list "
                "it under retired"
            )
    listed = {r.name for r in rows}
    unknown = sorted(set(replacing) - listed)
    if unknown:
        raise RetiredServicesError(
            f"PATTERN.replaces names services without a [[retired]] row: {unknown}"
        )
    for entry in notes:
        missing = [r for r in entry.retired if r not in listed]
        if missing:
            raise RetiredServicesError(f"[[notes]] {entry.name!r}: no [[retired]] row {missing}")
    return rows, notes


def catalog_sections() -> dict[str, set[str]]:
    """Pattern id -> the notes sections its ``notes_section`` names."""
    return {p.id: {s.strip() for s in p.notes_section.split(";")} for p in discover()}


@cache
def load() -> tuple[tuple[Retired, ...], tuple[NotesService, ...]]:
    replaces = {p.id: p.replaces for p in discover()}
    return parse(DATA.read_text(), catalog_sections(), replaces)


def _successor(row: Retired) -> str:
    links = ", ".join(f"[`{p}`](patterns/{p}.md)" for p in row.patterns)
    return links or "none in this project"


def markdown_table() -> str:
    """The table of ``docs/retired-services.md``."""
    rows, _ = load()
    lines = [
        "| Service | In the notes | Status | Since | AWS page | Successor | Pattern |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f'| {r.name} | {r.notes_service}: "{r.notes_quote}" | {r.status} | '
            f"{r.date or 'not dated'} | [{r.quote}]({r.page}) | {r.successor} | {_successor(r)} |"
        )
    return "\n".join(lines)


def coverage_markdown() -> str:
    """The notes' service list, each with what covers it."""
    _, notes = load()
    lines = ["| Service in the notes | Patterns | Retired | Note |", "| --- | --- | --- | --- |"]
    for n in notes:
        patterns = ", ".join(f"[`{p}`](patterns/{p}.md)" for p in n.patterns)
        lines.append(f"| {n.name} | {patterns} | {'; '.join(n.retired)} | {n.note} |")
    return "\n".join(lines)


def document() -> str:
    """The generated block of ``docs/retired-services.md``: the rows, then the coverage."""
    return "\n".join(
        [
            markdown_table(),
            "",
            "## Every service the notes name",
            "",
            "What covers each: the patterns whose notes section names it, its retired rows above,",
            "or why nothing is built.",
            "",
            coverage_markdown(),
        ]
    )


def list_lines() -> list[str]:
    """What ``python -m ml_refarch list`` prints after the catalog."""
    rows, _ = load()
    width = max(len(r.name) for r in rows)
    lines = [
        "",
        "Services in the notes that a new account cannot use (docs/retired-services.md):",
        f"{'SERVICE':<{width}}  SINCE       SUCCESSOR (PATTERN)",
    ]
    for r in rows:
        built = f" ({', '.join(r.patterns)})" if r.patterns else ""
        lines.append(f"{r.name:<{width}}  {r.date or 'not dated':<10}  {r.successor}{built}")
    return lines
