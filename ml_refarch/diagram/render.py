"""A diagram drawn as SVG with matplotlib, the same bytes for the same graph.

The SVG is written with a fixed hash salt, no dates and text kept as text, under
matplotlib's default style (not whatever a matplotlibrc on the machine says), on a bare
``Figure`` (no GUI backend). Flows are heavy arrows with their labels; dependencies are
lighter lines whose style the legend names. matplotlib is imported when drawing starts.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ml_refarch.diagram import fingerprint
from ml_refarch.diagram.graph import RELATION_LABELS
from ml_refarch.diagram.layout import (
    FONT_FAMILY,
    GROUP_PAD_IN,
    GROUP_TITLE_IN,
    MARGIN_IN,
    MAX_DETAIL_CHARS,
    MAX_LABEL_CHARS,
    Layout,
    Rect,
    bundles,
    layout,
)
from ml_refarch.diagram.model import (
    EDGE_KINDS,
    ENCRYPTS,
    FLOW,
    LOGS_TO,
    NETWORK,
    OTHER_GROUP,
    RUNS_AS,
    USES,
    Edge,
    Node,
)
from ml_refarch.diagram.services import GROUPS_BY_NAME

EDGE_STYLES: dict[str, dict[str, Any]] = {
    FLOW: {"color": "#232F3E", "linewidth": 1.5, "linestyle": "solid", "alpha": 0.95},
    ENCRYPTS: {"color": "#C7511F", "linewidth": 0.8, "linestyle": (0, (1, 2)), "alpha": 0.6},
    RUNS_AS: {"color": "#BF0816", "linewidth": 0.8, "linestyle": (0, (4, 2)), "alpha": 0.55},
    LOGS_TO: {"color": "#B0084D", "linewidth": 0.8, "linestyle": (0, (5, 2, 1, 2)), "alpha": 0.55},
    NETWORK: {"color": "#6B40C9", "linewidth": 0.8, "linestyle": (0, (2, 2)), "alpha": 0.55},
    USES: {"color": "#687078", "linewidth": 0.8, "linestyle": "solid", "alpha": 0.6},
}
EDGE_LEGEND = {
    FLOW: "data flow",
    ENCRYPTS: "encrypts (KMS key)",
    RUNS_AS: "runs as / passes role",
    LOGS_TO: "logs to",
    NETWORK: "in VPC / security group",
    USES: "uses",
}
#: Dependency labels worth printing on the line (the legend names the others).
_SPOKEN_LABELS = frozenset(RELATION_LABELS.values())
_ARC_CANDIDATES = (0.0, 0.12, -0.12, 0.25, -0.25, 0.4, -0.4)
_RC = {
    "svg.hashsalt": "ml-refarch",
    "svg.fonttype": "none",
    "svg.id": None,
    "font.family": FONT_FAMILY,
    "path.simplify": True,
}


def _arc_point(a, b, rad: float, t: float) -> tuple[float, float]:
    """A point of matplotlib's arc3 curve from ``a`` to ``b``, in the axes' (y-down) units."""
    # arc3 puts its control point in display space (y up): flip y there and back.
    ax_, ay_, bx_, by_ = a[0], -a[1], b[0], -b[1]
    mx, my = (ax_ + bx_) / 2, (ay_ + by_) / 2
    cx, cy = mx + rad * (by_ - ay_), my - rad * (bx_ - ax_)
    x = (1 - t) ** 2 * ax_ + 2 * (1 - t) * t * cx + t**2 * bx_
    y = (1 - t) ** 2 * ay_ + 2 * (1 - t) * t * cy + t**2 * by_
    return x, -y


def _route(a: Rect, b: Rect, obstacles: Sequence[Rect]) -> float:
    """The first arc (straight if possible) from ``a`` to ``b`` that crosses no obstacle."""
    best, best_hits = 0.0, None
    for rad in _ARC_CANDIDATES:
        points = [_arc_point(a.centre, b.centre, rad, step / 20) for step in range(1, 20)]
        points = [p for p in points if not (a.contains(p) or b.contains(p))]
        hits = sum(1 for p in points for r in obstacles if r.contains(p, 0.02))
        if hits == 0:
            return rad
        if best_hits is None or hits < best_hits:
            best, best_hits = rad, hits
    return best


def _cut(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters so that it stays inside its box."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Canvas:
    """The axes being drawn on, with the layout and the patches arrows attach to."""

    axes: Any
    layout: Layout
    node_patches: dict[str, Any] = field(default_factory=dict)
    group_patches: dict[str, Any] = field(default_factory=dict)

    def rect_and_patch(self, end: str) -> tuple[Rect, Any]:
        if end.startswith(_GROUP_END):
            name = end.removeprefix(_GROUP_END)
            return self.layout.groups[name], self.group_patches[name]
        return self.layout.nodes[end], self.node_patches[end]


#: Marks an arrow end that is a service box rather than a node.
_GROUP_END = "group:"


def _draw_groups(canvas: _Canvas) -> None:
    from matplotlib.patches import FancyBboxPatch

    for name, rect in sorted(canvas.layout.groups.items()):
        group = GROUPS_BY_NAME.get(name, GROUPS_BY_NAME[OTHER_GROUP])
        canvas.axes.add_patch(
            FancyBboxPatch(
                (rect.x, rect.y),
                rect.w,
                rect.h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=group.face_colour,
                edgecolor=group.edge_colour,
                linewidth=1.0,
                zorder=0,
                clip_on=False,
            )
        )
        canvas.axes.text(
            rect.x + GROUP_PAD_IN,
            rect.y + GROUP_TITLE_IN * 0.62,
            name,
            fontsize=8,
            fontweight="bold",
            color=group.edge_colour,
            clip_on=False,
        )
        # An invisible square outline: what arrows to the whole box are clipped at.
        canvas.group_patches[name] = FancyBboxPatch(
            (rect.x, rect.y), rect.w, rect.h, boxstyle="square,pad=0", visible=False
        )
        canvas.axes.add_patch(canvas.group_patches[name])


def _draw_nodes(canvas: _Canvas, nodes: Mapping[str, Node]) -> None:
    from matplotlib.patches import FancyBboxPatch

    for node_id in sorted(nodes):
        node, rect = nodes[node_id], canvas.layout.nodes[node_id]
        group = GROUPS_BY_NAME.get(node.group, GROUPS_BY_NAME[OTHER_GROUP])
        patch = FancyBboxPatch(
            (rect.x, rect.y),
            rect.w,
            rect.h,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor="white",
            edgecolor=group.edge_colour,
            linewidth=1.0 if node.pseudo else 1.3,
            linestyle=(0, (3, 2)) if node.pseudo else "solid",
            zorder=3,
            clip_on=False,
        )
        canvas.axes.add_patch(patch)
        canvas.node_patches[node_id] = patch
        x, y = rect.centre
        common = {"ha": "center", "va": "center", "zorder": 4, "clip_on": False}
        canvas.axes.text(
            x,
            y - 0.07,
            _cut(node.label, MAX_LABEL_CHARS),
            fontsize=7.5,
            fontweight="bold",
            fontstyle="italic" if node.pseudo else "normal",
            color="#16191F",
            **common,
        )
        canvas.axes.text(
            x, y + 0.1, _cut(node.detail, MAX_DETAIL_CHARS), fontsize=6.5, color="#545B64", **common
        )


def _obstacles(canvas: _Canvas, ends: tuple[str, str]) -> list[Rect]:
    """What a line between ``ends`` should not cross: the other nodes (not those inside a
    box at one of its ends) and every box's title."""
    boxes = [
        canvas.layout.groups[e.removeprefix(_GROUP_END)] for e in ends if e.startswith(_GROUP_END)
    ]
    obstacles = [
        rect
        for node_id, rect in sorted(canvas.layout.nodes.items())
        if node_id not in ends and not any(box.contains(rect.centre) for box in boxes)
    ]
    # Box titles too, so that no line strikes through a service name.
    obstacles += [
        Rect(box.x, box.y, box.w, GROUP_TITLE_IN) for _, box in sorted(canvas.layout.groups.items())
    ]
    return obstacles


