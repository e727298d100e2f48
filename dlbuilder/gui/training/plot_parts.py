"""The parts of the training curves that need no widget: the debiased moving average (kept
incrementally, so a redraw smooths only the new points), the plots with their epoch and value
axes, the learning rate's range (from 0, so a constant rate shows its value), the compact
legends whose keys stand for groups of curves, the colours and line styles of each theme, the
CSV rows and the hover read-out's text.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QSizePolicy

from dlbuilder.backend.runs.history import BATCH_SERIES, SERIES, RunHistory
from dlbuilder.gui.look.theme import Theme
from dlbuilder.gui.training.formats import MISSING, percent

DEFAULT_SMOOTHING = 0.6
# Most powers of 1/weight a chunk may reach: far from overflow, and the cumulative sum of a
# geometrically growing series keeps its precision (its error is relative to its last term).
_MAX_GROWTH_LOG10 = 150.0
_MAX_CHUNK = 4096


class IncrementalSmoother:
    """TensorBoard's debiased exponential moving average of a growing series.

    For the finite values v1, v2, ...: last = w * last + (1 - w) * v (from last = 0) and the
    smoothed value is last / (1 - w ** n) after n of them, so the start is not pulled to zero.
    Non-finite values pass through unchanged and leave the state alone. `update` smooths only
    the points added since its last call (vectorised with numpy, in chunks)."""

    def __init__(self, weight: float = DEFAULT_SMOOTHING) -> None:
        self.weight = float(weight)
        self.reset()

    def reset(self) -> None:
        self._last = 0.0
        self._count = 0
        self._done = 0
        self._out = np.empty(256)

    def set_weight(self, weight: float) -> None:
        """A new weight starts the average over (the next update recomputes every point)."""
        if float(weight) != self.weight:
            self.weight = float(weight)
            self.reset()

    def update(self, values: np.ndarray) -> np.ndarray:
        """The smoothed series of `values` (which must extend the previous call's values; a
        shorter series starts over). The result is a view, valid until the next call."""
        n = len(values)
        if n < self._done:
            self.reset()
        if n > self._done:
            if n > len(self._out):
                grown = np.empty(max(n, 2 * len(self._out)))
                grown[:self._done] = self._out[:self._done]
                self._out = grown
            self._out[self._done:n] = self._smooth(np.asarray(values[self._done:n], float))
            self._done = n
        return self._out[:n]

    def _smooth(self, values: np.ndarray) -> np.ndarray:
        finite = np.isfinite(values)
        if finite.all():
            return self._smooth_finite(values)
        out = values.copy()
        out[finite] = self._smooth_finite(values[finite])
        return out

    def _smooth_finite(self, values: np.ndarray) -> np.ndarray:
        """The finite values' EMA, as rows of `chunk` points: within a row a cumulative sum of
        values scaled by 1 / w**k (exact algebra, and the sum keeps its precision because its
        terms grow geometrically); across rows a short loop carries the state."""
        w, n = self.weight, len(values)
        if w <= 0.0 or n == 0:  # no smoothing; the state still counts the points
            self._count += n
            self._last = float(values[-1]) if n else self._last
            return values.copy()
        chunk = min(n, max(1, min(_MAX_CHUNK, int(_MAX_GROWTH_LOG10 / -math.log10(w)))))
        rows = -(-n // chunk)
        block = np.zeros(rows * chunk)
        block[:n] = values
        growth = np.power(w, -np.arange(1, chunk + 1, dtype=float))  # 1 / w**k
        sums = np.cumsum(block.reshape(rows, chunk) * growth, axis=1)
        sums *= 1.0 - w
        starts, state, carry = np.empty(rows), self._last, w ** chunk
        for row, end in enumerate((sums[:, -1] / growth[-1]).tolist()):
            starts[row] = state
            state = carry * state + end
        out = ((sums + starts[:, None]) / growth).reshape(-1)[:n]
        self._last = float(out[-1])
        # debias: 1 - w**count, which is 1 to double precision once w**count < 1e-17
        biased = max(0, min(n, math.ceil(17 / -math.log10(w)) - self._count))
        if biased:
            out[:biased] /= 1.0 - np.power(w, self._count + np.arange(1, biased + 1.0))
        self._count += n
        return out


def smoothed(values: np.ndarray, weight: float = DEFAULT_SMOOTHING) -> np.ndarray:
    """The debiased moving average of a whole series, from scratch (a copy)."""
    return IncrementalSmoother(weight).update(np.asarray(values, float)).copy()


class EpochAxisItem(pg.AxisItem):
    """An x axis in epochs: ticks on whole epochs only, labelled 1, 2, ..., 1,000."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size)
                  if spacing >= 1]
        return levels or [(1.0, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [f"{round(v * scale):,}" for v in values]


class ValueAxisItem(pg.AxisItem):
    """A y axis whose ticks show the values themselves (0.001, 5e-05), never an SI prefix or a
    rounded-away 0: for the learning rate, which is small, and the health figures (which may
    be on a log scale)."""

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if self.logMode:  # within a decade, 1, 2 and 5 only: nine labels crowd a short axis
            strings = super().tickStrings(values, scale, spacing)
            kept = [text if round(10 ** (v - math.floor(v))) in (1, 2, 5, 10) else ""
                    for v, text in zip(values, strings, strict=True)]
            return kept if any(kept) else strings
        tiny = abs(spacing * scale) * 1e-6  # what is left of 0 after float arithmetic
        return [f"{0.0 if abs(v * scale) < tiny else v * scale:.3g}" for v in values]


def value_span(values: np.ndarray) -> tuple[float, float] | None:
    """The y range a series of values should show: from 0 (or the most negative value) to
    20% past the largest, so a constant series is a line inside the plot with its own value
    on the axis; None where no value is finite."""
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return None
    low, high = min(0.0, float(finite.min())), max(0.0, float(finite.max()))
    span = high - low
    if span == 0.0:
        return (0.0, 1.0)
    return (low - 0.2 * span if low < 0 else low, high + 0.2 * span if high > 0 else high)


class RangeHintItem(pg.GraphicsObject):
    """An invisible item whose data bounds are a y span (see value_span): the view's own
    auto-range then includes it, and zooming, panning and the "A" button work as usual."""

    def __init__(self) -> None:
        super().__init__()
        self.span: tuple[float, float] | None = None
        self._log_y = False

    def set_span(self, span: tuple[float, float] | None) -> None:
        """Make the view's auto-range include `span` (None: nothing)."""
        if span != self.span:
            self.span = span
            self.informViewBoundsChanged()

    def setLogMode(self, x: bool, y: bool) -> None:
        """Called by the plot: on a log axis the span (from 0) means nothing, so it is off."""
        self._log_y = bool(y)
        self.informViewBoundsChanged()

    def dataBounds(self, ax: int, frac: float = 1.0,
                   orthoRange: tuple[float, float] | None = None) -> tuple[float | None, ...]:
        if ax == 0 or self.span is None or self._log_y:
            return (None, None)
        return self.span

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, *args: Any) -> None:
        """Nothing to draw."""


class KeySample(pg.ItemSample):
    """A legend sample drawn like `item` that stands for a group of curves (say, every
    training curve): a click shows or hides the whole group."""

    def __init__(self, item: pg.PlotDataItem, group: list[pg.PlotDataItem]) -> None:
        super().__init__(item)
        self.group = group

    def mouseClickEvent(self, event: Any) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            visible = not self.item.isVisible()
            for member in self.group:
                member.setVisible(visible)
        event.accept()
        self.update()
        self.sigClicked.emit(self.item)


# -- the curve items ------------------------------------------------------------------------
# live curve -> (plot, history series, the legend entry it belongs to or None). The legend
# has one entry per kind: "train" (drawn like the epoch means) stands for the faint per-batch
# line, its smoothed copy and the epoch means; "validation" for the validation means.
LIVE_CURVES = {
    "batch_loss": ("loss", "batch_loss", "train"),
    "batch_loss_smooth": ("loss", "batch_loss", "train"),
    "train_loss": ("loss", "train_loss", "train"),
    "val_loss": ("loss", "val_loss", "validation"),
    "batch_accuracy": ("accuracy", "batch_accuracy", "train"),
    "batch_accuracy_smooth": ("accuracy", "batch_accuracy", "train"),
    "train_accuracy": ("accuracy", "train_accuracy", "train"),
    "val_accuracy": ("accuracy", "val_accuracy", "validation"),
    "lr": ("lr", "lr", None),
}
LEGEND_SAMPLES = {"train": "train", "validation": "val"}  # entry -> the curve it looks like
COMPARE_SERIES = ("val_loss", "train_loss", "val_accuracy", "train_accuracy", "lr")
PERCENT = ("batch_accuracy", "train_accuracy", "val_accuracy")  # fractions, shown as %


def unique_labels(runs: list[tuple[str, RunHistory]]) -> list[tuple[str, RunHistory]]:
    """The runs with a repeated label told apart: 'A', 'A (2)', ..."""
    used: set[str] = set()
    out = []
    for label, history in runs:
        name, n = label, 2
        while name in used:
            name, n = f"{label} ({n})", n + 1
        used.add(name)
        out.append((name, history))
    return out


def plot_of(series: str) -> str:
    """The plot a history series goes to: 'loss', 'accuracy' or 'lr'."""
    return "lr" if series == "lr" else series.rsplit("_", 1)[1]


LEFT_AXIS_WIDTH = 52  # px: the tick labels ("0.0005", "100") and the axis title beside them


def make_plot(title: str, font: QFont, epoch_label: bool, lr: bool) -> pg.PlotWidget:
    """A plot in epochs titled `title` on the left, its text in `font`; `lr`: its y ticks show
    small values as they are (ValueAxisItem). Its size policy ignores the view's own size
    hint (which follows its last size and made one of two plots side by side the wider): the
    layout's stretch factors alone share the space out."""
    axes = {"bottom": EpochAxisItem("bottom")}
    if lr:
        axes["left"] = ValueAxisItem("left")
    plot = pg.PlotWidget(axisItems=axes)
    css = {"font-size": f"{font.pointSizeF():g}pt"}
    if epoch_label:
        plot.setLabel("bottom", "epoch", **css)
    plot.setLabel("left", title, **css)
    plot.showGrid(x=True, y=True, alpha=0.15)
    for side in ("bottom", "left"):
        axis = plot.getAxis(side)
        axis.setStyle(tickFont=font)
        axis.enableAutoSIPrefix(False)  # "loss (x0.001)" over 200 reads worse than 0.2
        # Kept as a pixmap until its ticks change: replaying the axis (its text and the grid
        # it draws across the plot) took most of each repaint while a run trains.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    # One width for every y axis: linked x ranges line up by pixel, so plots whose axes were
    # of different widths showed the same epoch at different places (and the range moved
    # whenever a tick label grew a digit).
    plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    plot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
    _adopt_menus(plot)
    return plot


def _adopt_menus(plot: pg.PlotWidget) -> None:
    """Parent pyqtgraph's context menus (the view's and the plot's) to the plot. Made without
    a parent, they are Python's to free, and a cyclic collection freeing one runs its C++
    destructor on children whose Python side the same pass may have freed: a crash.
    Parented, they go with the plot's widgets."""
    item = plot.getPlotItem()
    for menu in (item.getViewBox().menu, item.ctrlMenu):
        menu.setParent(plot, menu.windowFlags())


def add_legend(plot: pg.PlotWidget, offset: tuple[int, int], font: QFont) -> pg.LegendItem:
    """A compact legend in the corner `offset` points to (negative: from the right/bottom):
    small print, tight rows."""
    legend = plot.addLegend(offset=offset, labelTextSize=f"{font.pointSizeF():g}pt",
                            verSpacing=-6, horSpacing=8)
    legend.layout.setContentsMargins(2, 0, 6, 0)
    return legend


def theme_plots(plots: Iterable[pg.PlotWidget], theme: Theme) -> None:
    """The theme's background, axis lines and axis text on each plot."""
    for plot in plots:
        plot.setBackground(theme.base)
        for side in ("bottom", "left"):
            axis = plot.getAxis(side)
            axis.setPen(theme.muted)
            axis.setTextPen(theme.text)


def color_legend_text(legend: pg.LegendItem, color: str) -> None:
    """The legend's labels in `color`, those shown now too: pyqtgraph's setLabelTextColor
    leaves those in the colour they were rendered in (the old theme's)."""
    legend.setLabelTextColor(color)
    for _, label in legend.items:
        label.setText(label.text, color=color)


def make_curve(plot: pg.PlotWidget, batch: bool) -> pg.PlotDataItem:
    """An empty curve in `plot`, drawn only where visible; batch curves (long) downsampled."""
    item = pg.PlotDataItem()
    plot.addItem(item)  # first: the plot gives its items its own (off) clip and downsampling
    item.setClipToView(True)
    if batch:
        item.setDownsampling(auto=True, method="peak")
    return item


def set_points(item: pg.PlotDataItem, xs: np.ndarray, ys: np.ndarray,
               positive: bool = False) -> None:
    """setData, skipping pyqtgraph's finite check where every point can be drawn (`positive`:
    the axis is logarithmic, so values <= 0 cannot)."""
    drawable = bool(np.isfinite(ys).all()) and (not positive or bool((ys > 0).all()))
    item.setData(xs, ys, connect="all" if drawable else "finite", skipFiniteCheck=drawable)


# -- colours and line styles ---------------------------------------------------------------
# Per theme: the 600 shades read on white, the 400 shades on the dark base.
SERIES_COLORS = {
    "light": {"train": "#2563eb", "val": "#d9480f", "lr": "#2f8a3a"},
    "dark": {"train": "#60a5fa", "val": "#ffa94d", "lr": "#69db7c"},
}
RUN_COLORS = {
    "light": ("#2563eb", "#ea580c", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#a16207",
              "#db2777"),
    "dark": ("#60a5fa", "#fb923c", "#4ade80", "#f87171", "#c084fc", "#22d3ee", "#facc15",
             "#f472b6"),
}
RUN_SYMBOLS = ("o", "s", "t1", "d", "t", "p", "h", "star")  # so runs differ in more than hue


def _colors(theme: Theme) -> dict[str, str]:
    return SERIES_COLORS.get(theme.name, SERIES_COLORS["light"])


def faint(color: str, alpha: int = 80) -> QColor:
    value = QColor(color)
    value.setAlpha(alpha)
    return value


def live_style(name: str, theme: Theme) -> dict[str, Any]:
    """Pen and marker of one live curve: the raw batch series faint and thin, the smoothed one
    bold; epoch means as hollow circles on a dashed line (training) and filled squares on a
    solid line (validation), so the two differ in shape and fill as well as colour."""
    colors = _colors(theme)
    if name in BATCH_SERIES:
        return {"pen": pg.mkPen(faint(colors["train"]), width=1), "symbol": None}
    if name.endswith("_smooth"):
        return {"pen": pg.mkPen(colors["train"], width=2), "symbol": None}
    if name == "lr":
        return {"pen": pg.mkPen(colors["lr"], width=2), "symbol": "o", "symbolSize": 6,
                "symbolPen": pg.mkPen(colors["lr"]), "symbolBrush": pg.mkBrush(colors["lr"])}
    if name.startswith("train"):
        color = QColor(colors["train"]).darker(125) if theme.name == "light" else colors["train"]
        return {"pen": pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine), "symbol": "o",
                "symbolSize": 8, "symbolPen": pg.mkPen(color, width=2),
                "symbolBrush": pg.mkBrush(theme.base)}
    return {"pen": pg.mkPen(colors["val"], width=2), "symbol": "s", "symbolSize": 8,
            "symbolPen": pg.mkPen(colors["val"]), "symbolBrush": pg.mkBrush(colors["val"])}


