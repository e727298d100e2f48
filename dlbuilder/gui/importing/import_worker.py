"""The import off the GUI thread: loading torch and tracing a model take seconds.

One worker thread (a QThreadPool of one) runs `run_import` on plain values: the kind, the
source, the input shape and where to write the weights go in; an ImportOutcome comes back as a
queued signal. The torch state stays on the worker's side: it is written to the weights file
there, and only the file's path crosses. The graph is plain Python, built by the worker and
never touched by it again. A cancelled import runs to its end (torch cannot be stopped mid-
trace) and is then dropped, with its weights file.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal, Slot

from dlbuilder.backend.names import identifier_from
from dlbuilder.core.graph import Graph
from dlbuilder.gui.paths import data_dir

PYTORCH, ONNX = "pytorch", "onnx"


def imported_weights_dir() -> Path:
    """Where imported weights are kept until the user saves them beside the graph: the app's
    data folder, which outlives the session (as the runs' weights do)."""
    return data_dir() / "imported"


def new_weights_path(name: str) -> Path:
    """A new file for one import's weights, named after the model and the time."""
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000:06d}"
    return imported_weights_dir() / f"{identifier_from(name, 'model')}-{stamp}.pt"


@dataclass(frozen=True)
class ImportJob:
    """`source`: a PyTorch spec (`path/model.py:Net`, `package.module:NAME`) or an ONNX file."""

    kind: str
    source: str
    input_shape: tuple[int, ...] | None
    weights: Path


@dataclass(frozen=True)
class ImportOutcome:
    """A graph and its weights file, or (graph None) the report saying why not."""

    job: ImportJob
    graph: Graph | None = None
    notes: tuple[str, ...] = ()
    report: str = ""
    title: str = ""  # what kind of report: "refused" (unmappable places) or "failed"

    @property
    def ok(self) -> bool:
        return self.graph is not None


def run_import(job: ImportJob) -> ImportOutcome:
    """The worker's whole job; every failure, even of the user's own code, becomes a report."""
    from dlbuilder.backend.importing.report import ImportFailed, ImportRefused

    try:
        imported = _imported(job)
    except ImportRefused as err:
        return ImportOutcome(job, report=err.report(), title="refused")
    except ImportFailed as err:
        return ImportOutcome(job, report=str(err), title="failed")
    except BaseException as err:  # the user's code may raise (or sys.exit) anyhow
        if isinstance(err, KeyboardInterrupt):
            raise
        return ImportOutcome(job, report=f"The import failed unexpectedly: "
                             f"{type(err).__name__}: {err}", title="failed")
    from dlbuilder.backend.weights import save_state

    try:
        job.weights.parent.mkdir(parents=True, exist_ok=True)
        save_state(imported.state, job.weights)
    except OSError as err:
        return ImportOutcome(job, report=f"The weights could not be written to {job.weights}: "
                             f"{err.strerror or err}", title="failed")
    return ImportOutcome(job, imported.graph, tuple(imported.notes))


def _imported(job: ImportJob):  # -> Imported; torch only here, in the worker
    if job.kind == ONNX:
        from dlbuilder.backend.importing.onnx_import import import_onnx

        return import_onnx(job.source, job.input_shape)
    from dlbuilder.backend.importing.torch_import import import_module

    return import_module(job.source, job.input_shape)


class _Relay(QObject):
    """Lives in the GUI thread; the task emits on it from the worker (so: queued)."""

    done = Signal(int, object)  # the job's number, its ImportOutcome


class _ImportTask(QRunnable):
    def __init__(self, relay: _Relay, number: int, job: ImportJob) -> None:
        super().__init__()
        self.relay, self.number, self.job = relay, number, job

    def run(self) -> None:
        self.relay.done.emit(self.number, run_import(self.job))


class ImportRunner(QObject):
    """Runs one import at a time; `finished` carries the outcome of the import last started
    (a cancelled one is dropped)."""

    finished = Signal(object)  # ImportOutcome

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.relay = _Relay(self)
        self.relay.done.connect(self._on_relay_done)
        self._numbers = itertools.count(1)
        self._current = 0  # the number of the import whose outcome is wanted (0: none)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_app_about_to_quit)

    @property
    def busy(self) -> bool:
        return self._current != 0

    def start(self, job: ImportJob) -> None:
        self._current = next(self._numbers)
        self.pool.start(_ImportTask(self.relay, self._current, job))

    def cancel(self) -> None:
        self._current = 0

    @Slot(int, object)
    def _on_relay_done(self, number: int, outcome: ImportOutcome) -> None:
        if number != self._current:  # cancelled: nobody waits for it
            outcome.job.weights.unlink(missing_ok=True)
            return
        self._current = 0
        self.finished.emit(outcome)

    @Slot()
    def _on_app_about_to_quit(self) -> None:
        self.cancel()
        self.pool.waitForDone()  # an import in flight ends before the interpreter goes
