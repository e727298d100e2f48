"""Runs belong to their graph: they follow it when that graph is saved under a new name, and
never when another graph is opened, new'd or recovered in its place (issue 19: opening a file
once moved the digits runs into that file's folder)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.backend.runs.store import DB_NAME, RunStore
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.core.graph import Graph
from dlbuilder.gui import paths
from dlbuilder.gui.training import panel as panel_module
from dlbuilder.gui.window.recovery import Recovered, RecoveryStore
from dlbuilder.resources import examples_dir

OPS = ("open", "new", "recover", "save_as")


def labels(folder: Path) -> list[str]:
    """The names of the runs kept in `folder` (none when it holds no runs file)."""
    return [s.label for s in RunStore(folder).summaries()] if (folder / DB_NAME).exists() else []


def add_run(panel, tag: str) -> None:
    """A run of the graph now open, kept in its store under the name `tag` (no training: the
    store is what this test is about)."""
    run_id = panel.store.add(graph_to_dict(panel.doc.graph), {}, RunHistory())
    panel.store.rename(run_id, tag)


@pytest.fixture
def window(make_window, monkeypatch, tmp_path):
    monkeypatch.setattr(QMessageBox, "warning",  # the unsaved-changes question after recover
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = make_window()
    window.show_training()
    return window


def unsaved_area(monkeypatch, root: Path) -> Path:
    """Unsaved graphs' (and examples') runs go under `root` from now on."""
    monkeypatch.setattr(panel_module, "data_dir", lambda: root)
    return root / "runs"


@pytest.mark.slow
def test_opening_a_graph_leaves_the_last_graphs_runs_where_they_are(window, monkeypatch,
                                                                     tmp_path):
    """The report: digits trained, then Ctrl+O of a graph with no runs folder."""
    unsaved = unsaved_area(monkeypatch, tmp_path / "data")
    panel = window.training.panel
    assert window.files.open_example("digits_cnn")
    add_run(panel, "digits 1")
    add_run(panel, "digits 2")
    other = tmp_path / "my_mlp.json"
    other.write_text((examples_dir() / "lenet5.json").read_text())
    assert window.files.open(other)
    assert panel.store.folder == tmp_path / "my_mlp.runs"
    assert panel.runs.visible_runs() == [] and labels(tmp_path / "my_mlp.runs") == []
    assert not panel.message_label.isVisible() or "Moved" not in panel.message_label.text()
    assert window.files.open_example("digits_cnn")
    assert labels(unsaved / "digits_cnn") == ["digits 1", "digits 2"]
    assert len(panel.runs.visible_runs()) == 2


# the first order runs every day, all of them in CI
@pytest.mark.parametrize("order", [order if i == 0 else pytest.param(order, marks=pytest.mark.slow)
                                   for i, order in enumerate(itertools.permutations(OPS))])
def test_each_graph_keeps_exactly_its_runs_in_any_order(window, monkeypatch, tmp_path, order):
    """Open, New, Recover and Save As one after another, a run kept after each: every runs
    folder holds exactly the runs of its own graph's lineage. Save As carries the runs along:
    moved from the unsaved area (the graph has a home now), copied from a file the graph had
    or from the example it was (those and their runs stay as they were)."""
    unsaved = unsaved_area(monkeypatch, tmp_path / "data")
    panel = window.training.panel
    b = tmp_path / "b.json"
    b.write_text((examples_dir() / "lenet5.json").read_text())
    store = RecoveryStore(tmp_path / "left", pid=1)
    left = store.write(Graph("rescued"), None)
    assert window.files.open_example("digits_cnn")
    expected = {unsaved / "digits_cnn": ["start"]}
    add_run(panel, "start")
    current = unsaved / "digits_cnn"
    for step, op in enumerate(order):
        if op == "open":
            assert window.files.open(b)
            current = tmp_path / "b.runs"
        elif op == "new":
            assert window.files.new()
            current = unsaved / "untitled"
        elif op == "recover":
            assert window.files.recover(Recovered(left, None, "rescued", 0.0))
            current = unsaved / "rescued"
        else:
            target = tmp_path / f"saved{step}.json"
            monkeypatch.setattr(QFileDialog, "getSaveFileName",
                                lambda *a, t=target, **k: (str(t), ""))
            assert window.files.save_as()
            moved = current.parent == unsaved and current != unsaved / "digits_cnn"
            runs = expected.pop(current, []) if moved else list(expected.get(current, []))
            current = tmp_path / f"saved{step}.runs"
            expected[current] = runs
        assert panel.store.folder == current, op
        tag = f"{op} {step}"
        add_run(panel, tag)
        expected.setdefault(current, []).append(tag)
        for folder, runs in expected.items():
            assert labels(folder) == runs, (order[:step + 1], folder)
        panel.runs.refresh()
        shown = [panel.runs.model.row(i).label for i in range(panel.runs.model.rowCount())]
        assert shown == expected[current]


@pytest.mark.slow
def test_save_as_never_overwrites_runs_already_there(window, monkeypatch, tmp_path):
    unsaved = unsaved_area(monkeypatch, tmp_path / "data")
    panel = window.training.panel
    assert window.files.open_example("digits_cnn")
    add_run(panel, "digits")
    target = tmp_path / "taken.json"
    RunStore(tmp_path / "taken.runs").add({"name": "older"}, {}, RunHistory())
    window.doc.save(target)
    assert labels(tmp_path / "taken.runs") == ["run 1"]
    assert labels(unsaved / "digits_cnn") == ["digits"]
    assert "already holds runs" in panel.message_label.text()


@pytest.mark.slow
def test_a_run_under_way_is_kept_where_its_graph_was_saved(qtbot, window, monkeypatch,
                                                           tmp_path):
    """Save As while training: the run ends up beside the graph's new file with the others."""
    from test_training_flows import finish

    unsaved = unsaved_area(monkeypatch, tmp_path / "data")
    panel = window.training.panel
    assert window.files.open_example("digits_cnn")
    add_run(panel, "before")
    training = {**window.doc.graph.training, "epochs": 300, "batch_size": 8}
    window.doc.graph.training = training  # as the file said it (no undo step needed)
    assert panel.start()
    window.doc.save(tmp_path / "mine.json")
    panel.stop()
    finish(qtbot, panel)
    assert labels(tmp_path / "mine.runs") == ["before", "run 2"]
    assert labels(unsaved / "digits_cnn") == ["before"]  # the example's own, copied
    assert panel.store.graph(2)["name"] == window.doc.graph.name


