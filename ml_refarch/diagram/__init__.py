"""Architecture diagrams of the patterns, drawn from their synthesized templates.

A diagram is a graph of the architecturally meaningful resources of one pattern's
template, in service boxes, with the pattern's known data flows drawn as heavy arrows and
every other reference as a lighter dependency. The engine knows no pattern: each unit
says its flows in ``ml_refarch/stacks/<pattern>/flows.py`` (:mod:`.model` has the types).

- :mod:`.model`: nodes, edges, edge kinds, and the flow types units declare,
- :mod:`.services`: service groups and readable names,
- :mod:`.template`: a template's resources sorted into nodes and folded plumbing,
- :mod:`.graph`: the graph (references plus the unit's flows),
- :mod:`.fingerprint`: what a diagram shows, hashed into the SVG,
- :mod:`.layout` and :mod:`.render`: where boxes go, and the deterministic SVG.

``python -m ml_refarch diagram PATTERN | --all`` writes ``docs/diagrams/<pattern>.svg``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ml_refarch import catalog
from ml_refarch.diagram.fingerprint import (
    FINGERPRINT_COMMENT,
    diagram_fingerprint,
    digest,
    embedded_fingerprint,
    fingerprint_digest,
    graph_fingerprint,
)
from ml_refarch.diagram.graph import build_graph, pattern_flows
from ml_refarch.diagram.render import draw

__all__ = [
    "DEFAULT_OUT_DIR",
    "FINGERPRINT_COMMENT",
    "build_graph",
    "diagram_fingerprint",
    "diagram_is_current",
    "diagram_path",
    "embedded_fingerprint",
    "fingerprint_digest",
    "pattern_flows",
    "render_pattern",
    "synthesize_templates",
    "write_pattern_diagram",
]

#: Where the committed diagrams live, relative to the project root.
DEFAULT_OUT_DIR = Path("docs/diagrams")


def render_pattern(pattern_id: str, template: Mapping[str, Any]) -> str:
    """The pattern's diagram as SVG text, its fingerprint digest in a comment at the top."""
    graph = build_graph(pattern_id, template)
    svg = draw(pattern_id, graph)
    comment = FINGERPRINT_COMMENT.format(digest=digest(graph_fingerprint(pattern_id, graph)))
    declaration, _, rest = svg.partition("\n")
    if declaration.startswith("<?xml"):
        # The XML declaration must stay first; the comment goes right after it.
        return f"{declaration}\n{comment}\n{rest}"
    return f"{comment}\n{svg}"


def diagram_path(pattern_id: str, out_dir: Path = DEFAULT_OUT_DIR) -> Path:
    """Where a pattern's diagram is written: ``<out_dir>/<pattern_id>.svg``."""
    return Path(out_dir) / f"{pattern_id}.svg"


def write_pattern_diagram(
    pattern_id: str, template: Mapping[str, Any], out_dir: Path = DEFAULT_OUT_DIR
) -> Path:
    """Write ``<out_dir>/<pattern_id>.svg`` and return its path."""
    path = diagram_path(pattern_id, out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Bytes, not text: the same file on every platform (no newline translation).
    path.write_bytes(render_pattern(pattern_id, template).encode("utf-8"))
    return path


def diagram_is_current(path: Path, pattern_id: str, template: Mapping[str, Any]) -> bool:
    """Whether the diagram at ``path`` was drawn from a graph equal to this template's."""
    if not Path(path).is_file():
        return False
    embedded = embedded_fingerprint(Path(path).read_text(encoding="utf-8"))
    return embedded == fingerprint_digest(pattern_id, template)


def synthesize_templates(pattern_ids: Sequence[str] | None = None) -> dict[str, dict]:
    """Templates by pattern id, synthesized with cdk.json's context (the sandbox profile).

    The same app ``cdk synth`` and the tests' "sandbox" variant synthesize, compliance gate
    included: its acknowledgment metadata feeds the hashed logical ids of some resources
    (API Gateway deployments), which the diagram shows.
    """
    from ml_refarch.app import synthesize_templates as synthesize

    wanted = [catalog.by_id(p) for p in pattern_ids] if pattern_ids else list(catalog.PATTERNS)
    templates = synthesize(only={pattern.stack_name for pattern in wanted}, compliance_gate=True)
    return {pattern.id: templates[pattern.stack_name] for pattern in wanted}
