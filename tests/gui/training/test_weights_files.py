"""Export code with weights… (Training tab): the code carries the preprocessing the weights
were trained with, read from their `.pt.json`, and says how to use it."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from helpers import engine_for, example_graph

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.prepare import save_preprocessing
from dlbuilder.backend.settings import resolve_settings
from dlbuilder.backend.trainer import Trainer, plan_run
from dlbuilder.backend.weights import save_weights
from dlbuilder.gui.training.weights_files import WeightsChoice, export_with_weights


def _trained(folder, epochs=2):
    engine = engine_for(example_graph("digits_cnn"))
    settings = resolve_settings({}, {"epochs": epochs, "device": "cpu", "val_split": 0})
    trainer = Trainer(plan_run(engine, settings))
    for _record in trainer.run():
        pass
    weights = folder / "run-1.pt"
    save_weights(trainer.model, weights)
    save_preprocessing(weights, trainer.data.preprocessing)
    return engine, weights, trainer


@pytest.mark.slow
def test_exported_code_has_the_weights_preprocessing(tmp_path):
    engine, weights, trainer = _trained(tmp_path)
    choice = WeightsChoice()
    choice.use(weights, "run 1")
    target = tmp_path / "out" / "digits_net.py"
    target.parent.mkdir()
    assert export_with_weights(engine, choice, target).startswith("Wrote")
    spec = importlib.util.spec_from_file_location("digits_net", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Net()
    model.load_state_dict(torch.load(target.with_suffix(".pt"), weights_only=True))
    model.eval()
    raw = load_dataset("digits").train.x
    prep = trainer.data.preprocessing
    assert torch.equal(module.preprocess(raw), prep.apply(raw))
    with torch.no_grad():
        ours = model(module.preprocess(raw)).argmax(1)
        theirs = trainer.model.cpu().eval()(prep.apply(raw)).argmax(1)
    assert torch.equal(ours, theirs)
    assert np.mean(ours.numpy() == load_dataset("digits").train.y) > 0.8
    text = target.read_text()
    assert "preprocess(samples)" in text and "digits_net.pt" in text
    assert (tmp_path / "out" / "digits_net.pt.json").exists()


@pytest.mark.slow
def test_weights_without_their_json_export_with_a_warning_in_the_docstring(tmp_path):
    engine, weights, _trainer = _trained(tmp_path, epochs=1)
    weights.with_name("run-1.pt.json").unlink()
    choice = WeightsChoice()
    choice.use(weights, "run 1")
    message = export_with_weights(engine, choice, tmp_path / "m.py")
    assert message.startswith("Wrote") and "preprocessing" in message
    assert "m.pt.json) was missing" in (tmp_path / "m.py").read_text()


@pytest.mark.slow
def test_the_dialog_starts_where_exports_go_and_remembers(make_window, tmp_path, monkeypatch):
    from pathlib import Path

    from PySide6.QtWidgets import QFileDialog

    from dlbuilder.gui.export.export_folder import documents_folder
    from dlbuilder.gui.training.weights_files import export_with_weights_dialog

    _engine, weights, _trainer = _trained(tmp_path, epochs=1)
    window = make_window()  # the digits example: never proposed as the place to write
    choice = WeightsChoice()
    choice.use(weights, "run 1")
    asked = []

    def answer(parent, title, start, filters):
        asked.append(Path(start))
        return str(tmp_path / "net.py"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    assert export_with_weights_dialog(window, choice, window.doc,
                                      window.settings).startswith("Wrote")
    assert asked[0].parent == documents_folder()
    assert window.code.suggested_path().parent == tmp_path
