"""Where the export dialogs start (issue 19: in the shipped examples folder): the last export
folder, else beside a graph file of the user's, else the documents folder."""

from __future__ import annotations

from pathlib import Path

from helpers import chain
from PySide6.QtWidgets import QFileDialog

from dlbuilder.gui.export_folder import documents_folder
from dlbuilder.resources import examples_dir


def test_an_example_exports_to_the_documents_folder_then_to_the_last_one(make_window,
                                                                          tmp_path,
                                                                          monkeypatch):
    window = make_window()  # digits_cnn, a shipped example
    proposed = window.code.suggested_path()
    assert proposed.parent != examples_dir()
    assert proposed.parent == documents_folder()
    asked = []

    def answer(parent, title, start, filters):
        asked.append(Path(start))
        return str(tmp_path / "out" / "model.py"), ""

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    window.code.export_dialog()
    assert (tmp_path / "out" / "model.py").exists()
    assert asked[0].parent == documents_folder()
    window.code.export_dialog()
    assert asked[1].parent == tmp_path / "out"  # the last export folder, remembered


def test_a_saved_graph_exports_beside_its_file(make_window, tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    window = make_window(graph=chain(("ReLU", {}), shape=[4]))
    window.doc.save(folder / "net.json")
    assert window.code.suggested_path().parent == folder


def test_a_vanished_last_folder_is_not_proposed(make_window, tmp_path, settings):
    settings.setValue("export/last_folder", str(tmp_path / "gone"))
    window = make_window()
    assert window.code.suggested_path().parent == documents_folder()
