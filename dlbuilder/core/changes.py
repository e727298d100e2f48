"""What one edit changed, gathered from the graph's and the engine's events into one record.

An edit (a command, its undo or redo, a macro of many commands) makes the graph emit one event
per elementary change and the engine one `ShapesChanged` per re-inference. Views should not
each piece those together: a `ChangeRecorder` collects them while the edit runs, and `take`
returns one `Change` saying what the edit did as a whole, with the diagnostics computed once
for every view to share. Only the net effect counts: a wire removed and put back elsewhere by a
macro is one removal and one addition; a node added and removed again is not mentioned.

The nodes and wires a Change names are those of the graph the views show: the top level, or
the block definition open in the canvas (`ChangeRecorder.show`); the definition's edits reach
the recorder as the top-level graph's `BlockChanged` events. Every definition an edit touched
is in `blocks`, wherever the views are.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.graph import (
    BlockChanged,
    EdgeAdded,
    EdgeRemoved,
    Event,
    Graph,
    NodeAdded,
    NodeRemoved,
    ParamsChanged,
    TrainChanged,
    UiChanged,
)

Wire = tuple[str, str]


@dataclass(frozen=True)
class Change:
    """One edit, after inference. Views apply the removals first, then the additions.

    A node (or wire) that was removed and made again in the same edit, possibly as another
    type, is in both `nodes_added` and `nodes_removed`. `shapes` holds the nodes whose
    inferred info (shape, counts) or problems changed (a problem found while inferring one
    node may name another: Softmax before a CrossEntropyLoss Output); `replaced` means a
    different graph is shown now and views rebuild from it (the other sets are then empty).
    Inside a block, `diagnostics_by_node` holds the problems of the definition's nodes for the
    instance shown, while `diagnostics` stays the whole file's.
    """

    nodes_added: tuple[str, ...] = ()
    nodes_removed: tuple[str, ...] = ()
    edges_added: tuple[Wire, ...] = ()
    edges_removed: tuple[Wire, ...] = ()
    params_changed: frozenset[str] = frozenset()
    moved: frozenset[str] = frozenset()
    tuned: frozenset[str] = frozenset()  # nodes whose training options (frozen...) changed
    shapes: frozenset[str] = frozenset()
    fields_only: frozenset[str] = frozenset()  # of `shapes`: only the receptive field changed
    diagnostics: tuple[Diagnostic, ...] = ()
    diagnostics_by_node: Mapping[str, tuple[Diagnostic, ...]] = field(
        default_factory=dict, compare=False, repr=False)  # those that name a node, by node
    training: bool = False
    replaced: bool = False
    blocks: frozenset[str] = frozenset()  # definitions added, removed or edited

    @property
    def structural(self) -> bool:
        """Nodes or wires came or went."""
        return bool(self.nodes_added or self.nodes_removed or self.edges_added
                    or self.edges_removed)

    @property
    def inferred(self) -> bool:
        """Something inference reads changed: wiring, parameters, block definitions (a
        rename too) or what it inferred."""
        return self.replaced or self.structural or bool(self.params_changed or self.shapes
                                                        or self.blocks)

    def rewired(self) -> set[str]:
        """Nodes whose inputs changed (their ports may have moved)."""
        return {dst for _src, dst in self.edges_added + self.edges_removed}


def by_node(diagnostics: Iterable[Diagnostic]) -> dict[str, tuple[Diagnostic, ...]]:
    """The diagnostics that name a node, grouped by it (in their order)."""
    grouped: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        if diagnostic.node is not None:
            grouped.setdefault(diagnostic.node, []).append(diagnostic)
    return {node: tuple(items) for node, items in grouped.items()}


class ChangeRecorder:
    """Collects one edit's events on `graph`; `take` turns them into a Change and starts over."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph          # the graph whose nodes and wires a Change names
        self.block: str | None = None  # ... a definition's, named so (None: the top level)
        self._problems: dict[str, tuple[Diagnostic, ...]] = {}  # as the last change left them
        self._clear()

    def show(self, graph: Graph, block: str | None,
             problems: Mapping[str, tuple[Diagnostic, ...]]) -> None:
        """Report on `graph` from now on: the top-level graph (`block` None) or the graph of
        definition `block`, whose problems by node are now `problems`."""
        self.graph, self.block = graph, block
        self._problems = dict(problems)
        self._clear()

    def _clear(self) -> None:
        self._nodes_before: dict[str, bool] = {}  # first sight: did it exist before the edit?
        self._nodes_gone: set[str] = set()        # removed at some point during the edit
        self._edges_before: dict[Wire, bool] = {}
        self._edges_gone: set[Wire] = set()
        self._params: set[str] = set()
        self._moved: set[str] = set()
        self._tuned: set[str] = set()
        self._shapes: set[str] = set()
        self._fields_only: set[str] = set()
        self._blocks: set[str] = set()

    @property
    def pending(self) -> bool:
        """Events arrived since the last `take`."""
        return bool(self._nodes_before or self._edges_before or self._params or self._moved
                    or self._tuned or self._shapes or self._blocks)

    def record(self, event: Event) -> None:
        """An event of the top-level graph (a definition's come wrapped in BlockChanged)."""
        if isinstance(event, BlockChanged):
            self._blocks.add(event.name)
            if event.event is not None and event.name == self.block:
                self._record(event.event)
        elif self.block is None:
            self._record(event)

    def _record(self, event: Event) -> None:
        if isinstance(event, NodeAdded):
            self._nodes_before.setdefault(event.node, False)
        elif isinstance(event, NodeRemoved):
            self._nodes_before.setdefault(event.node, True)
            self._nodes_gone.add(event.node)
        elif isinstance(event, EdgeAdded):
            self._edges_before.setdefault((event.src, event.dst), False)
        elif isinstance(event, EdgeRemoved):
            self._edges_before.setdefault((event.src, event.dst), True)
            self._edges_gone.add((event.src, event.dst))
        elif isinstance(event, ParamsChanged):
            self._params.add(event.node)
        elif isinstance(event, UiChanged):
            self._moved.add(event.node)
        elif isinstance(event, TrainChanged):
            self._tuned.add(event.node)

    def record_shapes(self, nodes: frozenset[str],
                      fields_only: frozenset[str] = frozenset()) -> None:
        """The engine re-inferred: these nodes' info changed (of `fields_only`, only the
        receptive field; a node changed otherwise at any point of the edit is not)."""
        seen_before = self._shapes - self._fields_only
        self._shapes.update(nodes)
        self._fields_only.update(fields_only - seen_before)
        self._fields_only -= nodes - fields_only

    def take(self, diagnostics: tuple[Diagnostic, ...], training: bool = False,
             replaced: bool = False, shown: tuple[Diagnostic, ...] | None = None) -> Change:
        """The net change since the last take (the graph as it is now decides what lasted);
        with `replaced`, the change that shows the recorder's graph afresh. `shown` are the
        problems of the graph shown when that is a definition's (default: `diagnostics`)."""
        graph = self.graph
        problems, old = by_node(diagnostics if shown is None else shown), self._problems
        self._problems = problems
        if replaced:
            self._clear()
            return Change(diagnostics=tuple(diagnostics), diagnostics_by_node=problems,
                          replaced=True)
        flagged = {n for n in problems.keys() | old.keys() if problems.get(n) != old.get(n)}
        self._shapes.update(flagged)
        self._fields_only -= flagged
        nodes_removed, nodes_added = _net(self._nodes_before, self._nodes_gone,
                                          lambda n: n in graph)
        edges_removed, edges_added = _net(self._edges_before, self._edges_gone,
                                          lambda e: graph.nx.has_edge(*e))
        alive = {n for n in self._params | self._moved | self._tuned | self._shapes
                 if n in graph}
        change = Change(
            nodes_added=nodes_added, nodes_removed=nodes_removed,
            edges_added=edges_added, edges_removed=edges_removed,
            params_changed=frozenset(self._params & alive),
            moved=frozenset(self._moved & alive), tuned=frozenset(self._tuned & alive),
            shapes=frozenset(self._shapes & alive),
            fields_only=frozenset(self._fields_only & alive - self._params),
            diagnostics=tuple(diagnostics), diagnostics_by_node=problems, training=training,
            blocks=frozenset(self._blocks))
        self._clear()
        return change


def _net(before: dict, gone: set, exists: Callable[[Hashable], bool]) -> tuple[tuple, tuple]:
    """(removed, added) keys: what existed and went (or was made anew), what exists anew."""
    removed, added = [], []
    for key, existed in before.items():
        now = exists(key)
        if existed and (not now or key in gone):
            removed.append(key)
        if now and (not existed or key in gone):
            added.append(key)
    return tuple(removed), tuple(added)
