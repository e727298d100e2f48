"""Freeze and unfreeze from the canvas and the inspector: which selected nodes can be frozen
(those with weights, and block instances), and the one-step commands that do it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dlbuilder.core.tuning import has_weights, node_options, set_train, upstream_with_weights

if TYPE_CHECKING:
    from dlbuilder.gui.document import Document


def tunable(doc: Document, nodes: Iterable[str]) -> list[str]:
    """Those of `nodes` (in the graph the canvas shows) that hold weights or are instances."""
    graph, engine = doc.scope.graph, doc.scope.engine
    out = []
    for node in nodes:
        if node not in graph:
            continue
        info = engine.info(node) if engine is not None else None
        if has_weights(graph, info.params if info else 0, info.buffers if info else 0, node):
            out.append(node)
    return out


def all_frozen(doc: Document, nodes: list[str]) -> bool:
    graph = doc.scope.graph
    return bool(nodes) and all(node_options(graph, n).frozen for n in nodes)


def freeze_command(doc: Document, nodes: Iterable[str], frozen: bool) -> Any | None:
    """Freeze (or unfreeze) those of `nodes` that can be, as one undo step; None if none can."""
    chosen = tunable(doc, nodes)
    if not chosen:
        return None
    return set_train(chosen, {"frozen": True if frozen else None})


def freeze_before_command(doc: Document, node: str) -> Any | None:
    """Freeze every node with weights upstream of `node` (transfer learning: all but the new
    head), as one undo step; None when there is none."""
    graph = doc.scope.graph
    before = upstream_with_weights(graph, node, lambda n: bool(tunable(doc, [n])))
    if not before:
        return None
    return set_train(before, {"frozen": True}, text=f"Freeze everything before {node}")
