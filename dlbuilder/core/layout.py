"""Automatic placement of a graph's nodes: a layered layout that flows left to right.

Layers come from the longest path out of the sources (the Input), so every wire points to a later
layer; the nodes of one layer stack vertically, ordered by the barycentre of their neighbours to
keep wires from crossing (a residual block's shortcut lands in the lane beside its main path).
When the layers would be wider than `max_width`, they wrap into rows like lines of text, broken
where the fewest wires cross. Nodes without any wire go in rows of their own at the bottom.
Pure Python and networkx, deterministic: the same graph always gets the same positions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

import networkx as nx

from dlbuilder.core.graph import Graph

Position = tuple[int, int]

NODE_SIZE = (200, 100)
GAP = (60, 40)
_SWEEPS = 4          # barycentre passes (down, up, down, up)
_CUT_PENALTY = 25.0  # a row break that more than one wire crosses (inside a residual block)
_WIDEST = 8          # layout_for_view tries rows up to this many times the view's width (a
                     # 177-node ResNet-50 in a 700x400 canvas needs 6 to not end up tall)
_MAX_TRIES = 32      # layout_for_view: row widths tried at most
_CUT_COST = 0.85     # layout_for_view: a layout's zoom counts this much less per cut wire


def layered_layout(graph: Graph, node_size: tuple[int, int] = NODE_SIZE,
                   gap: tuple[int, int] = GAP, max_width: float | None = None,
                   row_gap: int | None = None) -> dict[str, Position]:
    """Top-left positions for every node, with (0, 0) at the top-left of the layout.

    `max_width` bounds a row's width (scene units); `row_gap` separates wrapped rows
    (default: twice the vertical gap, room for the wire that runs between them).
    """
    return _layout(graph, node_size, gap, max_width, row_gap)[0]


def layout_for_view(graph: Graph, width: float, height: float,
                    node_size: tuple[int, int] = NODE_SIZE, gap: tuple[int, int] = GAP
                    ) -> dict[str, Position]:
    """The layout that shows best in a `width` x `height` view: wrapped to the view's width,
    or wider where that lets the whole graph show larger (a long network in a short view), and
    preferring rows that do not cut a residual block in two."""
    layers, loose = _prepare(graph)
    first = _columns(len(layers), node_size[0], gap[0], width)
    loose_cap = _columns(len(loose), node_size[0], gap[0], width)
    best: tuple[float, dict[str, Position]] | None = None
    widest = max(min(len(layers), _WIDEST * first), first)
    caps = list(range(first, widest + 1))
    if len(caps) > _MAX_TRIES:  # a very long network in a wide view: sample the widths
        caps = sorted({round(first * (widest / first) ** (i / (_MAX_TRIES - 1)))
                       for i in range(_MAX_TRIES)})
    for cap in caps:
        positions, cuts = _place(graph, layers, loose, node_size, gap, (cap, loose_cap), None)
        if not positions:
            return positions
        right = max(x for x, _ in positions.values()) + node_size[0]
        bottom = max(y for _, y in positions.values()) + node_size[1]
        zoom = min(width / right, height / bottom, 1.0)
        score = zoom * _CUT_COST ** cuts
        if best is None or score > best[0] + 1e-9:
            best = (score, positions)
    return best[1] if best is not None else {}


def _layout(graph: Graph, node_size: tuple[int, int], gap: tuple[int, int],
            max_width: float | None, row_gap: int | None) -> tuple[dict[str, Position], int]:
    layers, loose = _prepare(graph)
    caps = (_columns(len(layers), node_size[0], gap[0], max_width),
            _columns(len(loose), node_size[0], gap[0], max_width))
    return _place(graph, layers, loose, node_size, gap, caps, row_gap)


def _prepare(graph: Graph) -> tuple[list[list[str]], list[str]]:
    """The wired nodes in ordered layers, and the nodes without any wire."""
    index = {n: i for i, n in enumerate(graph.nodes())}
    g = graph.nx
    wired = [n for n in graph.nodes() if g.degree(n) > 0]
    loose = [n for n in graph.nodes() if g.degree(n) == 0]
    layers = _order_layers(g, _assign_layers(g, wired, index), index) if wired else []
    return layers, loose


def _place(graph: Graph, layers: list[list[str]], loose: list[str], node_size: tuple[int, int],
           gap: tuple[int, int], caps: tuple[int, int], row_gap: int | None
           ) -> tuple[dict[str, Position], int]:
    """Positions with at most `caps` layers (and unwired nodes) a row, and how many extra
    wires the row breaks cut (a shortcut split over two rows)."""
    w, h = node_size
    gx, gy = gap
    cap, loose_cap = caps
    row_gap = 2 * gy if row_gap is None else row_gap
    positions: dict[str, Position] = {}
    top = cuts = 0
    if layers:
        rows, cuts = _row_breaks(graph.nx, layers, cap)
        for start, end in rows:
            lanes = max(len(layer) for layer in layers[start:end])
            for col, layer in enumerate(layers[start:end]):
                for lane, node in enumerate(layer):
                    positions[node] = (col * (w + gx), top + lane * (h + gy))
            top += lanes * (h + gy) - gy + row_gap
    for i, node in enumerate(loose):
        row, col = divmod(i, loose_cap)
        positions[node] = (col * (w + gx), top + row * (h + gy))
    return positions, cuts


def _columns(count: int, width: int, gap: int, max_width: float | None) -> int:
    """How many node columns fit in `max_width` (at least one)."""
    if max_width is None:
        return max(count, 1)
    return max(1, int((max_width + gap) // (width + gap)))


def _assign_layers(g: nx.DiGraph, nodes: list[str], index: dict[str, int]) -> list[list[str]]:
    """Longest-path layers; a source other than the first is pulled right, next to its first
    consumer, so a stray branch does not start at the far left."""
    order = list(nx.lexicographical_topological_sort(g.subgraph(nodes), key=index.__getitem__))
    layer: dict[str, int] = {}
    for node in order:
        layer[node] = max((layer[p] + 1 for p in g.predecessors(node)), default=0)
    for node in reversed(order):
        if g.in_degree(node) == 0 and g.out_degree(node) > 0:
            layer[node] = max(layer[node], min(layer[s] for s in g.successors(node)) - 1)
    count = max(layer.values()) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for node in order:
        layers[layer[node]].append(node)
    return [sorted(nodes_, key=index.__getitem__) for nodes_ in layers if nodes_]


def _order_layers(g: nx.DiGraph, layers: list[list[str]], index: dict[str, int]
                  ) -> list[list[str]]:
    """Reorder each layer by the mean lane of its neighbours, alternating down and up sweeps;
    ties keep the previous order, then the file's node order."""
    lane = {n: i for layer in layers for i, n in enumerate(layer)}
    size = len(index)
    for sweep in range(_SWEEPS):
        down = sweep % 2 == 0
        for layer in layers[1:] if down else layers[-2::-1]:
            near = {n: list(g.predecessors(n) if down else g.successors(n)) for n in layer}
            layer.sort(key=lambda n: (_mean((lane[m] for m in near[n]), lane[n]),
                                      lane[n] * size + index[n]))
            for i, node in enumerate(layer):
                lane[node] = i
    return layers


