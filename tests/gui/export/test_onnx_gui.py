"""File ▸ Export ▸ ONNX…: the export runs off the GUI thread, shows that it is busy, and
reports success or a clear error (issue 19: the app had no ONNX export)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from dlbuilder.backend import onnx_export


@pytest.fixture
def answers(monkeypatch):
    """The save dialog answers `answers["path"]`; message boxes are recorded, not shown."""
    chosen = {"path": "", "boxes": [], "question": QMessageBox.StandardButton.No}
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (chosen["path"], ""))
    monkeypatch.setattr(QMessageBox, "open", lambda box, *a: chosen["boxes"].append(
        box.text() + " " + box.informativeText()))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: chosen["question"])
    return chosen


@pytest.mark.slow
def test_onnx_export_runs_in_a_worker_thread_and_reports(qtbot, make_window, tmp_path,
                                                         answers, monkeypatch):
    ort = pytest.importorskip("onnxruntime", reason="ONNX is an optional extra")
    threads = []
    real = onnx_export.export_onnx

    def recording(model, path, opset=None):
        threads.append(threading.get_ident())
        return real(model, path, opset)

    monkeypatch.setattr(onnx_export, "export_onnx", recording)
    window = make_window()
    answers["path"] = str(tmp_path / "digits")
    action = window.actions["export_onnx"]
    with qtbot.waitSignal(window.onnx.finished, timeout=120_000) as finished:
        action.trigger()
        assert not action.isEnabled()  # busy: a second export waits for this one
        assert window.onnx.busy_bar.isVisible()
    ok, message = finished.args
    assert ok, message
    assert threads and threads[0] != threading.get_ident()
    target = tmp_path / "digits.onnx"
    assert target.exists() and str(target) in message and "initial" in message
    assert str(target) in window.statusBar().currentMessage()
    assert action.isEnabled() and not window.onnx.busy_bar.isVisible()
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"


def test_without_the_onnx_extra_it_says_how_to_install(qtbot, make_window, answers,
                                                       monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_export, "onnx_missing",
                        lambda: 'ONNX export needs onnxscript; pip install "dlbuilder[onnx]"')
    window = make_window()
    answers["path"] = str(tmp_path / "m.onnx")
    window.actions["export_onnx"].trigger()
    assert not window.onnx.busy
    assert any('pip install "dlbuilder[onnx]"' in text for text in answers["boxes"])
    assert not (tmp_path / "m.onnx").exists()


def test_a_graph_with_errors_is_refused_before_anything_runs(make_window, answers, tmp_path):
    from helpers import chain

    window = make_window(graph=chain(("Conv2d", {"out_channels": 2, "kernel_size": 9}),
                                     shape=[1, 4, 4]))
    answers["path"] = str(tmp_path / "m.onnx")
    window.actions["export_onnx"].trigger()
    assert not window.onnx.busy
    assert any("kernel 9" in text for text in answers["boxes"])


@pytest.mark.slow
def test_a_failed_export_reports_the_reason(qtbot, make_window, answers, tmp_path):
    pytest.importorskip("onnxscript", reason="ONNX is an optional extra")
    window = make_window()
    answers["path"] = str(tmp_path / "no" / "such" / "m.onnx")
    with qtbot.waitSignal(window.onnx.finished, timeout=120_000) as finished:
        window.actions["export_onnx"].trigger()
    ok, message = finished.args
    assert not ok and "No such file or directory" in message
    assert any("No such file or directory" in text for text in answers["boxes"])


@pytest.mark.slow
def test_trained_weights_are_offered_and_exported(qtbot, make_window, tmp_path, answers):
    ort = pytest.importorskip("onnxruntime", reason="ONNX is an optional extra")
    import torch

    from dlbuilder.backend.compiler import compile_graph
    from dlbuilder.backend.weights import save_weights
    from dlbuilder.core.fileformat import graph_to_dict

    window = make_window()
    model = compile_graph(window.doc.graph)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))  # "trained": not the initial weights
    save_weights(model, tmp_path / "run-1.pt")
    panel = window.training.ensure_panel()
    panel.weights.use(tmp_path / "run-1.pt", "run 1", graph_to_dict(window.doc.graph))
    answers["path"] = str(tmp_path / "trained.onnx")
    answers["question"] = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(window.onnx.finished, timeout=120_000) as finished:
        window.actions["export_onnx"].trigger()
    ok, message = finished.args
    assert ok and "trained weights of run 1" in message
    x = torch.randn(3, 1, 8, 8)
    session = ort.InferenceSession(str(tmp_path / "trained.onnx"),
                                   providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        assert abs(got - model.eval()(x).numpy()).max() <= 1e-5
