"""Values as labelled bars: class probabilities (the predicted class in the highlight colour,
the true one marked), or a vector layer's outputs (Linear, Softmax). A few values get a row
each (name, bar, number); many get a column each, their index on hover."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QFontMetrics, QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.text import number_font

ROWS_MAX = 24  # more values than this are drawn as columns
ROW_MIN, ROW_MAX = 14, 22  # a row's height in pixels
TOP_SHOWN = 12  # of more classes than ROWS_MAX, the most probable are listed


def value_text(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}%" if percent else f"{value:.3g}"


class BarsWidget(QWidget):
    """`set_values(values, labels, percent, highlight, marked)`; `values` may be signed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros(0, dtype=np.float32)
        self.labels: tuple[str, ...] = ()
        self.percent = False
        self.highlight: int | None = None  # the predicted class
        self.marked: int | None = None  # the true class
        self._shown: list[int] = []  # the indices drawn as rows, in order
        self._rows = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(60)
        self.setFont(number_font())
        theme_manager().changed.connect(self._on_theme_changed)

    def set_values(self, values: np.ndarray | None, labels: Sequence[str] = (),
                   percent: bool = False, highlight: int | None = None,
                   marked: int | None = None) -> None:
        self.values = np.zeros(0, dtype=np.float32) if values is None else \
            np.asarray(values, dtype=np.float32).reshape(-1)
        n = len(self.values)
        self.labels = tuple(labels) if len(labels) == n else tuple(str(i) for i in range(n))
        self.percent, self.highlight, self.marked = percent, highlight, marked
        if n <= ROWS_MAX:
            self._shown = list(range(n))
        elif percent:  # many classes: the most probable ones, and the true one
            top = [int(i) for i in np.argsort(-self.values, kind="stable")[:TOP_SHOWN]]
            self._shown = top + ([marked] if marked is not None and marked not in top else [])
        else:
            self._shown = []
        if len(self._shown) != self._rows:  # another height: the layout must know
            self._rows = len(self._shown)
            self.updateGeometry()
        self.update()

    @property
    def as_rows(self) -> bool:
        return bool(self._shown)

    def shown_rows(self) -> list[tuple[str, float]]:
        """The rows drawn, top to bottom: (label, value)."""
        return [(self.labels[i], float(self.values[i])) for i in self._shown]

    def sizeHint(self) -> QSize:
        rows = len(self._shown)
        return QSize(220, rows * (ROW_MIN + 2) + 8 if rows else 120)

    def minimumSizeHint(self) -> QSize:
        return QSize(140, 60)

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self.as_rows:
            self._paint_rows(painter)
        elif len(self.values):
            self._paint_columns(painter)
        painter.end()

    def _row_geometry(self) -> tuple[float, float, float]:
        """(row height, label width, number width)."""
        fm = QFontMetrics(self.font())
        rows = max(len(self._shown), 1)
        height = min(ROW_MAX, max(ROW_MIN, (self.height() - 4) / rows))
        label_w = min(max((fm.horizontalAdvance(self.labels[i]) for i in self._shown),
                          default=0) + 8, self.width() * 0.4)
        number_w = fm.horizontalAdvance("-00.00%" if self.percent else "-0.000e-00") + 6
        return height, label_w, number_w

    def _paint_rows(self, painter: QPainter) -> None:
        theme = current()
        fm = QFontMetrics(self.font())
        height, label_w, number_w = self._row_geometry()
        low = min(0.0, float(self.values.min())) if not self.percent else 0.0
        high = 1.0 if self.percent else max(float(np.abs(self.values).max()), 1e-12)
        left = label_w
        width = max(self.width() - label_w - number_w, 10)
        zero = left + width * (-low / (high - low)) if high > low else left
        for row, i in enumerate(self._shown):
            top = 2 + row * height
            value = float(self.values[i])
            strong = i == self.highlight
            painter.setPen(theme.color("text") if strong else theme.color("muted"))
            label = fm.elidedText(self.labels[i], Qt.TextElideMode.ElideRight, int(label_w - 6))
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(QRectF(0, top, label_w - 6, height), align, label)
            bar = QRectF(zero, top + height * 0.18, width * value / (high - low), height * 0.64)
            painter.fillRect(bar.normalized(), theme.color("highlight") if strong
                             else theme.color("muted"))
            if i == self.marked:  # the true class: an outline round its whole row
                painter.setPen(theme.color("success"))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRectF(left, top + 1, width, height - 2))
            painter.setPen(theme.color("text"))
            painter.drawText(QRectF(left + width + 4, top, number_w, height),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             value_text(value, self.percent))

    def _column_rect(self) -> QRectF:
        return QRectF(4, 4, self.width() - 8, self.height() - 8)

    def _paint_columns(self, painter: QPainter) -> None:
        theme = current()
        area = self._column_rect()
        peak = max(float(np.abs(self.values).max()), 1e-12)
        signed = float(self.values.min()) < 0
        zero = area.center().y() if signed else area.bottom()
        span = area.height() / 2 if signed else area.height()
        pitch = area.width() / len(self.values)
        painter.setPen(Qt.PenStyle.NoPen)
        for i, value in enumerate(self.values):
            height = float(value) / peak * span
            painter.fillRect(QRectF(area.left() + i * pitch, zero - max(height, 0),
                                    max(pitch * 0.8, 1.0), abs(height)).normalized(),
                             theme.color("highlight") if i == self.highlight
                             else theme.color("muted"))
        painter.setPen(theme.color("card_border"))
        painter.drawLine(area.left(), zero, area.right(), zero)

    # -- events --------------------------------------------------------------------------
    def index_at(self, x: float, y: float) -> int | None:
        if self.as_rows:
            height = self._row_geometry()[0]
            row = int((y - 2) // height)
            return self._shown[row] if 0 <= row < len(self._shown) else None
        area = self._column_rect()
        if not len(self.values) or not area.left() <= x < area.right():
            return None
        return min(int((x - area.left()) / (area.width() / len(self.values))),
                   len(self.values) - 1)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.index_at(event.pos().x(), event.pos().y())
            if index is not None:
                QToolTip.showText(event.globalPos(), f"{self.labels[index]}: "
                                  f"{value_text(float(self.values[index]), self.percent)}", self)
                return True
        return super().event(event)

    def _on_theme_changed(self, _theme: object) -> None:
        self.update()