def _label_point(
    canvas: _Canvas, ends: tuple[Rect, Rect], rad: float, t: float
) -> tuple[float, float]:
    """Where a line's label goes: on the visible part of the line, between the borders of
    its two ends, the point ``t`` along it, or the nearest one where it covers no node."""
    start, end = ends
    samples = [_arc_point(start.centre, end.centre, rad, step / 40) for step in range(1, 40)]
    visible = [p for p in samples if not (start.contains(p) or end.contains(p))] or samples
    wanted = round(t * (len(visible) - 1))
    clear = [
        index
        for index, point in enumerate(visible)
        if not any(rect.contains(point, 0.08) for rect in canvas.layout.nodes.values())
    ]
    return visible[min(clear, key=lambda i: (abs(i - wanted), i)) if clear else wanted]


def _draw_arrow(
    canvas: _Canvas, ends: tuple[str, str], kind: str, label: str | None, t: float = 0.5
) -> None:
    """One arrow between two nodes or boxes (``group:`` ends), labelled at ``t`` along it."""
    from matplotlib.patches import FancyArrowPatch

    (start, start_patch), (end, end_patch) = (canvas.rect_and_patch(e) for e in ends)
    rad = _route(start, end, _obstacles(canvas, ends))
    style = EDGE_STYLES[kind]
    canvas.axes.add_patch(
        FancyArrowPatch(
            start.centre,
            end.centre,
            patchA=start_patch,
            patchB=end_patch,
            arrowstyle="-|>",
            mutation_scale=9 if kind == FLOW else 6,
            connectionstyle=f"arc3,rad={rad}",
            zorder=2 if kind == FLOW else 1,
            clip_on=False,
            **style,
        )
    )
    if label is None:
        return
    x, y = _label_point(canvas, (start, end), rad, t)
    canvas.axes.text(
        x,
        y,
        label,
        fontsize=6.5 if kind == FLOW else 6,
        fontstyle="normal" if kind == FLOW else "italic",
        color=style["color"],
        ha="center",
        va="center",
        zorder=5,
        clip_on=False,
        bbox={
            "boxstyle": "round,pad=0.15",
            "facecolor": "white",
            "edgecolor": "none",
            "alpha": 0.9,
        },
    )


