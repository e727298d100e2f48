"""The canvas's scene: one card per node and one wire per edge, kept in step with the document.

The scene only listens: graph events add and remove items, `shapes_changed` refreshes the cards
whose numbers changed (and the labels of their outgoing wires), and `replaced` rebuilds. The one
thing it writes back is where the user dragged cards, as a single `move_nodes` when the drag
ends. Scene selection and document selection follow each other without echoing.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSceneMouseEvent

from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.graph import (
    EdgeAdded,
    EdgeRemoved,
    Event,
    NodeAdded,
    NodeRemoved,
    ParamsChanged,
    UiChanged,
)
from dlbuilder.core.layout import layered_layout
from dlbuilder.core.placement import ui_position
from dlbuilder.gui.canvas.card_index import CardIndex
from dlbuilder.gui.canvas.node_item import NodeItem
from dlbuilder.gui.canvas.style import GAP_X, GAP_Y, GRID, NODE_H, NODE_W, snap
from dlbuilder.gui.canvas.wire_item import WireItem
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import Theme, current, theme_manager


class GraphScene(QGraphicsScene):
    """The items of `doc`'s graph. `snap_to_grid` makes dragged cards land on the 20 px grid."""

    def __init__(self, doc: Document, theme: Theme | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.snap_to_grid = True
        self.grid = GRID
        self.nodes: dict[str, NodeItem] = {}
        self.wires: dict[tuple[str, str], WireItem] = {}
        self._theme = theme
        self._syncing = False       # applying the document's selection to the items
        self._placing = False       # moving items to the model's positions
        self._dragging = False      # the user is dragging cards
        self._moved: set[str] = set()
        self._cards: CardIndex[NodeItem] = CardIndex()
        self._dirty: list[QRectF] = []  # where cards left or landed: wires to re-route
        self._diagnostics: dict[str, tuple[Diagnostic, ...]] = {}
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        doc.graph_event.connect(self._on_doc_graph_event)
        doc.shapes_changed.connect(self._on_doc_shapes_changed)
        doc.replaced.connect(self._on_doc_replaced)
        doc.selection_changed.connect(self._on_doc_selection_changed)
        doc.edited.connect(self._on_doc_edited)
        self.selectionChanged.connect(self._on_self_selection_changed)
        theme_manager().changed.connect(self._on_theme_changed)
        self.rebuild()

    def detach(self) -> None:
        """Stop following the document (a scene made for one picture, about to go)."""
        doc = self.doc
        for signal, slot in ((doc.graph_event, self._on_doc_graph_event),
                             (doc.shapes_changed, self._on_doc_shapes_changed),
                             (doc.replaced, self._on_doc_replaced),
                             (doc.selection_changed, self._on_doc_selection_changed),
                             (doc.edited, self._on_doc_edited),
                             (theme_manager().changed, self._on_theme_changed)):
            signal.disconnect(slot)

    def theme(self) -> Theme:
        """The theme items paint with: the app's, unless this scene was given its own."""
        return self._theme if self._theme is not None else current()

    # -- building ------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Drop every item and make them again from the document's graph."""
        self._syncing = True
        self.clear()
        self._syncing = False
        self.nodes.clear()
        self._cards.clear()
        self._dirty.clear()
        self.wires.clear()
        self._moved.clear()
        graph = self.doc.graph
        self._diagnostics = self._diagnostics_by_node()
        self._placing = True
        for node in graph.nodes():
            self._add_node_item(node)
        self._placing = False
        self._place_unplaced()
        for src, dst, port in graph.edges():
            self._add_wire_item(src, dst, port)
        self._apply_selection(self.doc.selection())

    def _add_node_item(self, node: str) -> NodeItem:
        item = NodeItem(self.doc, node, self._diagnostics.get(node, ()))
        spot = ui_position(self.doc.graph.ui(node))
        item.placed = spot is not None
        self.nodes[node] = item
        self.addItem(item)
        if spot is not None:
            item.setPos(float(spot[0]), float(spot[1]))
        self._cards.put(item, item.card_rect())
        return item

    def _add_wire_item(self, src: str, dst: str, port: int) -> WireItem | None:
        if src not in self.nodes or dst not in self.nodes:
            return None
        wire = WireItem(self.nodes[src], self.nodes[dst], port)
        self.wires[(src, dst)] = wire
        self.addItem(wire)
        wire.refresh_label()
        wire.update_path()
        return wire

    def _place_unplaced(self) -> None:
        """Show nodes the file holds no position for: all laid out when none has one, else
        each beside its neighbours (a fix's new node between its two ends, below them)."""
        loose = [item for item in self.nodes.values() if not item.placed]
        if not loose:
            return
        self._placing = True
        if len(loose) == len(self.nodes):
            for node, (x, y) in layered_layout(self.doc.graph).items():
                self.nodes[node].setPos(x, y)
        else:
            for item in loose:
                item.setPos(self._spot_beside(item.node))
        self._placing = False
        for item in loose:
            self._update_wires_of(item.node)

    def _spot_beside(self, node: str) -> QPointF:
        graph = self.doc.graph
        near = [self.nodes[n] for n in graph.inputs(node) + graph.outputs(node)
                if n in self.nodes and self.nodes[n].placed]
        if not near:
            return QPointF(0, max((i.y() for i in self.nodes.values() if i.placed),
                                  default=-NODE_H - 2 * GAP_Y) + NODE_H + 2 * GAP_Y)
        x = sum(i.x() for i in near) / len(near)
        if not graph.outputs(node):
            x += NODE_W + GAP_X
        y = max(i.y() for i in near) + NODE_H + GAP_Y
        return QPointF(snap(x), snap(y))

    # -- document events -----------------------------------------------------------------------
    def _on_doc_graph_event(self, event: Event) -> None:
        if isinstance(event, NodeAdded):
            self._add_node_item(event.node)
        elif isinstance(event, NodeRemoved):
            item = self.nodes.pop(event.node, None)
            if item is not None:
                self._diagnostics.pop(event.node, None)
                self._cards.remove(item)
                self.removeItem(item)
        elif isinstance(event, (EdgeAdded, EdgeRemoved)):
            self._on_wiring_changed(event)
        elif isinstance(event, ParamsChanged) and event.node in self.nodes:
            self.nodes[event.node].refresh(self._diagnostics.get(event.node, ()))
        elif isinstance(event, UiChanged) and event.node in self.nodes:
            self._follow_model_position(self.nodes[event.node])

    def _on_wiring_changed(self, event: EdgeAdded | EdgeRemoved) -> None:
        if isinstance(event, EdgeRemoved):
            wire = self.wires.pop((event.src, event.dst), None)
            if wire is not None:
                self.removeItem(wire)
        else:
            self._add_wire_item(event.src, event.dst, event.port)
        dst = self.nodes.get(event.dst)
        if dst is None:
            return
        dst.refresh(self._diagnostics.get(event.dst, ()))
        graph = self.doc.graph
        for src in graph.inputs(event.dst):
            wire = self.wires.get((src, event.dst))
            if wire is not None:
                wire.port = graph.port_of(src, event.dst)
                wire.update_path()

    def _follow_model_position(self, item: NodeItem) -> None:
        spot = ui_position(self.doc.graph.ui(item.node))
        if spot is None:
            return
        item.placed = True
        target = QPointF(float(spot[0]), float(spot[1]))
        if item.pos() != target:
            old = item.card_rect()
            self._placing = True
            item.setPos(target)
            self._placing = False
            self._reroute_near([old, item.card_rect()])

    def _on_doc_shapes_changed(self, nodes: frozenset[str]) -> None:
        fresh = self._diagnostics_by_node()
        touched = {n for n in fresh.keys() | self._diagnostics.keys()
                   if fresh.get(n, ()) != self._diagnostics.get(n, ())}
        self._diagnostics = fresh
        graph = self.doc.graph
        for node in set(nodes) | touched:
            item = self.nodes.get(node)
            if item is None or node not in graph:  # its NodeRemoved is still on the way
                continue
            item.refresh(fresh.get(node, ()))
            for dst in graph.outputs(node):
                wire = self.wires.get((node, dst))
                if wire is not None:
                    wire.refresh_label()

    def _diagnostics_by_node(self) -> dict[str, tuple[Diagnostic, ...]]:
        grouped: dict[str, list[Diagnostic]] = {}
        for diagnostic in self.doc.engine.diagnostics():
            if diagnostic.node is not None:
                grouped.setdefault(diagnostic.node, []).append(diagnostic)
        return {node: tuple(items) for node, items in grouped.items()}

    def _on_doc_replaced(self) -> None:
        self.rebuild()

    def _on_doc_edited(self) -> None:
        self._place_unplaced()
        self._flush_reroute()

    def _on_theme_changed(self, _theme: Theme) -> None:
        for item in self.items():
            item.update()

    # -- selection -----------------------------------------------------------------------------
    def _on_doc_selection_changed(self, nodes: tuple[str, ...]) -> None:
        self._apply_selection(nodes)

    def _apply_selection(self, nodes: Iterable[str]) -> None:
        wanted = set(nodes)
        self._syncing = True
        try:
            for item in self.selectedItems():
                if isinstance(item, NodeItem) and item.node not in wanted:
                    item.setSelected(False)
            for node in wanted:
                item = self.nodes.get(node)
                if item is not None and not item.isSelected():
                    item.setSelected(True)
        finally:
            self._syncing = False

    def _on_self_selection_changed(self) -> None:
        if self._syncing:
            return
        chosen = {item.node for item in self.selectedItems() if isinstance(item, NodeItem)}
        self.doc.select([n for n in self.doc.graph.nodes() if n in chosen])

    def selected_nodes(self) -> list[str]:
        """Selected node ids in graph order."""
        chosen = {item.node for item in self.selectedItems() if isinstance(item, NodeItem)}
        return [n for n in self.doc.graph.nodes() if n in chosen]

    def selected_wires(self) -> list[tuple[str, str]]:
        return [item.key for item in self.selectedItems() if isinstance(item, WireItem)]

    def node_selection_toggled(self, item: NodeItem) -> None:
        """A card was (de)selected: its wires change their highlight."""
        for wire in self.wires_of(item.node):
            wire.update()

    # -- moving --------------------------------------------------------------------------------
    def snapped_position(self, item: NodeItem, value: QPointF) -> QPointF:
        if self._dragging and self.snap_to_grid and not self._placing:
            return QPointF(snap(value.x(), self.grid), snap(value.y(), self.grid))
        return value

    def node_moved(self, item: NodeItem) -> None:
        if item.node in self.nodes:
            self._cards.put(item, item.card_rect())
        if not self._placing:  # a drag: follow now (the model's moves re-route in one go)
            self._moved.add(item.node)
            self._update_wires_of(item.node)

    def _update_wires_of(self, node: str) -> None:
        for wire in self.wires_of(node):
            wire.update_path()

    def wires_of(self, node: str) -> list[WireItem]:
        graph = self.doc.graph
        if node not in graph:
            return []
        keys = [(src, node) for src in graph.inputs(node)] + \
               [(node, dst) for dst in graph.outputs(node)]
        return [self.wires[k] for k in keys if k in self.wires]

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = isinstance(self.mouseGrabberItem(), NodeItem)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self._dragging:
            self._dragging = False
            self.commit_moves()

    def commit_moves(self) -> bool:
        """Write the dragged cards' positions to the graph as one undo step."""
        graph = self.doc.graph
        moved = {n: (self.nodes[n].x(), self.nodes[n].y()) for n in sorted(self._moved)
                 if n in self.nodes and n in graph}
        self._moved.clear()
        rects = [self.nodes[n].card_rect() for n in moved]
        done = bool(moved) and self.doc.move_nodes(moved)
        for node in moved:  # a refused move (read-only while training) puts them back
            self._follow_model_position(self.nodes[node])
        self._reroute_near(rects)
        self._flush_reroute()
        return done

    def _reroute_near(self, rects: list[QRectF]) -> None:
        """Re-route, once the edit is complete, the wires passing where cards were or are."""
        if not self._dirty:
            QTimer.singleShot(0, self, self._flush_reroute)
        self._dirty.extend(r.adjusted(-GAP_X, -GAP_Y, GAP_X, GAP_Y) for r in rects)

    def _flush_reroute(self) -> None:
        if not self._dirty:
            return
        dirty: CardIndex[int] = CardIndex()
        for i, rect in enumerate(self._dirty):
            dirty.put(i, rect)
        self._dirty.clear()
        for wire in list(self.wires.values()):
            if dirty.overlapping(wire.boundingRect()):
                wire.update_path()

    # -- queries -------------------------------------------------------------------------------
    def card_rects(self, rect: QRectF, exclude: Iterable[QGraphicsItem] = ()) -> list[QRectF]:
        """The cards overlapping `rect`, except `exclude`, as scene rectangles."""
        skip = set(exclude)
        return [r for item, r in self._cards.overlapping(rect) if item not in skip]

    def node_at(self, pos: QPointF, reach: float = 0.0) -> NodeItem | None:
        """The top card under `pos` (or within `reach` of it: ports stick out of the card)."""
        area = QRectF(pos.x() - reach, pos.y() - reach, 2 * reach, 2 * reach) if reach \
            else QRectF(pos, pos)
        for item in self.items(area.adjusted(-0.5, -0.5, 0.5, 0.5)):
            if isinstance(item, NodeItem):
                return item
        return None

    def nodes_rect(self) -> QRectF:
        """The bounding rectangle of all cards (empty when there are none)."""
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.card_rect())
        return rect

