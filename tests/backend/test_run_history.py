"""A run's curves as the app keeps them, and the per-sample evaluation the results are drawn
from."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlbuilder.backend.evaluation import Evaluation, display_images, evaluate_samples
from dlbuilder.backend.prepare import Preprocessing
from dlbuilder.backend.records import BatchEnd, EpochEnd, RunFinished, RunStarted
from dlbuilder.backend.runs.history import RunHistory, Series


def fake_run(epochs: int = 3, per_epoch: int = 4) -> RunHistory:
    history = RunHistory()
    history.add(RunStarted(epochs, per_epoch, 256, 32, 0, "cpu", 1234, "classify",
                           tuple("0123456789"), "val_loss"))
    for epoch in range(1, epochs + 1):
        for batch in range(1, per_epoch + 1):
            step = (epoch - 1) * per_epoch + batch
            history.add(BatchEnd(epoch, batch, per_epoch, step, 2.0 / step, 0.1 * epoch, 900.0))
        history.add(EpochEnd(epoch, epochs, 1.0 / epoch, 1.1 / epoch, 0.3 * epoch, 0.25 * epoch,
                             None, None, None, None, 0.001, 0.5, 800.0, epoch, True, None))
    history.add(RunFinished("completed", "finished 3 epochs", epochs, epochs, "val_loss", 0.36,
                            0.33, 0.36, 0.75, None, None, None, None, None, None, None,
                            tuple("0123456789"), 1.5))
    return history


def test_batches_sit_at_fractions_of_an_epoch_and_epochs_at_whole_numbers():
    history = fake_run()
    xs, ys = history.arrays("batch_loss")
    assert xs.tolist() == pytest.approx([s / 4 for s in range(1, 13)])
    assert ys[0] == 2.0 and len(ys) == 12
    assert history.arrays("val_loss")[0].tolist() == [1, 2, 3]
    assert history.arrays("val_accuracy")[1].tolist() == pytest.approx([0.25, 0.5, 0.75])
    assert history.last_batch["step"] == 12 and history.finished["reason"] == "completed"
    assert history.version == 1 + 12 + 3 + 1


def test_a_history_survives_json_exactly():
    history = fake_run()
    again = RunHistory.from_dict(history.to_dict())
    for name in history.series:
        for a, b in zip(history.arrays(name), again.arrays(name), strict=True):
            assert a.tolist() == b.tolist()
    assert again.epochs == history.epochs and again.started == history.started
    with pytest.raises(ValueError):
        RunHistory.from_dict({"batches": {"batch_loss": [[1, 2], [3]]}})


def test_series_grow_without_losing_points():
    series = Series(capacity=2)
    for i in range(1000):
        series.append(i, -i)
    series.extend(np.arange(1000, 3000), -np.arange(1000, 3000))
    xs, ys = series.arrays()
    assert xs.tolist() == list(range(3000)) and ys.tolist() == [-i for i in range(3000)]


def test_wrong_predictions_come_first_most_confident_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55], [0.7, 0.3]],
                             dtype=np.float32)
    labels = np.array([0, 0, 1, 1, 0])
    ev = Evaluation("test", ("a", "b"), labels, probabilities, None)
    assert ev.predicted.tolist() == [0, 1, 0, 1, 0]
    assert ev.wrong_first().tolist() == [1, 2, 3, 4, 0]  # wrong 0.8, 0.6; right 0.55, 0.7, 0.9
    assert ev.wrong_first(true=1, predicted=0).tolist() == [2]
    assert ev.confusion().tolist() == [[2, 1], [1, 1]]
    assert ev.accuracy == pytest.approx(0.6)


def test_pictures_come_back_from_normalized_inputs():
    raw = np.random.default_rng(0).integers(0, 256, size=(5, 3, 4, 4)).astype(np.uint8)
    prep = Preprocessing("x", (3, 4, 4), (3, 4, 4), ("a", "b"), 255.0, (0.5, 0.4, 0.3),
                         (0.2, 0.25, 0.3))
    pictures = display_images(prep.apply(raw), prep)
    assert pictures.shape == (5, 4, 4, 3) and pictures.dtype == np.uint8
    assert np.abs(pictures.astype(int) - np.moveaxis(raw, 1, -1)).max() <= 1
    flat = Preprocessing("x", (1, 4, 4), (16,), ("a", "b"), 16.0)
    gray = display_images(flat.apply(raw[:, :1] // 16), flat)
    assert gray.shape == (5, 4, 4)


def test_evaluate_samples_gives_softmax_probabilities():
    prep = Preprocessing("x", (1, 2, 2), (1, 2, 2), ("a", "b", "c"), 1.0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    x = torch.rand(10, 1, 2, 2)
    ev = evaluate_samples(model, x, torch.arange(10) % 3, "val", prep, "CrossEntropyLoss",
                          "image", batch_size=3)
    assert ev.probabilities.shape == (10, 3)
    assert np.allclose(ev.probabilities.sum(axis=1), 1, atol=1e-5)
    assert ev.images.shape == (10, 2, 2) and ev.labels.tolist() == [i % 3 for i in range(10)]
