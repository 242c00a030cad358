"""A diagram's fingerprint: what it shows, so that a committed drawing can be checked.

The SVG starts with the SHA-256 of the graph's fingerprint (:func:`diagram_fingerprint`),
so a committed diagram can be checked for staleness without drawing it again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import networkx as nx

from ml_refarch import catalog
from ml_refarch.diagram.graph import build_graph

#: Bump when the drawing changes in a way the graph does not show, so that committed
#: diagrams read as stale (the version is part of the fingerprint).
DIAGRAM_FORMAT_VERSION = 1

FINGERPRINT_COMMENT = "<!-- ml-refarch diagram fingerprint: {digest} -->"
_FINGERPRINT_RE = re.compile(r"<!-- ml-refarch diagram fingerprint: ([0-9a-f]{64}) -->")


def title(pattern_id: str) -> tuple[str, str]:
    """The catalog title and a subtitle; an id not in the catalog stands for itself."""
    try:
        pattern = catalog.by_id(pattern_id)
    except KeyError:
        return pattern_id, pattern_id
    return pattern.title, f"{pattern.id}  ·  stack {pattern.stack_name}"


def diagram_fingerprint(pattern_id: str, template: Mapping[str, Any]) -> dict[str, Any]:
    """What a diagram shows, as sorted lists: nodes, service groups and edges."""
    return graph_fingerprint(pattern_id, build_graph(pattern_id, template))


def fingerprint_digest(pattern_id: str, template: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the fingerprint's canonical JSON."""
    return digest(diagram_fingerprint(pattern_id, template))


def digest(fingerprint: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a fingerprint's canonical JSON."""
    canonical = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def graph_fingerprint(pattern_id: str, graph: nx.DiGraph) -> dict[str, Any]:
    """What a graph shows, as sorted lists: nodes, service groups and edges."""
    nodes = [graph.nodes[n]["node"] for n in graph.nodes]
    groups: dict[str, list[str]] = {}
    for node in nodes:
        groups.setdefault(node.group, []).append(node.id)
    return {
        "format": DIAGRAM_FORMAT_VERSION,
        "pattern": pattern_id,
        "title": title(pattern_id)[0],
        "subtitle": title(pattern_id)[1],
        "nodes": sorted(
            (
                {
                    "id": n.id,
                    "type": n.type,
                    "group": n.group,
                    "label": n.label,
                    "detail": n.detail,
                    "pseudo": n.pseudo,
                }
                for n in nodes
            ),
            key=lambda n: n["id"],
        ),
        "groups": [{"name": name, "nodes": sorted(ids)} for name, ids in sorted(groups.items())],
        "edges": sorted(
            (
                {"source": e.source, "target": e.target, "kind": e.kind, "label": e.label}
                for e in (graph.edges[pair]["edge"] for pair in graph.edges)
            ),
            key=lambda e: (e["source"], e["target"]),
        ),
    }


def embedded_fingerprint(svg: str) -> str | None:
    """The fingerprint digest a diagram was drawn from, or None if it carries none."""
    found = _FINGERPRINT_RE.search(svg[:2000])
    return found.group(1) if found else None
