"""The line above the curves while a run goes on, like MATLAB's training-progress view:
epoch and run progress bars, then "epoch 3/10 · batch 412/938 · 5,210 samples/s · 0:42 elapsed
· ~1:10 left · best val_accuracy 98.7% at epoch 2 · patience 2/3".

It reads a RunHistory on the same timer tick as the plots; elapsed time is the GUI's own clock,
with paused time left out.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.gui.training.formats import clock, percent


def metric_text(name: str, value: float) -> str:
    return percent(value) if name.endswith("accuracy") else f"{value:.4g}"


class ElapsedClock:
    """Wall time of a run, not counting pauses."""

    def __init__(self) -> None:
        self.started: float | None = None
        self._paused_at: float | None = None
        self._paused_total = 0.0

    def start(self) -> None:
        self.started, self._paused_at, self._paused_total = time.monotonic(), None, 0.0

    def pause(self, on: bool) -> None:
        now = time.monotonic()
        if on and self._paused_at is None:
            self._paused_at = now
        elif not on and self._paused_at is not None:
            self._paused_total += now - self._paused_at
            self._paused_at = None

    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        end = self._paused_at if self._paused_at is not None else time.monotonic()
        return end - self.started - self._paused_total


def progress_text(history: RunHistory, elapsed: float, note: str = "") -> str:
    """The header line for the run so far; `note` ("paused", "stopping…") ends it."""
    started = history.started
    if started is None:
        return ""
    epochs, per_epoch = int(started["epochs"]), max(int(started["batches_per_epoch"]), 1)
    batch = history.last_batch
    parts = []
    if batch is not None:
        parts.append(f"epoch {batch['epoch']:,}/{epochs:,}")
        parts.append(f"batch {batch['batch']:,}/{batch['batches']:,}")
        parts.append(f"{batch['samples_per_s']:,.0f} samples/s")
    else:
        parts.append(f"epoch 0/{epochs:,}")
    parts.append(f"{clock(elapsed)} elapsed")
    done = _fraction_done(history, epochs, per_epoch)
    if history.finished is None and 0.02 <= done < 1:
        parts.append(f"~{clock(elapsed / done - elapsed)} left")
    parts += _best_and_patience(history)
    if note:
        parts.append(note)
    return " · ".join(parts)


def _fraction_done(history: RunHistory, epochs: int, per_epoch: int) -> float:
    batch = history.last_batch
    steps = batch["step"] if batch is not None else 0
    return min(steps / max(epochs * per_epoch, 1), 1.0)


def _best_and_patience(history: RunHistory) -> list[str]:
    if not history.epochs or history.started is None:
        return []
    last = history.epochs[-1]
    monitor = history.started["monitor"]
    best_epoch = last["best_epoch"]
    best = next((e for e in history.epochs if e["epoch"] == best_epoch), None)
    parts = []
    if best is not None and best.get(monitor) is not None:
        parts.append(f"best {monitor} {metric_text(monitor, best[monitor])} at epoch {best_epoch}")
    left = last.get("patience_left")
    if left is not None:
        patience = left + (last["epoch"] - best_epoch)
        parts.append(f"patience {left}/{patience}")
    return parts


class ProgressHeaderWidget(QWidget):
    """Two bars (this epoch, the whole run) and the line of numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clock = ElapsedClock()
        self.epoch_bar = QProgressBar()
        self.run_bar = QProgressBar()
        for bar, tip in ((self.epoch_bar, "Batches done in this epoch"),
                         (self.run_bar, "Batches done in the whole run")):
            bar.setTextVisible(True)
            bar.setMaximumHeight(16)
            bar.setToolTip(tip)
        self.epoch_bar.setFormat("epoch %p%")
        self.run_bar.setFormat("run %p%")
        self.line = QLabel("No run yet: choose the data and press Start")
        self.line.setWordWrap(True)
        self.line.setToolTip("Epoch, batch, speed, time, the best epoch by the monitored "
                             "metric and the early-stopping patience left")
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.line, 0, 0, 1, 2)
        layout.addWidget(self.epoch_bar, 1, 0)
        layout.addWidget(self.run_bar, 1, 1)
        self.reset()

    def reset(self) -> None:
        for bar in (self.epoch_bar, self.run_bar):
            bar.setRange(0, 1)
            bar.setValue(0)

    def show_message(self, text: str) -> None:
        self.line.setText(text)

    def update_from(self, history: RunHistory, note: str = "") -> None:
        started = history.started
        if started is None:
            return
        per_epoch = max(int(started["batches_per_epoch"]), 1)
        total = per_epoch * int(started["epochs"])
        batch = history.last_batch
        self.epoch_bar.setRange(0, per_epoch)
        self.run_bar.setRange(0, total)
        if history.finished is not None and history.finished.get("reason") == "completed":
            self.epoch_bar.setValue(per_epoch)
            self.run_bar.setValue(total)
        elif batch is not None:  # where it is, or where it stopped
            self.epoch_bar.setValue(batch["batch"])
            self.run_bar.setValue(batch["step"])
        self.line.setText(progress_text(history, self.clock.seconds(), note))

    @property
    def run_value(self) -> int:
        return self.run_bar.value()