def _draw_edges(canvas: _Canvas, graph: nx.DiGraph) -> None:
    edges: list[Edge] = [graph.edges[pair]["edge"] for pair in graph.edges]
    # A fan of flows into (or out of) one box is one arrow to (or from) the box.
    bundled = bundles(graph)
    for direction, node_id, group in sorted(set(bundled.values())):
        label = next(
            graph.edges[pair]["edge"].label
            for pair, bundle in sorted(bundled.items())
            if bundle == (direction, node_id, group)
        )
        ends = (node_id, _GROUP_END + group)
        _draw_arrow(canvas, ends if direction == "out" else (ends[1], ends[0]), FLOW, label)

    # A label shared by a fan-out (or fan-in) is printed once, near the shared end.
    single = [e for e in edges if (e.source, e.target) not in bundled]
    fan_out: dict[tuple[str, str], list[Edge]] = {}
    fan_in: dict[tuple[str, str], list[Edge]] = {}
    for edge in single:
        fan_out.setdefault((edge.source, edge.label), []).append(edge)
        fan_in.setdefault((edge.target, edge.label), []).append(edge)
    centre_y = {node_id: rect.centre[1] for node_id, rect in canvas.layout.nodes.items()}
    for edge in sorted(single, key=lambda e: (EDGE_KINDS.index(e.kind), e.source, e.target)):
        label: str | None = edge.label
        t = 0.5
        siblings_out = fan_out[(edge.source, edge.label)]
        siblings_in = fan_in[(edge.target, edge.label)]
        if not (edge.kind == FLOW or edge.label in _SPOKEN_LABELS):
            label = None
        elif len(siblings_out) > 1:
            middle = sorted(siblings_out, key=lambda e: centre_y[e.target])[len(siblings_out) // 2]
            label, t = (label if edge is middle else None), 0.3
        elif len(siblings_in) > 1:
            middle = sorted(siblings_in, key=lambda e: centre_y[e.source])[len(siblings_in) // 2]
            label, t = (label if edge is middle else None), 0.7
        _draw_arrow(canvas, (edge.source, edge.target), edge.kind, label, t)


def _draw_legend(canvas: _Canvas, graph: nx.DiGraph) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    kinds = sorted({graph.edges[pair]["edge"].kind for pair in graph.edges}, key=EDGE_KINDS.index)
    handles: list[Any] = [
        Line2D([], [], label=EDGE_LEGEND[kind], **EDGE_STYLES[kind]) for kind in kinds
    ]
    if any(graph.nodes[n]["node"].pseudo for n in graph.nodes):
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="#545B64",
                linestyle=(0, (3, 2)),
                label="implied, not a template resource",
            )
        )
    if handles:
        canvas.axes.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=(0.5, MARGIN_IN / canvas.layout.height),
            ncol=len(handles),
            frameon=False,
            fontsize=7,
            handlelength=3,
        )


def draw(pattern_id: str, graph: nx.DiGraph) -> str:
    """The graph drawn as SVG text, byte for byte the same for the same graph."""
    import matplotlib
    import matplotlib.style
    from matplotlib.figure import Figure

    title, subtitle = fingerprint.title(pattern_id)
    page = layout(graph)
    # Matplotlib's defaults, not whatever a matplotlibrc on this machine says, then ours.
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        # A bare Figure, not pyplot: no GUI backend, no global figure registry.
        figure = Figure(figsize=(page.width, page.height))
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_xlim(0, page.width)
        axes.set_ylim(page.height, 0)
        axes.set_axis_off()
        axes.text(MARGIN_IN, 0.38, title, fontsize=15, fontweight="bold", color="#232F3E")
        axes.text(MARGIN_IN, 0.62, subtitle, fontsize=8, color="#545B64")
        canvas = _Canvas(axes, page)
        _draw_groups(canvas)
        _draw_nodes(canvas, {n: graph.nodes[n]["node"] for n in graph.nodes})
        _draw_edges(canvas, graph)
        _draw_legend(canvas, graph)
        buffer = io.StringIO()
        figure.savefig(
            buffer, format="svg", metadata={"Title": title, "Date": None, "Creator": None}
        )
    return buffer.getvalue()
