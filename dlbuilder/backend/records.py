"""What a training run reports: small frozen records of plain values (numbers, text, tuples).

They cross threads (the GUI's worker sends them as queued signals) and go into JSON unchanged,
so they hold nothing from torch. `kind` tells them apart without isinstance checks.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar


class _Record:
    kind: ClassVar[str]

    def as_dict(self) -> dict[str, Any]:
        """The fields that have a value (metrics a run does not compute are left out)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        return {name: _plain(value) for name, value in values.items() if value is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class RunStarted(_Record):
    """Before the first batch: what is about to happen."""

    kind: ClassVar[str] = "started"
    epochs: int
    batches_per_epoch: int
    train_samples: int
    val_samples: int
    test_samples: int
    device: str
    params: int
    task: str  # "classify", "regress" (a class label as one-hot) or "reconstruct"
    classes: tuple[str, ...]
    monitor: str
    frozen_params: int | None = None  # of `params`, those frozen (None: none)
    notes: tuple[str, ...] | None = None  # what the starting weights could not give


@dataclass(frozen=True)
class BatchEnd(_Record):
    """After each optimizer step. `accuracy` runs over the epoch so far (classifiers only)."""

    kind: ClassVar[str] = "batch"
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches: int
    step: int  # 1-based over the run
    loss: float
    accuracy: float | None
    samples_per_s: float


@dataclass(frozen=True)
class EpochEnd(_Record):
    """After each epoch's validation. Accuracies are fractions; losses are per-sample means."""

    kind: ClassVar[str] = "epoch"
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float | None
    train_accuracy: float | None
    val_accuracy: float | None
    train_mae: float | None
    val_mae: float | None
    train_mse: float | None
    val_mse: float | None
    lr: float
    seconds: float
    samples_per_s: float
    best_epoch: int
    improved: bool
    patience_left: int | None


@dataclass(frozen=True)
class RunFinished(_Record):
    """The last record. The model then holds the best weights (by `monitor`), or, for a run
    stopped before its first epoch ended, the weights it had.

    reason: "completed", "early_stopped", "stopped" (asked to) or "diverged" (nan/inf loss).
    The val_* values are those of the best epoch; test_* are of the best weights on the
    dataset's own test split. The confusion matrix (rows: true class, columns: predicted) is on
    `confusion_split`: the test split where there is one, else the validation split.
    """

    kind: ClassVar[str] = "finished"
    reason: str
    message: str
    epochs_run: int
    best_epoch: int | None
    monitor: str
    best_value: float | None
    train_loss: float | None
    val_loss: float | None
    val_accuracy: float | None
    val_mae: float | None
    test_loss: float | None
    test_accuracy: float | None
    test_mae: float | None
    confusion: tuple[tuple[int, ...], ...] | None
    confusion_split: str | None
    per_class_accuracy: tuple[float | None, ...] | None
    classes: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class LayerHealth:
    """One layer's training health over an epoch (see backend/health.py for how each figure
    is measured and when a flag is raised). None where a figure does not apply: no gradient
    for a layer without weights (or a frozen one), no dead share but for ReLU-like layers."""

    path: tuple[str | int, ...]  # compiler.NodePath: ("layer1", 0, "conv1")
    node: str  # the path as words: "layer1.0/conv1"
    type: str  # the layer type: "Conv2d"
    grad_norm: float | None
    update_ratio: float | None
    dead_share: float | None
    act_mean: float | None
    act_std: float | None
    flags: tuple[str, ...]  # "vanishing", "exploding", "dead"

    def as_dict(self) -> dict[str, Any]:
        """Every field, None (JSON null) included: a reader sees which figures do not apply."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class HealthRecord(_Record):
    """After an epoch's EpochEnd, when the run collects health: every layer's figures, in the
    model's forward order."""

    kind: ClassVar[str] = "health"
    epoch: int
    layers: tuple[LayerHealth, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "layers": [layer.as_dict() for layer in self.layers]}


Record = RunStarted | BatchEnd | EpochEnd | HealthRecord | RunFinished
