"""A small plot of an activation f(x) and its derivative f'(x), drawn with QPainter.

Drawn by hand rather than with pyqtgraph so the inspector can show it before (and without) the
plotting library loading. The derivative is dashed as well as differently coloured, so the two
curves stay apart for readers who do not tell the colours apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from dlbuilder.gui.look.theme import Theme, current, theme_manager

Curve = Callable[[float, dict[str, Any]], tuple[float, float]]

X_RANGE = (-4.0, 4.0)
SAMPLES = 241
VALUE_COLORS = {"light": "#2563eb", "dark": "#60a5fa"}       # f(x)
SLOPE_COLORS = {"light": "#d9480f", "dark": "#ffa94d"}       # f'(x), dashed


def nice_step(span: float, ticks: int = 5) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about `ticks` intervals over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def sample(fn: Curve, params: dict[str, Any]) -> tuple[list[float], list[float], list[float]]:
    """xs, f(xs), f'(xs) over X_RANGE; a value the function cannot give becomes NaN."""
    lo, hi = X_RANGE
    xs = [lo + (hi - lo) * i / (SAMPLES - 1) for i in range(SAMPLES)]
    ys, ds = [], []
    for x in xs:
        try:
            y, d = fn(x, params)
        except (ArithmeticError, ValueError, TypeError):
            y, d = math.nan, math.nan
        ys.append(float(y))
        ds.append(float(d))
    return xs, ys, ds


def y_range(values: list[float]) -> tuple[float, float, float]:
    """(low, high, step): every finite value and 0, with a little room above and below so a
    curve lying on an edge (ReLU's zero) stays visible; ticks are the multiples of step."""
    finite = [v for v in values if math.isfinite(v)] or [0.0]
    low, high = min(0.0, *finite), max(0.0, *finite)
    if high - low < 1e-9:
        high = low + 1.0
    step = nice_step(high - low)
    room = 0.06 * (high - low)
    return low - room, high + room, step


def ticks(low: float, high: float, step: float) -> list[float]:
    """The multiples of `step` between low and high."""
    first = math.ceil(low / step - 1e-9)
    return [i * step for i in range(first, math.floor(high / step + 1e-9) + 1)]


def tick_text(value: float) -> str:
    return f"{value:g}" if abs(value) > 1e-12 else "0"


