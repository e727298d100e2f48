"""Opening, saving and recovering graphs for the main window: recent files, the unsaved-changes
prompt, the load-failure dialog and autosave. A file that fails to load leaves the open graph
as it was."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from dlbuilder.core.fileformat import GraphFileError, loads_graph
from dlbuilder.core.graph import Graph
from dlbuilder.gui import paths
from dlbuilder.gui.document import DEFAULT_NAME, Document
from dlbuilder.gui.export.export_folder import graph_file_folder, remember_file_folder
from dlbuilder.gui.window.recovery import AUTOSAVE_MS, Recovered, RecoveryStore
from dlbuilder.resources import examples_dir, is_example

MAX_RECENT = 8
FILTER = "dlbuilder graphs (*.json);;All files (*)"


class FileController(QObject):
    """File commands of one window; `interactive=False` never opens a dialog (screenshots)."""

    recent_changed = Signal(list)   # list[Path], newest first
    message = Signal(str)           # for the status bar
    saved = Signal(object)          # the Path the graph was just saved to

    def __init__(self, doc: Document, settings: QSettings, window: QWidget,
                 recovery: RecoveryStore | None = None, interactive: bool = True) -> None:
        super().__init__(window)
        self.doc = doc
        self.settings = settings
        self.window = window
        self.interactive = interactive
        self.recovery = recovery
        self.last_error: GraphFileError | None = None
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.autosave)
        if recovery is not None:
            recovery.hold()
            self._autosave.start()
        doc.undo_stack.cleanChanged.connect(self._on_stack_clean_changed)

    # -- opening -------------------------------------------------------------------------------
    def _locked(self) -> bool:
        """The graph may not be replaced now (it is training); the status bar says why."""
        if self.doc.read_only_reason:
            self.message.emit(self.doc.read_only_reason)
            return True
        return False

    def new(self) -> bool:
        if self._locked() or not self.maybe_save():
            return False
        self.replace_unsaved(Graph(DEFAULT_NAME))
        self._forget_recovery()
        return True

    def replace_unsaved(self, graph: Graph) -> None:
        """Show `graph` as a new, unsaved graph, under a name whose kept runs are its own:
        unsaved graphs (and examples) keep their runs by name, so a new graph under a used
        name would show another graph's runs and carry them off at its first save."""
        from dlbuilder.backend.runs.store import unused_graph_name  # numpy: not at start

        graph.name = unused_graph_name(graph.name, paths.data_dir())
        self.doc.replace(graph, None)

    def open_dialog(self) -> bool:
        start = graph_file_folder(self.doc.path, self.settings)
        path, _ = QFileDialog.getOpenFileName(self.window, "Open graph", str(start), FILTER)
        return bool(path) and self.open(Path(path))

    def open(self, path: Path, ask: bool = True) -> bool:
        """Open `path` after the unsaved-changes prompt; on failure show every problem."""
        if self._locked() or (ask and not self.maybe_save()):
            return False
        try:
            self.doc.open(path)
        except GraphFileError as err:  # unreadable files too: the loader says why
            self.last_error = err
            self._show_load_error(err)
            return False
        self._forget_recovery()
        if not is_example(path):
            self.add_recent(path)
        remember_file_folder(path, self.settings)
        self.settings.setValue("last_file", str(path))
        self.message.emit(f"Opened {path.name}")
        return True

    def open_example(self, name: str) -> bool:
        return self.open(examples_dir() / f"{name}.json")

    def _show_load_error(self, err: GraphFileError) -> None:
        count = len(err.problems)
        text = (f"{Path(err.source).name} cannot be opened: {count} problem"
                f"{'s' * (count != 1)} found. Your current graph is unchanged.")
        details = "\n".join(str(p) for p in err.problems) or str(err)
        self._warn("Cannot open graph", text, details)

    # -- saving --------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.doc.path is None or is_example(self.doc.path):
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        if not self.interactive:
            return False
        folder = graph_file_folder(self.doc.path, self.settings)
        suggested = folder / f"{self.doc.graph.name or 'untitled'}.json"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save graph as", str(suggested),
                                              FILTER)
        if not path:
            return False
        path = Path(path) if Path(path).suffix else Path(path).with_suffix(".json")
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            self.doc.save(path)
        except (OSError, ValueError) as err:  # ValueError: a value JSON cannot hold
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            self._warn("Cannot save", f"The graph could not be written to {path}: {reason}. "
                       "Nothing was lost: it is still open here.")
            return False
        self.add_recent(path)
        remember_file_folder(path, self.settings)
        self.settings.setValue("last_file", str(path))
        self._forget_recovery()
        self.message.emit(f"Saved {path}")
        self.saved.emit(path)
        return True

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False when the user cancels."""
        if not self.doc.modified or not self.interactive:
            return True
        answer = QMessageBox.warning(
            self.window, "Unsaved changes",
            f"Save the changes to {self.doc.display_name()} before closing it?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # -- recent files --------------------------------------------------------------------------
    def recent(self) -> list[Path]:
        values = self.settings.value("recent_files", []) or []
        if isinstance(values, str):
            values = [values]
        return [Path(v) for v in values if v]

    def add_recent(self, path: Path) -> None:
        path = Path(path).resolve()
        paths = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue("recent_files", [str(p) for p in paths[:MAX_RECENT]])
        self.recent_changed.emit(self.recent())

    def clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])
        self.recent_changed.emit([])

    # -- autosave and recovery -----------------------------------------------------------------
    def autosave(self) -> None:
        if self.recovery is None or not self.doc.modified:
            return
        try:
            self.recovery.write(self.doc.graph, self.doc.path)
        except OSError as err:
            self.message.emit(f"Autosave failed: {err.strerror or err}")

    def _on_stack_clean_changed(self, clean: bool) -> None:
        if clean:
            self._forget_recovery()

    def _forget_recovery(self) -> None:
        if self.recovery is not None:
            self.recovery.clear()

    def left_behind(self) -> list[Recovered]:
        return self.recovery.left_behind() if self.recovery is not None else []

    def recover(self, recovered: Recovered) -> bool:
        """Open the work a crashed session left, marked modified, keeping its file name."""
        if self._locked():
            return False
        try:
            graph = loads_graph(RecoveryStore.graph_text(recovered), self.doc.registry,
                                str(recovered.path))
        except (GraphFileError, OSError, ValueError, KeyError) as err:
            self._warn("Cannot recover", f"The recovery file cannot be read: {err}")
            return False
        self.doc.replace(graph, recovered.source)
        self.doc.undo_stack.resetClean()  # unsaved until the user saves it
        self.recovery.discard(recovered)
        self.autosave()
        self.message.emit("Recovered the unsaved work; save it to keep it")
        return True

    def discard(self, recovered: Recovered) -> None:
        if self.recovery is not None:
            self.recovery.discard(recovered)

    def shutdown(self) -> None:
        """A clean exit: nothing is left to recover."""
        self._autosave.stop()
        if self.recovery is not None:
            self.recovery.release()

    def _warn(self, title: str, text: str, details: str = "") -> None:
        self.message.emit(text)
        if not self.interactive:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self.window)
        box.setObjectName("file_problem_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if details:
            box.setInformativeText(details if details.count("\n") < 12 else
                                   "The problems are listed under Show Details.")
            box.setDetailedText(details)
        box.open()  # window-modal but not blocking: the event loop (and autosave) go on
