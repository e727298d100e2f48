"""Code exported with trained weights carries the preprocessing they were trained with: fed raw
data through its preprocess(), the exported module scores what the run scored."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import chain, engine_for, example_graph
from train_helpers import blobs, records

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.plan import build_plan
from dlbuilder.backend.prepare import (
    Preprocessing,
    read_preprocessing,
    save_preprocessing,
    stratified_split,
)
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import Trainer, plan_run
from dlbuilder.backend.weights import save_weights
from dlbuilder.backend.weights_code import code_with_weights


def _module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained_digits(tmp_path_factory):
    """digits_cnn trained for 3 epochs: its weights, their .pt.json and the run's result."""
    folder = tmp_path_factory.mktemp("digits")
    engine = engine_for(example_graph("digits_cnn"))
    settings = resolve_settings({}, {"dataset": "digits", "epochs": 3, "device": "cpu"})
    trainer = Trainer(plan_run(engine, settings))
    finished = records(trainer)[-1]
    weights = folder / "digits_net.pt"
    save_weights(trainer.model, weights)
    save_preprocessing(weights, trainer.data.preprocessing)
    return engine, weights, finished, settings


@pytest.mark.slow
def test_exported_module_with_preprocess_reproduces_the_trained_accuracy(trained_digits,
                                                                          tmp_path):
    engine, weights, finished, settings = trained_digits
    prep = read_preprocessing(weights)
    assert prep.mean and prep.std  # the classifier was normalized: the bug needs this
    target = tmp_path / "digits_net.py"
    target.write_text(code_with_weights(build_plan(engine), "Net", weights.name, prep))
    module = _module(target)
    model = module.Net()
    model.load_state_dict(torch.load(weights, weights_only=True))
    model.eval()
    data = load_dataset("digits")
    _, val_idx = stratified_split(data.train.y, settings.val_split, settings.seed)
    raw, labels = data.train.x[val_idx], data.train.y[val_idx]
    with torch.no_grad():
        predicted = model(module.preprocess(raw)).argmax(1).numpy()
    accuracy = float(np.mean(predicted == labels))
    assert accuracy == pytest.approx(finished.val_accuracy, abs=1e-9)
    assert finished.val_accuracy > 0.8
    with torch.no_grad():  # without preprocess() (raw values scaled to 0..1) it is worse
        unprepared = model(torch.as_tensor(raw, dtype=torch.float32) / 16).argmax(1).numpy()
    assert float(np.mean(unprepared == labels)) < accuracy
    assert [module.CLASSES[i] for i in predicted[:3]] == [str(p) for p in predicted[:3]]


@pytest.mark.slow
def test_preprocess_matches_the_trainers_preprocessing_exactly(trained_digits, tmp_path):
    engine, weights, _finished, _settings = trained_digits
    prep = read_preprocessing(weights)
    target = tmp_path / "m.py"
    target.write_text(code_with_weights(build_plan(engine), "Net", weights.name, prep))
    raw = load_dataset("digits").train.x[:50]
    assert torch.equal(_module(target).preprocess(raw), prep.apply(raw))
    single = _module(target).preprocess(raw[0, 0])  # one 8x8 image, no batch dimension
    assert single.shape == (1, 1, 8, 8)


@pytest.mark.slow
def test_the_docstring_says_how_to_prepare_inputs(trained_digits):
    engine, weights, _finished, _settings = trained_digits
    prep = read_preprocessing(weights)
    code = code_with_weights(build_plan(engine), "Net", weights.name, prep)
    doc = code.split('"""')[1]
    assert "digits_net.pt" in doc and "preprocess(" in doc
    assert "16.0" in code and repr(prep.mean[0]) in code and repr(prep.std[0]) in code
    assert "model.eval()" in doc


def test_flattened_input_and_per_feature_normalization(tmp_path):
    """An Input of 64 fed 1x8x8 images is reshaped; features are normalized one by one."""
    prep = Preprocessing("digits", (1, 8, 8), (64,), ("a", "b"), 16.0, (0.3,), (0.4,))
    engine = engine_for(chain(("Linear", {"out_features": 2}), shape=[64]))
    path = tmp_path / "flat.py"
    path.write_text(code_with_weights(build_plan(engine), "Net", "w.pt", prep))
    raw = np.arange(2 * 64, dtype=np.uint8).reshape(2, 1, 8, 8)
    assert torch.equal(_module(path).preprocess(raw), prep.apply(raw))
    features = Preprocessing("blobs", (5,), (5,), ("x",), 1.0, tuple(0.1 * i for i in range(5)),
                             tuple(1.0 + i for i in range(5)))
    engine = engine_for(chain(("Linear", {"out_features": 1}), shape=[5]))
    path = tmp_path / "feat.py"
    path.write_text(code_with_weights(build_plan(engine), "Net", "w.pt", features))
    raw = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    assert torch.equal(_module(path).preprocess(raw), features.apply(raw))


def test_scaled_only_preprocessing_has_no_mean(tmp_path):
    prep = Preprocessing("tiny", (1, 6, 6), (1, 6, 6), ("0", "1"), 255.0)
    engine = engine_for(chain(("Flatten", {}), ("Linear", {"out_features": 2}), shape=[1, 6, 6]))
    code = code_with_weights(build_plan(engine), "Net", "w.pt", prep)
    assert "MEAN" not in code
    path = tmp_path / "scaled.py"
    path.write_text(code)
    raw = np.full((3, 1, 6, 6), 51, dtype=np.uint8)
    assert torch.equal(_module(path).preprocess(raw), prep.apply(raw))


def test_without_preprocessing_the_docstring_says_it_is_unknown():
    engine = engine_for(chain(("Linear", {"out_features": 3}), shape=[4]))
    code = code_with_weights(build_plan(engine), "Net", "w.pt", None)
    assert "def preprocess" not in code
    assert "w.pt.json" in code  # says where the preprocessing would have been


def test_exported_code_passes_ruff(tmp_path):
    many = Preprocessing("wide", (40,), (40,), tuple(str(i) for i in range(30)), 1.0,
                         tuple(0.123456789 * i for i in range(40)), tuple(1.5 for _ in range(40)))
    engine = engine_for(chain(("Linear", {"out_features": 30}), shape=[40]))
    path = tmp_path / "wide.py"
    path.write_text(code_with_weights(build_plan(engine), "Net", "w.pt", many))
    for args in (["check"], ["format", "--check"]):
        result = subprocess.run([sys.executable, "-m", "ruff", *args, "--isolated", "--no-cache",
                                 str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_blobs_round_trip_through_the_json(tmp_path):
    """The .pt.json written by training is what the exporter reads."""
    engine = engine_for(chain(("Linear", {"out_features": 3}), shape=[4]))
    trainer = Trainer(plan_run(engine, resolve_settings({}, {"epochs": 1, "device": "cpu"}),
                               dataset=blobs()))
    save_preprocessing(tmp_path / "w.pt", trainer.data.preprocessing)
    assert read_preprocessing(tmp_path / "w.pt") == trainer.data.preprocessing
