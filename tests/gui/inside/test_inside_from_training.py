"""Look Inside reached from the Training tab: the data preview's samples, the evaluated
samples' places in their dataset split (a validation sample is a training-split sample), and a
whole run: train, then look into the run's weights at one of its wrong predictions."""

from __future__ import annotations

import numpy as np
import pytest
from inside_helpers import answered, compiled, loaded, reference, softmax, wait_for
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from dlbuilder.backend.datasets import load_dataset
from dlbuilder.backend.inside.samples import find_row
from dlbuilder.backend.prepare import prepare_data
from dlbuilder.core.commands import SetTraining
from dlbuilder.gui.training.samples_view import first_of_each_class


@pytest.fixture(autouse=True)
def own_runs(monkeypatch, tmp_path):
    monkeypatch.setattr("dlbuilder.gui.training.panel.data_dir", lambda: tmp_path / "data")


def test_validation_samples_keep_their_place_in_the_training_split():
    data = load_dataset("digits")
    prepared = prepare_data(data, val_split=0.2, seed=3, normalize=True)
    index = prepared.val_index
    assert index is not None and len(index) == len(prepared.val_y)
    assert np.array_equal(prepared.val_y.numpy(), data.train.y[index])
    again = prepared.preprocessing.apply(data.train.x[index])
    assert np.array_equal(again.numpy(), prepared.val_x.numpy())
    assert prepare_data(data, val_split=0, seed=3, normalize=True).val_index is None


def test_a_double_click_on_the_data_preview_looks_at_that_sample(make_window):
    window = make_window()
    training = window.training.ensure_panel()
    assert wait_for(lambda: training.data_panel.dataset() is not None)
    samples = training.data_panel.samples
    samples.resize(360, 100)
    cell = samples.cell_rect(3, samples.width()).center()  # the first "3" of the data
    click = QMouseEvent(QEvent.Type.MouseButtonDblClick, QPointF(cell), QPointF(cell),
                        Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(samples, click)
    panel = window.inside.panel
    assert panel is not None and window.docks["inside"].isVisible()
    data = training.data_panel.dataset()
    index = first_of_each_class(data)[3][1]
    assert (panel.picker.split, panel.picker.index) == find_row(panel.picker.splits, "train",
                                                                 index)
    loaded(panel)
    look = answered(panel, lambda a: np.array_equal(a.look.raw, data.train.x[index])).look
    assert panel.prediction.bars.marked == 3 and look.probabilities is not None


@pytest.mark.slow
def test_after_a_run_its_weights_answer_for_its_wrong_predictions(make_window, tmp_path):
    window = make_window()
    window.doc.save(tmp_path / "digits.json")
    assert window.doc.push(SetTraining({**window.doc.graph.training, "epochs": 2}))
    panel = window.inside_side.show()
    loaded(panel)
    training = panel.training_panel()
    assert training.start()
    assert wait_for(lambda: not training.running, 180)
    assert wait_for(lambda: training.results.grid.evaluation is not None, 30)
    assert wait_for(lambda: panel.kind == "last" and panel.session.info is not None
                    and panel.session.info.source.weights == training.weights.trained, 30)
    assert panel.weights_label.text().startswith("Weights: <b>run 1, ")
    assert panel.weights_label.text().endswith("% val</b>")
    evaluation = training.results.grid.evaluation
    assert evaluation.split == "val" and evaluation.indices is not None
    first = int(evaluation.wrong_first()[0])
    view = training.results.grid.view
    view.doubleClicked.emit(view.model().index(0, 0))
    data = training.data_panel.dataset()
    index = evaluation.dataset_index(first)
    assert (panel.picker.split, panel.picker.index) == find_row(panel.picker.splits, "train",
                                                                 index)
    assert int(data.train.y[index]) == int(evaluation.labels[first])
    look = answered(panel, lambda a: np.array_equal(a.look.raw, data.train.x[index])).look
    # the run's own evaluation said the same of this sample
    assert np.allclose(look.probabilities, evaluation.probabilities[first], atol=1e-5)
    model = compiled(panel.source.graph, training.weights.trained)
    prep = panel.session._worker._probe.preprocessing
    logits, _ = reference(model, prep.apply(data.train.x[index][None]))
    assert np.allclose(look.probabilities, softmax(logits), atol=1e-6)
