"""Live training curves, like TensorBoard's scalars or MATLAB's training-progress view.

`CurvesWidget` shows loss and accuracy side by side and the learning rate below them, on one
x axis in epochs. Two modes, switched by the last call:
- live (`set_history`): per batch a faint raw line and a smoothed one (debiased EMA, weight
  adjustable), per epoch the training and validation means as markers joined by lines;
- compare (`set_runs`): per run its epoch curves, validation solid and training dashed, one
  colour and marker shape per run.

Redraws happen on a ~15 Hz timer and only when a history's `version` moved, with `setData` on
items made once; the smoothing is incremental, so a redraw costs little even at 50k batches.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QHideEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.training import plot_parts as parts
from dlbuilder.gui.training.plot_io import CurvesExport, HoverReadout
from dlbuilder.gui.training.plot_parts import (
    COMPARE_SERIES,
    LEGEND_SAMPLES,
    LIVE_CURVES,
    PERCENT,
)
from dlbuilder.gui.training.plot_range import SteadyRange

MIN_PLOT_WIDTH = 160
MIN_PLOT_HEIGHT = 100   # loss and accuracy
MIN_LR_HEIGHT = 70      # the learning-rate strip: a small share of the height, never more
MAX_LR_HEIGHT = 110
LEGEND_ALPHA = 190      # the keys' background: the curves show through a little
READOUT_TIP = ("The values nearest the mouse pointer. Blue: training (faint line: each batch, "
               "bold line: smoothed, circles: the epoch's mean); orange squares: validation. "
               "Click a key's sample to hide or show its curves.")
REDRAW_MS = 50  # a tick every 50 ms; a live run repaints one plot a tick (see _draw_live)
LIVE_TURNS = ("loss", "accuracy", "lr")
LR_MIN_HEIGHT = 320  # px of the whole widget: below it, no learning-rate strip
HOVER_MS = 30   # the read-out follows the mouse at most this often
HINT = "Press Start to train; the curves appear here"
COMPARE_HINT = "Select runs in the table to compare their curves"


class CurvesWidget(QWidget):
    """Loss, accuracy and learning-rate curves of one live run or of several runs."""

    def __init__(self, parent: QWidget | None = None, hint: str = HINT) -> None:
        super().__init__(parent)
        self._history: RunHistory | None = None
        self._label = "run"
        self._runs: list[tuple[str, RunHistory]] = []
        self._drawn: tuple[int, ...] | None = None  # the versions the plots show
        self._lengths: dict[str, int] = {}  # live curves: the points each was last given
        self._ranges = {name: SteadyRange() for name in ("loss", "accuracy")}
        self._turn = 0  # live: the plot whose turn it is to be brought up to date
        self._x_ranged = False
        self.draw_count = 0  # redraws done: the timer redraws only when a version moved
        self._smoothers = {name: parts.IncrementalSmoother()
                           for name in ("batch_loss", "batch_accuracy")}
        self._compare: dict[str, tuple[pg.PlotDataItem, int, str]] = {}
        self._keys: list[pg.PlotDataItem] = []
        self._build_controls()
        self._build_plots()
        self._items = {name: parts.make_curve(self.plots[plot], name.startswith("batch"))
                       for name, (plot, _, _) in LIVE_CURVES.items()}
        self._build_layout(hint)
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        theme_manager().changed.connect(self._on_theme_changed)
        self._set_live_legends()
        self._apply_theme(current())

    # -- building ---------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 0.99)
        self.smoothing.setSingleStep(0.05)
        self.smoothing.setDecimals(2)
        self.smoothing.setValue(parts.DEFAULT_SMOOTHING)
        self.smoothing.setToolTip("Smoothing of the per-batch curves: the weight of a debiased "
                                  "moving average, 0 (off) to 0.99 (smoothest)")
        self.smoothing.valueChanged.connect(self._on_smoothing_value_changed)
        self.log_scale = QCheckBox("Log loss")
        self.log_scale.setToolTip("Show the loss axis on a logarithmic scale")
        self.log_scale.toggled.connect(self._on_log_toggled)
        self.csv_button = QPushButton("CSV…")
        self.csv_button.setToolTip("Export: save every curve's points as a CSV table "
                                   "(run, series, x in epochs, y)")
        self.png_button = QPushButton("PNG…")
        self.png_button.setToolTip("Export: save the plots as a PNG image")
        self.readout = QLabel(" \n ")
        self.readout.setToolTip(READOUT_TIP)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hover = HoverReadout(self.readout, self._readout_at, HOVER_MS, self)

    def _build_plots(self) -> None:
        # two lines: the learning-rate strip is too short for the words in one
        titles = {"loss": "loss", "accuracy": "accuracy (%)", "lr": "learning<br>rate"}
        self.plots: dict[str, pg.PlotWidget] = {}
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))  # small plots: small print
        for key, title in titles.items():
            plot = parts.make_plot(title, font, epoch_label=key != "lr", lr=key == "lr")
            plot.setMinimumSize(MIN_PLOT_WIDTH, MIN_LR_HEIGHT)
            self.hover.add_plot(key, plot)
            self.plots[key] = plot
        # the learning-rate plot is wider than the loss plot, and pyqtgraph lines linked views
        # up by pixel where they overlap: it gets the same range set instead of a link
        self.plots["accuracy"].setXLink(self.plots["loss"])
        # the plot's own context menu has a log-y switch too: keep the checkbox in step
        self.plots["loss"].getPlotItem().ctrl.logYCheck.toggled.connect(self.log_scale.setChecked)
        self.plots["loss"].setMinimumHeight(MIN_PLOT_HEIGHT)
        self.plots["accuracy"].setMinimumHeight(MIN_PLOT_HEIGHT)
        self.plots["lr"].setMaximumHeight(MAX_LR_HEIGHT)
        self._lr_span = parts.RangeHintItem()  # the learning rate's axis starts at 0
        self.plots["lr"].addItem(self._lr_span)
        # keys where the curves seldom are: loss falls (top right is free), accuracy rises
        self._legends = {"loss": parts.add_legend(self.plots["loss"], (-4, 4), font),
                         "accuracy": parts.add_legend(self.plots["accuracy"], (-4, -4), font)}

    def _build_layout(self, hint: str) -> None:
        smoothing = QLabel("Smoothing")
        smoothing.setToolTip(self.smoothing.toolTip())
        smoothing.setBuddy(self.smoothing)
        self._view_controls, self._export_buttons = QHBoxLayout(), QHBoxLayout()
        for widget in (smoothing, self.smoothing, self.log_scale):
            self._view_controls.addWidget(widget)
        self._export_buttons.addStretch(1)
        self._export_buttons.addWidget(self.csv_button)
        self._export_buttons.addWidget(self.png_button)
        bar = self._bar = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        bar.addLayout(self._view_controls)
        bar.addLayout(self._export_buttons, 1)
        self._plots_page = QWidget()
        grid = QVBoxLayout(self._plots_page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(4)
        top.addWidget(self.plots["loss"], 1)
        top.addWidget(self.plots["accuracy"], 1)
        grid.addLayout(top, 7)
        grid.addWidget(self.plots["lr"], 3)
        self._hint = QLabel(hint)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._hint)
        self._stack.addWidget(self._plots_page)
        self.export = CurvesExport(self, self._shown_runs, self.smoothing.value, self._stack)
        self.csv_button.clicked.connect(self.export.ask_csv)
        self.png_button.clicked.connect(self.export.ask_png)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.export.label)

    # -- public -----------------------------------------------------------------------------
    def set_history(self, history: RunHistory | None, label: str = "run") -> None:
        """Live mode: follow `history` (None clears). `label` names the run in the CSV."""
        self._leave_compare()
        self._history, self._label = history, label
        for smoother in self._smoothers.values():
            smoother.reset()
        self._x_ranged = False
        self._auto_range()
        for item in self._items.values():
            item.setData([], [])
            item.show()
        self._set_live_legends()
        self.smoothing.setEnabled(True)
        self._restart()

    def set_runs(self, runs: list[tuple[str, RunHistory]]) -> None:
        """Compare mode: the epoch curves of each (label, history); [] clears."""
        self._history = None
        self._leave_compare()
        for item in self._items.values():
            item.setData([], [])
            item.hide()
        self._runs = parts.unique_labels(runs)
        self._build_compare_items()
        self.smoothing.setEnabled(False)
        self._auto_range()
        self._restart()

    def clear(self) -> None:
        """No run at all: the hint instead of the plots."""
        self.set_history(None)

    def redraw_now(self) -> None:
        """Draw what the histories hold now, whether or not they changed."""
        self._draw()

    def point_counts(self) -> dict[str, int]:
        """The points each curve item holds. Live mode: the LIVE_CURVES names; compare mode:
        '<run label>/<series>' for each run's COMPARE_SERIES."""
        items = ({key: item for key, (item, _, _) in self._compare.items()} if self._runs
                 else self._items)
        counts = {}
        for key, item in items.items():
            _, ys = item.getOriginalDataset()
            counts[key] = 0 if ys is None else len(ys)
        return counts

    def is_empty(self) -> bool:
        """True while the hint shows instead of the plots (no run, or one not started)."""
        return self._stack.currentIndex() == 0

    def _shown_runs(self) -> list[tuple[str, RunHistory]]:
        """What an export writes: the runs compared, else the live run (if any)."""
        return self._runs or ([(self._label, self._history)] if self._history else [])

    def _readout_at(self, x: float) -> tuple[str, float | None]:
        """The read-out text for the points nearest to x, and the x they sit at."""
        if self._runs:
            return parts.compare_text(self._runs, x)
        return parts.live_text(self._history, self._smoothers, x)

    # -- modes ------------------------------------------------------------------------------
    def _restart(self) -> None:
        self._drawn = None
        self._lengths.clear()
        for steady in self._ranges.values():
            steady.reset()
        self.hover.reset()
        self._lr_span.set_span(None)
        self._draw()
        self._update_timer()

    def _auto_range(self) -> None:
        for key in ("loss", "lr"):
            self.plots[key].enableAutoRange()
        self.plots["accuracy"].enableAutoRange(axis="y")

    def _leave_compare(self) -> None:
        for item, _, series in self._compare.values():
            self.plots[parts.plot_of(series)].removeItem(item)
        for item in self._keys:
            self.plots["loss"].removeItem(item)
        self._compare, self._keys, self._runs = {}, [], []

    def _build_compare_items(self) -> None:
        """One curve per run and series; the runs' key in the loss plot (top right) and the
        line-style key (solid validation, dashed training) in the accuracy plot (bottom
        right), or under the runs' where no run has an accuracy."""
        runs, styles = self._legends["loss"], self._legends["accuracy"]
        runs.clear()
        styles.clear()
        for index, (name, history) in enumerate(self._runs):
            group = []
            for series in COMPARE_SERIES:
                item = parts.make_curve(self.plots[parts.plot_of(series)], False)
                self._compare[f"{name}/{series}"] = (item, index, series)
                group.append(item)
            has_val = len(history.arrays("val_loss")[0]) > 0
            sample = self._compare[f"{name}/{'val_loss' if has_val else 'train_loss'}"][0]
            runs.addItem(parts.KeySample(sample, group), name)
        has_accuracy = any(len(history.arrays("train_accuracy")[0]) for _, history in self._runs)
        if not has_accuracy:
            styles = runs
        for series, prefix in (("validation", "val_"), ("training", "train_")):
            if not self._runs:
                break
            key = pg.PlotDataItem()
            self.plots["loss"].addItem(key)
            self._keys.append(key)
            group = [key] + [item for item, _, name in self._compare.values()
                             if name.startswith(prefix)]
            styles.addItem(parts.KeySample(key, group), series)
        runs.setColumnCount(max(1, math.ceil(len(runs.items) / 3)))  # at most 3 rows
        if styles is not runs:
            styles.setColumnCount(1)  # narrow: the plot may be too, beside the runs table
        self._restyle_compare(current())
        for box in self._legends.values():
            box.setVisible(bool(box.items))

    def _restyle_compare(self, theme: Theme) -> None:
        for item, index, series in self._compare.values():
            parts.restyle(item, parts.run_style(index, series, theme))
        for item, series in zip(self._keys, ("validation", "training"), strict=False):
            parts.restyle(item, parts.key_style(series, theme))

    def _set_live_legends(self) -> None:
        for key, legend in self._legends.items():
            legend.clear()
            for entry, prefix in LEGEND_SAMPLES.items():
                group = [self._items[name] for name, (plot, _, kind) in LIVE_CURVES.items()
                         if plot == key and kind == entry]
                legend.addItem(parts.KeySample(self._items[f"{prefix}_{key}"], group), entry)
            legend.setColumnCount(len(LEGEND_SAMPLES))  # one short row
            legend.setVisible(True)

    def _update_timer(self) -> None:
        if self.isVisible() and (self._history is not None or self._runs):
            self._timer.start()
        else:
            self._timer.stop()

    def _versions(self) -> tuple[int, ...]:
        if self._runs:
            return tuple(history.version for _, history in self._runs)
        return (self._history.version,) if self._history is not None else ()

    # -- drawing ----------------------------------------------------------------------------
    def _draw(self) -> None:
        self.draw_count += 1
        self._drawn = self._versions()
        history = self._history
        shown = bool(self._runs) or (history is not None and (
            history.started is not None or len(history.arrays("batch_loss")[0]) > 0
            or bool(history.epochs)))
        self._stack.setCurrentIndex(1 if shown else 0)
        for button in (self.csv_button, self.png_button):
            button.setEnabled(shown)
        if self._runs:
            self._draw_compare()
        elif history is not None:
            self._draw_live(history)

    def _draw_live(self, history: RunHistory, only: str | None = None) -> bool:
        """Give the live curves their new points: all of them, or only the plot `only`'s.
        A curve whose series did not grow is left alone, so its plot does not repaint (points
        only ever arrive at the end; a new smoothing weight or scale redraws everything).
        True when some curve changed."""
        log = self.log_scale.isChecked()
        changed = False
        for name, (plot, series, _) in LIVE_CURVES.items():
            if only is not None and plot != only:
                continue
            xs, ys = history.arrays(series)
            if only is not None and self._lengths.get(name) == len(xs):
                continue
            self._lengths[name] = len(xs)
            changed = True
            if name.endswith("_smooth"):
                ys = self._smoothers[series].update(ys)
            if series in PERCENT:
                ys = ys * 100.0
            parts.set_points(self._items[name], xs, ys, positive=log and plot == "loss")
        if changed:
            self._steady_y(history, only)
        if only in ("lr", None):
            self._lr_span.set_span(parts.value_span(history.arrays("lr")[1]))
        if only not in ("loss", None):
            return changed
        started = history.started or {}
        task_has_accuracy = started.get("task") == "classify" and bool(started.get("classes"))
        self.plots["accuracy"].setVisible(
            task_has_accuracy or len(history.arrays("batch_accuracy")[0]) > 0
            or len(history.arrays("val_accuracy")[0]) > 0)
        if not self._x_ranged and started.get("epochs"):
            for key in ("loss", "lr"):
                self.plots[key].setXRange(0, int(started["epochs"]), padding=0.02)
            self._x_ranged = True
        return changed

    def _steady_y(self, history: RunHistory, only: str | None) -> None:
        """Set the y ranges of the loss and accuracy plots from their points (live mode,
        linear scale); pyqtgraph's auto-range would change them, and redraw the axes, with
        nearly every batch."""
        for plot, steady in self._ranges.items():
            if only not in (None, plot) or (plot == "loss" and self.log_scale.isChecked()):
                continue
            names = [series for name, (where, series, _) in LIVE_CURVES.items()
                     if where == plot and not name.endswith("_smooth")]
            scale = 100.0 if plot == "accuracy" else 1.0
            epochs = len(history.epochs)
            refit = self._lengths.get(f"{plot}_epochs") != epochs
            self._lengths[f"{plot}_epochs"] = epochs
            wanted = steady.update([history.arrays(n)[1] * scale for n in names], refit)
            if wanted is not None:
                self.plots[plot].setYRange(*wanted, padding=0)

    def _draw_compare(self) -> None:
        log = self.log_scale.isChecked()
        histories = dict(enumerate(history for _, history in self._runs))
        self._lr_span.set_span(parts.value_span(np.concatenate(
            [history.arrays("lr")[1] for history in histories.values()])))
        for item, index, series in self._compare.values():
            xs, ys = histories[index].arrays(series)
            parts.set_points(item, xs, ys * 100.0 if series in PERCENT else ys,
                 positive=log and series.endswith("loss"))
        self.plots["accuracy"].setVisible(any(
            len(history.arrays("val_accuracy")[0]) or len(history.arrays("train_accuracy")[0])
            for history in histories.values()))

    # -- theme ------------------------------------------------------------------------------
    def _apply_theme(self, theme: Theme) -> None:
        parts.theme_plots(self.plots.values(), theme)
        for legend in self._legends.values():
            legend.setBrush(pg.mkBrush(parts.faint(theme.base, LEGEND_ALPHA)))
            legend.setPen(pg.mkPen(theme.card_border))
            parts.color_legend_text(legend, theme.text)
        for name, item in self._items.items():
            parts.restyle(item, parts.live_style(name, theme))
        self._restyle_compare(theme)
        self._hint.setStyleSheet(f"color: {theme.muted}; font-size: 13pt;")
        self.hover.apply_theme(theme)
        self.export.apply_theme(theme)

    def _on_theme_changed(self, theme: Theme) -> None:
        with contextlib.suppress(RuntimeError):  # a theme switch while Qt tears the widget down
            self._apply_theme(theme)

    # -- slots ------------------------------------------------------------------------------
    def _on_timer_timeout(self) -> None:
        if self._versions() == self._drawn:
            return
        history = self._history
        if self._runs or history is None or self._drawn is None or self.is_empty():
            self._draw()
            return
        self._draw_one_plot(history)

    def _draw_one_plot(self, history: RunHistory) -> None:
        """Bring the next plot that has new points up to date, and only that one: painting a
        plot takes a few milliseconds, so one a tick keeps each tick short while training
        competes for the cores (benchmarks/ui_latency.py). The others follow on the next
        ticks; with a tick every 50 ms each batch plot still moves about 10 times a second."""
        for _ in LIVE_TURNS:
            plot = LIVE_TURNS[self._turn]
            self._turn = (self._turn + 1) % len(LIVE_TURNS)
            if self._draw_live(history, only=plot):
                self.draw_count += 1
                return
        self._drawn = self._versions()  # every plot shows every point

    def _on_smoothing_value_changed(self, value: float) -> None:
        for smoother in self._smoothers.values():
            smoother.set_weight(value)
        self._draw()

    def _on_log_toggled(self, checked: bool) -> None:
        self.plots["loss"].setLogMode(y=checked)
        self._ranges["loss"].reset()
        if checked:  # log ranges are pyqtgraph's own
            self.plots["loss"].enableAutoRange(axis="y")
        self._x_ranged = False  # pyqtgraph fits the view to the data again: back to the epochs
        self._draw()

    # -- visibility -------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        """Below LR_MIN_HEIGHT the learning-rate strip goes, so that loss and accuracy keep a
        readable height (a small window, a short dock)."""
        super().resizeEvent(event)
        self.plots["lr"].setVisible(self.height() >= LR_MIN_HEIGHT)
        # the export buttons go under the view's controls where one row would overlap them
        one_row = (self._view_controls.sizeHint().width() + self._bar.spacing()
                   + self._export_buttons.sizeHint().width())
        margins = self.layout().contentsMargins()
        wide = self.width() - margins.left() - margins.right() >= one_row
        self._bar.setDirection(QBoxLayout.Direction.LeftToRight if wide
                               else QBoxLayout.Direction.TopToBottom)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._update_timer()
        if self._versions() != self._drawn:
            self._draw()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._update_timer()