def _mean(values: Iterable[int], default: float) -> float:
    items = list(values)
    return sum(items) / len(items) if items else default


def _row_breaks(g: nx.DiGraph, layers: list[list[str]], cap: int
                ) -> tuple[list[tuple[int, int]], int]:
    """Split the layers into rows of at most `cap`, as few as possible, preferring breaks
    that a single wire crosses and rows of even length. Also returns the extra wires cut."""
    count = len(layers)
    if count <= cap:
        return [(0, count)], 0
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}
    step = [0] * (count + 2)
    for u, v in g.edges:
        if u in layer_of and v in layer_of:
            step[layer_of[u] + 1] += 1
            step[layer_of[v] + 1] -= 1
    crossing = list(itertools.accumulate(step))  # [i]: wires from a layer < i to one >= i
    target = count / math.ceil(count / cap)
    best: list[tuple[int, float, int] | None] = [None] * (count + 1)
    best[0] = (0, 0.0, 0)
    for end in range(1, count + 1):
        for start in range(max(0, end - cap), end):
            prev = best[start]
            if prev is None:
                continue
            cost = (end - start - target) ** 2
            if end < count:
                cost += _CUT_PENALTY * max(crossing[end] - 1, 0)
            option = (prev[0] + 1, prev[1] + cost, start)
            if best[end] is None or option[:2] < best[end][:2]:
                best[end] = option
    rows: list[tuple[int, int]] = []
    end = count
    while end > 0:
        start = best[end][2]
        rows.append((start, end))
        end = start
    rows.reverse()
    cuts = sum(max(crossing[end] - 1, 0) for _, end in rows[:-1])
    return rows, cuts
