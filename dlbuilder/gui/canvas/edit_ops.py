"""The canvas's edits that are more than one command: deleting a selection, the clipboard's
fragments, and where pasted copies go. Qt only for the clipboard's MIME data."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QRectF, Qt, QTimer
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget

from dlbuilder.core.commands import Macro, RemoveEdge, RemoveNode, rename_problem
from dlbuilder.core.fragment import fragment_from_text, fragment_to_text
from dlbuilder.core.graph import Graph
from dlbuilder.gui.canvas.style import GAP_Y, NODE_H, NODE_W, snap
from dlbuilder.gui.look.theme import current
from dlbuilder.gui.mime import NODES_MIME
from dlbuilder.gui.widgets.text import plural

if TYPE_CHECKING:
    from dlbuilder.gui.document import Document

PROBLEM_WIDTH = 240  # the reason under the rename box wraps at this width (or the box's)


def delete_command(graph: Graph, nodes: list[str], wires: list[tuple[str, str]],
                   verb: str = "Delete") -> Macro | None:
    """One command removing the nodes and the wires (those not already going with a node)."""
    doomed = set(nodes)
    cut = [(s, d) for s, d in wires
           if s not in doomed and d not in doomed and graph.nx.has_edge(s, d)]
    if not nodes and not cut:
        return None
    commands: list[Any] = [RemoveEdge(s, d) for s, d in cut]
    commands += [RemoveNode(n) for n in nodes]
    if len(nodes) == 1 and not cut:
        text = f"{verb} {nodes[0]}"
    elif not nodes and len(cut) == 1:
        text = f"{verb} wire {cut[0][0]} -> {cut[0][1]}"
    else:
        parts = ([plural(len(nodes), "nodes")] if nodes else []) + \
                ([plural(len(cut), "wires")] if cut else [])
        text = f"{verb} {' and '.join(parts)}"
    return Macro(text, commands)


def put_fragment_on_clipboard(fragment: dict[str, Any]) -> None:
    text = fragment_to_text(fragment)
    mime = QMimeData()
    mime.setData(NODES_MIME, text.encode("utf-8"))
    mime.setText(text)
    QApplication.clipboard().setMimeData(mime)


def fragment_from_clipboard(types: Collection[str] | None = None) -> dict[str, Any]:
    """The copied layers on the clipboard (of `types`, when given); ValueError saying why when
    there are none."""
    mime = QApplication.clipboard().mimeData()
    if mime is None or not mime.hasFormat(NODES_MIME):
        raise ValueError("the clipboard holds no copied layers; copy some with Ctrl+C first")
    return fragment_from_text(bytes(mime.data(NODES_MIME).data()), types)


def paste_offset(card_rects: list[QRectF], fragment: dict[str, Any]) -> tuple[int, int]:
    """How far to move pasted cards so they cover no card already there: straight down, in
    steps of the fragment's height, so a copy sits under its original."""
    spots = [_ui_point(entry.get("ui", {})) for entry in fragment["nodes"]]
    if not spots:
        return (0, 0)
    top = min(y for _, y in spots)
    bottom = max(y for _, y in spots) + NODE_H
    step = snap(bottom - top + GAP_Y)
    for k in range(1, 60):
        dy = k * step
        pasted = [QRectF(x, y + dy, NODE_W, NODE_H) for x, y in spots]
        if not any(p.intersects(r) for p in pasted for r in card_rects):
            return (0, dy)
    lowest = max((r.bottom() for r in card_rects), default=0.0)
    return (0, snap(lowest - top + 2 * GAP_Y))


def _ui_point(ui: dict[str, Any]) -> tuple[float, float]:
    x, y = ui.get("x", 0), ui.get("y", 0)
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= 1e9
             for v in (x, y))
    return (float(x), float(y)) if ok else (0.0, 0.0)


class RenameEditWidget(QLineEdit):
    """The in-place editor of a node's id (F2): Enter commits, Esc cancels, leaving it commits.
    An id the graph would refuse is said under the box as it is typed."""

    def __init__(self, node: str, parent: QWidget, doc: Document,
                 on_commit: Callable[[RenameEditWidget, str, bool], None],
                 on_cancel: Callable[[RenameEditWidget], None]) -> None:
        super().__init__(node, parent)
        self.node = node
        self._doc = doc
        self._on_commit = on_commit
        self._on_cancel = on_cancel
        self._closing = False
        self.problem_label = QLabel(parent)  # a sibling, so it may be wider than the box
        self.problem_label.setWordWrap(True)
        self.problem_label.hide()
        self.selectAll()
        self.setToolTip("Enter to rename, Esc to cancel")
        self.returnPressed.connect(self.commit)
        self.textEdited.connect(self._on_text_edited)

    def commit(self) -> None:
        if not self._closing:
            self._on_commit(self, self.text(), False)

    def show_problem(self, reason: str | None) -> None:
        """Keep editing, with the reason under the box and on its border (None: clear it)."""
        self.setToolTip(reason or "Enter to rename, Esc to cancel")
        theme = current()
        self.setStyleSheet(f"QLineEdit {{ border: 2px solid {theme.error}; }}" if reason else "")
        self.problem_label.setText(reason or "")
        self.problem_label.setVisible(bool(reason))
        if reason:
            self.problem_label.setStyleSheet(
                f"QLabel {{ color: {theme.error}; background: {theme.base}; "
                f"border: 1px solid {theme.error}; border-radius: 3px; padding: 2px 4px; }}")
            self._place_problem()
            self.problem_label.raise_()
        self.setFocus()

    def _place_problem(self) -> None:
        """Under the box, as wide as it or PROBLEM_WIDTH; above it where the view ends."""
        label, box = self.problem_label, self.geometry()
        width = max(box.width(), PROBLEM_WIDTH)
        height = label.heightForWidth(width)
        room = label.parentWidget().height() if label.parentWidget() is not None else 0
        top = box.bottom() + 2
        if top + height > room and box.top() - height - 2 >= 0:
            top = box.top() - height - 2
        label.setGeometry(box.left(), top, width, height)

    def _on_text_edited(self, text: str) -> None:
        if self._closing or self.node not in self._doc.scope.graph:
            return
        self.show_problem(None if text == self.node else
                          rename_problem(self._doc.scope.graph, self.node, text))

    def close_editor(self) -> None:
        self._closing = True
        self.hide()
        self.problem_label.hide()
        self.problem_label.deleteLater()
        self.deleteLater()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._closing = True
            self._on_cancel(self)
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        if not self._closing:  # later, never while the view is being torn down
            QTimer.singleShot(0, self, self._left)

    def _left(self) -> None:
        if not self._closing and self.isVisible() and not self.hasFocus():
            self._on_commit(self, self.text(), True)
