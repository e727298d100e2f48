"""The confusion matrix as a heat map painted with QPainter: rows the true class, columns the
predicted one, each cell's count printed when it fits.

Right answers (the diagonal) are shaded blue and mistakes orange-red, each by its share of the
row, so the errors stand out however few they are. Blue against orange also stays apart for
readers who confuse red and green. Clicking a cell selects it (the results panel then shows
that cell's samples); clicking it again, or Escape, clears the selection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.widgets.text import plural

# The two hues, per theme: right answers and mistakes.
RIGHT_COLORS = {"light": "#2563eb", "dark": "#3b82f6"}
WRONG_COLORS = {"light": "#e8590c", "dark": "#ff6a2b"}
DARK_INK, LIGHT_INK = QColor("#111418"), QColor("#ffffff")
MIN_ERROR_SHADE = 0.18   # a single mistake still shows
LABEL_CAP_PX = 96        # class names longer than this are elided
PAD = 4.0
WIDGET_TIP = ("Rows: the true class; columns: the class the network predicted. The diagonal "
              "holds the right answers. Click a cell to see its samples; click it again to "
              "see all.")


def cell_shades(counts: np.ndarray) -> np.ndarray:
    """Each cell's colour strength, 0..1, by its share of the row: the diagonal by the share
    itself; mistakes relative to the largest mistake share (at least 2%), through a square
    root, so that a few errors among many right answers still show and the worst is darkest."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    k = len(counts)
    diagonal = np.eye(k, dtype=bool)
    worst = max(float(share[~diagonal].max()) if k > 1 else 0.0, 0.02)
    wrong = MIN_ERROR_SHADE + (1.0 - MIN_ERROR_SHADE) * np.sqrt(np.minimum(share / worst, 1.0))
    shades = np.where(diagonal, 0.15 + 0.85 * share, wrong)
    return np.where(counts > 0, shades, 0.0)


def cell_color(theme: Theme, right: bool, shade: float) -> QColor:
    """Blue for the diagonal, orange-red for mistakes, `shade` (0..1) of the way from the
    background; shade 0 (no samples) stays neutral."""
    if shade <= 0:
        return QColor(theme.alt_base)
    hue = (RIGHT_COLORS if right else WRONG_COLORS).get(theme.name, "#808080")
    return blend(QColor(theme.base), QColor(hue), shade)


def blend(a: QColor, b: QColor, t: float) -> QColor:
    t = min(max(t, 0.0), 1.0)
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t,
                           a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t)


def luminance(color: QColor) -> float:
    """WCAG relative luminance."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def ink_for(background: QColor) -> QColor:
    """Near-black or white, whichever contrasts more with `background`."""
    lum = luminance(background)
    dark_contrast = (lum + 0.05) / (luminance(DARK_INK) + 0.05)
    light_contrast = 1.05 / (lum + 0.05)
    return DARK_INK if dark_contrast >= light_contrast else LIGHT_INK


def class_group(name: str, noun: str) -> str:
    """How a row's samples are called: "the 3s", "the cat images"."""
    return f"the {name}s" if name.isdigit() else f"the {name} {noun}"


@dataclass(frozen=True)
class _Geometry:
    x0: float             # the matrix's top-left corner
    y0: float
    cell: float           # a cell's side
    rotated: bool         # column labels drawn upright (reading upwards)
    label_width: float    # room for a class name (elided to it)
    row_step: int         # every n-th row label is drawn (n > 1 when rows are thin)
    col_step: int
    count_font: QFont | None  # None: cells are too small for their counts


