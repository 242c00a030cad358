"""The smoke check's sample document: a one-page PDF with a small form and a table.

Written with the standard library only (PDF 1.4: one page, Helvetica text and ruled table
lines, a cross-reference table with byte offsets), so the smoke check uploads a document
whose content it knows without a binary file in the repository. Textract analyses PDF
documents asynchronously ("Calling Amazon Textract Asynchronous Operations",
https://docs.aws.amazon.com/textract/latest/dg/api-async.html).

``python -m ml_refarch.stacks.document_ai.sample_document OUT.pdf`` writes it to a file.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: What the form says (key, value), and the table's rows (the first is its header).
FORM = (("Name:", "Ana Carolina"), ("Phone:", "555-0100"), ("City:", "Lisbon"))
TABLE = (("Item", "Qty", "Price"), ("Widget", "2", "9.50"), ("Gadget", "1", "4.25"))

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
_CELL_WIDTH, _CELL_HEIGHT = 120, 28
_TABLE_LEFT, _TABLE_TOP = 72, 560


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content() -> bytes:
    lines = ["BT", "/F1 14 Tf"]
    for index, (key, value) in enumerate(FORM):
        y = 700 - 32 * index
        lines += [f"1 0 0 1 72 {y} Tm", f"({_escape(key)}) Tj"]
        lines += [f"1 0 0 1 160 {y} Tm", f"({_escape(value)}) Tj"]
    for row, cells in enumerate(TABLE):
        y = _TABLE_TOP - _CELL_HEIGHT * (row + 1) + 9
        for column, text in enumerate(cells):
            x = _TABLE_LEFT + _CELL_WIDTH * column + 8
            lines += [f"1 0 0 1 {x} {y} Tm", f"({_escape(text)}) Tj"]
    lines.append("ET")
    width = _CELL_WIDTH * len(TABLE[0])
    for row in range(len(TABLE) + 1):
        y = _TABLE_TOP - _CELL_HEIGHT * row
        lines.append(f"{_TABLE_LEFT} {y} m {_TABLE_LEFT + width} {y} l S")
    bottom = _TABLE_TOP - _CELL_HEIGHT * len(TABLE)
    for column in range(len(TABLE[0]) + 1):
        x = _TABLE_LEFT + _CELL_WIDTH * column
        lines.append(f"{x} {_TABLE_TOP} m {x} {bottom} l S")
    return "\n".join(lines).encode("latin-1")


def pdf() -> bytes:
    """The document's bytes."""
    content = _content()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            "/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
        ).encode(),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m ml_refarch.stacks.document_ai.sample_document OUT.pdf")
    Path(sys.argv[1]).write_bytes(pdf())
