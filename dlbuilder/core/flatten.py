"""Ungrouping: an instance's layers put back in its place, and a whole graph without blocks.

`ungroup` replaces an instance by its definition's layers, once per repeat, chained output to
input, with every reference evaluated for the instance's arguments; the ports go and the wires
run through them. A single run keeps the layers' own ids when none is taken here, so grouping
then ungrouping gives the names back; otherwise they are `layer1_conv1`, `layer1_0_conv1`...
Instances inside stay instances (one level), their arguments evaluated too. `flatten` ungroups
until no block is left: the same network, drawn flat, with the same numbers.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from dlbuilder.core.block_commands import DropUnusedBlock, definition_of
from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    INPUT_CHANNELS,
    BlockDef,
    instance_arguments,
    instance_definition,
    is_ref,
    ref,
)
from dlbuilder.core.commands import AddEdge, AddNode, Macro, RemoveNode, SetUi
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.expr import ExprError, parse_expr
from dlbuilder.core.graph import Graph, GraphError
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.layout import NODE_SIZE, layered_layout
from dlbuilder.core.placement import H, card_positions, ui_position
from dlbuilder.core.registry import Registry
from dlbuilder.core.tuning import node_options, normalized

Source = tuple[str, int]  # (node, from_port)
Env = dict[str, Any]      # argument values: numbers, or references to the enclosing block's
_NAME = re.compile(r"[A-Za-z_]\w*")


def ungroup(graph: Graph, node: str, engine: EngineBase | None = None,
            keep_ids: bool = True) -> Macro:
    """The command that replaces instance `node` by its layers (every repeat), and removes its
    definition when nothing else uses it (one undo step). GraphError says why it cannot.
    `engine` (inferring `graph`) gives each repeat's input channels, for references that name
    `in_channels`; `keep_ids` False always names the layers after the instance."""
    defn = _definition(graph, node)
    env, repeat = _arguments(graph, node, defn)
    feeds = graph.input_sources(node)
    ins, outs = defn.ports()
    if len(feeds) != len(ins):
        raise GraphError(f"{node} has {len(feeds)} input{'s' * (len(feeds) != 1)} wired but "
                         f"{defn.name} takes {len(ins)}; wire each of its inputs before "
                         "ungrouping it")
    for out in outs:
        if len(defn.graph.inputs(out)) != 1:
            raise GraphError(f"{defn.name}'s output {out} is not connected to one layer; "
                             "connect it before ungrouping")
    plan = _Plan(graph, node, keep_ids=keep_ids)
    results = plan.unroll(defn, env, repeat, feeds, _input_channels(graph, node, defn, engine))
    commands: list[Any] = [RemoveNode(node)]
    index = graph.nodes().index(node)
    commands += [AddNode(n, t, p, {}, index + i, train)
                 for i, (n, t, p, train) in enumerate(plan.nodes)]
    commands += [AddEdge(src, dst, None, fp) for src, fp, dst in plan.wires]
    for dst, fp in graph.output_ports(node):
        if fp < len(results):
            src, from_port = results[fp]
            plan.check_wire(src, dst)
            commands.append(AddEdge(src, dst, graph.port_of(node, dst), from_port))
    _lay_out(graph, node, plan, commands, defn)
    commands.append(DropUnusedBlock(defn.name))
    return Macro(f"Ungroup {node}", commands)


def _definition(graph: Graph, node: str) -> BlockDef:
    if node not in graph:
        raise GraphError(f"there is no node {node!r} to ungroup")
    if graph.type_of(node) != BLOCK:
        raise GraphError(f"{node} is a {graph.type_of(node)}, not a block; only a block "
                         "can be ungrouped")
    defn = instance_definition(graph, node)
    if defn is None:
        raise GraphError(f"{node} places block {graph.raw_params(node).get('block')!r}, which "
                         "this file does not define; there are no layers to put back")
    return defn


def _input_channels(graph: Graph, node: str, defn: BlockDef, engine: EngineBase | None
                    ) -> list[Any]:
    """What `in_channels` is in each repeat: the channels the engine saw at the top level;
    inside a definition, the definition's own `in_channels` when its first input feeds the
    instance (a number there would hold for one instance of it only); else unknown."""
    if defn.param(INPUT_CHANNELS) is not None:
        return []  # a parameter of that name: the arguments hold it
    container = definition_of(graph)
    if container is None:
        runs = engine.runs(node) if engine is not None else []
        return [run.in_shapes[0][0] if run.in_shapes else None for run in runs]
    feeds = graph.input_sources(node)
    first = graph.block(container).ports()[0][:1]
    return [ref(INPUT_CHANNELS)] if feeds and [feeds[0][0]] == first else []


def _arguments(graph: Graph, node: str, defn: BlockDef) -> tuple[Env, int]:
    """The instance's argument values (numbers; references to the enclosing block's
    parameters where it is inside one) and its repeat count, or GraphError."""
    raw = graph.raw_params(node)
    container = definition_of(graph)
    outer = graph.block(container).defaults if container is not None else None
    _, repeat, problems = instance_arguments(defn, raw, outer)
    if is_ref(raw.get("repeat")):
        problems.append(("repeat", f"the repeat count of {node} refers to "
                                   f"{raw['repeat']['expr']!r}; ungroup it where the count is "
                                   "a number (in an instance of the enclosing block)"))
    ins, outs = defn.ports()
    if not problems and repeat > 1 and (len(ins) != 1 or len(outs) != 1):
        problems.append(("repeat", f"{defn.name} cannot repeat: it has {len(ins)} inputs "
                                   f"and {len(outs)} outputs"))
    if problems:
        raise GraphError(f"cannot ungroup {node}: " + "; ".join(m for _, m in problems))
    env = {p.name: copy.deepcopy(raw.get(p.name, p.default)) for p in defn.params}
    return env, repeat


def evaluated(value: Any, env: Env, where: str) -> Any:
    """A parameter value with its reference evaluated in `env`: a number when every name it
    uses has a number, else a reference in the enclosing block's names."""
    if not is_ref(value):
        return copy.deepcopy(value)
    try:
        expr = parse_expr(value["expr"])
        unknown = sorted(expr.names - set(env))
        if unknown == [INPUT_CHANNELS]:
            raise ExprError(f"it uses {INPUT_CHANNELS}, the channels of the block's input, "
                            "which are not known here (the input's shape is unknown, or the "
                            "block inside a block is not fed by that block's input)")
        if unknown:
            raise ExprError(f"{unknown[0]!r} is not a parameter of the block")
        numbers = {k: v for k, v in env.items() if not is_ref(v)}
        if expr.names <= set(numbers):
            return expr.evaluate(numbers)
    except ExprError as err:
        raise GraphError(f"cannot ungroup: {where}: {err}") from None

    def put(match: re.Match[str]) -> str:
        value = env[match.group(0)]
        if not is_ref(value):
            return str(value)
        text = value["expr"].strip()
        return text if _NAME.fullmatch(text) else f"({text})"

    return ref(_NAME.sub(put, value["expr"]))