def run_style(index: int, series: str, theme: Theme) -> dict[str, Any]:
    """Pen and marker of run `index`'s epoch curve in compare mode: validation solid with
    filled markers, training dashed with hollow ones; the marker shape differs per run."""
    palette = RUN_COLORS.get(theme.name, RUN_COLORS["light"])
    color = palette[index % len(palette)]
    symbol = RUN_SYMBOLS[index % len(RUN_SYMBOLS)]
    if series.startswith("train"):
        return {"pen": pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine), "symbol": symbol,
                "symbolSize": 7, "symbolPen": pg.mkPen(color),
                "symbolBrush": pg.mkBrush(theme.base)}
    return {"pen": pg.mkPen(color, width=2), "symbol": symbol, "symbolSize": 7,
            "symbolPen": pg.mkPen(color), "symbolBrush": pg.mkBrush(color)}


def key_style(series: str, theme: Theme) -> dict[str, Any]:
    """The neutral legend samples explaining solid (validation) and dashed (training)."""
    dash = Qt.PenStyle.DashLine if series == "training" else Qt.PenStyle.SolidLine
    return {"pen": pg.mkPen(theme.muted, width=1.5, style=dash), "symbol": None}


def restyle(item: pg.PlotDataItem, style: dict[str, Any]) -> None:
    """Give `item` a style from live_style/run_style/key_style (its data stays)."""
    item.setPen(style["pen"])
    item.setSymbol(style.get("symbol"))
    if style.get("symbol") is not None:
        item.setSymbolSize(style["symbolSize"])
        item.setSymbolPen(style["symbolPen"])
        item.setSymbolBrush(style["symbolBrush"])


