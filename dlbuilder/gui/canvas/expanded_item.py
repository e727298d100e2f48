"""A block instance expanded in place: its inside drawn under its card, read-only.

The frame shows the definition's layers laid out in layers a few columns wide, at a smaller scale,
each as a small card with its id, type and the output shape of this instance's first repeat,
and the wires between them. Nothing in it can be selected or edited (double-click the card to
open the block for that); it follows the card, and is redrawn when the card is refreshed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QStaticText
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT
from dlbuilder.core.layout import GAP, NODE_SIZE, layered_layout
from dlbuilder.core.registry import format_shape
from dlbuilder.gui.canvas.style import NODE_H, NODE_W, fonts, paints

if TYPE_CHECKING:
    from dlbuilder.gui.canvas.node_item import NodeItem

SCALE = 0.6          # of the definition's own layout
COLUMNS = 4          # cards per row before the picture wraps
MINI_W, MINI_H = NODE_W * SCALE, NODE_H * 0.46
MARGIN = 14.0
CAPTION_H = 22.0


class ExpandedBlockItem(QGraphicsItem):
    """The inside of `card`'s block, as its first repeat computes it (a child of the card)."""

    def __init__(self, card: NodeItem) -> None:
        super().__init__(card)
        self.card = card
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # a picture, not a control
        self.setPos(0, NODE_H + 14)
        self._rect = QRectF()
        self._minis: list[tuple[QRectF, QStaticText, QStaticText, bool]] = []
        self._wires: list[QPainterPath] = []
        self._caption = QStaticText()
        self.refresh()

    def refresh(self) -> None:
        """Re-read the instance's first run and lay the inside out again."""
        self.prepareGeometryChange()
        doc, node = self.card.doc, self.card.node
        engine = doc.scope.engine
        runs = engine.runs(node)
        self._minis, self._wires = [], []
        if not runs:
            self._caption = _text(f"{node}: nothing to show until its input is wired and "
                                  "its problems are fixed")
            self._rect = QRectF(0, 0, NODE_W * 1.6, CAPTION_H + MARGIN)
            self.update()
            return
        run = runs[0]
        graph = run.graph
        spots = _positions(graph)
        left = min(x for x, _ in spots.values())
        top = min(y for _, y in spots.values())
        boxes: dict[str, QRectF] = {}
        for inner, (x, y) in spots.items():
            box = QRectF(MARGIN + (x - left) * SCALE, CAPTION_H + MARGIN + (y - top) * SCALE,
                         MINI_W, MINI_H)
            boxes[inner] = box
            info = run.info(inner)
            kind = graph.type_of(inner)
            title = _title(graph, inner, kind)
            self._minis.append((box, _text(title, MINI_W - 8),
                                _text(format_shape(info.output_shape), MINI_W - 8, True),
                                bool(info.diagnostics)))
        for src, dst, _port in graph.edges():
            self._wires.append(_wire(boxes[src], boxes[dst], list(boxes.values())))
        repeats = len(runs)
        shown = f"repeat 1 of {repeats}, " if repeats > 1 else ""
        self._caption = _text(f"inside {node} ({run.defn.name}): {shown}read-only; "
                              "double-click the card to edit")
        width = max(b.right() for b in boxes.values()) + MARGIN
        height = max(b.bottom() for b in boxes.values()) + MARGIN
        self._rect = QRectF(0, 0, max(width, NODE_W * 1.6), height)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        p = paints(self.card.scene().theme())
        block = p.header(self.card.category).color()
        fill = QColor(p.card.color())
        painter.setPen(QPen(block, 1.5, Qt.PenStyle.DashLine))
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, 10, 10)
        f = fonts()
        painter.setFont(f.label)
        painter.setPen(p.muted)
        painter.drawStaticText(QPointF(MARGIN, 5), self._caption)
        painter.setPen(p.wire_pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for wire in self._wires:
            painter.drawPath(wire)
        for box, title, shape, problem in self._minis:
            painter.setPen(QPen(p.error if problem else p.border.color(), 1.2))
            painter.setBrush(p.canvas)
            painter.drawRoundedRect(box, 5, 5)
            painter.setPen(p.muted)
            painter.setFont(f.label)
            painter.drawStaticText(box.topLeft() + QPointF(4, 3), title)
            painter.setPen(p.text)
            painter.setFont(f.small)
            painter.drawStaticText(box.topLeft() + QPointF(4, 22), shape)

    def texts(self) -> list[tuple[str, str]]:
        """(title, shape) of each inner card, for tests."""
        return [(t.text(), s.text()) for _b, t, s, _p in self._minis]


def _positions(graph) -> dict[str, tuple[float, float]]:
    """The inner nodes laid out in layers, wrapped to a few columns, so a long block stays a
    compact picture under its card and its branches sit on rows of their own."""
    return layered_layout(graph, max_width=COLUMNS * (NODE_SIZE[0] + GAP[0]))


def _wire(a: QRectF, b: QRectF, boxes: list[QRectF]) -> QPainterPath:
    """From a's right edge to b's left: straight when nothing is in the way, else around
    below the cards it would cross (a skip connection stays visible)."""
    start, end = QPointF(a.right(), a.center().y()), QPointF(b.left(), b.center().y())
    path = QPainterPath(start)
    line = QLineF(start, end)
    blocked = [box for box in boxes if box not in (a, b) and _crosses(line, box)]
    if not blocked and end.x() >= start.x():
        path.lineTo(end)
        return path
    below = max(box.bottom() for box in [a, b, *blocked]) + MARGIN / 2
    path.lineTo(start.x() + 6, start.y())
    path.lineTo(start.x() + 6, below)
    path.lineTo(end.x() - 6, below)
    path.lineTo(end.x() - 6, end.y())
    path.lineTo(end)
    return path


def _crosses(line: QLineF, box: QRectF) -> bool:
    """Whether the segment passes through the box (its edges counted as the box)."""
    edges = (QLineF(box.topLeft(), box.topRight()), QLineF(box.bottomLeft(), box.bottomRight()),
             QLineF(box.topLeft(), box.bottomLeft()), QLineF(box.topRight(), box.bottomRight()))
    return any(line.intersects(edge)[0] == QLineF.IntersectionType.BoundedIntersection
               for edge in edges)


def _title(graph, node: str, kind: str) -> str:
    if kind == BLOCK:
        return f"{node} \u00b7 {graph.raw_params(node).get('block')}"
    if kind in (BLOCK_INPUT, BLOCK_OUTPUT):
        return "in" if kind == BLOCK_INPUT else "out"
    return f"{node} \u00b7 {kind}"


def _text(text: str, width: float | None = None, small: bool = False) -> QStaticText:
    f = fonts()
    if width is not None:
        metrics = f.small_metrics if small else f.label_metrics
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    return static
