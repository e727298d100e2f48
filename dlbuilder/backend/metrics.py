"""Evaluation and the bookkeeping around it: what a split scores, the confusion matrix, and the
early-stopping rule that also decides which epoch's weights are the best."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Scores:
    """Per-sample means over a split; accuracy for class labels, mae/mse for other losses."""

    loss: float
    accuracy: float | None = None
    mae: float | None = None
    mse: float | None = None
    confusion: tuple[tuple[int, ...], ...] | None = None


class Task:
    """How outputs meet targets: the loss, what it compares with, and which metrics apply."""

    def __init__(self, loss_name: str, target: str, classes: int, class_loss: bool) -> None:
        self.loss_fn: nn.Module = getattr(nn, loss_name)()
        self.target = target
        self.classes = classes
        self.class_loss = class_loss
        self.name = ("reconstruct" if target == "input"
                     else "classify" if class_loss else "regress")

    @property
    def has_accuracy(self) -> bool:
        return self.target == "label"

    @property
    def has_errors(self) -> bool:
        """Regression metrics (MAE, MSE) apply to every loss that is not a class loss."""
        return not self.class_loss

    def targets(self, x: torch.Tensor, y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """What the loss compares the output with: labels, one-hot labels, or the input."""
        if self.target == "input":
            return x
        if self.class_loss:
            return y
        return nn.functional.one_hot(y, self.classes).to(out.dtype)


def evaluate(model: nn.Module, task: Task, x: torch.Tensor, y: torch.Tensor, batch_size: int,
             confusion: bool = False) -> Scores:
    """Scores of the model (in eval mode, without autograd) on one split."""
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64, device=x.device)
    abs_err = torch.zeros((), dtype=torch.float64, device=x.device)
    sq_err = torch.zeros((), dtype=torch.float64, device=x.device)
    predictions = []
    try:
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                xb, yb = x[start:start + batch_size], y[start:start + batch_size]
                out = model(xb)
                target = task.targets(xb, yb, out)
                total_loss += task.loss_fn(out, target).double() * len(xb)
                if task.has_errors:
                    diff = (out - target).double()
                    abs_err += diff.abs().mean(dim=tuple(range(1, diff.dim()))).sum()
                    sq_err += (diff * diff).mean(dim=tuple(range(1, diff.dim()))).sum()
                if task.has_accuracy:
                    predictions.append(out.argmax(1))
    finally:
        model.train(was_training)
    n = max(len(x), 1)
    scores = {"loss": total_loss.item() / n}
    if task.has_errors:
        scores["mae"], scores["mse"] = abs_err.item() / n, sq_err.item() / n
    matrix = None
    if task.has_accuracy:
        predicted = torch.cat(predictions) if predictions else y[:0]
        scores["accuracy"] = (predicted == y).sum().item() / n
        if confusion:
            matrix = confusion_matrix(y, predicted, task.classes)
    return Scores(**scores, confusion=matrix)


def confusion_matrix(truth: torch.Tensor, predicted: torch.Tensor,
                     classes: int) -> tuple[tuple[int, ...], ...]:
    """Counts with rows as the true class and columns as the predicted one."""
    flat = torch.bincount((truth * classes + predicted).cpu(), minlength=classes * classes)
    return tuple(tuple(int(v) for v in row) for row in flat.view(classes, classes).tolist())


def per_class_accuracy(matrix: tuple[tuple[int, ...], ...]) -> tuple[float | None, ...]:
    """Each class's share of its samples classified right; None for a class with no samples."""
    return tuple(row[i] / sum(row) if sum(row) else None for i, row in enumerate(matrix))


class EarlyStopping:
    """Tracks the best epoch by one metric; with a patience, says when to stop.

    Lower is better for losses and errors, higher for accuracy. An epoch counts as better only
    if it beats the best so far strictly, so a flat curve stops after `patience` epochs.
    """

    def __init__(self, monitor: str, patience: int | None) -> None:
        self.monitor = monitor
        self.patience = patience
        self.higher_is_better = monitor.endswith("accuracy")
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.waited = 0

    def update(self, epoch: int, value: float) -> bool:
        """Record an epoch's value; True if it is the new best."""
        better = self.best_value is None or (
            value > self.best_value if self.higher_is_better else value < self.best_value)
        if better:
            self.best_value, self.best_epoch, self.waited = value, epoch, 0
        else:
            self.waited += 1
        return better

    @property
    def patience_left(self) -> int | None:
        return None if self.patience is None else max(self.patience - self.waited, 0)

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.waited >= self.patience
