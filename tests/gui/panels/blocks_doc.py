"""A document for the panels' block tests: blocks_tiny.json, and a scope that can show a
block's inside the way the canvas does (Document.scope, as blocks_spec.md describes it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal

from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.graph import Graph
from dlbuilder.gui.document import Document
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).resolve().parents[2] / "core" / "data" / "blocks_tiny.json"


def tiny_graph() -> Graph:
    return load_graph(TINY, REGISTRY)


@dataclass
class _InDefinition:
    """A command applied to a definition's graph (what the canvas's push does in a block)."""

    block: str
    command: Any

    @property
    def text(self) -> str:
        return f"{self.command.text} in {self.block}"

    def apply(self, graph: Graph) -> None:
        self.command.apply(graph.block(self.block).graph)

    def revert(self, graph: Graph) -> None:
        self.command.revert(graph.block(self.block).graph)


@dataclass
class _Scope:
    graph: Graph
    engine: Any
    block: str | None


class ScopedDocument(Document):
    """A Document whose canvas may show the inside of the block an instance places."""

    scope_changed = Signal(object)

    def __init__(self, graph: Graph) -> None:
        self.inside: str | None = None  # the top-level instance whose block is shown
        super().__init__(graph)

    @property
    def scope(self) -> _Scope:
        if self.inside is None:
            return _Scope(self.graph, self.engine, None)
        name = self.graph.raw_params(self.inside)["block"]
        runs = self.engine.runs(self.inside)
        return _Scope(self.graph.block(name).graph, runs[0] if runs else None, name)

    def open_instance(self, node: str | None) -> None:
        self.inside = node
        self.select([])
        self.scope_changed.emit(self.scope)

    def select(self, nodes) -> None:
        graph = self.scope.graph
        chosen = tuple(n for n in dict.fromkeys(nodes) if n in graph)
        if chosen != self._selection:
            self._selection = chosen
            self.selection_changed.emit(chosen)

    def push(self, command: Any, merge_key: Any = None) -> bool:
        if self.inside is not None:
            command = _InDefinition(self.scope.block, command)
        return super().push(command, merge_key)
