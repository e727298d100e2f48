"""What the curves widget does besides drawing: export (CSV, PNG) with its message line, and the
hover read-out. A mixin of CurvesWidget (plots.py), which holds the state these use: the run(s)
shown, the plots, the read-out label and lines, and the message label."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QFileDialog

from dlbuilder.gui.look.theme import Theme, current
from dlbuilder.gui.training import plot_parts as parts


class CurvesIoMixin:
    """Export and hover for CurvesWidget."""

    def message(self) -> str:
        """The last export's outcome shown under the plots ('' for none)."""
        return self._message.text()

    def export_csv(self, path: Path) -> None:
        """Write every series as rows (run, series, x, y): see plot_parts.csv_rows. A failure
        to write shows as a message in the widget, never as an exception."""
        runs = self._runs or ([(self._label, self._history)] if self._history else [])
        try:
            parts.write_csv(Path(path), runs, self.smoothing.value())
        except OSError as err:
            self._show_message(f"Could not write {path}: {err.strerror or err}", "error")
        else:
            self._show_message(f"Saved the curves to {path}", "muted")

    def export_png(self, path: Path) -> None:
        """Save the plots (or the hint, before any run) as a PNG image; a failure to write
        shows as a message in the widget."""
        try:
            if not self._stack.grab().save(str(path), "PNG"):
                raise OSError(f"Qt could not save {path}")
        except OSError as err:
            self._show_message(f"Could not write {path}: {err.strerror or err}", "error")
        else:
            self._show_message(f"Saved the plots to {path}", "muted")

    def _show_message(self, text: str, kind: str) -> None:
        self._message_kind = kind
        self._message.setText(text)
        self._message.show()
        self._style_message(current())

    def _style_message(self, theme: Theme) -> None:
        color = theme.error if self._message_kind == "error" else theme.muted
        self._message.setStyleSheet(f"color: {color};")

    def _on_csv_button_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the curves as CSV", "curves.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(Path(path))

    def _on_png_button_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the plots as PNG", "curves.png",
                                              "PNG images (*.png)")
        if path:
            self.export_png(Path(path))

    def _on_scene_mouse_moved(self, plot: pg.PlotWidget, pos: QPointF) -> None:
        self._hover = (plot, QPointF(pos))
        if not self._hover_timer.isActive():
            self._hover_timer.start()

    def _on_hover_timer_timeout(self) -> None:
        if self._hover is None:
            return
        plot, pos = self._hover
        box = plot.getPlotItem().getViewBox()
        at = None
        if box.sceneBoundingRect().contains(pos):
            text, at = self._readout_at(box.mapSceneToView(pos).x())
        for line in self._lines.values():
            line.setVisible(at is not None)
            if at is not None:
                line.setPos(at)
        if at is not None:
            self.readout.setText(text)

    def _readout_at(self, x: float) -> tuple[str, float | None]:
        """The read-out text for the points nearest to x, and the x they sit at."""
        if self._runs:
            return parts.compare_text(self._runs, x)
        return parts.live_text(self._history, self._smoothers, x)
