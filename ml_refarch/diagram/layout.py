"""Where a diagram's boxes go: flow stages left to right, supporting services underneath.

Positions are in inches from the top-left corner of the page. The layout is computed from
the graph alone (no randomness), so one graph always gives the same page: service boxes
that pass data on stand in stages by their place in the flow, each stage a column of
boxes; every other service stands in a row (or rows) below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx

from ml_refarch.diagram.model import FLOW, Node
from ml_refarch.diagram.services import SERVICE_GROUPS

#: About 1150 px wide in a browser: the width of a docs page.
FIGURE_WIDTH_IN = 12.0
NODE_WIDTH_IN = 1.72
NODE_HEIGHT_IN = 0.46
NODE_GAP_X_IN = 0.14
NODE_GAP_Y_IN = 0.18
#: Between the layers of a box whose nodes pass data on: room for the flow's label.
LAYER_GAP_X_IN = 0.5
GROUP_PAD_IN = 0.12
GROUP_TITLE_IN = 0.26
GROUP_GAP_IN = 0.24
STAGE_GAP_MIN_IN = 0.55
STAGE_GAP_MAX_IN = 1.5
MARGIN_IN = 0.25
TITLE_BAND_IN = 0.8
BAND_GAP_IN = 0.5
LEGEND_BAND_IN = 0.5
#: A flow group taller than this many nodes gets another column.
MAX_COLUMN_NODES = 7
#: Longer node names (and type lines) are cut, so they stay inside their box.
MAX_LABEL_CHARS = 24
MAX_DETAIL_CHARS = 30
FONT_FAMILY = "DejaVu Sans"


@dataclass(frozen=True)
class Rect:
    """A rectangle in inches, from the top-left corner (y grows downwards)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def contains(self, point: tuple[float, float], margin: float = 0.0) -> bool:
        x, y = point
        return (
            self.x - margin <= x <= self.x + self.w + margin
            and self.y - margin <= y <= self.y + self.h + margin
        )


@dataclass
class Layout:
    """Where everything goes: the page size, and a rectangle per node and per service box."""

    width: float
    height: float
    nodes: dict[str, Rect]
    groups: dict[str, Rect]


