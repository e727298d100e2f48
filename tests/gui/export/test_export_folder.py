"""Where the file dialogs start (issue 19: in the shipped examples folder, or always in HOME).
Export: the last export folder, else beside a graph file of the user's, else the documents
folder. Open and Save As: beside the user's graph file, else the folder last opened or saved
in, else the documents folder."""

from __future__ import annotations

from pathlib import Path

from helpers import chain
from PySide6.QtWidgets import QFileDialog

from dlbuilder.core.fileformat import save_graph
from dlbuilder.gui.export.export_folder import documents_folder
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


# -- Open and Save As (issue 19 review: they always started in HOME) ----------------------------
def dialog_starts(monkeypatch, answer: Path | None = None) -> list[Path]:
    """Record where each file dialog starts; answer `answer` (or cancel)."""
    asked: list[Path] = []

    def ask(parent, title, start, filters):
        asked.append(Path(start))
        return (str(answer) if answer else ""), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", ask)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", ask)
    return asked


def test_save_as_and_open_start_beside_the_users_graph(make_window, tmp_path, monkeypatch):
    folder = tmp_path / "x"
    folder.mkdir()
    window = make_window(graph=chain(("ReLU", {}), shape=[4]))
    window.doc.save(folder / "net.json")
    asked = dialog_starts(monkeypatch)
    window.files.save_as()
    window.files.open_dialog()
    assert asked[0] == folder / f"{window.doc.graph.name}.json"
    assert asked[1] == folder


def test_an_example_starts_in_the_folder_last_used_then_documents(make_window, tmp_path,
                                                                  monkeypatch, settings):
    window = make_window()  # digits_cnn, a shipped example: never its folder
    asked = dialog_starts(monkeypatch)
    window.files.open_dialog()
    window.files.save_as()
    assert asked[0] == documents_folder() and asked[1].parent == documents_folder()
    used = tmp_path / "x"
    used.mkdir()
    save_graph(chain(("ReLU", {}), shape=[4]), used / "other.json")
    asked = dialog_starts(monkeypatch, used / "other.json")
    window.files.open_dialog()  # opening there remembers the folder
    assert window.doc.path == used / "other.json"
    assert window.files.open_example("lenet5")
    window.files.save_as()
    assert asked[-1].parent == used
    again = make_window()  # a new session: the folder is in the settings
    asked = dialog_starts(monkeypatch)
    again.files.open_dialog()
    assert asked == [used]
    assert Path(settings.value("files/last_folder")) == used


def test_save_as_remembers_its_folder(make_window, tmp_path, monkeypatch):
    window = make_window()
    target = tmp_path / "y" / "mine.json"
    target.parent.mkdir()
    dialog_starts(monkeypatch, target)
    assert window.files.save_as() and target.exists()
    assert window.files.open_example("lenet5")
    asked = dialog_starts(monkeypatch)
    window.files.open_dialog()
    assert asked == [target.parent]
