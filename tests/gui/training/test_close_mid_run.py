"""Closing the window while a run trains (issue 19): "Stop it and close?" answered Yes stops
the run at once, before the unsaved-changes question, whatever that question then gets; the
run so far is kept, as the question promises."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox
from test_training_flows import RUN_S, finish
from test_training_flows import trainable as trainable  # a shared fixture, re-exported

from dlbuilder.core.commands import SetParams


@pytest.mark.slow
def test_yes_stops_the_run_while_the_save_question_waits(qtbot, trainable, monkeypatch):
    window, panel = trainable(epochs=300, batch_size=8)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    seen = {}

    def save_question(*args, **kwargs):
        """The prompt is modal: events run meanwhile, so the run can end while it is open."""
        seen["stop requested"] = panel.session.control.stop_requested
        seen["batches"] = panel.session._worker.batches_done
        qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "warning", save_question)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.session._worker.batches_done > 0, timeout=RUN_S)
    assert window.doc.push(SetParams("conv1", {"out_channels": 4})) is False  # locked
    window.doc.undo_stack.resetClean()  # unsaved changes: the save question comes
    assert not window.close()  # cancelled: the window stays
    assert seen["stop requested"]
    assert len(panel.history.arrays("batch_loss")[0]) <= seen["batches"] + 1
    assert panel.history.finished["reason"] == "stopped"
    assert [s.reason for s in panel.store.summaries()] == ["stopped"]
    assert window.isVisible() and not window.doc.read_only_reason


@pytest.mark.slow
def test_yes_then_closing_keeps_the_run_with_its_weights(qtbot, trainable, monkeypatch):
    window, panel = trainable(epochs=300, batch_size=8)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.history.epochs != [], timeout=RUN_S)  # weights worth keeping
    window.doc.undo_stack.resetClean()
    thread = panel.session._thread
    assert window.close()
    assert thread.isFinished()
    runs = panel.store.summaries()
    assert [s.reason for s in runs] == ["stopped"]
    assert panel.store.weights_path(runs[0].id).is_file()


@pytest.mark.slow
def test_cancel_at_stop_it_and_close_leaves_the_run_going(qtbot, trainable, monkeypatch):
    window, panel = trainable(epochs=300, batch_size=8)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert panel.start()
    assert not window.close()
    assert panel.running and not panel.session.control.stop_requested
    panel.stop()
    finish(qtbot, panel)
