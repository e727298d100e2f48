"""The main window's side of importing a model: the two File menu actions open the import
dialog; a successful import opens as a new, unsaved graph (after the usual "save changes?"),
named after the model, whose imported weights start the next run; the first save of that
graph offers to put the weights beside it, and then names them in the file
(`training.init_weights`).

Nothing here loads torch: the dialog's worker does (gui/importing/import_worker.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox

from dlbuilder.core.changes import Change
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.gui.importing.import_worker import ImportOutcome, ImportRunner
from dlbuilder.gui.window.training_host import LOCKED_TEXT

if TYPE_CHECKING:
    from dlbuilder.gui.importing.import_dialog import ImportDialog
    from dlbuilder.gui.window.main_window import MainWindow

NOTES_MS = 30_000  # the import's notes stay in the status bar this long


class ImportWindowSide(QObject):
    """Works through the window's public parts (its files, training host, status bar) and says
    what happened with `message`."""

    message = Signal(str, int)  # text, how long to show it (ms)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.runner = ImportRunner(self)
        self.dialog: ImportDialog | None = None
        self._unplaced: Path | None = None  # imported weights not yet beside a file
        window.doc.changed.connect(self._on_doc_changed)
        window.files.saved.connect(self._on_files_saved)

    def ask(self, kind: str) -> None:
        """Open the import dialog for `kind` (PYTORCH or ONNX); it is not modal to the app,
        only to this window, and the window goes on painting while an import runs."""
        from dlbuilder.gui.importing.import_dialog import ImportDialog

        if self.window.training.running:
            self.message.emit(LOCKED_TEXT, 8000)
            return
        if self.dialog is not None:
            self.dialog.close()
        dialog = ImportDialog(kind, self.runner, self.window.settings, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.imported.connect(self._on_dialog_imported)
        dialog.destroyed.connect(self._on_dialog_destroyed)
        self.dialog = dialog
        dialog.open()

    def _on_dialog_destroyed(self, _obj: object = None) -> None:
        self.dialog = None

    def _on_dialog_imported(self, outcome: ImportOutcome) -> None:
        dialog, files = self.dialog, self.window.files
        if self.window.training.running or not files.maybe_save():
            outcome.job.weights.unlink(missing_ok=True)
            if dialog is not None:
                dialog.show_report("Your graph has unsaved changes that were kept: save or "
                                   "discard them to open the import.", "Not opened.")
            return
        graph = outcome.graph
        files.replace_unsaved(graph)
        self.window.doc.undo_stack.resetClean()  # an imported graph is unsaved work
        files.autosave()
        label = f"{graph.name} (imported)"
        network = graph_to_dict(graph)
        self.window.training.start_from(outcome.job.weights, label, network)
        self._unplaced = outcome.job.weights
        if dialog is not None:
            dialog.accept()
        self.message.emit(imported_text(graph.name, outcome), NOTES_MS)

    def _on_doc_changed(self, change: Change) -> None:
        if change.replaced:  # another graph: the imported weights are no longer its own
            self._unplaced = None

    def _on_files_saved(self, path: Path) -> None:
        """The imported graph's first save: offer to keep its weights beside it."""
        if self._unplaced is None:
            return
        weights, self._unplaced = self._unplaced, None
        if not weights.exists():
            return
        target = Path(path).with_suffix(".pt")
        if not self.window.interactive or not self._want_beside(path, target, weights):
            self.message.emit(f"Saved {path}; the imported weights stay in {weights} "
                              "(Training ▸ Save weights… copies them elsewhere)", NOTES_MS)
            return
        try:
            shutil.copyfile(weights, target)
        except OSError as err:
            self.message.emit(f"Saved {path}, but the weights could not be copied to "
                              f"{target}: {err.strerror or err}; they stay in {weights}",
                              NOTES_MS)
            return
        self._name_in_graph(path, target)

    def _name_in_graph(self, path: Path, target: Path) -> None:
        """The weights beside the file become the graph's starting weights
        (`training.init_weights`, one undo step), saved with it, so reopening it, or
        `dlbuilder train` on it, starts from them. The Training tab's trained weights (a run
        made before this save) stay on offer: only what the next run starts from changes."""
        from dlbuilder.gui.training.weights_box import name_starting_weights

        name_starting_weights(self.window.doc, target, path)
        if not self.window.files.save():
            self.message.emit(f"Saved its weights as {target}, but {path} could not be saved "
                              "again to name them: save it to keep that", NOTES_MS)
            return
        self.message.emit(f"Saved {path} and its imported weights beside it: {target.name} "
                          "(the next run starts from them)", NOTES_MS)

    def _want_beside(self, path: Path, target: Path, weights: Path) -> bool:
        replaces = f" (it replaces the {target.name} there)" if target.exists() else ""
        answer = QMessageBox.question(
            self.window, "Imported weights",
            f"Save the imported weights beside {Path(path).name}, as {target.name}{replaces}?"
            f"\n\nOtherwise they stay in {weights}. The next run starts from them either way.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes


def imported_text(name: str, outcome: ImportOutcome) -> str:
    """The status bar's line after an import: what opened, and the importer's notes."""
    text = f"Imported {name}; its weights start the next run (unsaved: Ctrl+S keeps it)"
    if outcome.notes:
        text += " · " + " · ".join(outcome.notes)
    return text
