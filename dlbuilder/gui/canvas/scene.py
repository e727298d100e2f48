"""The canvas's scene: one card per node and one wire per edge, kept in step with the document.

The scene only listens, to the document's one `changed` per edit: it removes and adds the items
the edit removed and added, refreshes each card whose parameters, numbers or problems changed
once (and the labels of its outgoing wires), and rebuilds for another graph. The one
thing it writes back is where the user dragged cards, as a single `move_nodes` when the drag
ends. Scene selection and document selection follow each other without echoing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSceneMouseEvent

from dlbuilder.core.changes import Change, by_node
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.graph import Graph
from dlbuilder.core.placement import missing_positions, ui_position
from dlbuilder.gui.canvas.card_health import show_health
from dlbuilder.gui.canvas.card_index import CardIndex
from dlbuilder.gui.canvas.card_thumbs import CardThumb, ThumbData
from dlbuilder.gui.canvas.node_item import NodeItem
from dlbuilder.gui.canvas.style import GAP_X, GAP_Y, GRID, snap
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
        self._health: dict[str, list[dict]] = {}  # the last epoch's health, by top-level node
        self._health_epoch: int | None = None
        self._health_fits: Callable[[Graph], bool] | None = None  # see set_health
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        doc.changed.connect(self._on_doc_changed)
        doc.selection_changed.connect(self._on_doc_selection_changed)
        doc.scope_changed.connect(self._on_doc_scope_changed)
        self.selectionChanged.connect(self._on_self_selection_changed)
        theme_manager().changed.connect(self._on_theme_changed)
        self.rebuild()

    def detach(self) -> None:
        """Stop following the document (a scene made for one picture, about to go)."""
        doc = self.doc
        for signal, slot in ((doc.changed, self._on_doc_changed),
                             (doc.selection_changed, self._on_doc_selection_changed),
                             (doc.scope_changed, self._on_doc_scope_changed),
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
        graph = self.doc.scope.graph
        self._diagnostics = by_node(self.doc.scope.engine.diagnostics())
        self._placing = True
        for node in graph.nodes():
            self._add_node_item(node)
        self._placing = False
        self._place_unplaced()
        for src, dst, port in graph.edges():
            self._add_wire_item(src, dst, port, graph.from_port(src, dst))
        self._apply_selection(self.doc.selection())
        if self._health:
            self._show_health()

    def set_health(self, by_node: dict[str, list[dict]] | None, epoch: int | None = None,
                   fits: Callable[[Graph], bool] | None = None) -> None:
        """Show training health on the cards: `by_node` holds the layers' figures of one epoch
        (HealthRecord.as_dict()'s layers) by top-level node id (health.by_top_node); a block
        instance's entry holds every layer inside it, so an opened block shows its own.
        None clears. Kept until the next call or another graph. Without `fits` a structural
        edit drops them; with it (whether the document's graph is the one measured) they are
        hidden while the graph differs and shown again when it is the same (an undo)."""
        self._health, self._health_epoch = dict(by_node or {}), epoch
        self._health_fits = fits if by_node else None
        self._show_health()

    def _show_health(self) -> None:
        fits = self._health_fits
        shown = self._health if fits is None or fits(self.doc.graph) else {}
        show_health(self.nodes, shown, self.doc.scope.path, self._health_epoch)

    def _add_node_item(self, node: str) -> NodeItem:
        item = NodeItem(self.doc, node, self._diagnostics.get(node, ()))
        spot = ui_position(self.doc.scope.graph.ui(node))
        item.placed = spot is not None
        self.nodes[node] = item
        self.addItem(item)
        if spot is not None:
            item.setPos(float(spot[0]), float(spot[1]))
        self._cards.put(item, item.card_rect())
        return item

    def _add_wire_item(self, src: str, dst: str, port: int, from_port: int = 0
                       ) -> WireItem | None:
        if src not in self.nodes or dst not in self.nodes:
            return None
        wire = WireItem(self.nodes[src], self.nodes[dst], port, from_port)
        self.wires[(src, dst)] = wire
        self.addItem(wire)
        wire.refresh_label()
        wire.update_path()
        return wire

    def _place_unplaced(self) -> None:
        """Show nodes the graph holds no position for where the view will put them (see
        `missing_positions`): all laid out when none has one, else each beside its neighbours.
        Display only: the document writes them to the graph once the view's size is known."""
        loose = [item for item in self.nodes.values() if not item.placed]
        if not loose:
            return
        spots = missing_positions(self.doc.scope.graph)
        self._placing = True
        for item in loose:
            x, y = spots[item.node]
            item.setPos(x, y)
        self._placing = False
        for item in loose:
            self._update_wires_of(item.node)

    # -- document events -----------------------------------------------------------------------
    def _on_doc_scope_changed(self, _scope: object) -> None:
        """Another graph is shown (a block opened or left): its cards replace these."""
        self.rebuild()

    def _on_doc_changed(self, change: Change) -> None:
        # the figures may be of another network now: dropped, or shown only where it `fits`
        network = change.structural or change.params_changed or change.blocks
        if self._health and (change.replaced or (network and self._health_fits is None)):
            self.set_health(None)
        if change.replaced:
            self.rebuild()
            return
        for src, dst in change.edges_removed:
            wire = self.wires.pop((src, dst), None)
            if wire is not None:
                self.removeItem(wire)
        for node in change.nodes_removed:
            item = self.nodes.pop(node, None)
            if item is not None:
                self._cards.remove(item)
                self.removeItem(item)
        self._diagnostics = change.diagnostics_by_node
        self._placing = True
        added = {node: self._add_node_item(node) for node in change.nodes_added}
        self._placing = False
        graph = self.doc.scope.graph
        for src, dst in change.edges_added:
            self._add_wire_item(src, dst, graph.port_of(src, dst), graph.from_port(src, dst))
        rewired = change.rewired()
        # a card does not show receptive fields: a change of one alone leaves it as it is
        stale = (change.shapes - change.fields_only) | change.params_changed | \
            change.tuned | rewired
        if change.blocks:  # a definition changed: its instances' cards say what it holds
            stale |= {n for n, item in self.nodes.items() if item.kind == "instance"}
        self._refresh_cards(stale - added.keys(), change.shapes)
        for node in rewired:  # after the refresh: a card's port count places its ports
            self._renumber_ports(node)
        for node in {src for src, _ in change.edges_added + change.edges_removed} - added.keys():
            self._refresh_outputs(node)
        for node in change.moved - added.keys():
            if node in self.nodes:
                self._follow_model_position(self.nodes[node])
        self._place_unplaced()
        self._flush_reroute()
        if self._health and network:  # after the cards came and went
            self._show_health()

    def _renumber_ports(self, node: str) -> None:
        """Wires into `node` follow its inputs' ports (a removed input moves the later up)."""
        graph = self.doc.scope.graph
        if node not in graph:
            return
        for src in graph.inputs(node):
            wire = self.wires.get((src, node))
            if wire is not None:
                wire.port = graph.port_of(src, node)
                wire.update_path()

    def _follow_model_position(self, item: NodeItem) -> None:
        spot = ui_position(self.doc.scope.graph.ui(item.node))
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

    def _refresh_cards(self, nodes: set[str], shapes: frozenset[str]) -> None:
        """Re-read each card once; a changed output also relabels the wires leaving it."""
        graph = self.doc.scope.graph
        for node in nodes:
            item = self.nodes.get(node)
            if item is None or node not in graph:
                continue
            ports = item.output_count
            item.refresh(self._diagnostics.get(node, ()))
            moved = item.output_count != ports  # the ports moved along the card's side
            if node in shapes or moved:
                for dst in graph.outputs(node):
                    wire = self.wires.get((node, dst))
                    if wire is not None:
                        wire.refresh_label()
                        if moved:
                            wire.update_path()

    def _refresh_outputs(self, node: str) -> None:
        """A wire left or joined `node`: where it draws a port per output (a Chunk, or a wire
        from an output the layer lost), re-read its ports and re-route its wires."""
        item = self.nodes.get(node)
        graph = self.doc.scope.graph
        if item is None or node not in graph:
            return
        wired = [port for _, port in graph.output_ports(node)]
        if item.output_count == 1 and not item.port_shapes and not any(wired):
            return  # one output, as before: nothing moves
        ports = item.output_count
        item.refresh(self._diagnostics.get(node, ()))
        if item.output_count != ports:
            for wire in self.wires_of(node):
                wire.update_path()

    def _on_theme_changed(self, _theme: Theme) -> None:
        for item in self.items():
            item.update()

    def set_thumbnails(self, thumbs: dict[str, ThumbData]) -> None:
        """Show each card's output under it (Look Inside's sample); cards not in `thumbs`, and
        block instances shown expanded, show none."""
        for node, item in self.nodes.items():
            data = thumbs.get(node) if item.expanded is None else None
            if data is None:
                if item.thumbnail is not None:
                    self.removeItem(item.thumbnail)
                    item.thumbnail = None
            elif item.thumbnail is None:
                item.thumbnail = CardThumb(item, data)
            else:
                item.thumbnail.set_data(data)

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
        self.doc.select([n for n in self.doc.scope.graph.nodes() if n in chosen])

    def selected_nodes(self) -> list[str]:
        """Selected node ids in graph order."""
        chosen = {item.node for item in self.selectedItems() if isinstance(item, NodeItem)}
        return [n for n in self.doc.scope.graph.nodes() if n in chosen]

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
        graph = self.doc.scope.graph
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
        graph = self.doc.scope.graph
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
        """The bounding rectangle of all cards, and of the blocks expanded under them (empty
        when there are none)."""
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.card_rect())
            if item.expanded is not None:
                rect = rect.united(item.expanded.sceneBoundingRect())
        return rect