def _acyclic(edges: Sequence[tuple[str, str]], nodes: Sequence[str] = ()) -> nx.DiGraph:
    """The edges, in order, without those that would close a cycle."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    for source, target in edges:
        if source == target:
            continue
        if target in graph and source in graph and nx.has_path(graph, target, source):
            continue
        graph.add_edge(source, target)
    return graph


def _ranks(graph: nx.DiGraph) -> dict[str, int]:
    """Longest-path depth of every node of a DAG."""
    rank: dict[str, int] = {}
    for node in nx.lexicographical_topological_sort(graph):
        rank[node] = max((rank[p] + 1 for p in graph.predecessors(node)), default=0)
    return rank


def _group_order(name: str) -> int:
    names = [group.name for group in SERVICE_GROUPS]
    return names.index(name) if name in names else len(names)


#: Where nodes sit in a service box: node -> (column, row), possibly half-way between two.
_Cells = dict[str, tuple[float, float]]


def _grid_cells(ids: Sequence[str], columns: int, *, by_column: bool) -> _Cells:
    """``ids`` in a grid of ``columns``, filled down each column first or along each row."""
    rows = -(-len(ids) // columns)
    cells: _Cells = {}
    for index, node_id in enumerate(ids):
        column, row = divmod(index, rows) if by_column else divmod(index, columns)[::-1]
        cells[node_id] = (float(column), float(row))
    return cells


def _layer_cells(layers: Sequence[Sequence[str]], *, as_columns: bool) -> _Cells:
    """One column (or row) per layer, each layer centred on the longest."""
    longest = max(len(layer) for layer in layers)
    cells: _Cells = {}
    for depth, layer in enumerate(layers):
        offset = (longest - len(layer)) / 2
        for index, node_id in enumerate(layer):
            across = offset + index
            cells[node_id] = (float(depth), across) if as_columns else (across, float(depth))
    return cells


def _extent(cells: _Cells) -> tuple[int, int]:
    """(columns, rows) of a box holding these cells."""
    columns = max(int(column + 0.5) for column, _ in cells.values()) + 1
    rows = max(int(row + 0.5) for _, row in cells.values()) + 1
    return columns, rows


def _place(
    origin_x: float, origin_y: float, cells: _Cells, gap_x: float = NODE_GAP_X_IN
) -> dict[str, Rect]:
    return {
        node_id: Rect(
            origin_x + GROUP_PAD_IN + column * (NODE_WIDTH_IN + gap_x),
            origin_y + GROUP_TITLE_IN + row * (NODE_HEIGHT_IN + NODE_GAP_Y_IN),
            NODE_WIDTH_IN,
            NODE_HEIGHT_IN,
        )
        for node_id, (column, row) in cells.items()
    }


def _chain_order(ids: Sequence[str], links: Sequence[tuple[str, str]]) -> list[str]:
    """``ids`` reordered so that linked nodes tend to be neighbours: each set of linked
    nodes is walked depth-first from its least-linked node, where its first member was."""
    graph = nx.Graph()
    graph.add_nodes_from(ids)
    graph.add_edges_from((a, b) for a, b in links if a in graph and b in graph)
    position = {node_id: index for index, node_id in enumerate(ids)}
    ordered: list[str] = []
    for node_id in ids:
        if node_id in ordered:
            continue
        component = sorted(nx.node_connected_component(graph, node_id), key=position.get)
        start = min(component, key=lambda n: (graph.degree(n), position[n]))
        walk = nx.dfs_preorder_nodes(
            graph, start, sort_neighbors=lambda n: sorted(n, key=position.get)
        )
        ordered.extend(walk)
    return ordered


def _box_size(columns: int, rows: int, gap_x: float = NODE_GAP_X_IN) -> tuple[float, float]:
    width = columns * NODE_WIDTH_IN + (columns - 1) * gap_x + 2 * GROUP_PAD_IN
    height = GROUP_TITLE_IN + rows * NODE_HEIGHT_IN + (rows - 1) * NODE_GAP_Y_IN + GROUP_PAD_IN
    return width, height


#: A fan of this many flows with one label, between a node and one service box, is drawn
#: as a single arrow to (or from) the box.
BUNDLE_MIN_EDGES = 3


def bundles(graph: nx.DiGraph) -> dict[tuple[str, str], tuple[str, str, str]]:
    """Flow edges drawn as one arrow: (source, target) -> (direction, node, group), where
    direction is "out" (node to the group's box) or "in" (the group's box to node)."""
    nodes: dict[str, Node] = {n: graph.nodes[n]["node"] for n in graph.nodes}
    flows = [
        (s, t, data["edge"].label)
        for s, t, data in sorted(graph.edges(data=True))
        if data["edge"].kind == FLOW and nodes[s].group != nodes[t].group
    ]
    fans: dict[tuple[str, str, str, str], list[tuple[str, str]]] = {}
    for source, target, label in flows:
        fans.setdefault(("out", source, nodes[target].group, label), []).append((source, target))
        fans.setdefault(("in", target, nodes[source].group, label), []).append((source, target))
    bundled: dict[tuple[str, str], tuple[str, str, str]] = {}
    for (direction, node, group, _), pairs in sorted(fans.items()):
        if len(pairs) >= BUNDLE_MIN_EDGES:
            for pair in pairs:
                bundled.setdefault(pair, (direction, node, group))
    return bundled


@dataclass
class _Sheet:
    """A layout being built: the page width so far, the top of the next band, the rects."""

    width: float
    top: float
    nodes: dict[str, Rect] = field(default_factory=dict)
    groups: dict[str, Rect] = field(default_factory=dict)

    @property
    def available(self) -> float:
        """The width between the margins of a page of the standard width."""
        return FIGURE_WIDTH_IN - 2 * MARGIN_IN


@dataclass
class _FlowBand:
    """The flow band's service boxes: which nodes each holds, where, and in which stage."""

    members: dict[str, list[str]]
    stages: dict[int, list[str]]
    cells: dict[str, _Cells]
    gap_x: dict[str, float]

    def stage_widths(self) -> list[float]:
        return [
            max(_box_size(*_extent(self.cells[g]), self.gap_x[g])[0] for g in self.stages[stage])
            for stage in sorted(self.stages)
        ]