class ConfusionMatrixWidget(QWidget):
    """A K x K heat map of counts. `cell_clicked(row, col)` on every click on a cell;
    `selection_changed(cell)` when a click or Escape selects a cell or clears it (None)."""

    cell_clicked = Signal(int, int)
    selection_changed = Signal(object)  # (row, col) or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._counts = np.zeros((0, 0), dtype=np.int64)
        self._classes: tuple[str, ...] = ()
        self._noun = "images"
        self._selected: tuple[int, int] | None = None
        self._hover: tuple[int, int] | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 140)
        self.setToolTip(WIDGET_TIP)
        theme_manager().changed.connect(self._on_theme_changed)

    def sizeHint(self) -> QSize:
        return QSize(380, 340)

    # -- data ------------------------------------------------------------------------------
    def set_matrix(self, counts: np.ndarray | None, classes: Sequence[str],
                   noun: str = "images") -> None:
        """Show `counts` (K x K, rows true, columns predicted) for `classes`; None empties it.
        `noun` names the samples in tooltips ("images", "samples")."""
        if counts is None:
            self._counts, self._classes = np.zeros((0, 0), dtype=np.int64), ()
        else:
            counts = np.asarray(counts, dtype=np.int64)
            if counts.ndim != 2 or counts.shape[0] != counts.shape[1] \
                    or counts.shape[0] != len(classes):
                raise ValueError(f"a confusion matrix must be {len(classes)} x {len(classes)} "
                                 f"(one row and column per class), not {counts.shape}")
            self._counts, self._classes = counts.copy(), tuple(str(c) for c in classes)
        self._noun = noun
        self._selected = self._hover = None
        self.update()

    def counts(self) -> np.ndarray:
        """The counts shown (a copy)."""
        return self._counts.copy()

    def classes(self) -> tuple[str, ...]:
        return self._classes

    def selected_cell(self) -> tuple[int, int] | None:
        return self._selected

    def set_selected(self, cell: tuple[int, int] | None) -> None:
        """Highlight `cell` (or nothing) without emitting a signal."""
        k = len(self._classes)
        if cell is not None and not (0 <= cell[0] < k and 0 <= cell[1] < k):
            cell = None
        self._selected = cell
        self.update()

    def cell_text(self, row: int, col: int) -> str:
        """The hover text: "true 3, predicted 5: 12 images (1.2% of the 3s)"."""
        count = int(self._counts[row, col])
        total = int(self._counts[row].sum())
        share = f"{100 * count / total:.1f}%" if total else "0%"
        name = self._classes[row]
        return (f"true {name}, predicted {self._classes[col]}: {plural(count, self._noun)} "
                f"({share} of {class_group(name, self._noun)})")

    # -- geometry --------------------------------------------------------------------------
    def _geometry(self) -> _Geometry:
        k = max(len(self._classes), 1)
        fm = QFontMetricsF(self.font())
        line = fm.height()
        natural = max((fm.horizontalAdvance(c) for c in self._classes), default=0.0)
        label_width = min(natural, LABEL_CAP_PX, self.width() * 0.22)
        left = line + PAD + label_width + PAD   # the rotated title, the row names
        top = PAD
        bottom = PAD + line + PAD + line         # the column names, the title
        cell = self._cell_size(k, left, top, bottom)
        rotated = label_width + 4 > cell
        if rotated:
            bottom = PAD + label_width + PAD + line
            cell = self._cell_size(k, left, top, bottom)
        width, height = cell * k, cell * k
        x0 = left + max(0.0, (self.width() - PAD - left - width) / 2)
        y0 = top + max(0.0, (self.height() - top - bottom - height) / 2)
        step = max(1, math.ceil(line / cell)) if cell > 0 else k
        return _Geometry(x0, y0, cell, rotated, label_width, step,
                         step if rotated else 1, self._count_font(cell))

    def _cell_size(self, k: int, left: float, top: float, bottom: float) -> float:
        room = min(self.width() - left - PAD, self.height() - top - bottom)
        return max(room / k, 0.5)

    def _count_font(self, cell: float) -> QFont | None:
        """The widget font, shrunk down to 6 pt if need be, in which the widest count fits
        a cell; None when none does."""
        if not self._counts.size:
            return None
        widest = str(int(self._counts.max()))  # no thousands separator: cells are narrow
        font = QFont(self.font())
        size = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
        while size >= 6.0:
            font.setPointSizeF(size)
            fm = QFontMetricsF(font)
            if fm.horizontalAdvance(widest) + 2 <= cell and fm.height() <= cell:
                return font
            size -= 0.5
        return None

    def cell_rect(self, row: int, col: int) -> QRectF:
        """Where cell (row, col) is drawn, in widget coordinates."""
        g = self._geometry()
        return QRectF(g.x0 + col * g.cell, g.y0 + row * g.cell, g.cell, g.cell)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        """The (row, col) under widget point `pos`, or None."""
        k = len(self._classes)
        if not k:
            return None
        g = self._geometry()
        col = math.floor((pos.x() - g.x0) / g.cell)
        row = math.floor((pos.y() - g.y0) / g.cell)
        return (row, col) if 0 <= row < k and 0 <= col < k else None

    # -- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        if not len(self._classes):
            return
        painter = QPainter(self)
        try:
            theme = current()
            g = self._geometry()
            self._paint_cells(painter, theme, g)
            self._paint_labels(painter, theme, g)
            self._paint_marks(painter, theme, g)
        finally:
            painter.end()

    def _paint_cells(self, painter: QPainter, theme: Theme, g: _Geometry) -> None:
        shades = cell_shades(self._counts)
        if g.count_font is not None:
            painter.setFont(g.count_font)
        for row in range(len(self._classes)):
            for col in range(len(self._classes)):
                count = int(self._counts[row, col])
                color = cell_color(theme, row == col, float(shades[row, col]))
                rect = QRectF(g.x0 + col * g.cell, g.y0 + row * g.cell, g.cell, g.cell)
                painter.fillRect(rect, color)
                if g.count_font is not None:
                    ink = ink_for(color) if count else QColor(theme.muted)
                    painter.setPen(ink)
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(count))
        if g.cell >= 6:  # thin separators; below that they would swallow the cells
            painter.setPen(QPen(QColor(theme.base), 1.0))
            k = len(self._classes)
            for i in range(1, k):
                painter.drawLine(QPointF(g.x0 + i * g.cell, g.y0),
                                 QPointF(g.x0 + i * g.cell, g.y0 + k * g.cell))
                painter.drawLine(QPointF(g.x0, g.y0 + i * g.cell),
                                 QPointF(g.x0 + k * g.cell, g.y0 + i * g.cell))

    def _paint_labels(self, painter: QPainter, theme: Theme, g: _Geometry) -> None:
        painter.setFont(self.font())
        fm = QFontMetricsF(self.font())
        line = fm.height()
        k = len(self._classes)
        side = g.cell * k
        names = [fm.elidedText(c, Qt.TextElideMode.ElideRight, g.label_width + 1)
                 for c in self._classes]
        painter.setPen(QColor(theme.text))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row in range(0, k, g.row_step):
            y = g.y0 + (row + 0.5) * g.cell
            painter.drawText(QRectF(g.x0 - PAD - g.label_width - 2, y - line / 2,
                                    g.label_width + 2, line), right, names[row])
        label_top = g.y0 + side + PAD
        for col in range(0, k, g.col_step):
            x = g.x0 + (col + 0.5) * g.cell
            if g.rotated:  # upright, reading upwards, ending at the matrix
                painter.save()
                painter.translate(x, label_top)
                painter.rotate(-90)
                painter.drawText(QRectF(-g.label_width - 2, -line / 2, g.label_width + 2, line),
                                 right, names[col])
                painter.restore()
            else:
                painter.drawText(QRectF(x - g.cell / 2, label_top, g.cell, line),
                                 Qt.AlignmentFlag.AlignCenter, names[col])
        painter.setPen(QColor(theme.muted))
        title_top = label_top + (g.label_width if g.rotated else line) + PAD
        painter.drawText(QRectF(g.x0, title_top, side, line), Qt.AlignmentFlag.AlignCenter,
                         "predicted class")
        painter.save()
        painter.translate(PAD / 2, g.y0 + side / 2)
        painter.rotate(-90)
        painter.drawText(QRectF(-side / 2, 0, side, line), Qt.AlignmentFlag.AlignCenter,
                         "true class")
        painter.restore()

    def _paint_marks(self, painter: QPainter, theme: Theme, g: _Geometry) -> None:
        """The hovered cell's thin outline and the selected cell's thick one."""
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for cell, width in ((self._hover, 1.0), (self._selected, 2.5)):
            if cell is None:
                continue
            rect = QRectF(g.x0 + cell[1] * g.cell, g.y0 + cell[0] * g.cell, g.cell, g.cell)
            if width > 1:  # a halo in the background colour keeps the ring visible on any cell
                painter.setPen(QPen(QColor(theme.base), width + 2))
                painter.drawRect(rect.adjusted(-1, -1, 1, 1))
            painter.setPen(QPen(QColor(theme.text), width))
            painter.drawRect(rect.adjusted(-1, -1, 1, 1) if width > 1 else rect)

    # -- interaction -----------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hover = self.cell_at(event.position())
        if hover != self._hover:
            self._hover = hover
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position())
        if event.button() != Qt.MouseButton.LeftButton or cell is None:
            super().mousePressEvent(event)
            return
        self._selected = None if cell == self._selected else cell
        self.update()
        self.cell_clicked.emit(*cell)
        self.selection_changed.emit(self._selected)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self._selected is not None:
            self._selected = None
            self.update()
            self.selection_changed.emit(None)
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            cell = self.cell_at(QPointF(event.pos()))
            if cell is not None:
                rect = self.cell_rect(*cell).toAlignedRect()
                QToolTip.showText(event.globalPos(), self.cell_text(*cell), self, rect)
                return True
        return super().event(event)

    def _on_theme_changed(self, _theme: object) -> None:
        self.update()
