"""Undoable edits of block definitions: add, remove, re-declare, rename, edit inside.

Definitions are kept by the top-level graph (the file's graph), whose `blocks` dict every
definition's graph shares. An edit of the definitions themselves (AddBlock...) therefore needs
the file's graph; when it runs inside a definition, as part of a command that `InBlock` applies
there (a group made inside an open block), it reaches the file's graph through `InBlock`,
which records it for the time it applies its command (`file_graph`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dlbuilder.core.blocks import (
    BLOCK,
    BlockDef,
    BlockParam,
    contains_words,
    name_problem,
    param_name_problem,
    would_contain_itself,
)
from dlbuilder.core.graph import Graph, GraphError

_FILE_GRAPHS: list[Graph] = []  # the file graphs of the InBlock commands applying now


def definition_of(graph: Graph) -> str | None:
    """The name of the definition whose graph `graph` is (None: not a definition's graph)."""
    return next((d.name for d in graph.blocks.values() if d.graph is graph), None)


def file_graph(graph: Graph) -> Graph:
    """The graph that keeps the file's definitions, for an edit applied to `graph`."""
    if definition_of(graph) is None:
        return graph
    for top in reversed(_FILE_GRAPHS):
        if top.blocks is graph.blocks:
            return top
    raise GraphError("an edit of block definitions made inside a block must be applied "
                     "through InBlock, which knows the file's graph")


def instances(graph: Graph, name: str) -> list[tuple[str | None, str]]:
    """(definition or None for the top level, node) for every instance of block `name` in the
    file `graph` belongs to, top level first, then each definition in the file's order."""
    top = file_graph(graph)
    found = [(None, n) for n in _instances_in(top, name)]
    for defn in top.blocks.values():
        found += [(defn.name, n) for n in _instances_in(defn.graph, name)]
    return found


def _instances_in(graph: Graph, name: str) -> list[str]:
    return [n for n, t in graph.nx.nodes(data="type")
            if t == BLOCK and graph.raw_params(n).get("block") == name]


def where_words(uses: Iterable[tuple[str | None, str]]) -> str:
    """`layer1, Stage/0`: instances named by where they are."""
    return ", ".join(node if block is None else f"{block}/{node}" for block, node in uses)


def _graph_of(top: Graph, block: str | None) -> Graph:
    return top if block is None else top.block(block).graph


@dataclass
class InBlock:
    """Any command, applied to the graph of definition `block` (one undo step)."""

    block: str
    command: Any

    @property
    def text(self) -> str:
        return f"{self.command.text} in {self.block}"

    def apply(self, graph: Graph) -> None:
        self._run(graph, self.command.apply)

    def revert(self, graph: Graph) -> None:
        self._run(graph, self.command.revert)

    def _run(self, graph: Graph, action: Any) -> None:
        inner = graph.block(self.block).graph
        try:
            _FILE_GRAPHS.append(file_graph(graph))
        except GraphError:  # applied to a definition's graph by hand: only its own layers
            return action(inner)
        try:
            action(inner)
        finally:
            _FILE_GRAPHS.pop()


@dataclass
class AddBlock:
    """Add a definition to the file (last, or at `index` of its list)."""

    defn: BlockDef
    index: int | None = None

    @property
    def text(self) -> str:
        return f"Add block {self.defn.name}"

    def apply(self, graph: Graph) -> None:
        file_graph(graph).add_block(self.defn, self.index)

    def revert(self, graph: Graph) -> None:
        file_graph(graph).remove_block(self.defn.name)


@dataclass
class RemoveBlock:
    """Remove a definition that no instance uses."""

    name: str
    _saved: tuple[BlockDef, int] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"Remove block {self.name}"

    def apply(self, graph: Graph) -> None:
        problem = remove_problem(graph, self.name)
        if problem:
            raise GraphError(problem)
        self._saved = file_graph(graph).remove_block(self.name)

    def revert(self, graph: Graph) -> None:
        assert self._saved is not None, "RemoveBlock reverted before it was applied"
        file_graph(graph).add_block(*self._saved)


@dataclass
class DropUnusedBlock:
    """Remove a definition if no instance uses it any more (after an ungroup); decided when
    applied, since only then is the file's graph at hand."""

    name: str
    _saved: tuple[BlockDef, int] | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return f"Remove block {self.name} if unused"

    def apply(self, graph: Graph) -> None:
        unused = self.name in graph.blocks and not instances(graph, self.name)
        self._saved = file_graph(graph).remove_block(self.name) if unused else None

    def revert(self, graph: Graph) -> None:
        if self._saved is not None:
            file_graph(graph).add_block(*self._saved)


def remove_problem(graph: Graph, name: str) -> str | None:
    """Why block `name` cannot be removed now (it does not exist, or instances use it)."""
    if name not in graph.blocks:
        return f"there is no block {name!r}"
    uses = instances(graph, name)
    if uses:
        return (f"block {name} is used by {where_words(uses)}; delete or ungroup "
                f"{'it' if len(uses) == 1 else 'them'} first")
    return None


@dataclass
class DeclareBlock:
    """Change a definition's parameters and doc. Instances keep their argument values; an
    argument for a parameter that is no longer declared is dropped (and restored by revert)."""

    name: str
    params: tuple[BlockParam, ...]
    doc: str = ""
    _old: tuple[tuple[BlockParam, ...], str] | None = field(default=None, repr=False)
    _dropped: list[tuple[str | None, str, dict[str, Any]]] = field(default_factory=list,
                                                                    repr=False)

    @property
    def text(self) -> str:
        return f"Change the parameters of {self.name}"

    def apply(self, graph: Graph) -> None:
        top = file_graph(graph)
        defn = top.block(self.name)
        problem = declare_problem(self.params)
        if problem:
            raise GraphError(f"{self.name}: {problem}")
        gone = {p.name for p in defn.params} - {p.name for p in self.params}
        self._old = (defn.params, defn.doc)
        self._dropped = []
        for block, node in instances(top, self.name):
            inner = _graph_of(top, block)
            old = inner.params(node)
            if gone & set(old):
                self._dropped.append((block, node, old))
                inner.set_params(node, {k: v for k, v in old.items() if k not in gone})
        top.declare_block(self.name, tuple(self.params), self.doc)

    def revert(self, graph: Graph) -> None:
        assert self._old is not None, "DeclareBlock reverted before it was applied"
        top = file_graph(graph)
        top.declare_block(self.name, *self._old)
        for block, node, old in reversed(self._dropped):
            _graph_of(top, block).set_params(node, old)


def declare_problem(params: Iterable[BlockParam]) -> str | None:
    """Why these cannot be a block's parameters (a bad or repeated name, a bad default)."""
    seen: set[str] = set()
    for param in params:
        problem = param_name_problem(param.name)
        if problem:
            return problem
        if param.name in seen:
            return f"two parameters are named {param.name!r}; names are unique"
        seen.add(param.name)
        if param.low is not None and param.high is not None and param.low > param.high:
            return f"{param.name}: the minimum {param.low} is above the maximum {param.high}"
        problem = param.problem(param.default)
        if problem:
            return f"the default of {problem}"
    return None


@dataclass
class RenameBlock:
    """Rename a definition; every instance of it, at the top level and in every definition,
    follows."""

    old: str
    new: str
    _renamed: list[tuple[str | None, str]] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        return f"Rename block {self.old} to {self.new}"

    def apply(self, graph: Graph) -> None:
        top = file_graph(graph)
        problem = rename_block_problem(top, self.old, self.new)
        if problem:
            raise GraphError(problem)
        self._renamed = instances(top, self.old)
        _rename_block(top, self.old, self.new, self._renamed)

    def revert(self, graph: Graph) -> None:
        _rename_block(file_graph(graph), self.new, self.old, self._renamed)


def rename_block_problem(graph: Graph, old: str, new: str) -> str | None:
    if old not in graph.blocks:
        return f"there is no block {old!r} to rename"
    if new == old:
        return None
    problem = name_problem(new)
    if problem:
        return problem
    if new in graph.blocks:
        return f"there is already a block named {new!r}; block names are unique"
    return None


def _rename_block(top: Graph, old: str, new: str, uses: list[tuple[str | None, str]]) -> None:
    defn, index = top.remove_block(old)
    defn.name = new
    top.add_block(defn, index)
    for block, node in uses:
        block = new if block == old else block
        inner = _graph_of(top, block)
        inner.set_params(node, {**inner.params(node), "block": new})


def place_problem(graph: Graph, container: str | None, block_name: str,
                  adding: Iterable[BlockDef] = ()) -> str | None:
    """Why an instance of `block_name` cannot be placed in the graph of definition
    `container` (None: the top level), or None when it can. `adding`: definitions placed in
    the same step (a library block's copies), looked through as if the file had them."""
    blocks = {**graph.blocks, **{defn.name: defn for defn in adding}}
    if block_name not in blocks:
        return f"there is no block {block_name!r}"
    if container is None:
        return None
    loop = would_contain_itself(blocks, container, block_name)
    return contains_words(loop) if loop else None
