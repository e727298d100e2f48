"""Renaming a layer in place (F2): an id that cannot be taken is refused with the reason
written under the box, as it is typed and when Enter is pressed, not only a red border."""

from __future__ import annotations

from helpers import chain
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from dlbuilder.core.commands import rename_problem


def graph():
    return chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}))


def open_editor(make_view, qtbot):
    view = make_view(graph())
    view.doc.select(["n1"])
    assert view.rename_selected()
    editor = view.rename_editor()
    editor.selectAll()
    return view, editor


def test_rename_problem_names_the_reason() -> None:
    g = graph()
    assert rename_problem(g, "n1", "conv") is None
    assert rename_problem(g, "n1", "n2") == "there is already a node 'n2'; ids must be unique"
    assert "cannot be an id" in rename_problem(g, "n1", " n2")
    assert "cannot be an id" in rename_problem(g, "n1", "")


def test_a_taken_id_is_said_under_the_box_as_it_is_typed(make_view, qtbot) -> None:
    view, editor = open_editor(make_view, qtbot)
    QTest.keyClicks(editor, "n2")
    label = editor.problem_label
    assert label.isVisible()
    assert label.text() == "there is already a node 'n2'; ids must be unique"
    box, under = editor.geometry(), label.geometry()
    assert under.top() >= box.bottom() and under.left() == box.left()
    assert view.viewport().rect().contains(under)
    QTest.keyClick(editor, Qt.Key.Key_Return)  # refused: the reason stays, the editor too
    assert view.rename_editor() is editor and label.isVisible() and "n1" in view.doc.graph
    QTest.keyClicks(editor, "b")  # "n2b" can be taken
    assert not label.isVisible()
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert "n2b" in view.doc.graph and view.rename_editor() is None
    assert not label.isVisible()


def test_an_id_with_spaces_at_its_ends_says_why(make_view, qtbot) -> None:
    view, editor = open_editor(make_view, qtbot)
    QTest.keyClicks(editor, "conv ")
    assert "cannot be an id" in editor.problem_label.text()
    assert editor.problem_label.isVisible()
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert view.rename_editor() is None and not editor.problem_label.isVisible()
