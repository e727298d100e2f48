"""The graph model: layer nodes and the wires between them, the one source of truth.

Nodes carry a type name, the parameters as the user set them (raw, as in the file) and a `ui`
dict the core never reads. Wires are directed edges of a networkx DiGraph; the order of a node's
inputs (for Add/Concat) is the `port` attribute on its incoming edges, always 0..n-1; which of
the source's outputs a wire carries is its `from_port` (0 unless the source has several outputs,
as Chunk has). Every change emits a plain event to the subscribers; edits meant for undo go
through core commands.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import networkx as nx

BlockDef = Any  # core/blocks.BlockDef, which builds on this module


class GraphError(ValueError):
    """An edit the model refuses; the message says why."""


@dataclass(frozen=True)
class NodeAdded:
    node: str


@dataclass(frozen=True)
class NodeRemoved:
    node: str


@dataclass(frozen=True)
class EdgeAdded:
    src: str
    dst: str
    port: int
    from_port: int = 0


@dataclass(frozen=True)
class EdgeRemoved:
    src: str
    dst: str
    port: int
    from_port: int = 0


@dataclass(frozen=True)
class ParamsChanged:
    node: str


@dataclass(frozen=True)
class UiChanged:
    node: str


@dataclass(frozen=True)
class TrainChanged:
    """The node's training options (frozen, learning-rate multiplier) changed."""

    node: str


@dataclass(frozen=True)
class DismissedChanged:
    """The hints dismissed on the node changed (core/hints.py)."""

    node: str


@dataclass(frozen=True)
class BlockChanged:
    """A block definition was added, removed or changed (`event` is what happened in its graph;
    None when the definition itself was added, removed, renamed or re-declared)."""

    name: str
    event: Event | None = None


Event = (NodeAdded | NodeRemoved | EdgeAdded | EdgeRemoved | ParamsChanged | UiChanged
         | TrainChanged | DismissedChanged | BlockChanged)
STRUCTURAL = (NodeAdded, NodeRemoved, EdgeAdded, EdgeRemoved)


def self_wire_words(src: str) -> str:
    """The wiring rules' words, shared by the editor (`Graph.wire_problem`) and the file
    loader, so a user reads the same sentence wherever a rule is broken."""
    return f"cannot connect {src!r} to itself: a layer cannot feed its own input"


def second_wire_words(src: str, dst: str) -> str:
    return f"{src!r} is already connected to {dst!r}; two layers are joined by one wire at most"


def cycle_words(loop: list[str], proposed: bool = True) -> str:
    """`loop` starts and ends at the same node; a proposed wire is its first step."""
    what = (f"connecting {loop[0]!r} to {loop[1]!r} would make" if proposed
            else "the wires make")
    return (f"{what} a cycle ({' -> '.join(loop)}); networks here flow one way, "
            "from Input to Output")