@dataclass
class _Plan:
    """The layers and wires an ungroup adds, built repeat by repeat."""

    graph: Graph
    node: str
    nodes: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = field(
        default_factory=list)  # (id, type, params, training options)
    wires: list[tuple[str, int, str]] = field(default_factory=list)  # (src, from_port, dst)
    runs: list[list[str]] = field(default_factory=list)  # the new ids of each repeat
    _taken: set[str] = field(default_factory=set)
    keep_ids: bool = True  # a single run whose layer ids are all free here keeps them
    _pairs: set[tuple[str, str]] = field(default_factory=set)

    def unroll(self, defn: BlockDef, env: Env, repeat: int, feeds: list[Source],
               channels: list[Any]) -> list[Source]:
        """Add every repeat (`channels`: each one's input channels, where known); returns what
        leaves each of the last repeat's outputs."""
        sources = list(feeds)
        self.keep_ids = self.keep_ids and repeat == 1 and self._ids_free(defn)
        for i in range(repeat):
            prefix = self.node if repeat == 1 else f"{self.node}_{i}"
            known = i < len(channels) and channels[i] is not None
            run_env = {INPUT_CHANNELS: channels[i], **env} if known else env
            sources = self._one_run(defn, run_env, prefix, sources)
        return sources

    def _one_run(self, defn: BlockDef, env: Env, prefix: str, feeds: list[Source]
                 ) -> list[Source]:
        inner = defn.graph
        ins, outs = defn.ports()
        ids: dict[str, str] = {}
        for n in inner.nodes():
            kind = inner.type_of(n)
            if kind not in (BLOCK_INPUT, BLOCK_OUTPUT):
                ids[n] = self._fresh(n if self.keep_ids else f"{prefix}_{n}")
                params = {k: evaluated(v, env, f"{defn.name}/{n}.{k}")
                          for k, v in inner.raw_params(n).items()}
                self.nodes.append((ids[n], kind, params, self._train(inner, n)))
        self.runs.append(list(ids.values()))

        def source(src: str, fp: int) -> Source:
            return (ids[src], fp) if src in ids else feeds[ins.index(src)]

        for n, new in ids.items():
            for src, fp in inner.input_sources(n):
                src, fp = source(src, fp)
                self.check_wire(src, new)
                self.wires.append((src, fp, new))
        return [source(*inner.input_sources(out)[0]) for out in outs]

    def _train(self, inner: Graph, node: str) -> dict[str, Any]:
        """A layer's training options once out of the instance: the instance's hold for it
        (frozen stays frozen, multipliers multiply)."""
        options = node_options(inner, node).inside(node_options(self.graph, self.node))
        return normalized({"frozen": options.frozen, "lr_scale": options.lr_scale})

    def _ids_free(self, defn: BlockDef) -> bool:
        """Whether every layer of the definition can keep its own id here (no other node has
        it), as after grouping: then ungrouping gives the layers back their names."""
        inner = defn.graph
        return all(n not in self.graph or n == self.node for n in inner.nodes()
                   if inner.type_of(n) not in (BLOCK_INPUT, BLOCK_OUTPUT))

    def _fresh(self, base: str) -> str:
        new, n = base, 1
        while new in self._taken or (new in self.graph and new != self.node):
            n += 1
            new = f"{base}_{n}"
        self._taken.add(new)
        return new

    def check_wire(self, src: str, dst: str) -> None:
        """GraphError where ungrouping would join two layers twice (a block that passes its
        input straight to its output, beside a wire that already does)."""
        if (src, dst) in self._pairs or (src in self.graph and dst in self.graph
                                         and self.graph.nx.has_edge(src, dst)):
            raise GraphError(f"cannot ungroup {self.node}: {src} would be wired to {dst} "
                             "twice, and two layers are joined by one wire at most")
        self._pairs.add((src, dst))