def save_as(window, monkeypatch, target: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.files.save_as()


@pytest.mark.slow
def test_save_as_of_an_edited_example_copies_its_runs(window, monkeypatch, tmp_path):
    """The review: digits trained, edited, saved as mydigits.json; Examples > digits_cnn then
    said "No runs yet". The example opens again in every session: its runs stay with it."""
    unsaved = unsaved_area(monkeypatch, tmp_path / "data")
    panel = window.training.panel
    assert window.files.open_example("digits_cnn")
    for tag in ("digits 1", "digits 2", "digits 3"):
        add_run(panel, tag)
    window.doc.graph.name = "mydigits"  # an edit (the store does not care which)
    (tmp_path / "x").mkdir()
    save_as(window, monkeypatch, tmp_path / "x" / "mydigits.json")
    mine = tmp_path / "x" / "mydigits.runs"
    assert panel.store.folder == mine
    assert labels(mine) == ["digits 1", "digits 2", "digits 3"]
    assert labels(unsaved / "digits_cnn") == ["digits 1", "digits 2", "digits 3"]
    assert panel.message_label.text() == f"Copied 3 runs with the graph to {mine}"
    assert window.files.open_example("digits_cnn")
    assert len(panel.runs.visible_runs()) == 3


@pytest.mark.slow
def test_save_as_of_a_new_graph_moves_its_runs(window, monkeypatch, tmp_path):
    """A never-saved graph's runs have no other home: they go with its first file."""
    unsaved = unsaved_area(monkeypatch, tmp_path / "data")
    panel = window.training.panel
    assert window.files.new()
    add_run(panel, "first")
    save_as(window, monkeypatch, tmp_path / "fresh.json")
    assert labels(tmp_path / "fresh.runs") == ["first"]
    assert labels(unsaved / "untitled") == []
    assert panel.message_label.text().startswith("Moved 1 run with the graph to ")


def drawn(panel) -> list[str]:
    """The runs the compare view draws, by name."""
    return [name for name, _ in panel.compare._runs]


@pytest.mark.slow
def test_the_selection_and_the_compared_curves_agree_after_the_store_changes(
        window, monkeypatch, tmp_path):
    """The review: after Save As the Runs tab said "3 runs, 1 selected" with a row
    highlighted, and no curves were drawn until a row was clicked."""
    unsaved_area(monkeypatch, tmp_path / "data")
    panel = window.training.panel
    assert window.files.open_example("digits_cnn")
    for tag in ("digits 1", "digits 2", "digits 3"):
        add_run(panel, tag)
    panel.runs.refresh()
    panel.runs.select_runs([2])
    assert drawn(panel) == ["digits 2"]
    save_as(window, monkeypatch, tmp_path / "mine.json")
    selected = panel.runs.selected_runs()
    labels_of = {s.id: s.label for s in panel.store.summaries()}
    assert drawn(panel) == [labels_of[i] for i in selected]
    assert panel.runs.count_label.text() == (
        f"3 runs, {len(selected)} selected" if selected else "3 runs")
    other = tmp_path / "other.json"  # another graph whose runs have the same ids
    other.write_text((examples_dir() / "lenet5.json").read_text())
    for tag in ("other 1", "other 2", "other 3"):
        RunStore(tmp_path / "other.runs").add({"name": tag}, {}, RunHistory())
    panel.runs.select_runs([2])
    assert window.files.open(other)
    assert panel.runs.selected_runs() == [] and drawn(panel) == []  # not its run 2


@pytest.mark.slow
def test_the_header_tells_of_the_runs_a_reopened_graph_has(window, monkeypatch, tmp_path):
    """The review: a graph reopened with three runs said "No run yet" over its Runs tab."""
    unsaved_area(monkeypatch, tmp_path / "data")
    panel = window.training.panel
    assert window.files.open_example("digits_cnn")
    assert panel.header.line.text() == "No run yet: choose the data and press Start"
    for tag in ("digits 1", "digits 2", "digits 3"):
        add_run(panel, tag)
    assert window.files.new()
    assert window.files.open_example("digits_cnn")
    line = panel.header.line.text()
    assert "No run yet" not in line and "3 runs kept for this graph" in line


@pytest.mark.slow
def test_a_new_graph_never_takes_an_earlier_untitled_graphs_runs(window, monkeypatch, tmp_path):
    """Unsaved graphs keep their runs by name: a second File > New used to show the runs of a
    discarded "untitled" graph, and carry them off to its own file at its first save."""
    unsaved = unsaved_area(monkeypatch, tmp_path / "data")
    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path / "data")
    panel = window.training.panel
    assert window.files.new()
    assert window.doc.graph.name == "untitled"
    add_run(panel, "old")
    assert window.files.new()
    assert window.doc.graph.name == "untitled_2"
    assert panel.runs.visible_runs() == []
    save_as(window, monkeypatch, tmp_path / "fresh.json")
    assert window.doc.graph.name == "fresh"  # a default name gives way to the file's
    assert labels(tmp_path / "fresh.runs") == []
    assert labels(unsaved / "untitled") == ["old"]


@pytest.mark.slow
def test_a_runs_graph_opened_and_saved_leaves_the_examples_runs_alone(window, monkeypatch,
                                                                     tmp_path):
    """A run's graph opens unsaved under its own name; as digits_cnn it showed the example's
    runs, and its Save As moved them all to the new file."""
    unsaved = unsaved_area(monkeypatch, tmp_path / "data")
    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path / "data")
    panel = window.training.panel
    assert window.files.open_example("digits_cnn")
    add_run(panel, "example run")
    panel.open_graph_requested.emit(graph_to_dict(window.doc.graph))
    assert window.doc.path is None and window.doc.graph.name == "digits_cnn_2"
    assert panel.runs.visible_runs() == []
    save_as(window, monkeypatch, tmp_path / "from_run.json")
    assert labels(tmp_path / "from_run.runs") == []
    assert labels(unsaved / "digits_cnn") == ["example run"]
