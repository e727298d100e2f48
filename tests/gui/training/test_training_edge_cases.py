"""What a hostile review of the Training tab found: each case once broke, hung or misled."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_training_flows import RUN_S, finish
from test_training_flows import trainable as trainable  # a shared fixture, re-exported

from dlbuilder.core.commands import SetParams, SetTraining
from dlbuilder.gui.training.weights_files import export_with_weights, save_weights_to

SIZE = 400_000
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


class _SlowHandler(BaseHTTPRequestHandler):
    """Serves zeros slowly, so that a download is still going when Stop is pressed."""

    def do_GET(self) -> None:  # the http.server name
        self.send_response(200)
        self.send_header("Content-Length", str(SIZE))
        self.end_headers()
        try:
            for _ in range(SIZE // 1000):
                self.wfile.write(b"\0" * 1000)
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_stop_during_the_download_of_the_data_ends_the_run(qtbot, trainable, tmp_path,
                                                           monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        files = {name: {"md5": "0" * 32, "size": SIZE} for name in MNIST_FILES}
        table = tmp_path / "table.json"
        table.write_text(json.dumps({"mnist": {"mirrors": [url], "files": files}}))
        monkeypatch.setenv("DLBUILDER_DOWNLOADS", str(table))
        window, panel = trainable(dataset="mnist")
        assert panel.start()
        qtbot.waitUntil(lambda: "Downloading" in panel.header.line.text(), timeout=20_000)
        window.actions["stop"].trigger()
        qtbot.waitUntil(lambda: not panel.running, timeout=5_000)
        assert panel.store.summaries() == [] and panel.weights.trained is None
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_pause_after_stop_does_not_hold_the_run(qtbot, trainable):
    _window, panel = trainable(epochs=300, batch_size=8)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.session._worker.batches_done > 0, timeout=RUN_S)
    panel.stop()
    assert not panel.pause_button.isEnabled()
    panel.session.pause()  # even from elsewhere, a stop wins
    finish(qtbot, panel)
    assert panel.history.finished["reason"] == "stopped"


@pytest.mark.slow
def test_saving_during_a_run_keeps_other_graphs_locked_out(qtbot, trainable, tmp_path):
    window, panel = trainable(epochs=300, batch_size=8)
    assert panel.start()
    assert window.files.save()
    assert not window.recent_menu.isEnabled()
    other = tmp_path / "other.json"
    other.write_text((tmp_path / "digits.json").read_text())
    assert not window.files.open(other, ask=False) and window.doc.path == tmp_path / "digits.json"
    assert not window.files.new()
    panel.stop()
    finish(qtbot, panel)
    assert window.recent_menu.isEnabled()


@pytest.mark.slow
def test_code_is_not_exported_with_weights_that_no_longer_fit(qtbot, trainable, tmp_path):
    window, panel = trainable(epochs=1)
    assert panel.start()
    finish(qtbot, panel)
    assert export_with_weights(window.doc.engine, panel.weights,
                               tmp_path / "a.py").startswith("Wrote")
    assert window.doc.push(SetParams("conv1", {"out_channels": 4}))
    text = export_with_weights(window.doc.engine, panel.weights, tmp_path / "b.py")
    assert "the graph changed since run 1" in text and not (tmp_path / "b.py").exists()
    window.doc.undo_stack.undo()  # back to the graph they were trained on
    assert export_with_weights(window.doc.engine, panel.weights,
                               tmp_path / "c.py").startswith("Wrote")


@pytest.mark.slow
def test_stopped_before_the_first_step_keeps_no_weights(qtbot, trainable, monkeypatch):
    _window, panel = trainable(epochs=300, batch_size=8)
    control = panel.session.control
    ready = control.reset

    def ready_but_paused() -> None:
        """Paused before the job reaches the thread. Pausing after start() returned let a
        batch slip in whenever the GUI thread was slow (a loaded machine)."""
        ready()
        control.pause()

    monkeypatch.setattr(control, "reset", ready_but_paused)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.history.started is not None, timeout=RUN_S)
    assert panel.session._worker.batches_done == 0
    panel.stop()
    finish(qtbot, panel)
    assert panel.history.finished["reason"] == "stopped"
    assert panel.weights.trained is None and not panel.save_weights_button.isEnabled()


@pytest.mark.slow
def test_a_deleted_run_takes_its_weights_off_offer(qtbot, trainable, tmp_path):
    _window, panel = trainable(epochs=1)
    assert panel.start()
    finish(qtbot, panel)
    run = panel.store.summaries()[0]
    panel.runs.weights_requested.emit(run.id)
    assert panel.weights.initial is not None
    panel.runs.delete_runs([run.id])
    assert panel.weights.initial is None and panel.weights.trained is None
    assert not panel.export_button.isEnabled()
    assert "train the graph first" in save_weights_to(panel.weights, tmp_path / "w.pt")


@pytest.mark.slow
def test_data_that_failed_to_load_blocks_start(qtbot, trainable, tmp_path):
    window, panel = trainable()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert window.doc.push(SetTraining({**window.doc.graph.training, "dataset": str(empty)}))
    qtbot.waitUntil(lambda: panel.data_panel.failure() is not None, timeout=10_000)
    assert not panel.start()
    assert "the data cannot be read" in panel.problems_label.text()


@pytest.mark.slow
def test_an_unsaved_graphs_runs_follow_it_when_saved(qtbot, make_window, tmp_path):
    window = make_window()
    window.doc.set_path(None)  # an unsaved graph
    window.show_training()
    panel = window.training.panel
    for run in panel.store.summaries():  # runs of earlier sessions in the shared test folder
        panel.store.delete([run.id])
    assert window.doc.push(SetTraining({**window.doc.graph.training, "epochs": 1}))
    assert panel.start()
    finish(qtbot, panel)
    assert len(panel.store.summaries()) == 1
    window.doc.save(tmp_path / "kept.json")
    assert panel.store.folder == tmp_path / "kept.runs"
    assert len(panel.store.summaries()) == 1 and panel.store.weights_path(
        panel.store.summaries()[0].id).exists()
    assert "Moved 1 run" in panel.message_label.text()


@pytest.mark.slow
def test_another_graph_clears_the_last_runs_views(qtbot, trainable):
    window, panel = trainable(epochs=1)
    assert panel.start()
    finish(qtbot, panel)
    assert window.files.open(Path(window.doc.path), ask=False)
    assert panel.curves.is_empty() and panel.history.started is None
