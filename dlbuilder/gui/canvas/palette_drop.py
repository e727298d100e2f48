"""What the canvas does with a drag from the palette: a layer is placed where it is dropped
(in between the two layers of a wire it is dropped on); a block is announced with
`block_dropped`, since the palette knows its shelves (the main window places it)."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent

from dlbuilder.gui.canvas.node_item import NodeItem
from dlbuilder.gui.canvas.style import NODE_H, NODE_W, snap
from dlbuilder.gui.canvas.wire_item import WireItem
from dlbuilder.gui.mime import BLOCK_MIME, LAYER_MIME, read_block_drag


class PaletteDrops:
    """The drop handlers of CanvasView (which declares `block_dropped`)."""

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _from_palette(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if _from_palette(event):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not _from_palette(event):
            super().dropEvent(event)
            return
        at = self.mapToScene(event.position().toPoint())
        block = read_block_drag(event.mimeData())
        if block is not None:
            wire = self._wire_under(at)
            self.block_dropped.emit(*block, self._card_corner(at),
                                    wire.key if wire is not None else None)
        elif event.mimeData().hasFormat(LAYER_MIME):
            raw = bytes(event.mimeData().data(LAYER_MIME).data())
            self.add_layer_at(raw.decode("utf-8", errors="replace").strip(), at)
        event.acceptProposedAction()

    def _card_corner(self, centre: QPointF) -> QPointF:
        """The top-left corner of a card centred on `centre`, on the grid when snapping."""
        x, y = centre.x() - NODE_W / 2, centre.y() - NODE_H / 2
        if self.graph_scene.snap_to_grid:
            x, y = snap(x, self.graph_scene.grid), snap(y, self.graph_scene.grid)
        return QPointF(x, y)

    def add_layer_at(self, type_name: str, scene_pos: QPointF) -> str | None:
        """Place a new layer centred on `scene_pos` (on the grid when snapping); dropped on a
        wire, it goes in between the wire's two layers."""
        if type_name not in self.doc.registry:
            self._say(f"unknown layer type {type_name!r}")
            return None
        corner = self._card_corner(scene_pos)
        wire = self._wire_under(scene_pos)
        if wire is not None:
            node = self.doc.insert_layer(type_name, *wire.key, corner.x(), corner.y())
        else:
            node = self.doc.add_layer(type_name, corner.x(), corner.y())
        if node is not None:
            self.setFocus()
        return node

    def _wire_under(self, scene_pos: QPointF) -> WireItem | None:
        """The wire under `scene_pos`, unless a card is on top of it there."""
        for item in self.graph_scene.items(scene_pos):
            if isinstance(item, NodeItem):
                return None
            if isinstance(item, WireItem):
                return item
        return None


def _from_palette(event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> bool:
    """Whether a drag carries a layer or a block from the palette."""
    data = event.mimeData()
    return data.hasFormat(LAYER_MIME) or data.hasFormat(BLOCK_MIME)
