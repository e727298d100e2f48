"""The data folder chosen for a built-in dataset is remembered in the app's settings and used by
every graph that names the dataset without a folder of its own (issue 19: MNIST's folder had
to be chosen again for every graph), without being written into those graphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from dlbuilder.backend.datasets.builtin import IDX_FILES
from dlbuilder.backend.datasets.idx import write_idx

WAIT_MS = 20_000


def small_mnist(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (100, 28, 28)), np.arange(100) % 10,
              rng.integers(0, 256, (20, 28, 28)), np.arange(20) % 10)
    for stem, array in zip(IDX_FILES, arrays, strict=True):
        write_idx(folder / f"{stem}.gz", np.asarray(array, dtype=np.uint8))
    return folder


@pytest.mark.slow
def test_a_chosen_folder_serves_the_next_graph_too(qtbot, make_window, settings, tmp_path,
                                                    monkeypatch):
    folder = str(small_mnist(tmp_path / "mnist"))
    window = make_window(example="lenet5")
    window.show_training()
    data = window.training.panel.data_panel
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: folder)
    qtbot.mouseClick(data.folder_button, Qt.MouseButton.LeftButton)
    assert window.doc.graph.training["data_dir"] == folder  # chosen for this graph
    qtbot.waitUntil(lambda: data.dataset() is not None, timeout=WAIT_MS)

    window.doc.undo_stack.setClean()
    assert window.files.open_example("mlp_mnist")
    assert "data_dir" not in window.doc.graph.training and not window.doc.modified
    assert data.source() == ("mnist", folder) and data.remembered_folder() == folder
    assert data.folder_edit.text() == folder and "Remembered" in data.folder_edit.toolTip()
    qtbot.waitUntil(lambda: data.dataset() is not None, timeout=WAIT_MS)
    assert window.training.panel.start_problems() == []

    qtbot.mouseClick(data.clear_button, Qt.MouseButton.LeftButton)  # back to the cache
    assert data.source() == ("mnist", None) and settings.value("data_folders/mnist") is None
    assert "data_dir" not in window.doc.graph.training


@pytest.mark.slow
def test_a_run_reads_the_remembered_folder(qtbot, make_window, settings, tmp_path):
    from test_training_flows import finish

    folder = str(small_mnist(tmp_path / "mnist"))
    settings.setValue("data_folders/mnist", folder)
    window = make_window(example="mlp_mnist")
    window.doc.save(tmp_path / "mlp.json")
    window.show_training()
    panel = window.training.panel
    panel.data_panel.loader.cancel(panel.data_panel._key)  # the run reads it on its own
    window.doc.graph.training = {**window.doc.graph.training, "epochs": 1}
    assert panel.start()
    assert panel._job.settings.data_dir == folder
    finish(qtbot, panel)
    assert panel.history.finished is not None, panel.message_label.text()
    assert panel.store.summaries()[0].reason == "completed"
