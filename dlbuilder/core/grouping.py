"""Grouping layers into a block and ungrouping an instance back into layers.

`group_nodes` makes a selection a new block definition and puts an instance in its place;
`ungroup` puts an instance's layers back, every repeat chained, references evaluated for its
arguments. Both return one command (a Macro of the primitive commands, so undo is exact).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dlbuilder.core.block_commands import AddBlock, definition_of
from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    BlockDef,
    BlockParam,
    is_ref,
    name_problem,
    ref,
)
from dlbuilder.core.commands import AddEdge, AddNode, Macro, RemoveNode
from dlbuilder.core.expr import ExprError, parse_expr
from dlbuilder.core.graph import Graph, GraphError
from dlbuilder.core.placement import STEP_X, STEP_Y, Position, card_positions, ui_position

# -- grouping ---------------------------------------------------------------------------------
ENDS = frozenset({"Input", "Output"})  # the registry's input and output roles (layers/io.py)
Source = tuple[str, int]  # (node, from_port): one output of a layer


@dataclass
class _Border:
    """The wires that cross a selection's border, as the block's ports will carry them."""

    ins: list[Source]                    # outside sources feeding the selection: BlockInputs
    outs: list[Source]                   # inner sources read from outside: BlockOutputs
    out_wires: list[tuple[str, int, int]]  # (outside target, its port, block output)


def group_nodes(graph: Graph, nodes: Iterable[str], name: str | None = None,
                instance_id: str | None = None) -> Macro:
    """The command that makes the selected `nodes` a new block and puts an instance of it in
    their place, taking over the wires that crossed the selection's border (one undo step).
    GraphError with a message for the user when the selection cannot be a block."""
    chosen = _selection(graph, nodes)
    name = _new_block_name(graph, name)
    instance = _new_instance_id(graph, chosen, instance_id)
    border = _border(graph, chosen)
    _check_no_cycle(graph, chosen)
    params = _used_params(graph, chosen)
    defn = BlockDef(name, params, _inner_graph(graph, chosen, border))
    spots = _spots(graph, chosen)
    if spots is not None:
        _place_ports(defn.graph, chosen, border, spots)
    args = {"block": name, **{p.name: ref(p.name) for p in params}}
    ui = {"x": spots["centre"][0], "y": spots["centre"][1]} if spots is not None else {}
    first = graph.nodes().index(chosen[0])
    commands: list[Any] = [AddBlock(defn), *[RemoveNode(n) for n in chosen],
                           AddNode(instance, BLOCK, args, ui, first)]
    commands += [AddEdge(src, instance, i, fp) for i, (src, fp) in enumerate(border.ins)]
    commands += [AddEdge(instance, dst, port, j) for dst, port, j in border.out_wires]
    count = f"{len(chosen)} layers" if len(chosen) > 1 else chosen[0]
    return Macro(f"Group {count} into block {name}", commands)


def _selection(graph: Graph, nodes: Iterable[str]) -> list[str]:
    """The selected nodes in graph order, or GraphError saying why they cannot be grouped."""
    wanted = set(nodes)
    if not wanted:
        raise GraphError("nothing is selected: select the layers to group into a block")
    missing = sorted(n for n in wanted if n not in graph)
    if missing:
        raise GraphError(f"cannot group {', '.join(map(repr, missing))}: no such node")
    chosen = [n for n in graph.nodes() if n in wanted]
    for node in chosen:
        type_name = graph.type_of(node)
        if type_name in ENDS:
            raise GraphError(f"{node} ({type_name}) belongs to the whole network and cannot go "
                             "into a block; leave it out of the selection")
        if type_name in (BLOCK_INPUT, BLOCK_OUTPUT):
            raise GraphError(f"{node} is a port of this block ({type_name}) and cannot go into "
                             "another block; leave it out of the selection")
    return chosen


def _new_block_name(graph: Graph, name: str | None) -> str:
    if name is None:
        n = 1
        while (name := "Block" if n == 1 else f"Block{n}") in graph.blocks:
            n += 1
        return name
    problem = name_problem(name)
    if problem:
        raise GraphError(problem)
    if name in graph.blocks:
        raise GraphError(f"there is already a block named {name!r}; choose another name")
    return name


def _new_instance_id(graph: Graph, chosen: list[str], instance_id: str | None) -> str:
    if instance_id is None:
        n = 1
        while f"block{n}" in graph:
            n += 1
        return f"block{n}"
    if not isinstance(instance_id, str) or not instance_id.strip() \
            or instance_id != instance_id.strip():
        raise GraphError(f"{instance_id!r} cannot be an id: use a non-empty name without "
                         "spaces at either end")
    if instance_id in graph and instance_id not in chosen:
        raise GraphError(f"there is already a node {instance_id!r}; ids must be unique")
    return instance_id


def _border(graph: Graph, chosen: list[str]) -> _Border:
    """The selection's ports: one input per outside source, one output per inner source read
    outside; refused where two wires would have to join the same two nodes."""
    inside = set(chosen)
    border = _Border([], [], [])
    for node in chosen:
        for src, fp in graph.input_sources(node):
            if src not in inside and (src, fp) not in border.ins:
                if any(s == src for s, _ in border.ins):
                    raise GraphError(f"{src} feeds the selection from two of its outputs, but "
                                     "it can join the block by one wire only; add it to the "
                                     "selection")
                border.ins.append((src, fp))
    for node in chosen:
        for dst, fp in sorted(graph.output_ports(node), key=lambda w: w[1]):
            if dst in inside:
                continue
            if any(d == dst for d, _, _ in border.out_wires):
                raise GraphError(f"{dst} takes two inputs from the selection, but the block "
                                 "can join it by one wire only; add it to the selection")
            if (node, fp) not in border.outs:
                border.outs.append((node, fp))
            border.out_wires.append((dst, graph.port_of(node, dst),
                                     border.outs.index((node, fp))))
    if not border.ins:
        raise GraphError("no wire comes into the selection, and a block needs an input: "
                         "select layers that a wire feeds")
    if not border.outs:  # the network's end: its result leaves through the block
        border.outs = [(n, 0) for n in chosen if not graph.outputs(n)]
    return border


def _check_no_cycle(graph: Graph, chosen: list[str]) -> None:
    """GraphError when a path leaves the selection and comes back into it: the block would
    feed itself."""
    inside = set(chosen)
    g = graph.nx
    came_from: dict[str, str] = {}
    todo = []
    for node in chosen:
        for dst in g.succ[node]:
            if dst not in inside and dst not in came_from:
                came_from[dst] = node
                todo.append(dst)
    while todo:
        node = todo.pop()
        for dst in g.succ[node]:
            if dst in inside:
                path = [node]
                while path[-1] in came_from:
                    path.append(came_from[path[-1]])
                loop = " -> ".join([*reversed(path), dst])
                between = ", ".join(reversed(path[:-1]))
                raise GraphError(f"grouping these would make a cycle: {loop} leaves the "
                                 f"selection and comes back into it; add {between} to the "
                                 "selection, or group fewer layers")
            if dst not in came_from:
                came_from[dst] = node
                todo.append(dst)


def _used_params(graph: Graph, chosen: list[str]) -> tuple[BlockParam, ...]:
    """Inside a definition: its parameters that the selection refers to, which the new block
    declares in turn (the instance passes them on)."""
    container = definition_of(graph)
    if container is None:
        return ()
    names: set[str] = set()
    for node in chosen:
        for value in graph.raw_params(node).values():
            if is_ref(value):
                try:
                    names |= parse_expr(value["expr"]).names
                except ExprError:
                    continue
    return tuple(p for p in graph.block(container).params if p.name in names)


def _port_ids(count: int, stem: str, taken: set[str]) -> list[str]:
    ids = []
    for wanted in [stem] if count == 1 else [f"{stem}{i}" for i in range(1, count + 1)]:
        while wanted in taken:
            wanted += "_"
        taken.add(wanted)
        ids.append(wanted)
    return ids


def _inner_graph(graph: Graph, chosen: list[str], border: _Border) -> Graph:
    inner = Graph(graph.name, blocks=graph.blocks)
    taken = set(chosen)
    in_ids = _port_ids(len(border.ins), "x", taken)
    out_ids = _port_ids(len(border.outs), "y", taken)
    for node in in_ids:
        inner.add_node(node, BLOCK_INPUT)
    for node in chosen:
        inner.add_node(node, graph.type_of(node), graph.params(node), graph.ui(node),
                       train=graph.train(node), dismissed=graph.dismissed(node))
    for node in out_ids:
        inner.add_node(node, BLOCK_OUTPUT)
    for node in chosen:
        for src, fp in graph.input_sources(node):
            if src in taken:
                inner.add_edge(src, node, from_port=fp)
            else:
                inner.add_edge(in_ids[border.ins.index((src, fp))], node)
    for out, (src, fp) in zip(out_ids, border.outs, strict=True):
        inner.add_edge(src, out, from_port=fp)
    return inner


def _spots(graph: Graph, chosen: list[str]) -> dict[str, Position] | None:
    """The selection's card positions and `centre` (where the instance goes: the spot of the
    selected card nearest the selection's middle, which grouping frees, so the new card
    covers no other), or None when none of them has a position (a graph built by a script)."""
    if all(ui_position(graph.ui(n)) is None for n in chosen):
        return None
    positions = card_positions(graph)
    spots = {n: positions[n] for n in chosen}
    xs, ys = [x for x, _ in spots.values()], [y for _, y in spots.values()]
    mid = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    spots["centre"] = min((spots[n] for n in chosen),
                          key=lambda p: (p[0] - mid[0]) ** 2 + (p[1] - mid[1]) ** 2)
    return spots


def _place_ports(inner: Graph, chosen: list[str], border: _Border,
                 spots: dict[str, Position]) -> None:
    """BlockInputs one column left of the layers, beside what they feed; BlockOutputs one
    column right, beside what they carry out; stacked where two would meet."""
    left = min(spots[n][0] for n in chosen) - STEP_X
    right = max(spots[n][0] for n in chosen) + STEP_X
    ins, outs = [], []
    for node in inner.nodes():
        kind = inner.type_of(node)
        if kind == BLOCK_INPUT:
            ys = [spots[n][1] for n in inner.outputs(node)]
            ins.append((node, left, round(sum(ys) / len(ys))))
        elif kind == BLOCK_OUTPUT:
            ins_ = inner.inputs(node)
            outs.append((node, right, spots[ins_[0]][1]))
    for column in (ins, outs):
        used: list[int] = []
        for node, x, y in column:
            while any(abs(y - other) < STEP_Y for other in used):
                y += STEP_Y
            used.append(y)
            inner.set_ui(node, {"x": x, "y": y})
