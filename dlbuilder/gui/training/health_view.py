"""The Health tab: each layer's training health over a run's epochs, and runs compared by depth.

Left, one line per layer of the run in progress (or the last one), over epochs, for the figure
chosen above them (backend/health.py's: the gradient norm by default, on a log scale); the
colour follows depth, from the first layer (dark) to the last (light), and pointing at a line
names its layer. Right, the chosen figure at the last epoch against depth, the first layer on
the left, one line per run: the runs selected in the Runs tab, else the run in progress. A
plain deep net beside a residual one tells the lecture's story at a glance: the plain net's
line falls away towards the input.

Drawn once per epoch (when a health record arrives), and only while the tab is shown: nothing
here runs per batch, so training in the window goes as fast as before.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.backend.health import (
    FIGURE_NAMES,
    FIGURES,
    depth_profile,
    flag_rules,
    flag_words,
    is_normalization,
    layer_series,
)
from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.training import plot_parts as parts

LOG_FIGURES = ("grad_norm", "update_ratio")  # shown on a log scale unless the user says not
NO_LOG = ("act_mean", "dead_share")  # values at or below 0: a log scale cannot show them
HOVER_MS = 30
HINT = ("Press Start: each layer's gradient norm, update size, dead ReLUs and activations "
        "are measured every epoch and drawn here")
NO_HEALTH = ("These runs have no health figures: they were kept before health was measured, "
             "or trained by `dlbuilder train` without --health")
READOUT_TIP = ("Left: one line per layer, coloured by depth (dark: the first layer, light: the "
               "last). Right: the last epoch against depth, one line per run (the runs "
               "selected in the Runs tab). Point at a line to name its layer.\n"
               + flag_rules())
READOUT_IDLE = ("Colour follows depth: dark for the first layer, light for the last. Point at "
                "a line to name its layer.")
NAMED_DEPTHS = 10  # up to so many layers, the by-depth plot's ticks are their names
NORM_TIP = ("Show normalization layers (BatchNorm...) too: their few weights get gradients "
            "and steps on another scale than a convolution's, which reads as dips")
DEPTH_RANGES = {"light": (0.0, 0.85), "dark": (0.2, 1.0)}  # of viridis: readable on the base


def shown_values(values: list[float], figure: str, log: bool) -> np.ndarray:
    """The values as drawn: shares in percent; on a log scale, nothing at or below 0."""
    out = np.asarray(values, float) * (100.0 if figure == "dead_share" else 1.0)
    if log:
        out = np.where(out > 0, out, np.nan)
    return out


def figure_text(layer: dict[str, Any], figure: str) -> str:
    value = layer.get(figure)
    if value is None:
        return f"{FIGURE_NAMES[figure]} -"
    shown = f"{value:.0%}" if figure == "dead_share" else f"{value:.3g}"
    words = flag_words(layer)
    return f"{FIGURE_NAMES[figure]} {shown}" + (f"  \u26a0 {words}" if words else "")


class HealthWidget(QWidget):
    """Per-layer health curves of one run, and runs compared by depth."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._label = "this run"
        self._runs: list[tuple[str, RunHistory]] = []
        self._drawn: tuple[Any, ...] | None = None
        self._layers: list[tuple[pg.PlotDataItem, dict[str, Any], list[int], np.ndarray]] = []
        self._profiles: list[tuple[pg.PlotDataItem, str, list[dict[str, Any]], np.ndarray]] = []
        self._hovered: pg.PlotDataItem | None = None
        self._ends: list[tuple[pg.TextItem, int]] = []  # the first and last layers' names
        self._at: tuple[str, QPointF] | None = None
        self.draw_count = 0
        self._build()
        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(HOVER_MS)
        self._hover_timer.timeout.connect(self._on_hover_timer_timeout)
        theme_manager().changed.connect(self._on_theme_changed)
        self._apply_theme(current())

    # -- building ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.figure = QComboBox()
        for key in FIGURES:
            self.figure.addItem(FIGURE_NAMES[key], key)
        self.figure.setToolTip("The figure the plots show, per layer")
        self.figure.currentIndexChanged.connect(self._on_figure_index_changed)
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setChecked(True)
        self.log_scale.toggled.connect(self._on_log_toggled)
        self.norm_layers = QCheckBox("Norm layers")
        self.norm_layers.setToolTip(NORM_TIP)
        self.norm_layers.toggled.connect(self._on_log_toggled)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.plots = {"epochs": parts.make_plot("", font, epoch_label=True, lr=True),
                      "depth": parts.make_plot("", font, epoch_label=False, lr=True)}
        self._axis_css = {"font-size": f"{font.pointSizeF():g}pt"}
        self.plots["depth"].setLabel("bottom", "layer, from the input", **self._axis_css)
        for key, plot in self.plots.items():
            # the figure is named in the titles above: a y title crowded the ticks in a small
            # window, and was cut short
            plot.getAxis("left").showLabel(False)
            plot.setMinimumSize(160, 100)
            plot.setLogMode(y=True)
            plot.scene().sigMouseMoved.connect(
                lambda pos, key=key: self._on_scene_mouse_moved(key, pos))
        # bottom right: a plain net's line rises to the top right, a residual one stays high
        self._legend = parts.add_legend(self.plots["depth"], (-4, -4), font)
        self.titles = {"epochs": QLabel(), "depth": QLabel()}
        self.readout = QLabel(READOUT_IDLE)
        self.readout.setToolTip(READOUT_TIP)
        self.readout.setWordWrap(True)
        self.readout.setMinimumHeight(self.readout.fontMetrics().lineSpacing() * 2)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._hint = QLabel(HINT)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Figure"))
        bar.addWidget(self.figure)
        bar.addWidget(self.log_scale)
        bar.addWidget(self.norm_layers)
        bar.addStretch(1)
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        for key in ("epochs", "depth"):
            column = QVBoxLayout()
            column.setSpacing(0)
            column.addWidget(self.titles[key])
            column.addWidget(self.plots[key], 1)
            row.addLayout(column, 1)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._hint)
        self._stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.readout)

    # -- public -----------------------------------------------------------------------------
    def set_history(self, history: RunHistory | None, label: str = "this run") -> None:
        """Follow `history` (the run in progress, or the last one; None: none)."""
        self._history, self._label = history, label
        self.refresh()

    def set_runs(self, runs: list[tuple[str, RunHistory]]) -> None:
        """The runs selected in the Runs tab, compared by depth ([]: the run followed)."""
        self._runs = parts.unique_labels(runs)
        self.refresh()

    def refresh(self) -> None:
        """Redraw if something new arrived (a health record) and the tab is shown."""
        if self.isVisible() and self._state() != self._drawn:
            self._draw()

    def is_empty(self) -> bool:
        return self._stack.currentIndex() == 0

    def layer_lines(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The left plot's lines as drawn, by layer (for tests and tools)."""
        return {layer["node"]: item.getOriginalDataset() for item, layer, _, _ in self._layers}

    def depth_lines(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The right plot's lines as drawn, by run label."""
        return {label: item.getOriginalDataset() for item, label, _, _ in self._profiles}

    def end_labels(self) -> list[tuple[str, tuple[float, float]]]:
        """The names at the lines' right ends, and where (in the view's units)."""
        return [(text.toPlainText(), (text.pos().x(), text.pos().y())) for text, _ in self._ends]

    def depth_ticks(self) -> list[str] | None:
        """The by-depth plot's tick names, None when its ticks are numbers."""
        ticks = self.plots["depth"].getAxis("bottom")._tickLevels
        return [name for _, name in ticks[0]] if ticks else None

    # -- drawing ----------------------------------------------------------------------------
    def _key(self) -> str:
        return self.figure.currentData()

    def _log(self) -> bool:
        return self.log_scale.isChecked() and self._key() not in NO_LOG

    def _followed(self) -> list[dict[str, Any]]:
        """The health records of the run drawn over epochs: the one followed, else the first
        run selected."""
        if self._history is not None and self._history.health:
            return self._history.health
        return next((h.health for _, h in self._runs if h.health), [])

    def _compared(self) -> list[tuple[str, list[dict[str, Any]]]]:
        if self._runs:
            return [(label, h.health) for label, h in self._runs]
        return [(self._label, self._history.health)] if self._history is not None else []

    def _state(self) -> tuple[Any, ...]:
        histories = [self._history] + [h for _, h in self._runs]
        return (tuple((id(h), len(h.health)) if h is not None else None for h in histories),
                tuple(label for label, _ in self._runs), self._key(), self._log(),
                self.norm_layers.isChecked())

    def _draw(self) -> None:
        self.draw_count += 1
        self._drawn = self._state()
        compared = [(label, records) for label, records in self._compared() if records]
        followed = self._followed()
        self._stack.setCurrentIndex(1 if followed or compared else 0)
        self._hint.setText(NO_HEALTH if self._runs and not compared else HINT)
        for plot in self.plots.values():
            plot.setLogMode(y=self._log())
        self._draw_epochs(followed)
        self._draw_depth(compared)
        self._restyle(current())
        self._hovered = None
        for plot in self.plots.values():
            plot.enableAutoRange()

    def _draw_epochs(self, records: list[dict[str, Any]]) -> None:
        plot = self.plots["epochs"]
        for item, *_ in self._layers:
            plot.removeItem(item)
        self._layers = []
        key, log = self._key(), self._log()
        for layer, epochs, values in layer_series(records, key):
            if not self._shown(layer):
                continue
            item = parts.make_curve(plot, False)
            ys = shown_values(values, key, log)
            parts.set_points(item, np.asarray(epochs, float), ys)
            self._layers.append((item, layer, epochs, ys))
        run = self._label if self._history is not None and self._history.health else \
            next((label for label, h in self._runs if h.health), "")
        figure = self._figure_title()
        self.titles["epochs"].setText(f"{figure} over epochs: {run}" if run
                                      else f"{figure} over epochs")
        self._label_ends(plot)

    def _figure_title(self) -> str:
        key = self._key()
        return FIGURE_NAMES[key].capitalize() + (" (%)" if key == "dead_share" else "")

    def _shown(self, layer: dict[str, Any]) -> bool:
        """Whether a layer is drawn: normalization layers only when asked (weight figures)."""
        return self._key() not in LOG_FIGURES or self.norm_layers.isChecked() \
            or not is_normalization(layer["type"])

    def _label_ends(self, plot: pg.PlotWidget) -> None:
        """The first and last layers' names at their lines' right ends: which end is which."""
        for text, _ in self._ends:
            plot.removeItem(text)
        self._ends = []
        picks = sorted({0, len(self._layers) - 1}) if self._layers else []
        for index in picks:
            _, layer, epochs, ys = self._layers[index]
            finite = np.flatnonzero(np.isfinite(ys))
            if not len(finite):
                continue
            y = ys[finite[-1]]
            text = pg.TextItem(layer["node"], anchor=(1.0, 0.5))  # left of its end, inside
            text.setPos(float(epochs[finite[-1]]), math.log10(y) if self._log() else float(y))
            plot.addItem(text)
            self._ends.append((text, index))

    def _draw_depth(self, compared: list[tuple[str, list[dict[str, Any]]]]) -> None:
        plot = self.plots["depth"]
        for item, *_ in self._profiles:
            plot.removeItem(item)
        self._profiles = []
        self._legend.clear()
        key, log = self._key(), self._log()
        for label, records in compared:
            layers = [layer for layer in depth_profile(records[-1], key) if self._shown(layer)]
            item = parts.make_curve(plot, False)
            ys = shown_values([layer[key] for layer in layers], key, log)
            parts.set_points(item, np.arange(1, len(layers) + 1, dtype=float), ys)
            self._profiles.append((item, label, layers, ys))
            self._legend.addItem(item, label)
        self._legend.setVisible(bool(self._profiles))
        names = {tuple(layer["node"] for layer in layers) for _, _, layers, _ in self._profiles}
        named = len(names) == 1 and 0 < len(next(iter(names))) <= NAMED_DEPTHS
        plot.getAxis("bottom").setTicks(
            [list(enumerate(next(iter(names)), start=1))] if named else None)
        plot.setLabel("bottom", "layer, from the input" if not named else "layer",
                      **self._axis_css)
        self.titles["depth"].setText(f"{self._figure_title()} by depth, last epoch")

    # -- theme ------------------------------------------------------------------------------
    def _restyle(self, theme: Theme) -> None:
        low, high = DEPTH_RANGES.get(theme.name, DEPTH_RANGES["light"])
        colormap = pg.colormap.get("viridis")
        count = len(self._layers)
        for index, (item, *_rest) in enumerate(self._layers):
            colour = colormap.map(low + (high - low) * index / max(count - 1, 1), mode="qcolor")
            width = 3 if item is self._hovered else 1.5
            parts.restyle(item, {"pen": pg.mkPen(colour, width=width), "symbol": "o",
                                 "symbolSize": 5, "symbolPen": pg.mkPen(colour),
                                 "symbolBrush": pg.mkBrush(colour)})
            for text, end in self._ends:
                if end == index:
                    text.setColor(theme.text)
                    text.fill = pg.mkBrush(parts.faint(theme.base, 200))  # over the lines
                    text.update()
        for index, (item, *_rest) in enumerate(self._profiles):
            style = parts.run_style(index, "val", theme)
            if item is self._hovered:
                style["pen"] = pg.mkPen(style["pen"].color(), width=3)
            parts.restyle(item, style)

    def _apply_theme(self, theme: Theme) -> None:
        parts.theme_plots(self.plots.values(), theme)
        self._legend.setBrush(pg.mkBrush(parts.faint(theme.base, 190)))
        self._legend.setPen(pg.mkPen(theme.card_border))
        parts.color_legend_text(self._legend, theme.text)
        self._hint.setStyleSheet(f"color: {theme.muted}; font-size: 13pt;")
        self.readout.setStyleSheet(f"color: {theme.muted};")
        for title in self.titles.values():
            title.setStyleSheet(f"color: {theme.text};")
        self._restyle(theme)

    def _on_theme_changed(self, theme: Theme) -> None:
        with contextlib.suppress(RuntimeError):  # a theme switch while Qt tears it down
            self._apply_theme(theme)

    # -- hover ------------------------------------------------------------------------------
    def _on_scene_mouse_moved(self, key: str, pos: QPointF) -> None:
        self._at = (key, QPointF(pos))
        if not self._hover_timer.isActive():
            self._hover_timer.start()

    def _on_hover_timer_timeout(self) -> None:
        if self._at is None:
            return
        key, pos = self._at
        box = self.plots[key].getPlotItem().getViewBox()
        if not box.sceneBoundingRect().contains(pos):
            return
        point = box.mapSceneToView(pos)
        found = self._nearest(key, point.x(), point.y())
        if found is None:
            return
        item, text = found
        self.readout.setText(text)
        if item is not self._hovered:
            self._hovered = item
            self._restyle(current())

    def _nearest(self, key: str, x: float, y: float) -> tuple[pg.PlotDataItem, str] | None:
        """The line nearest the pointer at its x (y in the view's units: log10 on a log
        scale), and the read-out for it."""
        log, figure = self._log(), self._key()
        best: tuple[float, pg.PlotDataItem, str] | None = None
        if key == "epochs":
            count = len(self._layers)
            for depth, (item, layer, epochs, ys) in enumerate(self._layers, start=1):
                i = parts.nearest(np.asarray(epochs, float), x)
                distance = _distance(ys, i, y, log)
                if distance is not None and (best is None or distance < best[0]):
                    text = (f"{layer['node']} ({layer['type']}), layer {depth} of {count}, "
                            f"epoch {epochs[i]}: {_value_text(ys[i], figure)}")
                    best = (distance, item, text)
        else:
            for item, label, layers, ys in self._profiles:
                i = parts.nearest(np.arange(1, len(layers) + 1, dtype=float), x)
                distance = _distance(ys, i, y, log)
                if distance is not None and (best is None or distance < best[0]):
                    text = (f"{label}, layer {i + 1} of {len(layers)}: {layers[i]['node']} "
                            f"({layers[i]['type']}): {figure_text(layers[i], figure)}")
                    best = (distance, item, text)
        return None if best is None else (best[1], best[2])

    # -- slots ------------------------------------------------------------------------------
    def _on_figure_index_changed(self, _index: int) -> None:
        key = self._key()
        self.log_scale.blockSignals(True)
        self.log_scale.setChecked(key in LOG_FIGURES)
        self.log_scale.setEnabled(key not in NO_LOG)
        self.norm_layers.setEnabled(key in LOG_FIGURES)
        self.log_scale.blockSignals(False)
        self.readout.setText(READOUT_IDLE)
        self._draw()

    def _on_log_toggled(self, _checked: bool) -> None:
        self._draw()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()


def _distance(ys: np.ndarray, i: int | None, y: float, log: bool) -> float | None:
    if i is None or not math.isfinite(ys[i]):
        return None
    value = math.log10(ys[i]) if log else ys[i]
    return abs(value - y)


def _value_text(value: float, figure: str) -> str:
    shown = f"{value:.0f}%" if figure == "dead_share" else f"{value:.3g}"
    return f"{FIGURE_NAMES[figure]} {shown}"
