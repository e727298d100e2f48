"""The canvas's block actions: group the selection into a block, ungroup an instance, open a
block's inside and go back up, and the check that keeps a block out of its own definition.

Group and ungroup are one undo step each; a selection that cannot become a block (or a card
that is not one) changes nothing and the status bar says why, in the core's words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from dlbuilder.core.blocks import BLOCK
from dlbuilder.core.flatten import ungroup
from dlbuilder.core.graph import GraphError
from dlbuilder.core.grouping import group_nodes

if TYPE_CHECKING:
    from dlbuilder.gui.canvas.view import CanvasView


class BlockEdits(QObject):
    """Group, ungroup, open and leave, for one view; `say` puts a line in the status bar."""

    def __init__(self, view: CanvasView, say: Callable[[str], None]) -> None:
        super().__init__(view)
        self.view = view
        self.doc = view.doc
        self.graph_scene = view.graph_scene
        self._say = say

    def group_selected(self) -> str | None:
        """Make the selected layers one block instance, where they were (the core centres it
        on them), and select it. Returns the instance's id (None when refused)."""
        nodes = self.graph_scene.selected_nodes()
        if not nodes:
            self._say("Select the layers to group into a block")
            return None
        graph = self.doc.scope.graph
        before = set(graph.nodes())
        try:
            command = group_nodes(graph, nodes)
        except GraphError as err:
            self._say(f"Cannot group: {err}")
            return None
        if not self.doc.push(command):
            return None
        made = [n for n in self.doc.scope.graph.nodes() if n not in before]
        self.doc.select(made)
        self._say(f"{command.text}; double-click it to open, Ctrl+Shift+G to ungroup")
        return made[0] if made else None

    def ungroup_selected(self) -> list[str]:
        """Put the selected instance's layers in its place; selects them."""
        node = self._one_instance("ungroup")
        if node is None:
            return []
        graph = self.doc.scope.graph
        before = set(graph.nodes())
        try:
            command = ungroup(graph, node, self.doc.scope.engine)
        except GraphError as err:
            self._say(f"Cannot ungroup: {err}")
            return []
        if not self.doc.push(command):
            return []
        added = [n for n in self.doc.scope.graph.nodes() if n not in before]
        self.doc.select(added)
        return added

    def open_selected(self) -> bool:
        node = self._one_instance("open")
        return node is not None and self.doc.open_block(node)

    def leave_block(self) -> bool:
        """Up one level; False at the top level."""
        if not self.doc.scope.trail:
            return False
        self.doc.leave()
        return True

    def _one_instance(self, verb: str) -> str | None:
        nodes = self.graph_scene.selected_nodes()
        graph = self.doc.scope.graph
        if len(nodes) != 1 or graph.type_of(nodes[0]) != BLOCK:
            self._say(f"Select one block's card to {verb} it")
            return None
        return nodes[0]