class CurvePlotWidget(QWidget):
    """f(x) and f'(x) over x in [-4, 4], with axes through 0, a grid, ticks and a legend."""

    MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 34, 8, 22, 18

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fn: Curve | None = None
        self._params: dict[str, Any] = {}
        self._title = ""
        self._data: tuple[list[float], list[float], list[float]] = ([], [], [])
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumSize(180, 130)
        theme_manager().changed.connect(self._on_theme_changed)

    def sizeHint(self) -> QSize:
        return QSize(260, 160)

    def set_curve(self, fn: Curve | None, params: dict[str, Any], title: str = "") -> None:
        """Plot `fn` (value, derivative) at `params`; None clears the plot."""
        self._fn, self._params, self._title = fn, dict(params), title
        self._data = sample(fn, self._params) if fn is not None else ([], [], [])
        self.setToolTip(f"{title}: the function f(x) (solid) and its derivative f'(x) "
                        "(dashed), which scales the gradient flowing back through it")
        self.update()

    def title(self) -> str:
        return self._title

    def curve_data(self) -> tuple[list[float], list[float], list[float]]:
        """The sampled xs, f(xs) and f'(xs) being drawn."""
        return self._data

    def _on_theme_changed(self, theme: Theme) -> None:
        self.update()

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        theme = current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), theme.color("base"))
        plot = QRectF(self.MARGIN_LEFT, self.MARGIN_TOP,
                      max(1, self.width() - self.MARGIN_LEFT - self.MARGIN_RIGHT),
                      max(1, self.height() - self.MARGIN_TOP - self.MARGIN_BOTTOM))
        xs, ys, ds = self._data
        low, high, step = y_range(ys + ds)
        mapper = _Mapper(plot, X_RANGE, (low, high))
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.85))
        painter.setFont(small)
        self._paint_grid(painter, theme, mapper, low, high, step)
        if xs:
            self._paint_line(painter, mapper, xs, ds, SLOPE_COLORS[theme.name], dashed=True)
            self._paint_line(painter, mapper, xs, ys, VALUE_COLORS[theme.name], dashed=False)
        self._paint_header(painter, theme)
        painter.end()

    def _paint_grid(self, painter: QPainter, theme: Theme, mapper: _Mapper, low: float,
                    high: float, step: float) -> None:
        plot = mapper.rect
        metrics = QFontMetrics(painter.font())
        grid, text = QPen(theme.color("grid_major"), 1), theme.color("muted")
        for y_value in ticks(low, high, step):
            y = mapper.y(y_value)
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text)
            label = QRectF(0, y - metrics.height() / 2, plot.left() - 4, metrics.height())
            painter.drawText(label, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             tick_text(y_value))
        for x_value in range(int(X_RANGE[0]), int(X_RANGE[1]) + 1, 2):
            x = mapper.x(x_value)
            painter.setPen(grid)
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            painter.setPen(text)
            label = QRectF(x - 20, plot.bottom() + 2, 40, metrics.height())
            painter.drawText(label, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             tick_text(x_value))
        painter.setPen(QPen(theme.color("muted"), 1.2))  # the axes through 0
        painter.drawLine(QPointF(plot.left(), mapper.y(0)), QPointF(plot.right(), mapper.y(0)))
        painter.drawLine(QPointF(mapper.x(0), plot.top()), QPointF(mapper.x(0), plot.bottom()))

    @staticmethod
    def _paint_line(painter: QPainter, mapper: _Mapper, xs: list[float], ys: list[float],
                    colour: str, dashed: bool) -> None:
        path = QPainterPath()
        drawing = False
        for x, y in zip(xs, ys, strict=True):
            if not math.isfinite(y):
                drawing = False
                continue
            point = QPointF(mapper.x(x), mapper.y(y))
            if drawing:
                path.lineTo(point)
            else:
                path.moveTo(point)
                drawing = True
        pen = QPen(QColor(colour), 2.0 if not dashed else 1.7)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        if dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setClipRect(mapper.rect.adjusted(-2, -2, 2, 2))
        painter.drawPath(path)
        painter.setClipping(False)

    def _paint_header(self, painter: QPainter, theme: Theme) -> None:
        """The title on the left, the legend on the right, above the plot."""
        metrics = QFontMetrics(painter.font())
        height = self.MARGIN_TOP - 4
        right = self.width() - self.MARGIN_RIGHT
        entries = (("f'(x)", SLOPE_COLORS[theme.name], True),
                   ("f(x)", VALUE_COLORS[theme.name], False))
        for label, colour, dashed in entries:
            width = metrics.horizontalAdvance(label)
            painter.setPen(theme.color("text"))
            painter.drawText(QRectF(right - width, 2, width, height),
                             Qt.AlignmentFlag.AlignVCenter, label)
            pen = QPen(QColor(colour), 2)
            if dashed:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            y = 2 + height / 2
            painter.drawLine(QPointF(right - width - 22, y), QPointF(right - width - 4, y))
            right -= width + 32
        painter.setPen(theme.color("text"))
        title = metrics.elidedText(self._title, Qt.TextElideMode.ElideRight,
                                   max(0, int(right - 4)))
        painter.drawText(QRectF(4, 2, max(0, right - 4), height),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)


class _Mapper:
    """Data coordinates to widget coordinates inside the plot rectangle."""

    def __init__(self, rect: QRectF, xr: tuple[float, float], yr: tuple[float, float]) -> None:
        self.rect, self.xr, self.yr = rect, xr, yr

    def x(self, value: float) -> float:
        lo, hi = self.xr
        return self.rect.left() + (value - lo) / (hi - lo) * self.rect.width()

    def y(self, value: float) -> float:
        lo, hi = self.yr
        return self.rect.bottom() - (value - lo) / (hi - lo) * self.rect.height()