# -- CSV -----------------------------------------------------------------------------------
CSV_HEADER = ("run", "series", "x", "y")


def csv_rows(runs: list[tuple[str, RunHistory]],
             weight: float) -> Iterator[tuple[str, str, float, float]]:
    """One row per point: (run label, series, x in epochs, y). Series are those of
    history.SERIES (accuracies as fractions 0..1, as recorded) plus, per batch series, its
    smoothed copy `<name>_smoothed` at the given weight."""
    for label, history in runs:
        for name in SERIES:
            xs, ys = history.arrays(name)
            yield from ((label, name, x, y) for x, y in zip(xs.tolist(), ys.tolist(), strict=True))
            if name in BATCH_SERIES and len(ys):
                smooth = smoothed(ys, weight).tolist()
                yield from ((label, f"{name}_smoothed", x, y)
                            for x, y in zip(xs.tolist(), smooth, strict=True))


def write_csv(path: Path, runs: list[tuple[str, RunHistory]], weight: float) -> None:
    """Write csv_rows to `path` (numbers in full precision, so they read back exactly)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        writer.writerows((label, name, repr(x), repr(y))
                         for label, name, x, y in csv_rows(runs, weight))


# -- the hover read-out --------------------------------------------------------------------
def fmt_loss(value: float | None) -> str:
    return MISSING if value is None or not math.isfinite(value) else f"{value:.4g}"


def nearest(xs: np.ndarray, x: float) -> int | None:
    """The index of the point of sorted `xs` nearest to x; None for no points."""
    if len(xs) == 0:
        return None
    i = int(np.searchsorted(xs, x))
    if i >= len(xs):
        return len(xs) - 1
    if i > 0 and x - xs[i - 1] <= xs[i] - x:
        return i - 1
    return i


def epoch_text(values: dict[str, Any]) -> str:
    """One epoch's means: 'epoch 3: loss 0.41 train / 0.45 val · accuracy 90.1% / 88.0% ·
    lr 0.001'."""
    parts = [f"epoch {values['epoch']:,}: loss {fmt_loss(values.get('train_loss'))} train"]
    if values.get("val_loss") is not None:
        parts[0] += f" / {fmt_loss(values['val_loss'])} val"
    if values.get("train_accuracy") is not None or values.get("val_accuracy") is not None:
        parts.append(f"accuracy {percent(values.get('train_accuracy'))} train / "
                     f"{percent(values.get('val_accuracy'))} val")
    if values.get("lr") is not None:
        parts.append(f"lr {values['lr']:.3g}")
    return " · ".join(parts)


