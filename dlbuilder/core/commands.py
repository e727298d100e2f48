"""Undoable edits. Each command applies itself to a Graph and can revert exactly what it did.

The editor wraps any of these in one generic QUndoCommand; `History` is the same idea without Qt,
for scripts and tests. A command is applied once before it is reverted, and reverted before it
is applied again.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

from dlbuilder.core.graph import Graph, GraphError


class Command(Protocol):
    text: str

    def apply(self, graph: Graph) -> None: ...

    def revert(self, graph: Graph) -> None: ...


@dataclass
class AddNode:
    node: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)
    index: int | None = None  # its place in the node order (None: last)
    train: dict[str, Any] = field(default_factory=dict)  # its training options
    dismissed: tuple[str, ...] = ()  # the hints dismissed on it


    @property
    def text(self) -> str:
        return f"Add {self.type} {self.node}"

    def apply(self, graph: Graph) -> None:
        graph.add_node(self.node, self.type, self.params, self.ui, self.index, self.train,
                       self.dismissed)

    def revert(self, graph: Graph) -> None:
        graph.remove_node(self.node)


@dataclass
class RemoveNode:
    node: str
    _saved: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"Delete {self.node}"

    def apply(self, graph: Graph) -> None:
        n = self.node
        self._saved = {
            "type": graph.type_of(n), "params": graph.params(n), "ui": graph.ui(n),
            "train": graph.train(n), "dismissed": graph.dismissed(n),
            "index": graph.nodes().index(n),
            "inputs": graph.input_sources(n),
            "outputs": _outgoing(graph, n),
        }
        graph.remove_node(n)

    def revert(self, graph: Graph) -> None:
        saved = self._saved
        assert saved is not None, "RemoveNode reverted before it was applied"
        graph.add_node(self.node, saved["type"], saved["params"], saved["ui"], saved["index"],
                       saved["train"], saved["dismissed"])
        for src, from_port in saved["inputs"]:
            graph.add_edge(src, self.node, from_port=from_port)
        for dst, port, from_port in saved["outputs"]:
            graph.add_edge(self.node, dst, port, from_port)


def _outgoing(graph: Graph, node: str) -> list[tuple[str, int, int]]:
    """(dst, port, from_port) for each wire leaving `node`, in the order that restores them."""
    wires = [(dst, graph.port_of(node, dst), graph.from_port(node, dst))
             for dst in graph.outputs(node)]
    return sorted(wires, key=lambda item: item[1])


@dataclass
class AddEdge:
    """Wire `src`'s output `from_port` into `dst` (at input `port`, appended when None)."""

    src: str
    dst: str
    port: int | None = None
    from_port: int = 0
    _port: int | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"Connect {_source_text(self.src, self.from_port)} to {self.dst}"

    def apply(self, graph: Graph) -> None:
        self._port = graph.add_edge(self.src, self.dst, self.port, self.from_port)

    def revert(self, graph: Graph) -> None:
        graph.remove_edge(self.src, self.dst)


@dataclass
class RemoveEdge:
    src: str
    dst: str
    _port: int | None = field(default=None, repr=False)
    _from_port: int = field(default=0, repr=False)

    @property
    def text(self) -> str:
        return f"Disconnect {self.src} from {self.dst}"

    def apply(self, graph: Graph) -> None:
        self._from_port = graph.from_port(self.src, self.dst)
        self._port = graph.remove_edge(self.src, self.dst)

    def revert(self, graph: Graph) -> None:
        graph.add_edge(self.src, self.dst, self._port, self._from_port)


def _source_text(src: str, from_port: int) -> str:
    """`split` for a layer's only output, `split output 1` for another of its outputs."""
    return f"{src} output {from_port}" if from_port else src


@dataclass
class SetParams:
    """Change some parameters of a node; a value of None removes the key (torch's default)."""

    node: str
    changes: dict[str, Any]
    _old: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        names = ", ".join(sorted(self.changes))
        return f"Set {names} of {self.node}"

    def apply(self, graph: Graph) -> None:
        self._old = graph.params(self.node)
        new = dict(self._old)
        for key, value in self.changes.items():
            if value is None:
                new.pop(key, None)
            else:
                new[key] = copy.deepcopy(value)
        graph.set_params(self.node, new)

    def revert(self, graph: Graph) -> None:
        assert self._old is not None, "SetParams reverted before it was applied"
        graph.set_params(self.node, self._old)


@dataclass
class SetTraining:
    """Replace the graph's training settings (the file's `training` section), so a change in
    the training form is one undo step and marks the file modified like any other edit."""

    training: dict[str, Any]
    text: str = "Change training settings"
    _old: dict[str, Any] | None = field(default=None, repr=False)

    def apply(self, graph: Graph) -> None:
        self._old = copy.deepcopy(graph.training)
        graph.training = copy.deepcopy(self.training)

    def revert(self, graph: Graph) -> None:
        assert self._old is not None, "SetTraining reverted before it was applied"
        graph.training = copy.deepcopy(self._old)


