"""The main window's side of exporting: File ▸ Export's code, ONNX (in the background, its
action off meanwhile) and canvas image. It works through the window's public parts (its docks,
actions, panels and the ONNX controller) and says what happened with `message`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from dlbuilder.gui.export.export_folder import export_folder, remember_export_folder
from dlbuilder.gui.look.theme import theme_manager

if TYPE_CHECKING:
    from dlbuilder.gui.window.main_window import MainWindow


class ExportWindowSide(QObject):
    message = Signal(str)  # for the status bar

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        window.onnx.started.connect(self._on_onnx_started)
        window.onnx.finished.connect(self._on_onnx_finished)

    def export_code(self) -> None:
        docks = self.window.docks
        docks["code"].show()
        docks["code"].raise_()
        self.window.code.export_dialog()

    def export_onnx(self) -> None:
        panel = self.window.training.panel  # trained weights, if the Training tab has some
        self.window.onnx.export_dialog(self.window.doc,
                                       panel.weights if panel is not None else None)

    def _on_onnx_started(self, text: str) -> None:
        self.window.actions["export_onnx"].setEnabled(False)
        self.window.statusBar().showMessage(text)  # until it is done

    def _on_onnx_finished(self, _ok: bool, message: str) -> None:
        self.window.actions["export_onnx"].setEnabled(True)
        self.message.emit(message)

    def render_image(self) -> None:
        from dlbuilder.gui.export.render import render_graph

        window, doc = self.window, self.window.doc
        name = (doc.path.stem if doc.path else doc.graph.name) or "graph"
        folder = export_folder(doc.path, window.settings)
        path, _ = QFileDialog.getSaveFileName(window, "Save canvas as image",
                                              str(folder / f"{name}.png"),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return
        try:
            render_graph(doc, Path(path), theme_manager().theme.name)
        except (OSError, ValueError) as err:
            self.message.emit(f"Cannot save the image: {err}")
            return
        remember_export_folder(Path(path), window.settings)
        self.message.emit(f"Saved {path}")
