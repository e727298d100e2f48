"""The training thread: records arrive as queued signals, Stop acts within one batch, a failure
becomes a message, and the thread ends when asked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dlbuilder.backend.settings import resolve_settings
from dlbuilder.core.fileformat import graph_to_dict, load_graph
from dlbuilder.gui.training.session import Job, TrainingSession
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import examples_dir


def digits_job(tmp_path: Path, **settings) -> Job:
    graph = load_graph(examples_dir() / "digits_cnn.json", REGISTRY)
    values = {"epochs": 2, "batch_size": 64, **settings}
    return Job(graph=graph_to_dict(graph), settings=resolve_settings(graph.training, values),
               weights_out=tmp_path / "w.pt")


@pytest.fixture
def session(qtbot):
    made = TrainingSession()
    yield made
    assert made.shutdown(10_000)


class Collector:
    def __init__(self, session: TrainingSession) -> None:
        self.records, self.failures, self.outcomes, self.evaluations = [], [], [], []
        self.threads = set()
        session.records_arrived.connect(self._on_records)
        session.failed.connect(self.failures.append)
        session.ended.connect(self.outcomes.append)
        session.evaluated.connect(self.evaluations.append)

    def _on_records(self, bundle) -> None:
        self.threads.add(threading.current_thread().name)
        self.records.extend(bundle)

    def kinds(self) -> list[str]:
        return [r.kind for r in self.records]


@pytest.mark.slow
def test_a_run_reports_every_record_in_the_gui_thread_and_keeps_its_weights(qtbot, session,
                                                                           tmp_path):
    seen = Collector(session)
    session.start(digits_job(tmp_path))
    assert session.running
    qtbot.waitUntil(lambda: bool(seen.outcomes), timeout=60_000)
    kinds = seen.kinds()
    assert kinds[0] == "started" and kinds[-1] == "finished"
    per_epoch = seen.records[0].batches_per_epoch
    assert kinds.count("batch") == 2 * per_epoch and kinds.count("epoch") == 2
    assert seen.threads == {threading.main_thread().name}
    assert seen.outcomes[0].reason == "completed" and seen.failures == []
    assert (tmp_path / "w.pt").exists() and (tmp_path / "w.pt.json").exists()
    evaluation = seen.evaluations[0]
    assert evaluation.split == "val" and evaluation.images.shape[1:] == (8, 8)
    assert len(evaluation.labels) == seen.records[0].val_samples
    assert not session.running


@pytest.mark.slow
def test_stop_takes_effect_within_one_batch_and_a_new_run_starts(qtbot, session, tmp_path):
    seen = Collector(session)
    session.start(digits_job(tmp_path, epochs=200, batch_size=8))
    qtbot.waitUntil(lambda: seen.kinds().count("batch") >= 3, timeout=60_000)
    session.pause()
    qtbot.wait(200)  # whatever was on its way has arrived
    paused_at = seen.kinds().count("batch")
    qtbot.wait(300)
    assert seen.kinds().count("batch") <= paused_at + 1  # paused within one batch
    session.stop()  # a paused run wakes up to stop
    qtbot.waitUntil(lambda: bool(seen.outcomes), timeout=30_000)
    assert seen.kinds().count("batch") <= paused_at + 1
    assert seen.records[-1].reason == "stopped"
    seen.records.clear()
    seen.outcomes.clear()
    session.start(digits_job(tmp_path, epochs=1))
    qtbot.waitUntil(lambda: bool(seen.outcomes), timeout=60_000)
    assert seen.outcomes[0].reason == "completed"


def test_an_exception_inside_training_becomes_a_message(qtbot, session, tmp_path, monkeypatch):
    from dlbuilder.backend import trainer

    def broken(self):
        yield from ()
        raise RuntimeError("the optimizer fell over")

    monkeypatch.setattr(trainer.Trainer, "run", broken)
    seen = Collector(session)
    session.start(digits_job(tmp_path))
    qtbot.waitUntil(lambda: bool(seen.outcomes), timeout=60_000)
    assert seen.outcomes[0].reason == "failed"
    assert "RuntimeError: the optimizer fell over" in seen.failures[0]
    assert not session.running


def test_data_that_does_not_fit_is_said_before_training(qtbot, session, tmp_path):
    job = digits_job(tmp_path)
    job.graph["nodes"][0]["params"]["shape"] = [1, 28, 28]
    seen = Collector(session)
    session.start(job)
    qtbot.waitUntil(lambda: bool(seen.outcomes), timeout=60_000)
    assert seen.failures and "Input is 1x28x28 but digits images are 1x8x8" in seen.failures[0]
    assert "batch" not in seen.kinds()


def test_shutdown_mid_run_stops_and_joins_the_thread(qtbot, tmp_path):
    session = TrainingSession()
    seen = Collector(session)
    session.start(digits_job(tmp_path, epochs=500, batch_size=8))
    qtbot.waitUntil(lambda: "batch" in seen.kinds(), timeout=60_000)
    assert session.shutdown(10_000)


SCRIPT_THAT_LEAVES_A_RUN = """
import sys, tempfile, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
sys.path.insert(0, sys.argv[1])
from test_session import Collector, digits_job
from dlbuilder.gui.training.session import TrainingSession

app = QApplication([])
session = TrainingSession()
seen = Collector(session)
session.start(digits_job(Path(tempfile.mkdtemp()), epochs=500, batch_size=8))
deadline = time.monotonic() + 60
while "batch" not in seen.kinds() and time.monotonic() < deadline:
    app.processEvents()
print("training" if session.running else "not training", flush=True)
"""


@pytest.mark.slow
def test_a_script_that_exits_mid_run_without_shutdown_ends_cleanly(tmp_path):
    """Qt aborts the process when a running QThread is destroyed; the session's exit hook
    stops the run first."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", SCRIPT_THAT_LEAVES_A_RUN,
                           str(Path(__file__).parent)], capture_output=True, text=True,
                          timeout=120, env=env, check=False)
    assert done.stdout.strip() == "training", done.stderr
    assert done.returncode == 0, done.stderr
    assert "Destroyed while thread" not in done.stderr
