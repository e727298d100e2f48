"""Splits, preprocessing, augmentation, settings: the pieces a run is prepared from."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import chain, engine_for
from train_helpers import blobs, tiny_images

from dlbuilder.backend.augment import augment
from dlbuilder.backend.fit import fit_problems
from dlbuilder.backend.plan import build_plan
from dlbuilder.backend.prepare import (
    Preprocessing,
    prepare_data,
    read_preprocessing,
    save_preprocessing,
    stratified_split,
)
from dlbuilder.backend.settings import SettingsError, TrainSettings, resolve_settings


def test_the_validation_split_is_stratified_seeded_and_exact():
    labels = np.repeat(np.arange(10), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851,
                                       5949])  # MNIST's training class counts
    train, val = stratified_split(labels, 0.1, seed=0)
    assert len(val) == 6000 and len(train) == 54000
    assert not set(train) & set(val) and len(set(train) | set(val)) == 60000
    shares = np.bincount(labels[val]) / np.bincount(labels)
    assert np.all(np.abs(shares - 0.1) < 0.001)
    again, other = stratified_split(labels, 0.1, seed=0)[1], stratified_split(labels, 0.1, 1)[1]
    assert np.array_equal(val, again) and not np.array_equal(val, other)


def test_a_class_of_one_sample_stays_in_training_and_no_split_means_no_validation():
    labels = np.array([0, 0, 0, 0, 1])
    train, val = stratified_split(labels, 0.5, seed=0)
    assert 4 in train and len(val) == 2
    train, val = stratified_split(labels, 0.0, seed=0)
    assert len(train) == 5 and len(val) == 0


def test_normalization_uses_the_training_split_only():
    data = prepare_data(tiny_images(), val_split=0.25, seed=0, normalize=True)
    assert data.train_x.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert data.train_x.std().item() == pytest.approx(1.0, abs=1e-2)
    assert data.val_x.mean().item() != pytest.approx(0.0, abs=1e-5)
    plain = prepare_data(tiny_images(), val_split=0.25, seed=0, normalize=False)
    assert 0.0 <= plain.train_x.min() <= plain.train_x.max() <= 1.0


def test_preprocessing_round_trips_beside_the_weights(tmp_path):
    prep = prepare_data(blobs(), val_split=0.1, seed=0, normalize=True).preprocessing
    save_preprocessing(tmp_path / "w.pt", prep)
    assert (tmp_path / "w.pt.json").exists()
    assert read_preprocessing(tmp_path / "w.pt") == prep
    assert read_preprocessing(tmp_path / "none.pt") is None
    (tmp_path / "bad.pt.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="bad.pt.json: cannot be read"):
        read_preprocessing(tmp_path / "bad.pt")


def test_preprocessing_reshapes_images_for_a_flat_input():
    prep = Preprocessing("d", (1, 2, 2), (4,), ("a",), 255.0, (0.5,), (0.25,))
    out = prep.apply(np.array([[[[0, 255], [255, 0]]]], dtype=np.uint8))
    assert out.tolist() == [[-2.0, 2.0, 2.0, -2.0]]


def test_an_autoencoder_is_not_asked_for_one_output_per_class():
    engine = engine_for(chain(("Conv2d", {"out_channels": 1, "kernel_size": 3,
                                          "padding": 1}), shape=[1, 6, 6]))
    engine.graph.set_params("out", {"loss": "MSELoss", "target": "input"})
    assert fit_problems(build_plan(engine), tiny_images(), "n1") == []


def test_shift_moves_images_and_fills_with_the_blank_value():
    x = torch.zeros(64, 1, 5, 5)
    x[:, :, 2, 2] = 1.0
    out = augment(x, 2, False, torch.Generator().manual_seed(0), torch.tensor([-7.0]))
    assert out.shape == x.shape
    positions = {tuple(torch.nonzero(img[0] == 1.0)[0].tolist()) for img in out}
    assert len(positions) > 10 and all(0 <= r < 5 and 0 <= c < 5 for r, c in positions)
    assert (out == -7.0).any() and (out == 0.0).any()


def test_flip_mirrors_about_half_the_images():
    x = torch.arange(4.0).view(1, 1, 1, 4).repeat(200, 1, 1, 1)
    out = augment(x, 0, True, torch.Generator().manual_seed(0), torch.zeros(1))
    flipped = (out[:, 0, 0, 0] == 3.0).sum().item()
    assert 70 < flipped < 130
    assert torch.equal(out[out[:, 0, 0, 0] == 3.0][0, 0, 0], torch.tensor([3.0, 2, 1, 0]))


def test_settings_defaults_follow_the_issue():
    s = resolve_settings()
    assert (s.optimizer, s.lr, s.batch_size, s.epochs, s.weight_decay, s.schedule) == (
        "adam", 1e-3, 64, 10, 0.0, "none")
    assert s.patience is None and s.val_split == 0.1 and s.device == "auto"
    assert s.resolved_monitor() == "val_loss" and s.as_dict() == {}


def test_flags_override_the_file_and_none_means_not_given():
    s = resolve_settings({"lr": 0.1, "epochs": 5}, {"lr": 0.01, "epochs": None})
    assert s.lr == 0.01 and s.epochs == 5
    assert s.as_dict() == {"lr": 0.01, "epochs": 5}
    assert resolve_settings(s.as_dict()) == s


def test_every_bad_setting_is_reported_with_where_it_is():
    with pytest.raises(SettingsError) as err:
        resolve_settings({"optimizer": "lbfgs", "momentum": 1.5, "bach_size": 3},
                         {"val_split": -0.1, "nesterov": True})
    assert err.value.problems == [
        "training.optimizer: must be one of sgd, adam, adamw, rmsprop, not 'lbfgs'",
        "training.momentum: must be less than 1, not 1.5",
        "training.bach_size: unknown training setting (did you mean 'batch_size'?)",
        "--val-split: must be at least 0, not -0.1",
        "nesterov: needs optimizer sgd with a momentum above 0"]


def test_a_validation_metric_needs_a_validation_split():
    with pytest.raises(SettingsError, match="val_accuracy needs a validation split"):
        resolve_settings({"monitor": "val_accuracy", "val_split": 0})
    assert TrainSettings(val_split=0).resolved_monitor() == "train_loss"