class Graph:
    """A directed acyclic graph of layers."""

    def __init__(self, name: str = "untitled", training: dict[str, Any] | None = None,
                 blocks: dict[str, BlockDef] | None = None) -> None:
        self.name = name
        self.training: dict[str, Any] = dict(training or {})
        self._g = nx.DiGraph()
        self._listeners: list[Callable[[Event], None]] = []
        # the file's block definitions, shared (the same dict) with every definition's graph
        self.blocks: dict[str, BlockDef] = blocks if blocks is not None else {}
        self._watching: dict[str, Callable[[Event], None]] = {}

    # -- observation -------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.remove(listener)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    # -- queries -----------------------------------------------------------------------------
    @property
    def nx(self) -> nx.DiGraph:
        """The underlying DiGraph, for algorithms. Do not edit it directly."""
        return self._g

    def __contains__(self, node: object) -> bool:
        return node in self._g

    def __len__(self) -> int:
        return len(self._g)

    def nodes(self) -> list[str]:
        """Node ids in insertion order."""
        return list(self._g.nodes)

    def type_of(self, node: str) -> str:
        return self._attrs(node)["type"]

    def params(self, node: str) -> dict[str, Any]:
        """The node's raw parameters (a copy)."""
        return copy.deepcopy(self._attrs(node)["params"])

    def raw_params(self, node: str) -> dict[str, Any]:
        """The node's raw parameters, not copied: read-only, for the inference hot path."""
        return self._attrs(node)["params"]

    def ui(self, node: str) -> dict[str, Any]:
        return dict(self._attrs(node)["ui"])

    def train(self, node: str) -> dict[str, Any]:
        """The node's training options as the file has them (`frozen`, `lr_scale`; empty when
        it trains as usual). core/tuning.py reads and checks them."""
        return dict(self._attrs(node)["train"])

    def dismissed(self, node: str) -> tuple[str, ...]:
        """The codes of the hints the user dismissed on the node (in the file's order; codes
        this version does not know are kept as they are)."""
        return self._attrs(node)["dismissed"]

    def inputs(self, node: str) -> list[str]:
        """The node's input nodes in port order."""
        try:
            pred = self._g.pred[node]
        except KeyError:
            raise GraphError(f"there is no node {node!r}") from None
        if len(pred) < 2:
            return list(pred)
        return sorted(pred, key=lambda src: pred[src]["port"])

    def input_sources(self, node: str) -> list[tuple[str, int]]:
        """(source, from_port) for each of the node's inputs, in port order."""
        try:
            wires = list(self._g.pred[node].items())
        except KeyError:
            raise GraphError(f"there is no node {node!r}") from None
        if len(wires) > 1:
            wires.sort(key=lambda wire: wire[1]["port"])
        return [(src, attrs["from_port"]) for src, attrs in wires]

    def output_ports(self, node: str) -> list[tuple[str, int]]:
        """(target, from_port) for each wire leaving the node."""
        try:
            return [(dst, attrs["from_port"]) for dst, attrs in self._g.succ[node].items()]
        except KeyError:
            raise GraphError(f"there is no node {node!r}") from None

    def outputs(self, node: str) -> list[str]:
        try:
            return list(self._g.succ[node])
        except KeyError:
            raise GraphError(f"there is no node {node!r}") from None

    def edges(self) -> list[tuple[str, str, int]]:
        """(src, dst, port) for every wire, grouped by target in node order, ports ascending."""
        return [(src, dst, port) for dst in self._g for port, src in enumerate(self.inputs(dst))]

    def wire_problem(self, src: str, dst: str, from_port: int = 0) -> str | None:
        """Why a wire from `src`'s output `from_port` to `dst` can never be made (a layer into
        itself, a second wire between the same two, a cycle), or None. The one home of these
        rules and their words: `add_edge` raises them and the editor shows them while a wire
        is dragged."""
        if src == dst:
            return self_wire_words(src)
        if self._g.has_edge(src, dst):
            taken = self._g.edges[src, dst]["from_port"]
            if taken != from_port:
                return (f"{src!r} already feeds {dst!r} from output {taken}; two layers are "
                        "joined by one wire at most")
            return second_wire_words(src, dst)
        if nx.has_path(self._g, dst, src):
            return cycle_words([src, *nx.shortest_path(self._g, dst, src)])
        return None

    def port_of(self, src: str, dst: str) -> int:
        try:
            return self._g.edges[src, dst]["port"]
        except KeyError:
            raise GraphError(f"there is no wire from {src!r} to {dst!r}") from None

    def from_port(self, src: str, dst: str) -> int:
        """Which of `src`'s outputs the wire to `dst` carries (0 for a single-output layer)."""
        try:
            return self._g.edges[src, dst]["from_port"]
        except KeyError:
            raise GraphError(f"there is no wire from {src!r} to {dst!r}") from None

    def unique_id(self, base: str, taken: Collection[str] = ()) -> str:
        """A fresh id from `base` (lower-cased, `conv2d` -> `conv2d_3`), in neither the graph
        nor `taken` (the ids an edit has handed out but not added yet)."""
        stem = re.sub(r"\W+", "_", base.strip()).strip("_").lower() or "node"
        if stem not in self._g and stem not in taken:
            return stem
        match = re.fullmatch(r"(.*?)_?(\d+)", stem)
        prefix, n = (match.group(1), int(match.group(2))) if match else (stem, 1)
        while f"{prefix}_{n}" in self._g or f"{prefix}_{n}" in taken:
            n += 1
        return f"{prefix}_{n}"

    def _attrs(self, node: str) -> dict[str, Any]:
        try:
            return self._g.nodes[node]
        except KeyError:
            raise GraphError(f"there is no node {node!r}") from None

    # -- edits -------------------------------------------------------------------------------
    def add_node(
        self, node: str, type_name: str, params: dict[str, Any] | None = None,
        ui: dict[str, Any] | None = None, index: int | None = None,
        train: dict[str, Any] | None = None, dismissed: tuple[str, ...] = (),
    ) -> None:
        """Add a node, last in the node order or at position `index` (undo restores it there);
        `train` holds its training options (see `train`), `dismissed` its dismissed hints."""
        if not isinstance(node, str) or not node:
            raise GraphError(f"a node id must be a non-empty string, got {node!r}")
        if node in self._g:
            raise GraphError(f"a node with id {node!r} already exists; ids must be unique")
        self._g.add_node(node, type=type_name, params=copy.deepcopy(params or {}),
                         ui=dict(ui or {}), train=dict(train or {}), dismissed=tuple(dismissed))
        if index is not None:
            order = list(self._g)
            at = max(index, 0)
            if at < len(order) - 1:
                self._reorder([*order[:at], node, *order[at:-1]])
        self._emit(NodeAdded(node))

    def _reorder(self, order: list[str]) -> None:
        """Put the nodes in `order` (the file's order, and the tie-breaks of every walk).

        networkx keeps insertion order and has no insert-at, so the DiGraph is rebuilt in place
        through its public API: the nodes with their data, then each node's wires in the order
        they were made. O(nodes + wires), paid only when undo puts a node back mid-list.
        """
        g = self._g
        nodes = [(n, dict(g.nodes[n])) for n in order]
        edges = [(src, dst, dict(data)) for src in order for dst, data in g.succ[src].items()]
        g.clear()
        g.add_nodes_from(nodes)
        g.add_edges_from(edges)

    def remove_node(self, node: str) -> None:
        """Remove a node and its wires (each wire removal is emitted first)."""
        self._attrs(node)
        for dst in self.outputs(node):
            self.remove_edge(node, dst)
        for src in self.inputs(node)[::-1]:
            self.remove_edge(src, node)
        self._g.remove_node(node)
        self._emit(NodeRemoved(node))

    def add_edge(self, src: str, dst: str, port: int | None = None, from_port: int = 0) -> int:
        """Wire `src`'s output `from_port` to `dst`'s input `port` (appended when None); returns
        the port. Whether `src` has that output is inference's question, not the model's."""
        self._attrs(src)
        self._attrs(dst)
        if isinstance(from_port, bool) or not isinstance(from_port, int) or from_port < 0:
            raise GraphError(f"output {from_port!r} of {src!r} is not an output number (0, 1, ...)")
        problem = self.wire_problem(src, dst, from_port)
        if problem is not None:
            raise GraphError(problem)
        existing = self.inputs(dst)
        if port is None:
            port = len(existing)
        if not 0 <= port <= len(existing):
            raise GraphError(f"port {port} of {dst!r} is out of range 0..{len(existing)}")
        for i, other in enumerate(existing[port:], start=port + 1):
            self._g.edges[other, dst]["port"] = i
        self._g.add_edge(src, dst, port=port, from_port=from_port)
        self._emit(EdgeAdded(src, dst, port, from_port))
        return port

    def remove_edge(self, src: str, dst: str) -> int:
        """Remove a wire; later inputs of `dst` move up one port. Returns the removed port."""
        if not self._g.has_edge(src, dst):
            raise GraphError(f"there is no wire from {src!r} to {dst!r}")
        attrs = self._g.edges[src, dst]
        port, from_port = attrs["port"], attrs["from_port"]
        self._g.remove_edge(src, dst)
        for i, other in enumerate(self.inputs(dst)):
            self._g.edges[other, dst]["port"] = i
        self._emit(EdgeRemoved(src, dst, port, from_port))
        return port

    def set_params(self, node: str, params: dict[str, Any]) -> None:
        """Replace the node's raw parameters."""
        self._attrs(node)["params"] = copy.deepcopy(params)
        self._emit(ParamsChanged(node))

    def set_ui(self, node: str, ui: dict[str, Any]) -> None:
        self._attrs(node)["ui"] = dict(ui)
        self._emit(UiChanged(node))

    def set_train(self, node: str, train: dict[str, Any]) -> None:
        """Replace the node's training options."""
        self._attrs(node)["train"] = dict(train)
        self._emit(TrainChanged(node))

    def set_dismissed(self, node: str, codes: tuple[str, ...]) -> None:
        """Replace the codes of the hints dismissed on the node."""
        self._attrs(node)["dismissed"] = tuple(codes)
        self._emit(DismissedChanged(node))

    # -- block definitions (kept by the top-level graph) -------------------------------------
    def block(self, name: str) -> BlockDef:
        try:
            return self.blocks[name]
        except KeyError:
            raise GraphError(f"there is no block {name!r}") from None

    def add_block(self, defn: BlockDef, index: int | None = None) -> None:
        """Add a definition (last, or at `index` of the file's list); its graph's events come
        out of this graph as BlockChanged."""
        if defn.name in self.blocks:
            raise GraphError(f"a block named {defn.name!r} already exists; block names are "
                             "unique")
        defn.graph.blocks = self.blocks
        items = list(self.blocks.items())
        at = len(items) if index is None else max(0, min(index, len(items)))
        items.insert(at, (defn.name, defn))
        self.blocks.clear()
        self.blocks.update(items)
        self._watch(defn)
        self._emit(BlockChanged(defn.name))

    def remove_block(self, name: str) -> tuple[BlockDef, int]:
        """Remove a definition; returns it and its place in the list (for undo)."""
        defn = self.block(name)
        index = list(self.blocks).index(name)
        defn.graph.unsubscribe(self._watching.pop(name))
        del self.blocks[name]
        self._emit(BlockChanged(name))
        return defn, index

    def declare_block(self, name: str, params: tuple, doc: str) -> None:
        """Replace a definition's parameters and documentation."""
        defn = self.block(name)
        defn.params, defn.doc = tuple(params), doc
        self._emit(BlockChanged(name))

    def _watch(self, defn: BlockDef) -> None:
        def forward(event: Event, name: str = defn.name) -> None:
            self._emit(BlockChanged(name, event))

        self._watching[defn.name] = forward
        defn.graph.subscribe(forward)
