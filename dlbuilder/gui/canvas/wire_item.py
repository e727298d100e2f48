"""Wires on the canvas: a connection between two cards with the tensor shape it carries, and
the loose wire that follows the pointer while a connection is being dragged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPen, QStaticText
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from dlbuilder.core.registry import format_shape
from dlbuilder.gui.canvas import style
from dlbuilder.gui.canvas.routing import wire_path
from dlbuilder.gui.canvas.style import fonts, paints

if TYPE_CHECKING:
    from dlbuilder.gui.canvas.node_item import NodeItem
    from dlbuilder.gui.canvas.scene import GraphScene

_LABEL_PAD_X, _LABEL_PAD_Y = 4.0, 1.5
_PORT_ROOM = 8.0  # keep a label this far from the ports at a wire's ends


class WireItem(QGraphicsItem):
    """The wire from output `from_port` of src into input `port` of dst."""

    def __init__(self, src: NodeItem, dst: NodeItem, port: int, from_port: int = 0) -> None:
        super().__init__()
        self.src = src
        self.dst = dst
        self.port = port
        self.from_port = from_port
        self._path = QPainterPath()
        self._hit = QPainterPath()
        self._bounds = QRectF()
        self._label: QStaticText | None = None
        self._label_rect = QRectF()
        self._hovered = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)

    @property
    def key(self) -> tuple[str, str]:
        return (self.src.node, self.dst.node)

    def path(self) -> QPainterPath:
        return QPainterPath(self._path)

    def label_text(self) -> str:
        return self._label.text() if self._label is not None else ""

    def label_pos(self) -> QPointF:
        return self._label_rect.center()

    # -- updates -------------------------------------------------------------------------------
    def refresh_label(self) -> None:
        """Re-read the shape the source puts out on this wire's output port."""
        doc = self.src.doc
        text = format_shape(doc.scope.engine.source_shape(self.src.node, self.from_port))
        if self._label is None or self._label.text() != text:
            static = QStaticText(text)
            static.setTextFormat(Qt.TextFormat.PlainText)
            static.prepare(font=fonts().label)
            self._label = static
            self._place_label()
        self.update()

    def update_path(self) -> None:
        """Re-route between the two ports (after a card moved or its ports changed)."""
        scene: GraphScene | None = self.scene()
        ends = {self.src, self.dst}
        start = self.src.output_port_pos(self.from_port)
        end = self.dst.input_port_pos(self.port)
        if scene is not None:
            path = wire_path(start, end, self.src.card_rect(), self.dst.card_rect(),
                             lambda rect: scene.card_rects(rect, ends))
        else:
            path = QPainterPath(start)
            path.lineTo(end)
        self.prepareGeometryChange()
        self._path = path
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        self._hit = stroker.createStroke(path)
        self._place_label()

    def _place_label(self) -> None:
        if self._label is None or self._path.isEmpty():
            return
        self.prepareGeometryChange()
        size = self._label.size()
        centre = self._path.pointAtPercent(0.5)
        w, h = size.width() + 2 * _LABEL_PAD_X, size.height() + 2 * _LABEL_PAD_Y
        top = centre.y() - h / 2
        if self._path.length() < w + 2 * _PORT_ROOM:  # a short hop: sit on top of the wire
            top = centre.y() - h - 2
        self._label_rect = QRectF(centre.x() - w / 2, top, w, h)
        self._bounds = self._path.boundingRect().adjusted(-3, -3, 3, 3).united(
            self._label_rect.adjusted(-1, -1, 1, 1))

    # -- item ----------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._hit

    def highlighted(self) -> bool:
        return self.isSelected() or self.src.isSelected() or self.dst.isSelected()

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hovered = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        scene: GraphScene = self.scene()
        p = paints(scene.theme())
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        hot = self.highlighted()
        pen = p.wire_hi_pen if hot else p.wire_pen
        if self._hovered and not hot:
            pen = QPen(pen)
            pen.setWidthF(pen.widthF() + 1.0)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if self._label is not None and lod >= style.LOD_TEXT:
            painter.setPen(p.wire_hi_pen if hot else p.label_border)
            painter.setBrush(p.label_bg)
            painter.drawRoundedRect(self._label_rect, 4, 4)
            painter.setFont(fonts().label)
            painter.setPen(p.text if hot else p.muted)
            painter.drawStaticText(self._label_rect.topLeft()
                                   + QPointF(_LABEL_PAD_X, _LABEL_PAD_Y), self._label)


class DragWireItem(QGraphicsItem):
    """The loose wire while a connection is dragged; red (dashed) where it would be refused."""

    def __init__(self, anchor: QPointF, from_output: bool) -> None:
        super().__init__()
        self.anchor = QPointF(anchor)
        self.from_output = from_output
        self.tip = QPointF(anchor)
        self.refused: str | None = None
        self._path = QPainterPath(anchor)
        self.setZValue(10)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def move_to(self, tip: QPointF, refused: str | None = None) -> None:
        self.prepareGeometryChange()
        self.tip = QPointF(tip)
        self.refused = refused
        start, end = (self.anchor, self.tip) if self.from_output else (self.tip, self.anchor)
        reach = min(max(abs(end.x() - start.x()) * 0.5, 40.0), 160.0)
        path = QPainterPath(start)
        path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(end.x() - reach, end.y()),
                     end)
        self._path = path
        self.update()

    def path(self) -> QPainterPath:
        return QPainterPath(self._path)

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        scene: GraphScene = self.scene()
        p = paints(scene.theme())
        painter.setPen(p.refused_pen if self.refused else p.wire_hi_pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        painter.setBrush(p.refused_pen.color() if self.refused else p.wire_hi_pen.color())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(self.tip, 3.5, 3.5)
