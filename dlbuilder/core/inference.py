"""Live shape and parameter inference over a Graph, kept up to date edit by edit.

The engine listens to the graph's events. A parameter edit re-infers the edited node, then its
successors only while outputs keep changing; a wiring edit does the same from the wire's target
and re-runs the graph-wide checks (one Input, one end, reachability). Problems never escape as
exceptions: every one is a `Diagnostic` bound to a node (or to the graph).

How one node is computed lives in engine_base.py, shared with the evaluation of blocks
(block_eval.py). A change to a block definition re-infers every instance in the graph (the
evaluations are cached by block, input shapes and arguments, so repeated instances are cheap).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import networkx as nx

from dlbuilder.core.block_eval import BlockEvaluator
from dlbuilder.core.blocks import BLOCK
from dlbuilder.core.checks import graph_checks
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.engine_base import MERGE_MISMATCHES, EngineBase, NodeInfo, Totals
from dlbuilder.core.graph import (
    STRUCTURAL,
    BlockChanged,
    DismissedChanged,
    EdgeAdded,
    EdgeRemoved,
    Event,
    Graph,
    NodeAdded,
    NodeRemoved,
    ParamsChanged,
)
from dlbuilder.core.registry import Registry

__all__ = ["MERGE_MISMATCHES", "InferenceEngine", "NodeInfo", "ShapesChanged", "Totals"]


@dataclass(frozen=True)
class ShapesChanged:
    """Emitted after an edit: the nodes whose NodeInfo changed, and those of them whose only
    change is their receptive field (views that do not show fields skip these)."""

    nodes: frozenset[str]
    fields_only: frozenset[str] = frozenset()


class InferenceEngine(EngineBase):
    """Inference for the top-level graph, kept up to date edit by edit."""

    def __init__(self, graph: Graph, registry: Registry) -> None:
        super().__init__(graph, registry, BlockEvaluator(registry))
        self._listeners: list[Callable[[ShapesChanged], None]] = []
        self._fields_only: set[str] = set()  # of the last edit: nodes only re-fielded
        graph.subscribe(self._on_graph_event)
        self.infer_all()

    def _graph_checks(self) -> list[Diagnostic]:
        return graph_checks(self.graph, self.registry)

    def subscribe(self, listener: Callable[[ShapesChanged], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[ShapesChanged], None]) -> None:
        self._listeners.remove(listener)

    def close(self) -> None:
        """Stop listening to the graph."""
        self.graph.unsubscribe(self._on_graph_event)

    def _on_graph_event(self, event: Event) -> None:
        graph = self.graph
        changed: set[str] = set()
        self._fields_only = set()
        if isinstance(event, STRUCTURAL + (ParamsChanged,)):
            self._diagnostics = None
        if isinstance(event, ParamsChanged):  # wiring unchanged: graph checks still hold
            self._notify(self._propagate([event.node]))
            return
        if isinstance(event, DismissedChanged):  # only the hints shown change
            self._diagnostics = None
            self._notify({event.node})
            return
        if isinstance(event, BlockChanged):
            if event.event is None or isinstance(
                    event.event, STRUCTURAL + (ParamsChanged, DismissedChanged)):
                self._diagnostics = None
                self.blocks.forget()
                instances = [n for n, t in graph.nx.nodes(data="type") if t == BLOCK]
                self._notify(self._propagate(instances))
            return
        if isinstance(event, NodeAdded):
            self._order[event.node] = self._next_order
            self._next_order += 1
            changed = self._propagate([event.node, *self._output_nodes()])
        elif isinstance(event, NodeRemoved):
            self._order.pop(event.node, None)
            self._info.pop(event.node, None)
            self._checked.pop(event.node, None)
            self._runs.pop(event.node, None)
            changed = {event.node} | self._propagate(self._output_nodes())
        elif isinstance(event, (EdgeAdded, EdgeRemoved)):
            if isinstance(event, EdgeAdded) and self._order[event.src] > self._order[event.dst]:
                self._set_order(nx.topological_sort(graph.nx))
            start = [event.dst]
            if event.from_port or self._is_multi_output(event.src):  # it checks its ports
                start.append(event.src)
            changed = self._propagate(start)
        else:
            return
        old = self._graph_diags
        self._graph_diags = graph_checks(graph, self.registry)
        if old != self._graph_diags:
            flagged = {d.node for d in old + self._graph_diags if d.node in self._info}
            changed.update(flagged)
            self._fields_only -= flagged
        self._notify(changed)

    def _notify(self, changed: set[str]) -> None:
        if changed and self._listeners:
            message = ShapesChanged(frozenset(changed), frozenset(self._fields_only & changed))
            for listener in list(self._listeners):
                listener(message)

    def _propagate(self, start: list[str]) -> set[str]:
        """Re-infer `start`, then successors of every node whose output shape or receptive
        field changed; a node reached only through changed fields (kernel 3 pad 1 -> kernel 5
        pad 2: the same shapes) just has its field recomputed."""
        order = self._order
        heap = [(order[n], n) for n in start]
        heapq.heapify(heap)
        seen = set(start)
        whole = set(start)  # nodes that need a full inference, not only their field
        changed: set[str] = set()
        inferred: list[str] = []
        while heap:
            _, node = heapq.heappop(heap)
            old = self._info.get(node)
            new = self._infer(node) if node in whole or old is None else self._refield(old)
            self._info[node] = new
            inferred.append(node)
            if new == old:
                continue
            changed.add(node)
            if node not in whole and old is not None:
                self._fields_only.add(node)
            same_shapes = old is not None and old.output_shapes == new.output_shapes
            if same_shapes and old.receptive == new.receptive:  # type: ignore[union-attr]
                continue
            dependents = self.graph.outputs(node)
            if self.registry.role_of(new.type) == "input":  # an autoencoder's Output
                # compares its shape with the Input's
                dependents = [*dependents, *self._output_nodes()]
            for succ in dependents:
                if not same_shapes:
                    whole.add(succ)
                if succ not in seen:
                    seen.add(succ)
                    heapq.heappush(heap, (order[succ], succ))
        self.last_inferred = inferred
        return changed

