"""What the curves widget (plots.py) owns besides its drawing: the export of its curves (CSV,
PNG) with the line that says how it went, and the hover read-out. Each is told what it needs
when it is made (the runs shown, the smoothing, what to picture, the text at an x), so it
never reads the widget's state."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.gui.look.theme import Theme, current
from dlbuilder.gui.training import plot_parts as parts

Runs = list[tuple[str, RunHistory]]


class CurvesExport:
    """Export (CSV, PNG) and `label`, the line under the plots with the last export's outcome.
    A failure to write shows there, never as an exception."""

    def __init__(self, dialogs_parent: QWidget, runs: Callable[[], Runs],
                 smoothing: Callable[[], float], picture: QWidget) -> None:
        self._parent = dialogs_parent
        self._runs = runs
        self._smoothing = smoothing
        self._picture = picture
        self._kind = "muted"
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.hide()

    def text(self) -> str:
        """The last export's outcome ('' for none)."""
        return self.label.text()

    def to_csv(self, path: Path) -> None:
        """Write every series as rows (run, series, x, y): see plot_parts.csv_rows."""
        try:
            parts.write_csv(Path(path), self._runs(), self._smoothing())
        except OSError as err:
            self._show(f"Could not write {path}: {err.strerror or err}", "error")
        else:
            self._show(f"Saved the curves to {path}", "muted")

    def to_png(self, path: Path) -> None:
        """Save the plots (or the hint, before any run) as a PNG image."""
        try:
            if not self._picture.grab().save(str(path), "PNG"):
                raise OSError(f"Qt could not save {path}")
        except OSError as err:
            self._show(f"Could not write {path}: {err.strerror or err}", "error")
        else:
            self._show(f"Saved the plots to {path}", "muted")

    def ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._parent, "Export the curves as CSV",
                                              "curves.csv", "CSV files (*.csv)")
        if path:
            self.to_csv(Path(path))

    def ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._parent, "Export the plots as PNG",
                                              "curves.png", "PNG images (*.png)")
        if path:
            self.to_png(Path(path))

    def apply_theme(self, theme: Theme) -> None:
        color = theme.error if self._kind == "error" else theme.muted
        self.label.setStyleSheet(f"color: {color};")

    def _show(self, text: str, kind: str) -> None:
        self._kind = kind
        self.label.setText(text)
        self.label.show()
        self.apply_theme(current())


class HoverReadout(QObject):
    """The values nearest the pointer, in `label`, and a dashed vertical line at them in every
    plot; it follows the pointer at most every `interval_ms`. `text_at(x)` gives the text for
    the points nearest x and the x they sit at (None: nothing there)."""

    def __init__(self, label: QLabel, text_at: Callable[[float], tuple[str, float | None]],
                 interval_ms: int, parent: QObject) -> None:
        super().__init__(parent)
        self.label = label
        self.lines: dict[str, pg.InfiniteLine] = {}
        self._text_at = text_at
        self._at: tuple[pg.PlotWidget, QPointF] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)

    def add_plot(self, key: str, plot: pg.PlotWidget) -> None:
        line = pg.InfiniteLine(angle=90, movable=False)
        line.hide()
        plot.addItem(line, ignoreBounds=True)
        plot.scene().sigMouseMoved.connect(partial(self._on_scene_mouse_moved, plot))
        self.lines[key] = line

    def reset(self) -> None:
        """Nothing pointed at: no lines, an empty (two-line) read-out."""
        self._at = None
        for line in self.lines.values():
            line.hide()
        self.label.setText(" \n ")

    def apply_theme(self, theme: Theme) -> None:
        for line in self.lines.values():
            line.setPen(pg.mkPen(theme.muted, width=1, style=Qt.PenStyle.DashLine))
        self.label.setStyleSheet(f"color: {theme.muted};")

    def _on_scene_mouse_moved(self, plot: pg.PlotWidget, pos: QPointF) -> None:
        self._at = (plot, QPointF(pos))
        if not self._timer.isActive():
            self._timer.start()

    def _on_timer_timeout(self) -> None:
        if self._at is None:
            return
        plot, pos = self._at
        box = plot.getPlotItem().getViewBox()
        at = None
        if box.sceneBoundingRect().contains(pos):
            text, at = self._text_at(box.mapSceneToView(pos).x())
        for line in self.lines.values():
            line.setVisible(at is not None)
            if at is not None:
                line.setPos(at)
        if at is not None:
            self.label.setText(text)
