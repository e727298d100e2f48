"""Where new cards go on the canvas: in free space next to where they belong, never on top of
another card. When there is no room, neighbours shift: a chain opens up to the right for a layer
inserted into it, and the rows below move down to open a lane for a branch (a shortcut's
projection). The moves are returned with the spots, so the caller makes them part of the same
undo step as the insertion.

Pure Python over plain positions (top-left corners of cards of NODE_SIZE), deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from dlbuilder.core.commands import AddNode, Macro, SetUi
from dlbuilder.core.graph import Graph
from dlbuilder.core.layout import GAP, NODE_SIZE, layered_layout, layout_for_view

Position = tuple[int, int]

MAX_COORD = 1e9    # a position farther out is taken as missing (a hand-edited file)
W, H = NODE_SIZE
STEP_X, STEP_Y = W + GAP[0], H + GAP[1]   # one column, one lane
CLEAR = 20         # the least space kept free between a new card and any other
_ROW_GAP = 2 * GAP[1]  # between an opened lane and the row below it, as auto-layout leaves
_SEARCH = 6        # place_near looks this many steps around the asked spot each way
_NEAR_STEP = (140, 60)


@dataclass(frozen=True)
class Placement:
    """Top-left spots for the new cards (a chain, left to right) and the existing cards that
    move to make room for them."""

    spots: list[Position]
    moves: dict[str, Position] = field(default_factory=dict)


def ui_position(ui: dict[str, Any]) -> tuple[float, float] | None:
    """The position a node's `ui` holds, if it holds a usable one (a file may hold anything)."""
    x, y = ui.get("x"), ui.get("y")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= MAX_COORD
           for v in (x, y)):
        return (x, y)
    return None


def card_positions(graph: Graph) -> dict[str, Position]:
    """Where the cards are: the file's positions, and for the nodes it holds none for, where
    `missing_positions` puts them (as the canvas shows them)."""
    return {**_known_positions(graph), **missing_positions(graph)}


def missing_positions(graph: Graph, view: tuple[float, float] | None = None
                      ) -> dict[str, Position]:
    """Spots for the nodes whose `ui` holds no usable position; the positions the graph has
    stay as they are. With none at all, the whole graph is laid out: wrapped to `view` (the
    width and height to fill, in scene units) as the layout action does, or in one row without
    it. Else each missing node goes into free space beside its wired neighbours, taken in flow
    order so that a run of them stays a chain, wrapping below the cards where it would pass
    the view's right edge."""
    known = _known_positions(graph)
    if len(known) == len(graph):
        return {}
    if not known:
        return layout_for_view(graph, *view) if view is not None else layered_layout(graph)
    left = min(x for x, _ in known.values())
    right = None if view is None else max(max(x for x, _ in known.values()) + W,
                                          left + view[0])
    taken = dict(known)
    spots: dict[str, Position] = {}
    for node in _flow_order(graph):
        if node not in taken:
            spot = place_near(taken, _wanted_spot(graph, taken, node, left, right)).spots[0]
            taken[node] = spots[node] = spot
    return spots


def _known_positions(graph: Graph) -> dict[str, Position]:
    return {n: (round(p[0]), round(p[1])) for n in graph.nodes()
            if (p := ui_position(graph.ui(n))) is not None}


def _flow_order(graph: Graph) -> list[str]:
    """Sources first, each node after its inputs; ties in the file's order."""
    index = {n: i for i, n in enumerate(graph.nodes())}
    return list(nx.lexicographical_topological_sort(graph.nx, key=index.__getitem__))


def _wanted_spot(graph: Graph, taken: dict[str, Position], node: str, left: int,
                 right: float | None) -> Position:
    """Right of the node's placed inputs, else left of its placed consumers, else (and where
    right of its inputs would pass `right`) at the left edge below every card."""
    inputs = [taken[n] for n in graph.inputs(node) if n in taken]
    outputs = [taken[n] for n in graph.outputs(node) if n in taken]
    if inputs:
        x = max(x for x, _ in inputs) + STEP_X
        if right is None or x + W <= right:
            return (x, round(sum(y for _, y in inputs) / len(inputs)))
    elif outputs:
        return (min(x for x, _ in outputs) - STEP_X,
                round(sum(y for _, y in outputs) / len(outputs)))
    return (left, max(y for _, y in taken.values()) + STEP_Y + _ROW_GAP - GAP[1])


def place_near(positions: dict[str, Position], at: tuple[float, float],
               count: int = 1) -> Placement:
    """The free spot nearest `at` (kept when it is free) for a row of `count` new cards."""
    x0, y0 = _snap(at[0]), _snap(at[1])
    steps = range(-_SEARCH, _SEARCH + 1)
    sx, sy = _NEAR_STEP
    tries = sorted(((i * sx, j * sy) for i in steps for j in steps),
                   key=lambda d: (math.hypot(d[0], 2 * d[1]), d[1], d[0]))
    for dx, dy in tries:
        row = _row((x0 + dx, y0 + dy), count)
        if _free(row, positions.values()):
            return Placement(row)
    lowest = max((y for _, y in positions.values()), default=y0)
    return Placement(_row((x0, lowest + STEP_Y + GAP[1]), count))


