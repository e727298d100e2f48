"""The canvas widget: a view of a GraphScene with the gestures of a node editor.

Zoom around the pointer with the wheel, pan with the middle button or Space+drag, rubber-band
selection with a left drag on empty canvas, wires dragged from ports, layers dropped from the
palette, Tab or a right-click on empty canvas for quick-add. The edit actions (delete, copy,
paste, rename, auto-layout, fit, zoom) are methods the main window's menu actions call; the
view binds no shortcuts of its own except Tab and Space. Refusals go to `status_message`.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent,
    QCursor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QShowEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QMenu, QToolTip, QWidget

from dlbuilder.core.changes import Change
from dlbuilder.gui.canvas.actions import CanvasEdits
from dlbuilder.gui.canvas.palette_drop import PaletteDrops
from dlbuilder.gui.canvas.scene import GraphScene
from dlbuilder.gui.canvas.style import (
    GRID,
    GRID_MAJOR,
    NODE_H,
    NODE_W,
    PORT_HIT,
    paints,
    snap,
)
from dlbuilder.gui.canvas.wire_drag import DropResult, WireDrag
from dlbuilder.gui.canvas.wire_item import WireItem
from dlbuilder.gui.look.theme import theme_manager
from dlbuilder.gui.scope import Scope

_HINT = "Drag from a port to connect; Tab or right-click to add a layer; F to fit"
_LAYOUT_MARGIN = 40   # scene units left free around a graph laid out for the view
_FIT_MARGIN = 40      # scene units shown around the cards by fit
_ZOOM_FLOOR = 0.005   # the whole scene (200,000 units) in a 1000-pixel view


class CanvasView(PaletteDrops, QGraphicsView):
    """The canvas. `pending_source` is the node a quick-add should wire its new layer after
    (set when a wire is dropped on empty canvas, or Tab with one layer selected);
    `pending_in_chain` says the new layer goes into that node's chain (Tab), not as a branch
    where the wire ended; `pending_from_port` is the source's output the wire left from."""

    quick_add_requested = Signal(QPointF)  # scene position of the new layer's top-left corner
    # a palette block (shelf, name), the card's corner, the wire (src, dst) under it or None
    block_dropped = Signal(str, str, QPointF, object)
    status_message = Signal(str)
    solve_requested = Signal(str)  # a node whose output size the user wants to solve for
    card_hovered = Signal(object)  # the node whose card the mouse is now over (None: none)

    MIN_ZOOM = 0.1
    MAX_ZOOM = 3.0
    _WORLD = 200_000.0

    def __init__(self, scene: GraphScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene
        self.doc = scene.doc
        self.pending_source: str | None = None
        self.pending_in_chain = False
        self.pending_from_port = 0
        self._wire_drag: WireDrag | None = None
        self._pan_from: QPointF | None = None
        self._space_held = False
        self._last_status = ""
        self._fitted = False  # shown as fit, untouched since: it stays fit through resizes
        self._hovered: str | None = None
        self.edits = CanvasEdits(self, self._say)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState)
        # The grid depends only on the zoom (a new transform drops the cache) and the theme:
        # painted once, then copied, it no longer costs most of each repaint after an edit.
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        half = self._WORLD / 2
        self.setSceneRect(QRectF(-half, -half, self._WORLD, self._WORLD))
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.doc.focus_requested.connect(self._on_doc_focus_requested)
        self.doc.changed.connect(self._on_doc_changed)  # after the scene's: its cards exist
        self.doc.scope_changed.connect(self._on_doc_scope_changed)  # after the scene's too
        self._views: dict[tuple[str, ...], tuple[float, QPointF]] = {}  # zoom, centre
        self._level: tuple[str, ...] = self.doc.scope.path
        theme_manager().changed.connect(self._on_theme_changed)

    # -- zoom and pan ----------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def min_zoom(self) -> float:
        """MIN_ZOOM, or less where that is what it takes to show every card (a file laid out
        as one long row): zooming out always reaches the whole network, and no further."""
        return max(min(self.MIN_ZOOM, self.fit_zoom()), _ZOOM_FLOOR)

    def fit_zoom(self) -> float:
        """The zoom that shows every card with a margin, never past 1:1 (text stays its
        designed size); 1 without cards."""
        rect = self.graph_scene.nodes_rect()
        if rect.isEmpty():
            return 1.0
        target = rect.adjusted(-_FIT_MARGIN, -_FIT_MARGIN, _FIT_MARGIN, _FIT_MARGIN)
        port = self.viewport().rect()
        return min(port.width() / target.width(), port.height() / target.height(), 1.0)

    def set_zoom(self, factor: float, anchor_centre: bool = True) -> None:
        self._fitted = False
        factor = min(max(factor, self.min_zoom()), self.MAX_ZOOM)
        centre = self.mapToScene(self.viewport().rect().center())
        self.setTransform(QTransform.fromScale(factor, factor))
        if anchor_centre:
            self.centerOn(centre)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / 1.25)

    def reset_zoom(self) -> None:
        self.set_zoom(1.0)

    def fit(self) -> None:
        """Show every card, however far out that takes (see `min_zoom`), never zooming in
        past 1:1."""
        rect = self.graph_scene.nodes_rect()
        if rect.isEmpty():
            self.setTransform(QTransform())
            self.centerOn(0, 0)
            return
        self.set_zoom(self.fit_zoom(), anchor_centre=False)
        self.centerOn(rect.center())
        self._fitted = True

    def layout_size(self) -> tuple[float, float]:
        """The scene area a layout for this view fills at 1:1: the viewport less a margin."""
        port = self.viewport().rect()
        return (max(port.width() - 2 * _LAYOUT_MARGIN, NODE_W),
                max(port.height() - 2 * _LAYOUT_MARGIN, NODE_H))

    def showEvent(self, event: QShowEvent) -> None:
        """Shown, at its real size: a graph opened before (the file given at start) gets the
        positions it lacks, laid out for this view; those opened later get them as they open
        (the document keeps the size to lay out for)."""
        super().showEvent(event)
        self.doc.view_size = self.layout_size()
        self.doc.place_missing()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A view the user left as fit (an opened file, an import) stays fit as the window,
        its docks or a banner change its size, rather than cutting off both ends."""
        fitted = self._fitted
        super().resizeEvent(event)
        if self.isVisible():
            self.doc.view_size = self.layout_size()
        if fitted:
            self.fit()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._fitted = False  # panned (fit and resizes set it again where they should)

    def center_on_node(self, node: str) -> None:
        item = self.graph_scene.nodes.get(node)
        if item is None:
            return
        if self.zoom() < 0.5:
            self.set_zoom(0.8, anchor_centre=False)
        self.centerOn(item.card_rect().center())

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.edits.cancel_rename()
        delta = event.angleDelta()
        if delta.y() == 0 and delta.x() != 0:  # sideways scroll pans
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - delta.x())
            return
        current = self.zoom()
        wanted = min(max(current * 1.0015 ** delta.y(), self.min_zoom()), self.MAX_ZOOM)
        if wanted != current:
            at = event.position()
            fixed = self.mapToScene(at.toPoint())  # keep this point under the pointer
            self.setTransform(QTransform.fromScale(wanted, wanted))
            drift = QPointF(self.mapFromScene(fixed)) - at
            self._pan_by(-drift.x(), -drift.y())
        event.accept()

    def _pan_by(self, dx: float, dy: float) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(round(h.value() - dx))
        v.setValue(round(v.value() - dy))

    # -- background ------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        p = paints(self.graph_scene.theme())
        painter.fillRect(rect, p.canvas)
        zoom = self.zoom()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        steps = [(GRID, p.theme.grid_minor)] if zoom >= 0.45 else []
        steps.append((GRID_MAJOR, p.theme.grid_major))
        for step, color in steps:
            pen = painter.pen()
            pen.setColor(color)
            pen.setWidthF(0)  # cosmetic: one pixel at any zoom
            painter.setPen(pen)
            left = int(rect.left() // step * step)
            top = int(rect.top() // step * step)
            lines = [QLineF(x, rect.top(), x, rect.bottom())
                     for x in range(left, int(rect.right()) + 1, step)
                     if step == GRID_MAJOR or x % GRID_MAJOR]
            lines += [QLineF(rect.left(), y, rect.right(), y)
                      for y in range(top, int(rect.bottom()) + 1, step)
                      if step == GRID_MAJOR or y % GRID_MAJOR]
            painter.drawLines(lines)
        painter.restore()

    def _on_theme_changed(self, _theme: object) -> None:
        self.resetCachedContent()  # the grid's colours
        self.viewport().update()

    # -- mouse -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        self._hover_card(None)  # a press starts a drag or a click: the hover picture goes
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and self._space_held):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton:
            pos = self.mapToScene(event.position().toPoint())
            if self.start_wire_drag(pos):
                event.accept()
                return
            node = self.graph_scene.node_at(pos)
            if node is not None and node.badge_contains(pos):
                self.doc.select([node.node])
                _popup(self.edits.node_menu(node.node), event.globalPosition().toPoint())
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._pan_by(delta.x(), delta.y())
            return
        pos = self.mapToScene(event.position().toPoint())
        if self._wire_drag is not None:
            reason = self.move_wire_drag(pos)
            tip = reason or (self._wire_drag.note if self._wire_drag is not None else None)
            if tip:
                QToolTip.showText(event.globalPosition().toPoint(), tip, self)
            else:
                QToolTip.hideText()
            return
        if event.buttons() == Qt.MouseButton.NoButton:
            self._hover_hint(pos)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton,
                                                             Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._restore_cursor()
            return
        if self._wire_drag is not None and event.button() == Qt.MouseButton.LeftButton:
            QToolTip.hideText()
            self.finish_wire_drag(self.mapToScene(event.position().toPoint()))
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        node = self.graph_scene.node_at(self.mapToScene(event.position().toPoint()))
        if node is not None and event.button() == Qt.MouseButton.LeftButton:
            if node.kind == "instance":  # a block opens; F2 renames it
                self.doc.open_block(node.node)
                return
            self.doc.select([node.node])
            self.edits.rename_node(node.node)
            return
        super().mouseDoubleClickEvent(event)

    def _hover_hint(self, pos: QPointF) -> None:
        node = self.graph_scene.node_at(pos, PORT_HIT)
        badge = node.health if node is not None else None  # training health: its own tooltip
        on_badge = badge is not None and badge.sceneBoundingRect().contains(pos)
        self._hover_card(node.node if node is not None and not on_badge else None)
        port = node.port_at(pos) if node is not None else None
        if port is None:
            self._restore_cursor()
            return
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        if port[0] == "out":
            self._say(f"Drag from {node.node}'s output to a layer to connect it; release on "
                      "empty canvas to add a layer after it", repeat=False)
        elif port[1] < node.connected:
            self._say(f"Drag to move the wire into {node.node} elsewhere; drop it on empty "
                      "canvas to disconnect", repeat=False)
        else:
            self._say(f"Drag to a layer to feed its output into {node.node}", repeat=False)

    def _hover_card(self, node: str | None) -> None:
        if node != self._hovered:
            self._hovered = node
            self.card_hovered.emit(node)

    def leaveEvent(self, event: QEvent) -> None:
        self._hover_card(None)
        super().leaveEvent(event)

    # -- wire dragging (the mouse handlers call these; tests may too) ----------------------
    def start_wire_drag(self, scene_pos: QPointF) -> bool:
        """Begin a connection if `scene_pos` is on a port; True when one began."""
        node = self.graph_scene.node_at(scene_pos, PORT_HIT)
        port = node.port_at(scene_pos) if node is not None else None
        if port is None:
            return False
        self.cancel_wire_drag()
        self._wire_drag = WireDrag(self.graph_scene, node, port)
        self._wire_drag.move(scene_pos)
        return True

    def move_wire_drag(self, scene_pos: QPointF) -> str | None:
        """Follow the pointer; the reason the card under it would refuse, if it would."""
        if self._wire_drag is None:
            return None
        reason = self._wire_drag.move(scene_pos)
        if reason:
            self._say(f"Cannot connect here: {reason}", repeat=False)
        elif self._wire_drag.note:
            self._say(f"Release to connect: {self._wire_drag.note}", repeat=False)
        return reason

    def finish_wire_drag(self, scene_pos: QPointF) -> DropResult | None:
        drag, self._wire_drag = self._wire_drag, None
        if drag is None:
            return None
        result = drag.finish(scene_pos)
        if result.outcome == "refused" and result.message:
            self._say(f"Cannot connect: {result.message}")
        elif result.outcome == "empty":  # the new layer's input port where the wire ended
            self.pending_source, self.pending_in_chain = result.source, False
            self.pending_from_port = result.from_port
            self._emit_quick_add(scene_pos - QPointF(0, NODE_H / 2))
        elif result.message:
            self._say(result.message)
        return result

    def cancel_wire_drag(self) -> None:
        drag, self._wire_drag = self._wire_drag, None
        if drag is not None:
            drag.cancel()

    # -- keys and menus --------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress \
                and event.key() == Qt.Key.Key_Tab \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.request_quick_add()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_Escape and self._wire_drag is not None:
            self.cancel_wire_drag()
            return
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Backspace) \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier \
                and self.edits.blocks.leave_block():  # Backspace: when it deletes nothing
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
            self._restore_cursor()
            return
        super().keyReleaseEvent(event)

    def _restore_cursor(self) -> None:
        if self._space_held:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.viewport().unsetCursor()

    def request_quick_add(self, scene_pos: QPointF | None = None) -> None:
        """Ask for quick-add: right of the one selected layer (and wired after it), else
        centred on `scene_pos`, the pointer, or the middle of the view."""
        selected = self.graph_scene.selected_nodes()
        self.pending_source, self.pending_in_chain = None, False
        self.pending_from_port = 0
        graph = self.doc.scope.graph
        if scene_pos is None and len(selected) == 1 \
                and self.doc.registry.role_of(graph.type_of(selected[0])) != "output":
            self.pending_source, self.pending_in_chain = selected[0], True
            self._emit_quick_add(self.graph_scene.nodes[selected[0]].spot_after())
            return
        if scene_pos is None:
            local = self.viewport().mapFromGlobal(QCursor.pos())
            inside = self.viewport().rect().contains(local)
            scene_pos = self.mapToScene(local if inside else self.viewport().rect().center())
        self._emit_quick_add(scene_pos - QPointF(NODE_W / 2, NODE_H / 2))

    def _emit_quick_add(self, top_left: QPointF) -> None:
        """`quick_add_requested` carries the new card's top-left corner (on the grid)."""
        if self.graph_scene.snap_to_grid:
            grid = self.graph_scene.grid
            top_left = QPointF(snap(top_left.x(), grid), snap(top_left.y(), grid))
        self.quick_add_requested.emit(QPointF(top_left))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        pos = self.mapToScene(event.pos())
        node = self.graph_scene.node_at(pos)
        if node is not None:
            if not node.isSelected():
                self.doc.select([node.node])
            _popup(self.edits.node_menu(node.node), event.globalPos())
            return
        wire = self._wire_at(event.pos())
        if wire is not None:
            menu = QMenu(self)
            menu.addAction(f"Delete wire {wire[0]} -> {wire[1]}",
                           lambda: self.edits.delete_wire(wire))
            _popup(menu, event.globalPos())
            return
        _popup(self.edits.canvas_menu(pos), event.globalPos())

    def _wire_at(self, view_pos: QPoint) -> tuple[str, str] | None:
        for item in self.items(view_pos):
            if isinstance(item, WireItem):
                return item.key
        return None

    def _say(self, text: str, repeat: bool = True) -> None:
        """Tell the status bar; a hover hint (`repeat` False) only when it changes."""
        if repeat or text != self._last_status:
            self._last_status = text
            self.status_message.emit(text)

    def _on_doc_focus_requested(self, node: str) -> None:
        self.center_on_node(node)

    def _on_doc_scope_changed(self, scope: Scope) -> None:
        """Another level is shown: keep where this one was looked at, and look at the new one
        as it was left (or fit it, the first time)."""
        self.cancel_wire_drag()
        self.edits.cancel_rename()
        self._views[self._level] = (self.zoom(),
                                    self.mapToScene(self.viewport().rect().center()))
        self._level = scope.path
        self.edits.update_edit_actions()
        saved = self._views.get(scope.path)
        if saved is None:
            self.fit()
            return
        zoom, centre = saved
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(centre)

    def add_expand_entry(self, menu: QMenu, node: str) -> None:
        """The checkable "Expand in Place" entry of a block instance's menu."""
        item = self.graph_scene.nodes.get(node)
        if item is None or item.kind != "instance":
            return
        action = menu.addAction("E&xpand in Place (read-only)")
        action.setCheckable(True)
        action.setChecked(item.expanded is not None)
        action.setToolTip("Show the block's layers under its card, with this instance's shapes")
        action.toggled.connect(lambda on, i=item: i.set_expanded(on))

    def _on_doc_changed(self, change: Change) -> None:
        """Another graph: a wire being dragged belonged to the old one, so it is forgotten
        (its items went with the scene's rebuild). An edit (or undo, redo): scroll to show
        the cards it added, if they are not in view (the scene has placed them)."""
        self.edits.follow_change(change)
        if change.replaced:
            self._views.clear()
            self._level = self.doc.scope.path
            self._wire_drag = None
            self.pending_source, self.pending_in_chain = None, False
            self.pending_from_port = 0
            QToolTip.hideText()
            return
        cards = [self.graph_scene.nodes[n].card_rect() for n in change.nodes_added
                 if n in self.graph_scene.nodes]
        if cards and self.isVisible():
            self.show_rect(cards)

    def shows(self, rect: QRectF) -> bool:
        """Whether `rect` (scene units) lies wholly in view."""
        return self.mapToScene(self.viewport().rect()).boundingRect().contains(rect)

    def show_rect(self, cards: list[QRectF]) -> None:
        """Scroll as little as needed to show `cards` (all of them where they fit)."""
        rect = QRectF(cards[0])
        for card in cards[1:]:
            rect = rect.united(card)
        if self.shows(rect):
            return
        shown = self.mapToScene(self.viewport().rect()).boundingRect()
        if rect.width() + 80 > shown.width() or rect.height() + 80 > shown.height():
            self.centerOn(cards[-1].center())
        else:
            self.ensureVisible(rect, 40, 40)

    @staticmethod
    def hint() -> str:
        """The status-bar hint for the canvas's gestures."""
        return _HINT


def _popup(menu: QMenu, at: QPoint) -> None:
    """Show a context menu that deletes itself once closed."""
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    menu.popup(at)
