"""File ▸ Export ▸ ONNX…: the graph written as ONNX by a worker thread, never the GUI's.

torch's exporter takes seconds (and loading torch a few more), so the export runs in a
QThreadPool of one thread. Only plain values cross: the graph as a file dict, the weights path
and the target path go in; `(ok, message)` comes back as a queued signal to a @Slot. While it
runs, the action is off and a busy bar shows in the status bar; the outcome is said in the
status bar, and a failure also in a (non-blocking) message box. Without the optional ONNX
packages, the user is told how to install them before anything starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QRunnable,
    QSettings,
    Qt,
    QThreadPool,
    Signal,
    Slot,
)
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressBar, QWidget

from dlbuilder.backend import onnx_export
from dlbuilder.backend.names import identifier_from
from dlbuilder.backend.plan import CompileError, build_plan
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.gui.document import Document
from dlbuilder.gui.export.export_folder import export_folder, remember_export_folder
from dlbuilder.gui.training.weights_files import WeightsChoice, same_network

INITIAL = "its initial (untrained) weights, as `dlbuilder export` writes without --weights"


def run_export(graph: dict[str, Any], target: str, weights: str | None) -> tuple[bool, str]:
    """The worker's whole job, on plain values; every failure becomes a message."""
    from dlbuilder.backend.weights import WeightsError
    from dlbuilder.core.fileformat import GraphFileError, graph_from_dict
    from dlbuilder.core.inference import InferenceEngine
    from dlbuilder.layers import REGISTRY

    try:
        engine = InferenceEngine(graph_from_dict(graph, REGISTRY), REGISTRY)
        onnx_export.export_plan(build_plan(engine), target, weights)
    except (onnx_export.OnnxUnavailable, onnx_export.OnnxExportError, WeightsError,
            GraphFileError, CompileError) as err:
        return False, str(err)
    except OSError as err:
        return False, f"Cannot write {target}: {err.strerror or err}"
    except Exception as err:  # noqa: BLE001 - a bug in the exporter: said, not a dead thread
        return False, f"The ONNX export failed unexpectedly: {type(err).__name__}: {err}"
    return True, f"Wrote {target} (ONNX with a dynamic batch size)"


class _Relay(QObject):
    """Lives in the GUI thread; the task emits on it from the worker thread (so: queued)."""

    done = Signal(bool, str)


class _ExportTask(QRunnable):
    def __init__(self, relay: _Relay, graph: dict[str, Any], target: str,
                 weights: str | None) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the controller drops it in the GUI thread, not Qt here
        self.relay, self.job = relay, (graph, target, weights)

    def run(self) -> None:
        self.relay.done.emit(*run_export(*self.job))


class OnnxExportController(QObject):
    """Asks where (and which weights), starts the worker, shows it busy, reports."""

    started = Signal(str)          # what is being exported, for the status bar
    finished = Signal(bool, str)   # ok, what happened

    def __init__(self, window: QWidget, settings: QSettings) -> None:
        super().__init__(window)
        self.window, self.settings = window, settings
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.relay = _Relay(self)
        self.relay.done.connect(self._on_relay_done)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # busy, with no end known
        self.busy_bar.setMaximumWidth(140)
        self.busy_bar.setToolTip("Exporting to ONNX in the background; keep working")
        self.busy_bar.hide()
        self._task: _ExportTask | None = None
        self._target = Path()
        self._suffix = ""
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_app_about_to_quit)

    @property
    def busy(self) -> bool:
        return self._task is not None

    def export_dialog(self, doc: Document, weights: WeightsChoice | None) -> bool:
        """Check, ask which weights and where, then start; False when nothing started."""
        if self.busy:
            return False
        missing = onnx_export.onnx_missing()
        if missing:
            return self._refuse(f"{missing} (in a source checkout: "
                                f'python -m pip install ".[onnx]")')
        try:
            build_plan(doc.engine)
        except CompileError as err:
            problems = "\n".join(str(d) for d in err.diagnostics[:8])
            return self._refuse(f"The graph has errors; fix them first:\n{problems}")
        chosen = self._ask_weights(doc, weights)
        if chosen is False:
            return False
        name = identifier_from(doc.graph.name, "model") + ".onnx"
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export ONNX model", str(export_folder(doc.path, self.settings) / name),
            "ONNX models (*.onnx);;All files (*)")
        if not path:
            return False
        target = Path(path) if Path(path).suffix else Path(path).with_suffix(".onnx")
        self.start(graph_to_dict(doc.graph), target, chosen)
        return True

    def _ask_weights(self, doc: Document, weights: WeightsChoice | None
                     ) -> tuple[Path, str] | None | bool:
        """(path, label) of the trained weights, None for the initial ones, False: cancelled."""
        if weights is None or weights.trained is None or not weights.trained.exists():
            return None
        if weights.trained_graph is not None \
                and not same_network(weights.trained_graph, graph_to_dict(doc.graph)):
            return None  # trained on another version of the graph: they would not load
        answer = QMessageBox.question(
            self.window, "Export ONNX model",
            f"Export with the trained weights of {weights.trained_from}?\n\nNo exports "
            f"{INITIAL}.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        return (weights.trained, weights.trained_from) \
            if answer == QMessageBox.StandardButton.Yes else None

    def start(self, graph: dict[str, Any], target: Path, weights: tuple[Path, str] | None
              ) -> None:
        """Run the export in the worker thread; `finished` says how it went."""
        self._suffix = (f", with the trained weights of {weights[1]}" if weights
                        else f", with {INITIAL}")
        self._target = target
        self._task = _ExportTask(self.relay, graph, str(target),
                                 str(weights[0]) if weights else None)
        self.busy_bar.show()
        self.started.emit(f"Exporting {target.name} to ONNX…")
        self.pool.start(self._task)

    @Slot(bool, str)
    def _on_relay_done(self, ok: bool, message: str) -> None:
        self._task = None
        self.busy_bar.hide()
        if ok:
            remember_export_folder(self._target, self.settings)
            message += self._suffix
        else:
            self._show_problem(message)
        self.finished.emit(ok, message)

    @Slot()
    def _on_app_about_to_quit(self) -> None:
        self.pool.waitForDone()  # an export in flight finishes before the interpreter goes

    def _refuse(self, text: str) -> bool:
        self._show_problem(text)
        self.finished.emit(False, text.splitlines()[0])
        return False

    def _show_problem(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot export ONNX",
                          "The graph was not exported to ONNX.", QMessageBox.StandardButton.Ok,
                          self.window)
        box.setInformativeText(text)
        box.setObjectName("onnx_problem_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one box per failure
        box.open()