def place_after(positions: dict[str, Position], src: str, count: int = 1) -> Placement:
    """A new branch out of `src`: right of it when free, else in the lane below or above it,
    else in a lane opened below it."""
    s = positions.get(src)
    if s is None:
        return place_near(positions, (0, 0), count)
    row = _row((s[0] + STEP_X, s[1]), count)
    return Placement(row) if _free(row, positions.values()) else _beside(positions, s, count)


def place_between(positions: dict[str, Position], src: str, dst: str, count: int = 1,
                  at: tuple[float, float] | None = None) -> Placement:
    """New cards on the wire `src` -> `dst`: at `at` when that is free, else right after
    `src`. A short wire in a row opens the row (the cards from `dst` on move right); a wire
    that passes over other cards (a shortcut) gets its cards in a lane beside them."""
    if at is not None:
        row = _row((_snap(at[0]), _snap(at[1])), count)
        if _free(row, positions.values()):
            return Placement(row)
    s, d = positions.get(src), positions.get(dst)
    if s is None:
        return place_near(positions, at or (d if d is not None else (0, 0)), count)
    row = _row((s[0] + STEP_X, s[1]), count)
    if _free(row, positions.values()):
        return Placement(row)
    if d is not None and _passes_over(positions, src, dst):
        return _beside(positions, s, count)
    pushed = _push_right(positions, row, {src})
    return pushed if pushed is not None else _beside(positions, s, count)


def placed(command: Macro, new_nodes: Iterable[str], placement: Placement,
           graph: Graph) -> Macro:
    """`command` with its new nodes at the placement's spots and the moves added to it, so
    the neighbours shift in the same undo step."""
    spots = dict(zip(new_nodes, placement.spots, strict=True))
    for step in command.commands:
        if isinstance(step, AddNode) and step.node in spots:
            x, y = spots[step.node]
            step.ui = {**step.ui, "x": x, "y": y}
    for node, (x, y) in sorted(placement.moves.items()):
        command.commands.append(SetUi(node, {**graph.ui(node), "x": x, "y": y}))
    return command


# -- helpers ----------------------------------------------------------------------------------
def _snap(value: float) -> int:
    return int(round(value / CLEAR) * CLEAR)


def _row(start: tuple[int, int], count: int) -> list[Position]:
    return [(start[0] + i * STEP_X, start[1]) for i in range(count)]


def _hits(a: Position, b: Position) -> bool:
    return abs(a[0] - b[0]) < W + CLEAR and abs(a[1] - b[1]) < H + CLEAR


def _free(row: list[Position], others: Iterable[Position]) -> bool:
    taken = list(others)
    return not any(_hits(spot, other) for spot in row for other in taken)


def _passes_over(positions: dict[str, Position], src: str, dst: str) -> bool:
    """Whether the wire runs along a row with other cards between its ends (a shortcut)."""
    (sx, sy), (dx, dy) = positions[src], positions[dst]
    if abs(sy - dy) >= H / 2 or dx <= sx:
        return False
    return any(sx < x < dx and abs(y - sy) < H / 2
               for n, (x, y) in positions.items() if n not in (src, dst))


def _beside(positions: dict[str, Position], s: Position, count: int) -> Placement:
    """A row starting one column right of `s`, in the lane below or above it, else in a lane
    opened below it."""
    x = s[0] + STEP_X
    for y in (s[1] + STEP_Y, s[1] - STEP_Y):
        row = _row((x, y), count)
        if _free(row, positions.values()):
            return Placement(row)
    return _open_lane(positions, (x, s[1] + STEP_Y), count, s[1])


def _open_lane(positions: dict[str, Position], start: Position, count: int,
               row_top: int) -> Placement:
    """Move every card below `row_top` down as far as the new row at `start` needs."""
    row = _row(start, count)
    left, right = row[0][0] - GAP[0], row[-1][0] + W + GAP[0]
    below = {n: p for n, p in positions.items() if p[1] > row_top}
    need = max((start[1] + H + _ROW_GAP - y for x, y in below.values()
                if x < right and x + W > left), default=0)
    if need <= 0:
        return Placement(row)
    shift = -(-need // CLEAR) * CLEAR  # whole grid steps
    return Placement(row, {n: (x, y + shift) for n, (x, y) in below.items()})


def _push_right(positions: dict[str, Position], row: list[Position],
                keep: set[str]) -> Placement | None:
    """Push the cards in the way of `row`, and those they then run into, to the right; None
    when a card in the way lies left of the row (pushing it right would jump it over)."""
    blocks = list(row)
    moves: dict[str, Position] = {}
    for node, (x, y) in sorted(positions.items(), key=lambda kv: (kv[1][0], kv[1][1], kv[0])):
        if node in keep:
            continue
        hit = [b for b in blocks if _hits((x, y), b)]
        if not hit:
            continue
        if x < row[0][0] - W / 2:
            return None
        spot = (max(b[0] for b in hit) + STEP_X, y)
        moves[node] = spot
        blocks.append(spot)
    return Placement(row, moves)
