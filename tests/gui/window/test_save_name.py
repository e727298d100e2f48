"""Save As names an untitled graph after its file (issue 19: after Save As my_net.json, the
export header and the summary still said "untitled"). A name the user set is kept."""

from __future__ import annotations

import json

import pytest
from helpers import chain
from PySide6.QtWidgets import QApplication, QFileDialog

from dlbuilder.core.graph import Graph
from dlbuilder.gui.document import Document


def _untitled() -> Graph:
    graph = chain(("ReLU", {}), shape=[4])
    graph.name = Graph().name  # the default a new graph has
    return graph


def test_an_untitled_graph_takes_the_name_of_its_file(tmp_path):
    doc = Document(_untitled())
    doc.add_layer("Tanh", 0, 0)
    doc.save(tmp_path / "my_net.json")
    assert doc.graph.name == "my_net"
    assert json.loads((tmp_path / "my_net.json").read_text())["name"] == "my_net"
    doc.undo_stack.undo()  # the name is the file's, not an edit: undo leaves it, and works
    assert doc.modified and "Tanh" not in {doc.graph.type_of(n) for n in doc.graph.nodes()}
    assert doc.graph.name == "my_net"
    doc.undo_stack.redo()
    assert not doc.modified


def test_a_name_the_user_set_is_kept(tmp_path):
    graph = _untitled()
    graph.name = "lecture"
    doc = Document(graph)
    doc.save(tmp_path / "my_net.json")
    assert doc.graph.name == "lecture"


def test_a_failed_save_leaves_the_name(tmp_path):
    doc = Document(_untitled())
    with pytest.raises(OSError):
        doc.save(tmp_path / "missing" / "my_net.json")
    assert doc.graph.name == Graph().name


def test_save_as_shows_the_new_name_in_the_code(make_window, tmp_path, monkeypatch):
    window = make_window(graph=_untitled())
    window.code.refresh()
    assert "'untitled'" in window.code.text()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "my_net.json"), ""))
    assert window.files.save_as()
    QApplication.processEvents()
    window.code.refresh()
    assert "from the graph 'my_net'" in window.code.text()
    assert window.code.suggested_path().name == "my_net.py"
