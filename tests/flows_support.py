"""Test support for the diagram flows of the pattern units: reading a diagram's fingerprint."""

from __future__ import annotations


def edges_of(fingerprint: dict) -> dict[tuple[str, str], dict]:
    """A fingerprint's edges by (source, target)."""
    return {(e["source"], e["target"]): e for e in fingerprint["edges"]}


def node_of_type(fingerprint: dict, resource_type: str) -> str:
    """The id of the one node of this type (fails if there are none or several)."""
    (found,) = [n["id"] for n in fingerprint["nodes"] if n["type"] == resource_type]
    return found
