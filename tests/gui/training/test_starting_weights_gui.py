"""The Training tab and the graph's own starting weights (`training.init_weights`): opening a
graph says which weights the next run starts from (or warns that they are missing), Load
weights… and Start fresh change the graph (one undo step, the file modified), and frozen
layers without starting weights are warned about."""

from __future__ import annotations

from pathlib import Path

from helpers import example_graph, frozen_digits

from dlbuilder.core.fileformat import load_graph, save_graph
from dlbuilder.gui.training import weights_files
from dlbuilder.layers import REGISTRY

WARNING = "frozen layers start from new random weights"


def _open(make_window, path: Path):
    window = make_window()
    assert window.files.open(path, ask=False)
    window.show_training()
    panel = window.training.panel
    assert panel is not None
    return window, panel


def test_opening_a_graph_says_which_weights_start_the_next_run(make_window, tmp_path):
    graph = frozen_digits()
    graph.training["init_weights"] = "digits.pt"
    save_graph(graph, tmp_path / "g.json")
    (tmp_path / "digits.pt").write_bytes(b"weights")
    _window, panel = _open(make_window, tmp_path / "g.json")
    text = panel.weights_label.text()
    assert "The next run starts from the weights of digits.pt." in text
    assert WARNING not in text and panel.weights.start == tmp_path / "digits.pt"
    assert panel.clear_weights_button.isEnabled()
    assert not any("digits.pt" in p for p in panel.start_problems())


def test_missing_named_weights_are_warned_about_and_block_start(make_window, tmp_path):
    graph = frozen_digits()
    graph.training["init_weights"] = "digits.pt"
    save_graph(graph, tmp_path / "g.json")
    _window, panel = _open(make_window, tmp_path / "g.json")
    text = panel.weights_label.text()
    assert "starting weights digits.pt are missing" in text and "random" not in text
    assert panel.weights_label.styleSheet()  # the warning's colour
    problems = panel.refresh_problems()
    assert any("digits.pt are missing" in p and str(tmp_path / "digits.pt") in p
               for p in problems)
    assert not panel.start()


def test_frozen_layers_without_starting_weights_are_warned_about(make_window, tmp_path):
    save_graph(frozen_digits(), tmp_path / "g.json")
    _window, panel = _open(make_window, tmp_path / "g.json")
    assert (f"4 {WARNING}: nothing of theirs will be learned; load starting weights or "
            "unfreeze them") in panel.weights_label.text()
    save_graph(example_graph("digits_cnn"), tmp_path / "plain.json")
    _window, plain = _open(make_window, tmp_path / "plain.json")
    assert plain.weights_label.text() == "Each run starts from new random weights."


def test_load_weights_names_them_in_the_graph_and_start_fresh_removes_them(
        make_window, tmp_path, monkeypatch):
    save_graph(example_graph("digits_cnn"), tmp_path / "g.json")
    (tmp_path / "mine.pt").write_bytes(b"weights")
    window, panel = _open(make_window, tmp_path / "g.json")
    assert not window.doc.modified
    monkeypatch.setattr(weights_files, "ask_weights_file",
                        lambda *_: tmp_path / "mine.pt")
    panel.load_weights_button.click()
    assert window.doc.graph.training["init_weights"] == "mine.pt" and window.doc.modified
    assert "starts from the weights of mine.pt" in panel.weights_label.text()
    assert window.files.save()
    assert load_graph(tmp_path / "g.json", REGISTRY).training["init_weights"] == "mine.pt"
    panel.clear_weights_button.click()
    assert "init_weights" not in window.doc.graph.training and window.doc.modified
    assert "new random weights" in panel.weights_label.text()
    window.doc.undo_stack.undo()
    assert window.doc.graph.training["init_weights"] == "mine.pt"
    assert panel.weights.start == tmp_path / "mine.pt"


def test_an_unsaved_graph_keeps_the_choice_for_the_session(make_window, tmp_path,
                                                           monkeypatch):
    window = make_window()
    window.files.new()
    window.show_training()
    panel = window.training.panel
    (tmp_path / "mine.pt").write_bytes(b"weights")
    monkeypatch.setattr(weights_files, "ask_weights_file",
                        lambda *_: tmp_path / "mine.pt")
    panel.load_weights_button.click()
    assert "init_weights" not in window.doc.graph.training
    assert panel.weights.start == tmp_path / "mine.pt"
    assert "mine.pt" in panel.weights_label.text()


def test_save_as_into_another_folder_keeps_the_starting_weights(make_window, tmp_path):
    """A graph naming `digits.pt` beside its file, saved into another folder, names the same
    weights from there (the review found Save As left it pointing at nothing)."""
    graph = frozen_digits()
    graph.training["init_weights"] = "digits.pt"
    save_graph(graph, tmp_path / "g.json")
    (tmp_path / "digits.pt").write_bytes(b"weights")
    window, panel = _open(make_window, tmp_path / "g.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    window.doc.save(elsewhere / "g.json")
    saved = load_graph(elsewhere / "g.json", REGISTRY)
    assert saved.training["init_weights"] == str((tmp_path / "digits.pt").resolve())
    assert load_graph(tmp_path / "g.json", REGISTRY).training["init_weights"] == "digits.pt"
    window.show_training()
    assert "The next run starts from the weights of" in panel.weights_label.text()
    assert not any("missing" in p for p in panel.refresh_problems())
