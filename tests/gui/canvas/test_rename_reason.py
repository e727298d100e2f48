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
    assert view.edits.rename_selected()
    editor = view.edits.rename_editor()
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
    assert view.edits.rename_editor() is editor and label.isVisible() and "n1" in view.doc.graph
    QTest.keyClicks(editor, "b")  # "n2b" can be taken
    assert not label.isVisible()
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert "n2b" in view.doc.graph and view.edits.rename_editor() is None
    assert not label.isVisible()


def test_an_id_with_spaces_at_its_ends_says_why(make_view, qtbot) -> None:
    view, editor = open_editor(make_view, qtbot)
    QTest.keyClicks(editor, "conv ")
    assert "cannot be an id" in editor.problem_label.text()
    assert editor.problem_label.isVisible()
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert view.edits.rename_editor() is None and not editor.problem_label.isVisible()


def test_closing_the_editor_clears_the_rename_status(make_window, qtbot) -> None:
    """Review of issue 19: after a refused id and Esc, the status bar still said
    "Cannot rename…" about an editor no longer there."""
    window = make_window()
    view = window.view
    window.doc.select(["conv1"])
    QTest.keyClick(view, Qt.Key.Key_F2)
    editor = view.edits.rename_editor()
    assert editor is not None
    assert "Enter to rename" in window.statusBar().currentMessage()
    editor.selectAll()
    QTest.keyClicks(editor, "conv2")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.statusBar().currentMessage().startswith("Cannot rename")
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert view.edits.rename_editor() is None
    assert window.statusBar().currentMessage() == ""
    assert "conv1" in window.doc.graph


def test_a_refusal_on_leaving_the_editor_stays_said(make_window, qtbot) -> None:
    window = make_window()
    view = window.view
    window.doc.select(["conv1"])
    assert view.edits.rename_selected()
    editor = view.edits.rename_editor()
    editor.selectAll()
    QTest.keyClicks(editor, "conv2")
    window.palette.search.setFocus()  # leaving the box commits, and is refused
    qtbot.waitUntil(lambda: view.edits.rename_editor() is None, timeout=1000)
    assert window.statusBar().currentMessage().startswith("Cannot rename")
