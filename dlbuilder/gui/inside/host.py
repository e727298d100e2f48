"""The Look Inside dock and the main window's side of it.

The dock's content is built the first time it is shown, after the window's first paint (its
worker loads torch). The window side connects what Look Inside reaches into: the canvas (the
selected card, the strips under the cards), the Training tab (its data, its weights, its
samples and runs), image files dropped on the window, and the View menu's entries.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from dlbuilder.gui.document import Document
from dlbuilder.gui.widgets.loading import LoadingWidget

if TYPE_CHECKING:
    from dlbuilder.gui.inside.panel import InsidePanel
    from dlbuilder.gui.window.main_window import MainWindow

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


class InsideHostWidget(QWidget):
    """Holds the InsidePanel once built, and passes its signals on."""

    message = Signal(str)
    thumbnails_changed = Signal(object)  # dict: card id -> ThumbData
    panel_built = Signal(object)  # the InsidePanel, once

    def __init__(self, doc: Document, training: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.training = training  # the Training tab's host: its data and weights
        self.panel: InsidePanel | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._placeholder = LoadingWidget("Loading Look Inside and PyTorch…")
        self._layout.addWidget(self._placeholder)

    def ensure_panel(self) -> InsidePanel:
        if self.panel is None:
            from dlbuilder.gui.inside.panel import InsidePanel

            panel = InsidePanel(self.doc, self.training, self)
            panel.message.connect(self.message)
            panel.thumbnails_changed.connect(self.thumbnails_changed)
            self._layout.removeWidget(self._placeholder)
            self._placeholder.hide()
            self._placeholder.deleteLater()
            self._layout.addWidget(panel)
            self.panel = panel
            self.panel_built.emit(panel)
        return self.panel

    def shutdown(self) -> bool:
        """End the Look Inside thread (the window is closing)."""
        return self.panel.shutdown() if self.panel is not None else True


class InsideWindowSide(QObject):
    """The main window's side of Look Inside (see the module's docstring). It works through
    the window's public parts: its docks, actions, scene, training host and status bar."""

    message = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.host: InsideHostWidget = window.inside
        self.dock = window.docks["inside"]
        self.links: Any = None
        self.host.thumbnails_changed.connect(self._on_host_thumbnails_changed)
        self.host.message.connect(self.message)
        self.dock.visibilityChanged.connect(self._on_dock_visibility_changed)
        window.training.panel_built.connect(self._on_training_panel_built)
        if window.training.panel is not None:
            self._on_training_panel_built(window.training.panel)
        window.actions["look_inside"].triggered.connect(self.show)
        window.actions["card_maps"].setChecked(True)
        window.actions["card_maps"].toggled.connect(self._on_card_maps_toggled)
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    # -- showing ---------------------------------------------------------------------------
    def show(self) -> InsidePanel:
        """Bring the Look Inside tab forward, tall enough for its pictures, built."""
        window, dock = self.window, self.dock
        dock.show()
        dock.raise_()
        if dock.height() < window.height() * 0.4:
            window.resizeDocks([dock], [int(window.height() * 0.45)], Qt.Orientation.Vertical)
        return self.host.ensure_panel()

    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible and self.host.panel is None:  # after this paint, not before it
            QTimer.singleShot(0, self, self.host.ensure_panel)

    def _on_card_maps_toggled(self, on: bool) -> None:
        panel = self.host.panel
        if panel is not None:
            panel.set_thumbnails_enabled(on)
        if not on:
            self.window.scene.set_thumbnails({})

    def _on_host_thumbnails_changed(self, thumbs: dict[str, Any]) -> None:
        shown = thumbs if self.window.actions["card_maps"].isChecked() else {}
        self.window.scene.set_thumbnails(shown)

    # -- the training tab ------------------------------------------------------------------
    def _on_training_panel_built(self, panel: Any) -> None:
        from dlbuilder.gui.inside.training_links import TrainingLinks

        self.links = TrainingLinks(panel)
        self.links.sample_requested.connect(self._on_links_sample_requested)
        self.links.samples_requested.connect(self._on_links_samples_requested)
        self.links.run_requested.connect(self._on_links_run_requested)

    def _on_links_sample_requested(self, array: str, row: int) -> None:
        if not self.show().pick_row(array, row):
            self.message.emit(f"Look Inside has no sample {row:,} of the {array} data")

    def _on_links_samples_requested(self, title: str, split: str, indices: np.ndarray) -> None:
        self.show().show_samples(title, split, indices)

    def _on_links_run_requested(self, store: Any, run_id: int) -> None:
        self.show().use_run(store, run_id)

    # -- image files dropped on the window -------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if isinstance(event, QDragEnterEvent) and _image_path(event) is not None:
            event.acceptProposedAction()
            return True
        if isinstance(event, QDropEvent) and event.type() == QEvent.Type.Drop:
            path = _image_path(event)
            if path is not None:
                event.acceptProposedAction()
                self.open_image(path)
                return True
        return super().eventFilter(watched, event)

    def open_image(self, path: Path) -> None:
        """Look at an image file (once the network is loaded, if it is not yet)."""
        panel = self.show()
        panel.pick_file(path)


def _image_path(event: QDropEvent | QDragEnterEvent) -> Path | None:
    """The one image file the drag carries, if that is what it carries."""
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.suffix.lower() in IMAGE_SUFFIXES else None
