"""Early stopping on crafted curves, the confusion matrix and per-class accuracy."""

from __future__ import annotations

import pytest
import torch

from dlbuilder.backend.metrics import EarlyStopping, confusion_matrix, per_class_accuracy


def stop_epoch(curve: list[float], monitor: str, patience: int) -> tuple[int, int]:
    """(the epoch the run stops after, the best epoch) for a curve of monitored values."""
    rule = EarlyStopping(monitor, patience)
    for epoch, value in enumerate(curve, start=1):
        rule.update(epoch, value)
        if rule.should_stop:
            return epoch, rule.best_epoch
    return len(curve), rule.best_epoch


@pytest.mark.parametrize(("curve", "monitor", "patience", "expected"), [
    ([1.0, 0.8, 0.85, 0.7, 0.75, 0.76, 0.6], "val_loss", 2, (6, 4)),
    ([1.0, 0.8, 0.85, 0.7, 0.75, 0.76, 0.6], "val_loss", 3, (7, 7)),
    ([0.5, 0.6, 0.6, 0.6, 0.9], "val_accuracy", 2, (4, 2)),  # equal is not better
    ([0.5, 0.4, 0.3], "val_accuracy", 1, (2, 1)),
    ([3.0, 2.0, 1.0], "train_loss", 1, (3, 3)),
])
def test_early_stopping_on_crafted_curves(curve, monitor, patience, expected):
    assert stop_epoch(curve, monitor, patience) == expected


def test_without_patience_the_best_epoch_is_still_tracked():
    rule = EarlyStopping("val_loss", None)
    for epoch, value in enumerate([0.9, 0.5, 0.7, 0.8, 0.9, 1.0], start=1):
        rule.update(epoch, value)
    assert not rule.should_stop and rule.best_epoch == 2 and rule.patience_left is None


def test_confusion_matrix_rows_are_truth_and_columns_predictions():
    truth = torch.tensor([0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 1, 1, 1, 0, 2])
    matrix = confusion_matrix(truth, predicted, 4)
    assert matrix == ((1, 1, 0, 0), (0, 2, 0, 0), (1, 0, 1, 0), (0, 0, 0, 0))
    assert per_class_accuracy(matrix) == (0.5, 1.0, 0.5, None)
