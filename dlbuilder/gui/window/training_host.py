"""The Training dock's content, built the first time it is needed: the training panel loads
pyqtgraph (and its worker loads torch), which must not delay the window's first paint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QVBoxLayout, QWidget

from dlbuilder.core.changes import Change
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.widgets.loading import LoadingWidget

if TYPE_CHECKING:
    from dlbuilder.gui.training.panel import TrainingPanel
    from dlbuilder.gui.window.main_window import MainWindow

# Actions that would change the graph (or replace it): off while it trains. The canvas's
# selection actions (cut, delete, rename...) follow the lock in update_edit_actions.
LOCKED_WHILE_TRAINING = ("new", "open", "import_torch", "import_onnx", "paste", "add_layer",
                         "train")
BUILD_DELAY_MS = 50  # time for the loading state to be painted before the panel's imports
LOCKED_TEXT = ("Training is running: the graph is locked until the run ends. Stop it (Shift+F5) "
               "to edit the graph now.")


class TrainingHostWidget(QWidget):
    """Holds the TrainingPanel once built, and passes its signals on."""

    training_changed = Signal(bool)
    message = Signal(str)
    open_graph_requested = Signal(object)
    sample_changed = Signal(object)  # the chosen data's first training image (QImage) or None
    health_changed = Signal(object)  # (the last epoch's health record, its graph) or None
    panel_built = Signal(object)  # the TrainingPanel, once, when it is made

    def __init__(self, doc: Document, parent: QWidget | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.settings = settings  # where the panel remembers the user's data folders
        self.panel: TrainingPanel | None = None
        self._start_when_built = False
        self._starting_weights: tuple[Path, str, dict[str, Any]] | None = None
        doc.changed.connect(self._on_doc_changed)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._placeholder = self._build_placeholder()
        self._layout.addWidget(self._placeholder)

    def _build_placeholder(self) -> QWidget:
        """What the tab shows while the panel loads (pyqtgraph, then PyTorch in its thread)."""
        box = LoadingWidget("Loading the training view and PyTorch…")
        self.loading_label = box.label
        return box

    def ensure_panel(self) -> TrainingPanel:
        if self.panel is None:
            from dlbuilder.gui.training.panel import TrainingPanel

            panel = TrainingPanel(self.doc, self, self.settings)
            panel.training_changed.connect(self.training_changed)
            panel.message.connect(self.message)
            panel.open_graph_requested.connect(self.open_graph_requested)
            panel.health_changed.connect(self.health_changed)
            panel.show_kept_health()  # what it found on being built, before this connection
            self._layout.removeWidget(self._placeholder)
            self._placeholder.deleteLater()
            self._layout.addWidget(panel)
            self.panel = panel
            panel.data_panel.loaded_changed.connect(self._on_data_loaded_changed)
            self._on_data_loaded_changed(panel.data_panel.dataset())
            if self._starting_weights is not None:
                panel.use_weights(*self._starting_weights)
                self._starting_weights = None
            self.panel_built.emit(panel)
        return self.panel

    def start_from(self, path: Path, label: str, graph: dict[str, Any]) -> None:
        """The next run of the open graph starts from the weights in `path` (an import's),
        made for `graph` (its file dict); kept until the panel is built, if it is not yet."""
        if self.panel is not None:
            self.panel.use_weights(path, label, graph)
        else:
            self._starting_weights = (Path(path), label, graph)

    def _on_data_loaded_changed(self, data: Any) -> None:
        from dlbuilder.gui.training.samples_view import to_qimage

        image = None
        if data is not None and data.kind == "image" and len(data.train.x):
            image = to_qimage(data.train.x[0], data.scale)
        self.sample_changed.emit(image)

    def _on_doc_changed(self, change: Change) -> None:
        if change.replaced:  # they were the old graph's
            self._starting_weights = None
            if self.panel is None:  # else the panel says what its runs kept
                QTimer.singleShot(0, self, self._on_kept_health_timer_timeout)

    def _on_kept_health_timer_timeout(self) -> None:
        """Before the panel is built: the cards show the health the graph's runs kept."""
        if self.panel is None:
            from dlbuilder.backend.runs.store import RunStore
            from dlbuilder.gui.training.kept_runs import doc_runs_folder, kept_health

            self.health_changed.emit(kept_health(RunStore(doc_runs_folder(self.doc))))

    def start_soon(self) -> None:
        """Start a run (F5). The first time, the loading state is painted before the panel is
        built, so the tab answers at once rather than after the imports."""
        if self.panel is not None:
            self.panel.start()
            return
        self._start_when_built = True
        QTimer.singleShot(BUILD_DELAY_MS, self, self._on_build_timer_timeout)

    def _on_build_timer_timeout(self) -> None:
        start, self._start_when_built = self._start_when_built, False
        panel = self.ensure_panel()
        if start:
            panel.start()

    @property
    def running(self) -> bool:
        return self.panel is not None and self.panel.running

    def start(self) -> bool:
        return self.ensure_panel().start()

    def toggle_pause(self) -> None:
        if self.panel is not None:
            self.panel.toggle_pause()

    def stop(self) -> None:
        if self.panel is not None:
            self.panel.stop()

    def shutdown(self) -> bool:
        """Stop a run and join the training thread (the run so far is kept); True when nothing
        is left running."""
        return self.panel.shutdown() if self.panel is not None else True


class LockBannerLabel(QLabel):
    """The line over the canvas that says why the graph is locked while it trains."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(LOCKED_TEXT, parent)
        self.setObjectName("lock_banner")
        self.setWordWrap(True)
        self.hide()
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())

    def _on_theme_changed(self, theme: Theme) -> None:
        self.setStyleSheet(
            f"QLabel#lock_banner {{ background: {theme.alt_base}; color: {theme.text}; "
            f"border-bottom: 2px solid {theme.highlight}; padding: 6px 10px; }}")


class TrainingWindowSide(QObject):
    """The main window's side of training: the Train, Pause and Stop actions, the lock on the
    graph while it trains, and the question before closing mid-run. It works through the
    window's public parts (its docks, actions, menus and panels) and says what happened with
    `message`."""

    message = Signal(str)  # for the status bar

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.host = window.training
        self.host.training_changed.connect(self._on_host_training_changed)
        self.host.open_graph_requested.connect(self._on_host_open_graph_requested)
        self.host.health_changed.connect(self._on_host_health_changed)
        self._on_host_training_changed(False)  # the actions as no run leaves them

    def show_training(self) -> None:
        """Bring the Training tab forward, tall enough for its curves, with its panel built."""
        self._raise_training_dock()
        self.host.ensure_panel()

    def _raise_training_dock(self) -> None:
        window = self.window
        dock = window.docks["training"]
        dock.show()
        dock.raise_()
        if dock.height() < window.height() * 0.5:  # the curves and the confusion matrix need it
            window.resizeDocks([dock], [int(window.height() * 0.55)], Qt.Orientation.Vertical)
        inspector = window.docks["inspector"]
        if window.width() < 1500 and inspector.width() > 240:  # a small window: room for curves
            window.resizeDocks([inspector], [240], Qt.Orientation.Horizontal)

    def train(self) -> None:
        self._raise_training_dock()
        self.host.start_soon()

    def _on_host_training_changed(self, running: bool) -> None:
        """Lock the graph while it trains: edits are refused with the reason, the actions that
        would change or replace it are off, and a banner over the canvas says why."""
        window = self.window
        window.doc.read_only_reason = LOCKED_TEXT if running else None
        for name in LOCKED_WHILE_TRAINING:
            window.actions[name].setEnabled(not running)
        window.actions["pause"].setEnabled(running)
        window.actions["stop"].setEnabled(running)
        window.view.edits.update_edit_actions()  # unlocked: on again only what the selection allows
        stack = window.doc.undo_stack
        window.undo_action.setEnabled(not running and stack.canUndo())
        window.redo_action.setEnabled(not running and stack.canRedo())
        for widget in (window.examples_menu, window.palette, window.inspector,
                       window.quick_add):
            widget.setEnabled(not running)
        window.recent_menu.setEnabled(not running and bool(window.files.recent()))
        window.lock_banner.setVisible(running)

    def _on_host_health_changed(self, measured: tuple[dict, dict] | None) -> None:
        """The cards show the last epoch's health (gui/canvas/card_health.py) while the graph
        is the one measured (`measured`: the record and that graph's file dict)."""
        from dlbuilder.backend.health import by_top_node
        from dlbuilder.core.fileformat import graph_to_dict
        from dlbuilder.gui.training.weights_files import same_network

        if measured is None:
            self.window.scene.set_health(None)
            return
        record, trained = measured
        self.window.scene.set_health(by_top_node(record), record["epoch"],
                                     lambda graph: same_network(trained, graph_to_dict(graph)))

    def _on_host_open_graph_requested(self, data: object) -> None:
        """Open a run's graph snapshot as a new, unsaved graph."""
        from dlbuilder.core.fileformat import GraphFileError, graph_from_dict

        window = self.window
        if self.host.running:
            self.message.emit(LOCKED_TEXT)
            return
        if not window.files.maybe_save():
            return
        try:
            graph = graph_from_dict(data, window.doc.registry, "the run's graph")
        except GraphFileError as err:
            self.message.emit(f"The run's graph cannot be opened: {err}")
            return
        window.files.replace_unsaved(graph)
        window.view.fit()
        self.message.emit(f"Opened the graph of that run as {graph.name} (unsaved)")

    def stop_to_close(self) -> bool:
        """Ask before closing mid-run; Yes stops the run at once (within its batch), before
        any other question, so a run never goes on behind the save prompt. False: Cancel, the
        run goes on."""
        if self.window.interactive:
            answer = QMessageBox.question(
                self.window, "Training is running",
                "A run is still training. Stop it and close? The run so far is kept with its "
                "best weights.", QMessageBox.StandardButton.Yes
                | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.host.stop()
        return True
