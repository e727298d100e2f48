"""File ▸ Import PyTorch Model… and Import ONNX… end to end in the window: a refusal shows the
whole report and keeps the open graph; a success opens the model as a new graph whose weights
start the next run, without freezing the window; Cancel drops the import (issue 15)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.gui.importing import import_worker
from dlbuilder.gui.importing.import_worker import ImportJob, run_import

SMALL_MODEL = '''
import torch
from torch import nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        return self.fc(torch.flatten(x, 1))
'''

UNSUPPORTED_MODEL = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.lstm = nn.LSTM(8, 8)

    def forward(self, x):
        if x.sum() > 0:
            x = self.fc(x)
        out, _ = self.lstm(x)
        return out
'''

WAIT_MS = 120_000  # loading torch and tracing, on a busy machine


def _import(window, qtbot, source: Path, shape: str, kind: str = "import_torch"):
    """Open the dialog from the File menu, fill it, press Import; the dialog."""
    window.actions[kind].trigger()
    dialog = window.import_side.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.source.setText(str(source))
    dialog.source.editingFinished.emit()
    dialog.shape.setText(shape)
    assert dialog.import_button.isEnabled()
    dialog.import_button.click()
    assert dialog.busy_bar.isVisible() and not dialog.import_button.isEnabled()
    return dialog


@pytest.mark.slow
def test_a_refused_import_shows_every_place_and_keeps_the_graph(make_window, qtbot,
                                                                 tmp_path) -> None:
    window = make_window()
    before, path = graph_to_dict(window.doc.graph), window.doc.path
    model = tmp_path / "unsupported.py"
    model.write_text(UNSUPPORTED_MODEL)
    dialog = _import(window, qtbot, model, "5x8")
    qtbot.waitUntil(lambda: dialog.report.isVisible(), timeout=WAIT_MS)
    report = dialog.report.toPlainText()
    assert "cannot be imported" in report and "lstm" in report.lower()
    assert dialog.report.isReadOnly() and dialog.isVisible()  # open, to fix and try again
    assert dialog.name.isEnabled() and dialog.shape.isEnabled()
    assert graph_to_dict(window.doc.graph) == before and window.doc.path == path
    dialog.name.setCurrentText("NoSuchModel")  # a failure is shown the same way
    dialog.import_button.click()
    qtbot.waitUntil(lambda: "NoSuchModel" in dialog.report.toPlainText(), timeout=WAIT_MS)
    assert graph_to_dict(window.doc.graph) == before
    dialog.reject()


@pytest.mark.slow
def test_a_successful_import_opens_the_model_with_its_weights(make_window, qtbot, tmp_path,
                                                              monkeypatch) -> None:
    import torch

    from dlbuilder.backend.compiler import compile_graph

    asked = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: (
        asked.append(a[2]), QMessageBox.StandardButton.Discard)[1])
    window = make_window()
    window.doc.add_layer("ReLU")  # unsaved work: the usual question comes first
    model = tmp_path / "small_net.py"
    model.write_text(SMALL_MODEL)
    threads, gui_ran, ticked = [], [], threading.Event()
    real = import_worker.run_import

    def recording(job):  # the worker waits for a GUI timer: a frozen window never sets it
        threads.append(threading.get_ident())
        gui_ran.append(ticked.wait(10))
        return real(job)

    monkeypatch.setattr(import_worker, "run_import", recording)
    _import(window, qtbot, model, "1x8x8")
    QTimer.singleShot(50, ticked.set)
    qtbot.waitUntil(lambda: window.import_side.dialog is None, timeout=WAIT_MS)
    assert gui_ran == [True] and threads[0] != threading.get_ident()
    assert asked and "Save the changes" in asked[0]
    doc = window.doc
    assert doc.path is None and doc.modified and "Net" in window.windowTitle()
    assert {"conv1", "fc"} <= set(doc.graph.nodes())
    assert "Imported" in window.statusBar().currentMessage()
    weights = window.training.ensure_panel().weights
    assert weights.initial is not None and weights.initial.exists()
    assert weights.initial.parent == import_worker.imported_weights_dir()
    state = torch.load(weights.initial, weights_only=True)
    compile_graph(doc.graph).load_state_dict(state)  # they fit the graph as opened


@pytest.mark.slow
def test_saving_an_imported_graph_offers_its_weights_beside_it(make_window, qtbot, tmp_path,
                                                               monkeypatch) -> None:
    window = make_window()
    model = tmp_path / "small_net.py"
    model.write_text(SMALL_MODEL)
    _import(window, qtbot, model, "1x8x8")
    qtbot.waitUntil(lambda: window.import_side.dialog is None, timeout=WAIT_MS)
    kept = window.training.ensure_panel().weights.initial
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr("dlbuilder.gui.window.file_ops.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "mine.json"), ""))
    assert window.files.save()
    beside = tmp_path / "mine.pt"
    assert beside.read_bytes() == kept.read_bytes()
    assert window.training.panel.weights.start == beside
    assert "mine.pt" in window.statusBar().currentMessage()


@pytest.mark.slow
def test_saving_an_imported_graph_names_its_weights_and_keeps_the_trained_run(
        make_window, qtbot, tmp_path, monkeypatch) -> None:
    """Review 15, High 1 and 3: the weights saved beside the file are the graph's starting
    weights when it is opened again; the run trained before the save stays the one to save
    and export."""
    from dlbuilder.core.fileformat import load_graph
    from dlbuilder.layers import REGISTRY

    window = make_window()
    model = tmp_path / "small_net.py"
    model.write_text(SMALL_MODEL)
    _import(window, qtbot, model, "1x8x8")
    qtbot.waitUntil(lambda: window.import_side.dialog is None, timeout=WAIT_MS)
    panel = window.training.ensure_panel()
    run = tmp_path / "run-1.pt"
    run.write_bytes(b"trained")
    weights = panel.weights
    weights.trained, weights.trained_from = run, "run 1"
    weights.trained_graph = graph_to_dict(window.doc.graph)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr("dlbuilder.gui.window.file_ops.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "mine.json"), ""))
    assert window.files.save()
    assert panel.weights.trained == run and panel.weights.trained_from == "run 1"
    assert "Trained weights to save: run 1" in panel.weights_label.text()
    assert "starts from the weights of mine.pt" in panel.weights_label.text()
    assert not window.doc.modified
    assert load_graph(tmp_path / "mine.json", REGISTRY).training["init_weights"] == "mine.pt"
    again = make_window(example=None)
    assert again.files.open(tmp_path / "mine.json", ask=False)
    again.show_training()
    assert again.training.panel.weights.start == tmp_path / "mine.pt"
    assert "starts from the weights of mine.pt" in again.training.panel.weights_label.text()


def test_cancel_closes_at_once_and_drops_the_import(make_window, qtbot, tmp_path,
                                                    monkeypatch) -> None:
    window = make_window()
    before = graph_to_dict(window.doc.graph)
    release = threading.Event()
    jobs = []

    def slow(job: ImportJob):  # an import that is still tracing when Cancel is pressed
        jobs.append(job)
        release.wait(10)
        job.weights.parent.mkdir(parents=True, exist_ok=True)
        job.weights.write_bytes(b"weights")
        return import_worker.ImportOutcome(job, report="never shown", title="failed")

    monkeypatch.setattr(import_worker, "run_import", slow)
    model = tmp_path / "m.py"
    model.write_text(SMALL_MODEL)
    dialog = _import(window, qtbot, model, "1x8x8")
    dialog.buttons.rejected.emit()  # Cancel
    assert window.import_side.dialog is None or not dialog.isVisible()
    release.set()
    window.import_side.runner.pool.waitForDone()
    qtbot.waitUntil(lambda: jobs and not jobs[0].weights.exists(), timeout=5000)
    assert graph_to_dict(window.doc.graph) == before
    assert not window.import_side.runner.busy


def test_the_worker_turns_any_failure_of_user_code_into_a_report(tmp_path, monkeypatch) -> None:
    def exits(job):
        raise SystemExit("the model file called sys.exit()")

    monkeypatch.setattr(import_worker, "_imported", exits)
    outcome = run_import(ImportJob("pytorch", "m.py:Net", None, tmp_path / "w.pt"))
    assert not outcome.ok and "SystemExit" in outcome.report and "sys.exit" in outcome.report
    assert not (tmp_path / "w.pt").exists()


@pytest.mark.slow
def test_an_onnx_file_imports_into_the_window(make_window, qtbot, tmp_path) -> None:
    pytest.importorskip("onnx", reason="ONNX is an optional extra")
    from dlbuilder.backend import onnx_export
    from dlbuilder.backend.compiler import compile_graph
    from dlbuilder.core.fileformat import load_graph
    from dlbuilder.layers import REGISTRY
    from dlbuilder.resources import examples_dir

    if onnx_export.onnx_missing():
        pytest.skip(onnx_export.onnx_missing())
    target = tmp_path / "digits.onnx"
    graph = load_graph(examples_dir() / "digits_cnn.json", REGISTRY)
    onnx_export.export_onnx(compile_graph(graph), target)
    window = make_window(example="lenet5")
    window.doc.undo_stack.setClean()
    _import(window, qtbot, target, "", kind="import_onnx")
    qtbot.waitUntil(lambda: window.import_side.dialog is None, timeout=WAIT_MS)
    assert window.doc.path is None and "digits" in window.windowTitle()
    assert window.training.ensure_panel().weights.initial.exists()