@dataclass
class SetUi:
    node: str
    ui: dict[str, Any]
    _old: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"Move {self.node}"

    def apply(self, graph: Graph) -> None:
        self._old = graph.ui(self.node)
        graph.set_ui(self.node, self.ui)

    def revert(self, graph: Graph) -> None:
        assert self._old is not None, "SetUi reverted before it was applied"
        graph.set_ui(self.node, self._old)


@dataclass
class RenameNode:
    """Give a node a new id, keeping its place in the node order, its wires and their ports."""

    node: str
    new: str

    @property
    def text(self) -> str:
        return f"Rename {self.node} to {self.new}"

    def apply(self, graph: Graph) -> None:
        _rename(graph, self.node, self.new)

    def revert(self, graph: Graph) -> None:
        _rename(graph, self.new, self.node)


def rename_problem(graph: Graph, old: str, new: str) -> str | None:
    """Why `old` cannot be renamed to `new`, or None if it can."""
    if old not in graph:
        return f"there is no node {old!r} to rename"
    if not isinstance(new, str) or not new.strip() or new != new.strip():
        return f"{new!r} cannot be an id: use a non-empty name without spaces at either end"
    if new in graph:
        return f"there is already a node {new!r}; ids must be unique"
    return None


def _rename(graph: Graph, old: str, new: str) -> None:
    problem = rename_problem(graph, old, new)
    if problem is not None:
        raise GraphError(problem)
    index = graph.nodes().index(old)
    inputs = graph.input_sources(old)
    outputs = _outgoing(graph, old)
    type_name, params, ui = graph.type_of(old), graph.params(old), graph.ui(old)
    train, dismissed = graph.train(old), graph.dismissed(old)
    graph.remove_node(old)
    graph.add_node(new, type_name, params, ui, index, train, dismissed)
    for src, from_port in inputs:
        graph.add_edge(src, new, from_port=from_port)
    for dst, port, from_port in outputs:
        graph.add_edge(new, dst, port, from_port)


@dataclass
class Macro:
    """Several commands as one undo step; reverted in reverse order."""

    text: str
    commands: list[Any]

    def apply(self, graph: Graph) -> None:
        done: list[Any] = []
        try:
            for command in self.commands:
                command.apply(graph)
                done.append(command)
        except Exception:
            for command in reversed(done):
                command.revert(graph)
            raise

    def revert(self, graph: Graph) -> None:
        for command in reversed(self.commands):
            command.revert(graph)


def insert_between(graph: Graph, src: str, dst: str, node: str, type_name: str,
                   params: dict[str, Any] | None = None, text: str | None = None,
                   then: list[tuple[str, str, dict[str, Any]]] = ()) -> Macro:
    """A command that puts a new node on the wire src -> dst, keeping dst's input port.

    `then` chains more new nodes (id, type, params) after it, before dst: a projection
    followed by its BatchNorm. The new node takes the output of `src` that the wire carried.
    """
    port = graph.port_of(src, dst)
    commands: list[Any] = [RemoveEdge(src, dst), AddNode(node, type_name, dict(params or {})),
                           AddEdge(src, node, from_port=graph.from_port(src, dst))]
    last = node
    for next_id, next_type, next_params in then:
        commands += [AddNode(next_id, next_type, dict(next_params)), AddEdge(last, next_id)]
        last = next_id
    commands.append(AddEdge(last, dst, port))
    return Macro(text or f"Insert {type_name} before {dst}", commands)


def bypass(graph: Graph, node: str, text: str | None = None) -> Macro:
    """A command that removes a single-input node and wires its input (the same output of
    its source) to its successors."""
    inputs = graph.input_sources(node)
    if len(inputs) != 1:
        raise GraphError(f"cannot bypass {node!r}: it has {len(inputs)} inputs, and only a "
                         "layer with exactly one input can be bypassed")
    ((src, from_port),) = inputs
    return Macro(text or f"Remove {node}", [
        RemoveNode(node),
        *[AddEdge(src, dst, port, from_port) for dst, port, _ in _outgoing(graph, node)],
    ])


def retype(graph: Graph, node: str, type_name: str, params: dict[str, Any] | None = None,
           text: str | None = None) -> Macro:
    """A command that makes `node` a `type_name` with `params`, keeping its id, place, card
    position and wires (a Sigmoid that becomes a ReLU)."""
    index = graph.nodes().index(node)
    inputs, outputs = graph.input_sources(node), _outgoing(graph, node)
    return Macro(text or f"Make {node} a {type_name}", [
        RemoveNode(node),
        AddNode(node, type_name, dict(params or {}), graph.ui(node), index, graph.train(node)),
        *[AddEdge(src, node, from_port=from_port) for src, from_port in inputs],
        *[AddEdge(node, dst, port, from_port) for dst, port, from_port in outputs],
    ])


class History:
    """An undo/redo stack of commands, the Qt-free twin of the editor's QUndoStack."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._done: list[Any] = []
        self._undone: list[Any] = []

    def push(self, command: Any) -> None:
        command.apply(self.graph)
        self._done.append(command)
        self._undone.clear()

    def undo(self) -> bool:
        if not self._done:
            return False
        command = self._done.pop()
        command.revert(self.graph)
        self._undone.append(command)
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        command = self._undone.pop()
        command.apply(self.graph)
        self._done.append(command)
        return True
