"""A drawing pad: draw a digit with the mouse or a pen, and the network answers each stroke.

The pad keeps its own picture (CANVAS pixels square, ink 1 on 0) whatever its size on screen,
shows it as the training data looks (white on black for MNIST), and hands it out as a numpy
array while a stroke is drawn (at most once a frame) and when it ends. The pen is as wide as
the data's strokes for a digit drawn to fill the dashed box (the data's ink box);
drawing_to_sample makes any drawing the data's size, stroke and centre.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from dlbuilder.backend.inside.drawing import InkStyle
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.images import image_array

CANVAS = 224  # the pad's own pixels (8 per pixel of a 28x28 sample)
FRAME_MS = 16  # while drawing, the picture goes out at most this often
DEFAULT_PEN = 18.0


class DrawingPadWidget(QWidget):
    """`drawn(array)` while drawing and at each stroke's end; `cleared()` after Clear."""

    drawn = Signal(object)  # np.ndarray (CANVAS, CANVAS) float32, ink 1 on 0
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = QImage(CANVAS, CANVAS, QImage.Format.Format_Grayscale8)
        self.canvas.fill(0)
        self.pen_width = DEFAULT_PEN
        self.box = 0.7  # the data's ink box, as a share of the side: the dashed guide
        self.bright_ink = True
        self._last: QPointF | None = None
        self._pending = False  # drawn since the picture last went out
        self.strokes = 0
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._on_frame_timeout)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw here with the mouse or a pen; each stroke updates the prediction")
        theme_manager().changed.connect(self._on_theme_changed)

    def set_style(self, style: InkStyle | None) -> None:
        """Draw like the data: its pen width, its ink box as the guide, its colours."""
        if style is not None:
            self.pen_width = style.pen_width(CANVAS)
            self.box = style.box
            self.bright_ink = style.bright_ink
        self.update()

    def picture(self) -> np.ndarray:
        return image_array(self.canvas)

    def is_blank(self) -> bool:
        return self.strokes == 0

    def clear(self) -> None:
        self.canvas.fill(0)
        self.strokes = 0
        self._pending = False
        self.update()
        self.cleared.emit()

    # -- geometry ------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(200, 200)

    def minimumSizeHint(self) -> QSize:
        return QSize(112, 112)

    def pad_rect(self) -> QRectF:
        """The square drawn in: as large as fits, at the top, centred across."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, 0, side, side)

    def to_canvas(self, pos: QPointF) -> QPointF:
        rect = self.pad_rect()
        scale = CANVAS / rect.width() if rect.width() else 1.0
        return QPointF((pos.x() - rect.left()) * scale, (pos.y() - rect.top()) * scale)

    # -- drawing -------------------------------------------------------------------------
    def draw_to(self, point: QPointF) -> None:
        """Ink from the stroke's last point to `point` (canvas pixels)."""
        painter = QPainter(self.canvas)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(255, 255, 255), self.pen_width, Qt.PenStyle.SolidLine,
                   Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        start = self._last if self._last is not None else point
        if start == point:
            painter.drawPoint(point)
        else:
            painter.drawLine(start, point)
        painter.end()
        self._last = point
        self._pending = True
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self._last = None
        self.strokes += 1
        self.draw_to(self.to_canvas(event.position()))
        self._send_soon()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not event.buttons() & Qt.MouseButton.LeftButton or self._last is None:
            return
        self.draw_to(self.to_canvas(event.position()))
        self._send_soon()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._last is None:
            return
        self.draw_to(self.to_canvas(event.position()))
        self._last = None
        self._frame.stop()
        self._send()  # the stroke's end: at once

    def _send_soon(self) -> None:
        """Out now if a frame has passed since the last, else when it has."""
        if not self._frame.isActive():
            self._send()
            self._frame.start()

    def _send(self) -> None:
        self._pending = False
        self.drawn.emit(self.picture())

    def _on_frame_timeout(self) -> None:
        if self._pending:
            self._send()
            self._frame.start()

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.pad_rect()
        image = self.canvas if self.bright_ink else self.canvas.copy()
        if not self.bright_ink:
            image.invertPixels()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(rect, image)
        theme = current()
        guide = QColor(theme.highlight)
        guide.setAlphaF(0.55)
        painter.setPen(QPen(guide, 1.0, Qt.PenStyle.DashLine))
        side = rect.width() * self.box
        box = QRectF(0, 0, side, side)
        box.moveCenter(rect.center())
        painter.drawRect(box)
        if self.is_blank():
            painter.setPen(guide)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "draw a digit here")
        painter.setPen(theme.color("card_border"))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.end()

    def _on_theme_changed(self, _theme: object) -> None:
        self.update()