def batch_text(history: RunHistory, index: int, smooth_loss: np.ndarray,
               smooth_accuracy: np.ndarray) -> str:
    """The batch point `index`: its epoch position, step, raw and smoothed loss (and running
    accuracy)."""
    xs, losses = history.arrays("batch_loss")
    x = float(xs[index])
    step = round(x * history.batches_per_epoch)
    text = (f"epoch {x:.2f} · step {step:,} · loss {fmt_loss(float(losses[index]))} "
            f"(smoothed {fmt_loss(float(smooth_loss[index]))})")
    accs = history.arrays("batch_accuracy")[1]
    if len(accs) == len(xs):
        text += (f" · accuracy {percent(float(accs[index]))} "
                 f"(smoothed {percent(float(smooth_accuracy[index]))})")
    return text


def compare_text(runs: list[tuple[str, RunHistory]], x: float) -> tuple[str, float | None]:
    """The epoch nearest to x in every run (validation values where there are some) and the
    x the read-out line goes to; ('', None) where no run has an epoch."""
    texts, at = [], None
    for label, history in runs:
        xs, _ = history.arrays("train_loss")
        i = nearest(xs, x)
        if i is None:
            continue
        values = history.epochs[i] if i < len(history.epochs) else {}
        at = float(xs[i]) if at is None or abs(xs[i] - x) < abs(at - x) else at
        loss = values.get("val_loss", values.get("train_loss"))
        acc = values.get("val_accuracy", values.get("train_accuracy"))
        which = "val" if "val_loss" in values else "train"
        text = f"{label} (epoch {values.get('epoch', i + 1):,}): {which} loss {fmt_loss(loss)}"
        if acc is not None:
            text += f", accuracy {percent(acc)}"
        texts.append(text)
    return " · ".join(texts), at


def live_text(history: RunHistory | None, smoothers: dict[str, IncrementalSmoother],
              x: float) -> tuple[str, float | None]:
    """The read-out of a live run at x: the nearest batch (raw and smoothed values) and the
    nearest epoch's means, and the x the read-out line goes to ('', None) for no points."""
    if history is None:
        return "", None
    lines, at = [], None
    xs, losses = history.arrays("batch_loss")
    index = nearest(xs, x)
    if index is not None:
        smooth_loss = smoothers["batch_loss"].update(losses)
        smooth_acc = smoothers["batch_accuracy"].update(history.arrays("batch_accuracy")[1])
        lines.append(batch_text(history, index, smooth_loss, smooth_acc))
        at = float(xs[index])
    epochs = np.asarray([values["epoch"] for values in history.epochs], float)
    e = nearest(epochs, x)
    if e is not None:
        lines.append(epoch_text(history.epochs[e]))
        at = float(epochs[e]) if at is None else at
    return "\n".join(lines), at
