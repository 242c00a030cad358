"""Test double of Glue's ``EntityDetector`` for the smoke check's fake Glue job.

Real detection is Glue's (``awsglueml.transforms.EntityDetector``, see job/redact_pii.py); this
double only stands in for it on plain Python rows, with a few regular expressions, and returns
results in the shapes the job reads: ``detect`` adds a ``DetectedEntities``-style column mapping
column -> [{"entityType", "actionUsed", "start", "end"}], ``classify_columns`` returns
column -> entity types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

PATTERNS: dict[str, re.Pattern[str]] = {
    "EMAIL": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    "USA_SSN": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "CREDIT_CARD": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    "PHONE_NUMBER": re.compile(r"(?<![\w-])\+?\d{0,3}[ .-]?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"),
    "IP_ADDRESS": re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    "MAC_ADDRESS": re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b"),
}


def _entities(text: str, entity_types: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {"entityType": entity, "actionUsed": "DETECT", "start": match.start(), "end": match.end()}
        for entity in entity_types
        if entity in PATTERNS
        for match in PATTERNS[entity].finditer(text)
    ]


class FakeEntityDetector:
    """``detect`` and ``classify_columns`` over a list of dict rows instead of a DynamicFrame."""

    def detect(
        self, rows: Sequence[Mapping[str, Any]], entity_types: Sequence[str], column: str
    ) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            found = {name: _entities(value or "", entity_types) for name, value in row.items()}
            out.append({**row, column: {name: hits for name, hits in found.items() if hits}})
        return out

    def classify_columns(
        self,
        rows: Sequence[Mapping[str, Any]],
        entity_types: Sequence[str],
        sample_fraction: float,
        threshold_fraction: float,
    ) -> dict[str, list[str]]:
        sample = rows[: max(1, round(len(rows) * sample_fraction))] if rows else []
        classified: dict[str, list[str]] = {}
        for name in sample[0] if sample else ():
            cells = [(row.get(name) or "").strip() for row in sample]
            for entity in entity_types:
                whole = [cell for cell in cells if cell and PATTERNS[entity].fullmatch(cell)]
                if whole and len(whole) / len(cells) >= threshold_fraction:
                    classified.setdefault(name, []).append(entity)
        return classified
