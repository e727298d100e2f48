"""A run started from the command line shows in the app's Runs tab: `dlbuilder train
net.json` keeps it in net.runs/, the store the app opens with net.json."""

from __future__ import annotations

import pytest
from helpers import example_graph
from PySide6.QtWidgets import QApplication

from dlbuilder.cli import main
from dlbuilder.core.fileformat import save_graph


@pytest.mark.slow  # it trains, through the command line
def test_a_run_trained_by_the_cli_is_listed_compared_and_its_weights_offered(
        make_window, tmp_path, capsys) -> None:
    graph = tmp_path / "net.json"
    save_graph(example_graph("digits_cnn"), graph)
    assert main(["train", str(graph), "--epochs", "2", "--seed", "3"]) == 0
    capsys.readouterr()
    window = make_window(example=None)
    assert window.files.open(graph, ask=False)
    window.show_training()
    panel = window.training.panel
    assert panel.store.folder == tmp_path / "net.runs"
    assert panel.runs.visible_runs() == [1]
    (row,) = panel.store.summaries()
    assert (row.epochs_run, row.dataset, row.reason) == (2, "digits", "completed")
    panel.runs.select_runs([1])
    QApplication.processEvents()
    assert panel.compare.point_counts()["run 1/val_loss"] == 2  # its two epochs, read back
    panel.runs.weights_requested.emit(1)  # "Use these weights"
    assert panel.weights.initial == panel.store.weights_path(1)
    assert "run 1" in panel.weights_label.text()
