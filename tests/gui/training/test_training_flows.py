"""Training from the window, as a user does it: Train, watch the curves and the progress bar,
Stop, start again, let it finish, read the confusion matrix and the predictions; failures are
messages; the graph is locked meanwhile; closing mid-run ends the thread."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from dlbuilder.core.commands import SetParams, SetTraining
from dlbuilder.gui.training.weights_files import export_with_weights

RUN_S = 120_000  # ms: generous, the machine is shared


@pytest.fixture
def trainable(make_window, tmp_path: Path):
    """A window on the digits example saved in tmp_path (so its runs stay there), with the
    Training tab built; `trainable(epochs=2, ...)` sets the training section."""
    def make(**training):
        window = make_window()
        window.doc.save(tmp_path / "digits.json")
        values = {**window.doc.graph.training, "epochs": 2, **training}
        assert window.doc.push(SetTraining(values))
        window.show_training()
        panel = window.training.panel
        assert panel is not None
        return window, panel
    return make


def finish(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.running, timeout=RUN_S)


@pytest.mark.slow
def test_train_watch_stop_restart_finish_and_read_the_results(qtbot, trainable):
    window, panel = trainable(epochs=300, batch_size=8)
    qtbot.waitUntil(lambda: panel.data_panel.dataset() is not None, timeout=10_000)
    window.actions["train"].trigger()
    assert panel.running and not window.actions["train"].isEnabled()
    qtbot.waitUntil(lambda: panel.curves.point_counts().get("batch_loss", 0) > 5,
                    timeout=RUN_S)
    first = panel.header.run_value
    qtbot.waitUntil(lambda: panel.header.run_value > first, timeout=RUN_S)
    assert "batch" in panel.header.line.text() and "samples/s" in panel.header.line.text()

    worker = panel.session._worker
    window.actions["stop"].trigger()
    at_stop = worker.batches_done
    finish(qtbot, panel)
    batches = len(panel.history.arrays("batch_loss")[0])
    assert at_stop <= batches <= at_stop + 1  # the batch under way, then no more
    assert panel.history.finished["reason"] == "stopped"

    assert window.doc.push(SetTraining({**window.doc.graph.training, "epochs": 3,
                                        "batch_size": 64}))
    panel.start_button.click()
    finish(qtbot, panel)
    assert panel.history.finished["reason"] == "completed"
    assert len(panel.history.epochs) == 3
    qtbot.waitUntil(lambda: panel.results.matrix.counts() is not None
                    and panel.results.matrix.counts().sum() > 0, timeout=10_000)
    val = panel.history.started["val_samples"]
    assert panel.results.matrix.counts().sum() == val
    assert panel.results.grid.model.rowCount() == val
    assert "accuracy" in panel.results.summary().lower()
    assert [s.reason for s in panel.store.summaries()] == ["stopped", "completed"]
    assert panel.runs.visible_runs() and len(panel.runs.visible_runs()) == 2


@pytest.mark.slow
def test_the_graph_is_locked_while_it_trains(qtbot, trainable):
    window, panel = trainable(epochs=300, batch_size=8)
    assert panel.start()
    assert window.doc.read_only_reason and window.lock_banner.isVisibleTo(window)
    refused = []
    window.doc.refused.connect(refused.append)
    assert not window.doc.push(SetParams("conv1", {"out_channels": 4}))
    assert refused and "locked" in refused[0]
    assert not window.undo_action.isEnabled() and not window.actions["delete"].isEnabled()
    assert not panel.form.isEnabled() or not panel.start_button.isEnabled()
    panel.stop()
    finish(qtbot, panel)
    assert window.doc.read_only_reason is None and not window.lock_banner.isVisibleTo(window)
    assert window.doc.push(SetParams("conv1", {"out_channels": 4}))
    assert window.undo_action.isEnabled()


@pytest.mark.slow
def test_problems_in_the_graph_or_the_data_block_start(qtbot, trainable):
    window, panel = trainable()
    qtbot.waitUntil(lambda: panel.data_panel.dataset() is not None, timeout=10_000)
    assert window.doc.push(SetParams("input", {"shape": [1, 28, 28]}))
    panel.refresh_problems()
    assert not panel.start()
    text = panel.problems_label.text()
    assert "Input is 1x28x28 but digits images are 1x8x8" in text
    window.doc.undo_stack.undo()
    assert window.doc.push(SetTraining({**window.doc.graph.training, "lr": -1}))
    assert not panel.start() and "training.lr" in panel.problems_label.text()
    window.doc.undo_stack.undo()
    panel.refresh_problems()
    assert panel.start_problems() == [] and panel.problems_label.text() == ""


@pytest.mark.slow
def test_an_exception_in_training_shows_a_message_and_the_app_goes_on(qtbot, trainable,
                                                                     monkeypatch):
    from dlbuilder.backend import trainer

    def broken(self):
        yield from ()
        raise RuntimeError("out of cheese")

    monkeypatch.setattr(trainer.Trainer, "run", broken)
    window, panel = trainable()
    assert panel.start()
    finish(qtbot, panel)
    assert "RuntimeError: out of cheese" in panel.message_label.text()
    assert window.doc.read_only_reason is None and panel.start_button.isEnabled()
    assert window.doc.push(SetParams("conv1", {"out_channels": 4}))
    monkeypatch.undo()
    assert panel.start()
    finish(qtbot, panel)
    assert panel.history.finished["reason"] == "completed"


@pytest.mark.slow
def test_closing_the_window_mid_run_asks_then_stops_and_joins(qtbot, trainable, monkeypatch):
    window, panel = trainable(epochs=300, batch_size=8)
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[1])
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.session._worker.batches_done > 0, timeout=RUN_S)
    thread = panel.session._thread
    window.doc.save()  # no unsaved-changes question after the training one
    assert window.close()
    assert asked == ["Training is running"]
    assert thread.isFinished()


@pytest.mark.slow
def test_a_cancelled_close_keeps_training(qtbot, trainable, monkeypatch):
    window, panel = trainable(epochs=300, batch_size=8)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert panel.start()
    assert not window.close() and panel.running
    panel.stop()
    finish(qtbot, panel)


@pytest.mark.slow
def test_trained_weights_export_with_the_code_and_load_into_it(qtbot, trainable, tmp_path):
    window, panel = trainable(epochs=1)
    assert not panel.export_button.isEnabled()
    assert panel.start()
    finish(qtbot, panel)
    assert panel.export_button.isEnabled() and panel.weights.trained.exists()
    text = export_with_weights(window.doc.engine, panel.weights, tmp_path / "digits_net.py")
    assert text.startswith("Wrote")
    spec = importlib.util.spec_from_file_location("digits_net", tmp_path / "digits_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Net()
    model.load_state_dict(torch.load(tmp_path / "digits_net.pt", weights_only=True))
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert "digits_net.pt" in (tmp_path / "digits_net.py").read_text()


@pytest.mark.slow
def test_a_run_can_start_from_the_weights_of_an_earlier_one(qtbot, trainable):
    _window, panel = trainable(epochs=1)
    assert panel.start()
    finish(qtbot, panel)
    first = panel.store.summaries()[0]
    panel.runs.weights_requested.emit(first.id)
    assert panel.weights.initial == panel.store.weights_path(first.id)
    assert panel.start()
    finish(qtbot, panel)
    started_from = panel.history.epochs[0]["train_loss"]
    assert started_from < panel.store.history(first.id).epochs[0]["train_loss"]


@pytest.mark.slow
def test_settings_edited_in_the_form_go_to_the_file_as_one_undo_step(qtbot, trainable):
    window, panel = trainable()
    before = dict(window.doc.graph.training)
    panel.form.changed.emit({"lr": 0.01})
    assert window.doc.graph.training["lr"] == 0.01 and window.doc.modified
    window.doc.undo_stack.undo()
    assert window.doc.graph.training == before


@pytest.mark.slow
def test_the_end_of_a_run_shows_results_only_to_one_watching_the_curves(qtbot, trainable):
    window, panel = trainable(epochs=1)
    qtbot.waitUntil(lambda: panel.data_panel.dataset() is not None, timeout=10_000)
    for watching, shown in ((panel.curves, panel.results), (panel.health, panel.health),
                            (panel.runs_split, panel.runs_split)):
        panel.tabs.setCurrentWidget(panel.results)  # the last run's results: a run leaves
        assert panel.start()
        assert panel.tabs.currentWidget() is panel.curves
        panel.tabs.setCurrentWidget(watching)
        finish(qtbot, panel)
        assert panel.history.finished["reason"] == "completed"
        assert panel.tabs.currentWidget() is shown
    panel.tabs.setCurrentWidget(panel.health)
    assert panel.start()
    assert panel.tabs.currentWidget() is panel.health  # watching health: it stays
    finish(qtbot, panel)
    assert panel.tabs.currentWidget() is panel.health