def _members(
    graph: nx.DiGraph, nodes: Mapping[str, Node], flows: nx.DiGraph, node_rank: Mapping[str, int]
) -> dict[str, list[str]]:
    """Each service box's nodes, in the order they are placed."""
    # Nodes that send flows of their own to a later box go last, so that in a box of two
    # columns they sit in the right-hand one, nearer the boxes they send to.
    bundled = bundles(graph)
    sends_own_flow = {
        s for s, t in flows.edges if (s, t) not in bundled and nodes[s].group != nodes[t].group
    }
    members: dict[str, list[str]] = {}
    for node_id in sorted(
        nodes,
        key=lambda n: (
            n in sends_own_flow,
            node_rank.get(n, 10**6),
            nodes[n].type,
            nodes[n].label,
            n,
        ),
    ):
        members.setdefault(nodes[node_id].group, []).append(node_id)
    return members


def _box_cells(
    graph: nx.DiGraph, nodes: Mapping[str, Node], flows: nx.DiGraph, band: _FlowBand, group: str
) -> list[list[str]] | None:
    """Fill in one flow box's cells and gap; return its layers if it is laid out in layers.

    A box whose nodes pass data among themselves is laid out in layers, one column per
    step; any other box is a grid, filled column by column, linked nodes next to each other.
    """
    members = band.members[group]
    inner = [(s, t) for s, t in flows.edges if nodes[s].group == nodes[t].group == group]
    if inner:
        local_rank = _ranks(_acyclic(inner, members))
        layers: dict[int, list[str]] = {}
        for node_id in members:
            layers.setdefault(local_rank[node_id], []).append(node_id)
        layered = [layers[rank] for rank in sorted(layers)]
        band.cells[group] = _layer_cells(layered, as_columns=True)
        band.gap_x[group] = LAYER_GAP_X_IN
        return layered
    links = [(s, t) for s, t in graph.edges if nodes[s].group == nodes[t].group == group]
    ordered = _chain_order(members, links)
    columns = -(-len(ordered) // MAX_COLUMN_NODES)
    band.cells[group] = _grid_cells(ordered, columns, by_column=True)
    return None


def _flow_band(graph: nx.DiGraph, nodes: Mapping[str, Node], available: float) -> _FlowBand:
    """The boxes of the services that pass data on, sorted into stages and filled."""
    flow_edges = sorted(
        (s, t) for s, t, data in graph.edges(data=True) if data["edge"].kind == FLOW
    )
    flows = _acyclic(flow_edges)
    node_rank = _ranks(flows)
    group_edges = sorted({(nodes[s].group, nodes[t].group) for s, t in flows.edges})
    flow_groups = sorted({nodes[n].group for n in flows.nodes}, key=_group_order)
    group_rank = _ranks(_acyclic(group_edges, flow_groups))
    members = _members(graph, nodes, flows, node_rank)

    # One column per stage; each stage stacks its service boxes.
    stages: dict[int, list[str]] = {}
    for group in sorted(
        flow_groups,
        key=lambda g: (min(node_rank.get(n, 10**6) for n in members[g]), _group_order(g)),
    ):
        stages.setdefault(group_rank[group], []).append(group)
    band = _FlowBand(members, stages, {}, dict.fromkeys(flow_groups, NODE_GAP_X_IN))
    layered: dict[str, list[list[str]]] = {}
    for group in flow_groups:
        layers = _box_cells(graph, nodes, flows, band, group)
        if layers is not None:
            layered[group] = layers
    # Layers become rows where the page is too narrow for a column per step.
    minimum_width = sum(band.stage_widths()) + STAGE_GAP_MIN_IN * max(len(stages) - 1, 0)
    if minimum_width > available:
        for group, layers in layered.items():
            band.cells[group] = _layer_cells(layers, as_columns=False)
            band.gap_x[group] = NODE_GAP_X_IN
    return band


def _place_flow_band(sheet: _Sheet, band: _FlowBand) -> None:
    """Place the stages side by side, each centred on the band; widen the page if need be."""
    stages = band.stages
    if not stages:
        return
    sizes = {g: _box_size(*_extent(band.cells[g]), band.gap_x[g]) for g in band.cells}
    widths = band.stage_widths()
    stage_heights = [
        sum(sizes[g][1] for g in stages[s]) + GROUP_GAP_IN * (len(stages[s]) - 1)
        for s in sorted(stages)
    ]
    gaps = len(stages) - 1
    gap = STAGE_GAP_MIN_IN
    if gaps:
        gap = (sheet.available - sum(widths)) / gaps
        gap = min(max(gap, STAGE_GAP_MIN_IN), STAGE_GAP_MAX_IN)
    band_width = sum(widths) + gap * gaps
    # A pattern with more stages than the page holds widens the page instead of
    # overlapping boxes (the longest pipelines need this).
    sheet.width = max(sheet.width, band_width + 2 * MARGIN_IN)
    band_height = max(stage_heights)
    x = (sheet.width - band_width) / 2
    for stage, stage_width, stage_height in zip(sorted(stages), widths, stage_heights, strict=True):
        y = sheet.top + (band_height - stage_height) / 2
        for group in stages[stage]:
            box_width, box_height = sizes[group]
            box_x = x + (stage_width - box_width) / 2
            sheet.groups[group] = Rect(box_x, y, box_width, box_height)
            sheet.nodes.update(_place(box_x, y, band.cells[group], band.gap_x[group]))
            y += box_height + GROUP_GAP_IN
        x += stage_width + gap
    sheet.top += band_height + BAND_GAP_IN


def _shelves(
    support: Sequence[str], widths: Mapping[str, float], available: float
) -> list[list[str]]:
    """The support boxes in rows (shelves) no wider than ``available``, in order."""
    shelves: list[list[str]] = []
    shelf_width = 0.0
    for group in support:
        box_width = widths[group]
        if shelves and shelf_width + GROUP_GAP_IN + box_width <= available:
            shelves[-1].append(group)
            shelf_width += GROUP_GAP_IN + box_width
        else:
            shelves.append([group])
            shelf_width = box_width
    return shelves


def _place_support_band(
    sheet: _Sheet, nodes: Mapping[str, Node], members: Mapping[str, list[str]], support: list[str]
) -> None:
    """The remaining services in a row (or rows), nodes side by side, each row centred."""
    available = sheet.available
    max_columns = max(
        1, int((available - 2 * GROUP_PAD_IN + NODE_GAP_X_IN) // (NODE_WIDTH_IN + NODE_GAP_X_IN))
    )
    support_cells: dict[str, _Cells] = {}
    for group in support:
        ordered = sorted(members[group], key=lambda n: (nodes[n].type, nodes[n].label, n))
        support_cells[group] = _grid_cells(ordered, min(len(ordered), max_columns), by_column=False)
    support_sizes = {g: _box_size(*_extent(c)) for g, c in support_cells.items()}
    widths = {g: size[0] for g, size in support_sizes.items()}
    for shelf in _shelves(support, widths, available):
        total = sum(support_sizes[g][0] for g in shelf) + GROUP_GAP_IN * (len(shelf) - 1)
        x = (sheet.width - total) / 2
        for group in shelf:
            box_width, box_height = support_sizes[group]
            sheet.groups[group] = Rect(x, sheet.top, box_width, box_height)
            sheet.nodes.update(_place(x, sheet.top, support_cells[group]))
            x += box_width + GROUP_GAP_IN
        sheet.top += max(support_sizes[g][1] for g in shelf) + GROUP_GAP_IN


def layout(graph: nx.DiGraph) -> Layout:
    """Flow stages left to right (a column of service boxes each), support services below."""
    nodes: dict[str, Node] = {n: graph.nodes[n]["node"] for n in graph.nodes}
    sheet = _Sheet(FIGURE_WIDTH_IN, TITLE_BAND_IN)
    band = _flow_band(graph, nodes, sheet.available)
    _place_flow_band(sheet, band)
    support = sorted((g for g in band.members if g not in band.cells), key=_group_order)
    _place_support_band(sheet, nodes, band.members, support)
    height = sheet.top + LEGEND_BAND_IN + MARGIN_IN
    return Layout(sheet.width, height, sheet.nodes, sheet.groups)
