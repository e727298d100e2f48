"""A run's curves as the app keeps them: growable numpy buffers the worker's records are
appended to, which the plots read on their redraw timer and the runs store saves.

No Qt and no torch: the records are plain values, and so is this. The x axis is in epochs
(batch `s` of a run with `b` batches per epoch sits at s / b; epoch e ends at x = e), so
per-batch and per-epoch points share one axis and epochs are whole numbers on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Series names, each an (x, y) pair of arrays.
BATCH_SERIES = ("batch_loss", "batch_accuracy")
EPOCH_SERIES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr")
SERIES = BATCH_SERIES + EPOCH_SERIES


class Series:
    """(x, y) float64 points that grow by amortised doubling; `arrays()` are views, no copy."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, x: float, y: float) -> None:
        if self._n == len(self._x):
            self._grow(self._n + 1)
        self._x[self._n] = x
        self._y[self._n] = y
        self._n += 1

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        need = self._n + len(xs)
        if need > len(self._x):
            self._grow(need)
        self._x[self._n:need] = xs
        self._y[self._n:need] = ys
        self._n = need

    def _grow(self, need: int) -> None:
        size = max(need, 2 * len(self._x))
        for name in ("_x", "_y"):
            grown = np.empty(size)
            grown[:self._n] = getattr(self, name)[:self._n]
            setattr(self, name, grown)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x[:self._n], self._y[:self._n]


@dataclass
class RunHistory:
    """Everything a run reported, in arrival order. `version` grows with every change, so a
    plot redraws only when there is something new."""

    started: dict[str, Any] | None = None  # RunStarted.as_dict()
    epochs: list[dict[str, Any]] = field(default_factory=list)  # EpochEnd.as_dict() each
    finished: dict[str, Any] | None = None  # RunFinished.as_dict()
    last_batch: dict[str, Any] | None = None  # the newest BatchEnd.as_dict(): the progress
    health: list[dict[str, Any]] = field(default_factory=list)  # HealthRecord.as_dict() each
    series: dict[str, Series] = field(default_factory=lambda: {n: Series() for n in SERIES})
    version: int = 0

    @property
    def batches_per_epoch(self) -> int:
        return int(self.started["batches_per_epoch"]) if self.started else 1

    def add(self, record: Any) -> None:
        """Take one trainer record (RunStarted, BatchEnd, EpochEnd, HealthRecord or
        RunFinished)."""
        kind = record.kind
        if kind == "batch":
            x = record.step / max(record.batches, 1)
            self.series["batch_loss"].append(x, record.loss)
            if record.accuracy is not None:
                self.series["batch_accuracy"].append(x, record.accuracy)
            self.last_batch = record.as_dict()
        elif kind == "epoch":
            self._add_epoch(record.as_dict())
        elif kind == "health":
            self.health.append(record.as_dict())
        elif kind == "started":
            self.started = record.as_dict()
        elif kind == "finished":
            self.finished = record.as_dict()
        self.version += 1

    def _add_epoch(self, values: dict[str, Any]) -> None:
        self.epochs.append(values)
        for name in EPOCH_SERIES:
            if values.get(name) is not None:
                self.series[name].append(values["epoch"], values[name])

    def arrays(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self.series[name].arrays()

    # -- saving -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values; the batch series as lists of numbers."""
        batches = {name: [self.arrays(name)[0].tolist(), self.arrays(name)[1].tolist()]
                   for name in BATCH_SERIES}
        return {"started": self.started, "epochs": self.epochs, "finished": self.finished,
                "health": self.health, "batches": batches}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunHistory:
        """The inverse of to_dict; raises ValueError (KeyError, TypeError) on other shapes."""
        history = cls(started=data.get("started"), finished=data.get("finished"))
        for values in data.get("epochs") or []:
            history._add_epoch(dict(values))
        health = data.get("health") or []  # runs kept before health was collected have none
        if not isinstance(health, list) or not all(isinstance(h, dict) for h in health):
            raise ValueError("bad health records")
        history.health = [dict(h) for h in health]
        for name, (xs, ys) in (data.get("batches") or {}).items():
            if name not in BATCH_SERIES or len(xs) != len(ys):
                raise ValueError(f"bad batch series {name!r}")
            history.series[name].extend(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
        history.version = 1
        return history
