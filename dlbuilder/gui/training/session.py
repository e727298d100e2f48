"""Training off the GUI thread: the trainer's generator runs in a QObject moved to a QThread.

Only plain values cross threads. A Job (the graph as a file dict, the resolved settings, paths,
and a dataset's numpy arrays that nobody changes) goes in; records (frozen dataclasses of
numbers), an Evaluation (numpy arrays made for the GUI and never touched again by the worker)
and messages come back as queued signals. Stop and Pause are thread-safe events the loop reads
between batches (TrainControl), so they act within one batch without waiting for the event
queue. Batch records are sent in bundles at most every BUNDLE_S, so a fast run cannot flood
the GUI's event loop; everything else is sent at once.

torch is imported in the worker thread, so the window never waits for it.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from dlbuilder.backend.controls import TrainControl
from dlbuilder.backend.settings import TrainSettings
from dlbuilder.gui.errors import write_log
from dlbuilder.gui.widgets.threads import ThreadedSession

BUNDLE_S = 0.05  # batch records go out at most 20 times a second
JOIN_MS = 30_000  # how long closing waits for a batch to end


def torch_threads() -> int:
    """Intra-op threads for training in the app: all cores but one, which the GUI keeps (see
    benchmarks/ui_latency.py for the measurement behind it); $DLBUILDER_TORCH_THREADS wins."""
    explicit = os.environ.get("DLBUILDER_TORCH_THREADS", "")
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    return max(1, (os.cpu_count() or 1) - 1)


@dataclass(frozen=True, eq=False)
class Job:
    """One run, as plain values. `dataset` is a loaded backend Dataset (numpy) or None."""

    graph: dict[str, Any]
    settings: TrainSettings
    weights_out: Path  # where the best weights (and their preprocessing) are written
    init_weights: Path | None = None
    dataset: Any = None
    threads: int = 1


@dataclass(frozen=True)
class Outcome:
    """How a run ended, for the GUI: the final record's reason, and the weights file (None if
    the run never got as far as weights worth keeping)."""

    reason: str
    weights: Path | None


class TrainWorker(QObject):
    """Lives in the training thread; runs one Job at a time."""

    records_arrived = Signal(object)  # list of records, in order
    evaluated = Signal(object)  # Evaluation (classifiers only)
    status_changed = Signal(str)  # "Loading PyTorch…", download progress, "Preparing data…"
    failed = Signal(str)  # a message for the user; the details went to the log
    ended = Signal(object)  # Outcome, after everything else of the run
    warmed_up = Signal()

    def __init__(self, control: TrainControl) -> None:
        super().__init__()
        self.control = control
        control.before_wait = self._flush
        self._pending: list[Any] = []
        self._sent_at = 0.0
        self.batches_done = 0  # trained in this run so far (read by tests across threads)

    @Slot()
    def warm_up(self) -> None:
        """Load torch and what a run's first step imports (the optimizers pull in a few
        seconds of modules), so that Start begins at once and the imports, which hold the GIL
        and so slow the GUI, happen while nobody waits for a run."""
        try:
            import torch

            from dlbuilder.backend import evaluation, trainer  # noqa: F401 - imported to load
            from dlbuilder.backend.optim import make_optimizer

            weight = torch.nn.Parameter(torch.zeros(1))
            weight.grad = torch.zeros(1)
            make_optimizer([weight], TrainSettings()).step()
        except Exception as err:  # noqa: BLE001 - a real run will say what is wrong
            write_log(f"warming up the training thread failed: {err!r}")
        self.warmed_up.emit()

    @Slot(object)
    def run(self, job: Job) -> None:
        outcome = Outcome("failed", None)
        try:
            outcome = self._run(job)
        except Exception as err:  # noqa: BLE001 - every failure becomes a message, never a crash
            self._flush()
            self.failed.emit(_failure_message(err))
        finally:
            self.ended.emit(outcome)

    def _run(self, job: Job) -> Outcome:
        self.status_changed.emit("Loading PyTorch…")
        import torch

        from dlbuilder.backend.trainer import Trainer, TrainError, plan_run

        torch.set_num_threads(job.threads)
        engine = _engine_for(job.graph)
        self.status_changed.emit("Preparing the data…")
        try:
            run = plan_run(engine, job.settings, dataset=job.dataset, progress=self._on_download)
            trainer = Trainer(run, control=self.control, init_weights=job.init_weights,
                              health=True)  # the app always shows health (Health tab, cards)
        except _StopDuringDownload:
            self.status_changed.emit("Stopped during the download; it resumes where it left "
                                     "off next time")
            return Outcome("stopped", None)
        except TrainError as err:
            self.failed.emit("Training cannot start:\n" + "\n".join(f"• {p}"
                                                                  for p in err.problems))
            return Outcome("failed", None)
        self.status_changed.emit("")
        final = None
        for record in trainer.run():
            self._send(record)
            final = record
        self._flush()
        return self._finish(trainer, run, job, final)

    def _finish(self, trainer: Any, run: Any, job: Job, final: Any) -> Outcome:
        from dlbuilder.backend.evaluation import evaluate_samples
        from dlbuilder.backend.plan import loss_and_target
        from dlbuilder.backend.prepare import save_preprocessing
        from dlbuilder.backend.weights import save_weights

        if self.batches_done == 0:  # stopped before the first step: nothing was learned
            return Outcome(final.reason, None)
        job.weights_out.parent.mkdir(parents=True, exist_ok=True)
        save_weights(trainer.model, job.weights_out)
        save_preprocessing(job.weights_out, run.data.preprocessing)
        split = final.confusion_split
        if split is not None:
            x, y = trainer.tensors[split]
            loss, _ = loss_and_target(run.plan)
            indices = run.data.val_index if split == "val" else None
            self.evaluated.emit(evaluate_samples(trainer.model, x, y, split,
                                                 run.data.preprocessing, loss, run.data.kind,
                                                 indices=indices))
        return Outcome(final.reason, job.weights_out)

    # -- sending -------------------------------------------------------------------------------
    def _send(self, record: Any) -> None:
        if record.kind == "batch":
            self.batches_done += 1
        elif record.kind == "started":
            self.batches_done = 0
        self._pending.append(record)
        now = time.perf_counter()
        if record.kind != "batch" or now - self._sent_at >= BUNDLE_S:
            self._flush(now)

    def _flush(self, now: float | None = None) -> None:
        if self._pending:
            bundle, self._pending = self._pending, []
            self.records_arrived.emit(bundle)
        self._sent_at = time.perf_counter() if now is None else now

    def _on_download(self, name: str, done: int, total: int | None) -> None:
        if self.control.stop_requested:  # the downloader passes this on: the run ends here
            raise _StopDuringDownload
        size = f"{done / 1e6:.1f} / {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        self.status_changed.emit(f"Downloading {name}: {size}")


class _StopDuringDownload(Exception):
    """Stop was pressed while the data was downloading."""


def _engine_for(graph_dict: dict[str, Any]) -> Any:
    """The worker's own graph and inference engine, rebuilt from the snapshot, so nothing the
    GUI edits is shared with this thread."""
    from dlbuilder.core.fileformat import graph_from_dict
    from dlbuilder.core.inference import InferenceEngine
    from dlbuilder.layers import REGISTRY

    return InferenceEngine(graph_from_dict(graph_dict, REGISTRY, "the graph"), REGISTRY)


def _failure_message(err: Exception) -> str:
    """What the user reads: known problems as they are, anything else with its kind and the
    log that holds the details."""
    from dlbuilder.backend.datasets import DatasetError

    try:
        from dlbuilder.backend.weights import WeightsError
    except ImportError:  # torch itself failed to load
        WeightsError = DatasetError
    if isinstance(err, DatasetError):
        return f"The data cannot be read: {err}"
    if isinstance(err, WeightsError):
        return f"The starting weights cannot be used: {err}"
    if isinstance(err, OSError):
        return f"Training stopped: cannot write {err.filename or ''}: {err.strerror or err}"
    where = write_log("".join(traceback.format_exception(err)))
    logged = f" The details are in {where}." if where else ""
    return f"Training failed: {type(err).__name__}: {err}.{logged}"


class TrainingSession(ThreadedSession):
    """The GUI's handle on the training thread: start, pause, resume, stop, shut down.

    Signals are re-sent from the worker and arrive in the GUI thread.
    """

    records_arrived = Signal(object)
    evaluated = Signal(object)
    status_changed = Signal(str)
    failed = Signal(str)
    ended = Signal(object)  # Outcome
    running_changed = Signal(bool)
    warmed_up = Signal()
    _job_posted = Signal(object)
    _warm_up_posted = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        self.control = TrainControl()
        super().__init__(TrainWorker(self.control), "dlbuilder-training", parent)
        self._job_posted.connect(self._worker.run)
        self._warm_up_posted.connect(self._worker.warm_up)
        self._worker.warmed_up.connect(self._on_worker_warmed_up)
        self.is_warm = False
        w = self._worker
        # signal to signal, and the session's own slots: a cross-thread signal connected to a
        # callable that is not a slot (another signal's emit, a lambda) can crash PySide
        for source, target in ((w.records_arrived, self.records_arrived),
                               (w.evaluated, self.evaluated),
                               (w.status_changed, self.status_changed),
                               (w.failed, self.failed)):
            source.connect(target)
        w.ended.connect(self._on_worker_ended)
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    @property
    def paused(self) -> bool:
        return self.control.paused

    def start(self, job: Job) -> None:
        if self._running:
            raise RuntimeError("a run is already in progress")
        self.control.reset()
        self._running = True
        self.running_changed.emit(True)
        self._job_posted.emit(job)

    def warm_up(self) -> None:
        """Load torch in the training thread now, ahead of the first Start."""
        self._warm_up_posted.emit()

    @Slot()
    def _on_worker_warmed_up(self) -> None:
        self.is_warm = True
        self.warmed_up.emit()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    def shutdown(self, wait_ms: int = JOIN_MS) -> bool:
        """Stop the run and end the thread; True when it ended within `wait_ms`."""
        self.control.stop()
        return super().shutdown(wait_ms)

    @Slot(object)
    def _on_worker_ended(self, outcome: Outcome) -> None:
        self._running = False
        self.running_changed.emit(False)
        self.ended.emit(outcome)

