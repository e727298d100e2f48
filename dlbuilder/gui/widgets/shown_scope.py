"""The graph the canvas shows: the top level, or a block definition opened from an instance.

Views that show one graph (the inspector, placing from the palette) read it here, so they follow
the canvas into a block (`Document.scope`, with its engine: the run of the instance the user
came from).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from dlbuilder.core.graph import Graph


class Scope(NamedTuple):
    """The graph a view shows, the engine to read its numbers from, and the block it is the
    inside of (None at the top level)."""

    graph: Graph
    engine: Any
    block: str | None


def shown_scope(doc: Any) -> Scope:
    """The document's current scope (`doc.scope` where the document has one: the canvas may
    show a block's inside), else its top level."""
    scope = getattr(doc, "scope", None)
    if scope is not None:
        return Scope(scope.graph, scope.engine, scope.block)
    return Scope(doc.graph, doc.engine, None)