def _lay_out(graph: Graph, node: str, plan: _Plan, commands: list[Any], defn: BlockDef
             ) -> None:
    """Where the layers were, when they keep their ids and their spots in the definition are
    free here (grouping then ungrouping); else where the card was: laid out left to right
    from its spot, the repeats one after another, the cards right of it and below it moving
    to make room."""
    spot = ui_position(graph.ui(node))
    if spot is None or not plan.nodes:
        return
    if _back_where_they_were(graph, node, plan, commands, defn):
        return
    sketch = Graph()
    for new, *_ in plan.nodes:
        sketch.add_node(new, "layer")
    for src, _, dst in plan.wires:
        if src in sketch and dst in sketch and not sketch.nx.has_edge(src, dst):
            sketch.add_edge(src, dst)
    at = {n: (round(spot[0]) + x, round(spot[1]) + y) for n, (x, y) in
          layered_layout(sketch).items()}
    for step in commands:
        if isinstance(step, AddNode) and step.node in at:
            step.ui = {"x": at[step.node][0], "y": at[step.node][1]}
    wider = max(x for x, _ in at.values()) - round(spot[0])
    taller = max(y for _, y in at.values()) - round(spot[1])
    for other in graph.nodes():
        p = ui_position(graph.ui(other))
        if other == node or p is None:
            continue
        x, y = p
        if spot[1] - H < y < spot[1] + H / 2 and x > spot[0] and wider:
            commands.append(SetUi(other, {**graph.ui(other), "x": x + wider}))
        elif y >= spot[1] + H / 2 and taller:
            commands.append(SetUi(other, {**graph.ui(other), "y": y + taller}))


def _back_where_they_were(graph: Graph, node: str, plan: _Plan, commands: list[Any],
                          defn: BlockDef) -> bool:
    """Put the layers at their own spots (kept in the definition since grouping) if each has
    one and no other card is there now; False (nothing changed) otherwise."""
    if not plan.keep_ids:
        return False
    spots = {n: ui_position(defn.graph.ui(n)) for n, *_ in plan.nodes}
    if any(p is None for p in spots.values()):
        return False
    others = [p for n, p in card_positions(graph).items() if n != node]
    width, height = NODE_SIZE
    if any(abs(x - ox) < width and abs(y - oy) < height
           for x, y in spots.values() for ox, oy in others):  # type: ignore[misc]
        return False
    for step in commands:
        if isinstance(step, AddNode) and step.node in spots:
            x, y = spots[step.node]  # type: ignore[misc]
            step.ui = {"x": round(x), "y": round(y)}
    return True


def flatten(graph: Graph, registry: Registry) -> Graph:
    """A copy of `graph` with every instance ungrouped, recursively: no blocks left. The
    registry's inference tells each instance's input channels (for `in_channels`)."""
    flat = copy_graph(graph, {})
    for defn in graph.blocks.values():
        flat.add_block(BlockDef(defn.name, defn.params, copy_graph(defn.graph, flat.blocks),
                                defn.doc))
    engine = InferenceEngine(flat, registry)
    while True:
        todo = [n for n, t in flat.nx.nodes(data="type") if t == BLOCK]
        if not todo:
            break
        for node in todo:
            ungroup(flat, node, engine, keep_ids=False).apply(flat)
    engine.close()
    for name in list(flat.blocks):
        flat.remove_block(name)
    return flat


def copy_graph(graph: Graph, blocks: dict[str, BlockDef] | None = None) -> Graph:
    """A copy of a graph's nodes (order, params, ui) and wires (ports, outputs)."""
    new = Graph(graph.name, copy.deepcopy(graph.training), blocks)
    for node in graph.nodes():
        new.add_node(node, graph.type_of(node), graph.params(node), graph.ui(node),
                     train=graph.train(node), dismissed=graph.dismissed(node))
    for node in graph.nodes():
        for src, from_port in graph.input_sources(node):
            new.add_edge(src, node, from_port=from_port)
    return new
