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

    def tallies(self, out: torch.Tensor, target: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """A batch's sums, as float64: right predictions, per-sample MAE and per-sample MSE
        (0 where the metric does not apply). One tensor, so reading it is one sync."""
        zero = torch.zeros((), dtype=torch.float64, device=out.device)
        hits = (out.argmax(1) == labels).sum().double() if self.has_accuracy else zero
        abs_err = sq_err = zero
        if self.has_errors:
            diff = (out.detach() - target).double().flatten(1)
            abs_err, sq_err = diff.abs().mean(1).sum(), (diff * diff).mean(1).sum()
        return torch.stack([hits, abs_err, sq_err])

    def scores(self, loss_sum: float, hits: float, abs_err: float, sq_err: float,
               count: int) -> Scores:
        """Per-sample means from summed tallies."""
        n = max(count, 1)
        return Scores(loss=loss_sum / n, accuracy=hits / n if self.has_accuracy else None,
                      mae=abs_err / n if self.has_errors else None,
                      mse=sq_err / n if self.has_errors else None)


def evaluate(model: nn.Module, task: Task, x: torch.Tensor, y: torch.Tensor, batch_size: int,
             confusion: bool = False) -> Scores:
    """Scores of the model (in eval mode, without autograd) on one split."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=x.device)  # loss, then the tallies
    predictions = []
    try:
        with torch.inference_mode():
            for start in range(0, len(x), batch_size):
                xb, yb = x[start:start + batch_size], y[start:start + batch_size]
                out = model(xb)
                target = task.targets(xb, yb, out)
                sums[0] += task.loss_fn(out, target).double() * len(xb)
                sums[1:] += task.tallies(out, target, yb)
                if confusion and task.has_accuracy:
                    predictions.append(out.argmax(1))
    finally:
        model.train(was_training)
    scores = task.scores(*sums.tolist(), len(x))
    if predictions:
        matrix = confusion_matrix(y, torch.cat(predictions), task.classes)
        scores = Scores(scores.loss, scores.accuracy, scores.mae, scores.mse, matrix)
    return scores


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
