"""The node-graph canvas: cards, wires, the scene that mirrors the document, and the view."""

from dlbuilder.gui.canvas.node_item import NodeItem
from dlbuilder.gui.canvas.scene import GraphScene
from dlbuilder.gui.canvas.view import CanvasView
from dlbuilder.gui.canvas.wire_item import WireItem

__all__ = ["CanvasView", "GraphScene", "NodeItem", "WireItem"]
