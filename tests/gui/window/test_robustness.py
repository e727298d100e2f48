"""Ordinary use that must never end in a traceback: acting on what undo just removed, broken
clipboards, gestures interrupted by undo or by another graph. pytest-qt fails a test when a slot
raises, so each scenario is also a check that no exception escapes to the user."""

from __future__ import annotations

import pytest
from gui_helpers import all_panels_follow, put_on_clipboard, settle, viewport_point
from helpers import chain
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from dlbuilder.core.commands import RemoveEdge, RenameNode


# -- the rename editor ---------------------------------------------------------------------
def test_rename_commit_after_undo_removed_the_node(make_window) -> None:
    window = make_window()
    doc, view = window.doc, window.view
    new = doc.add_layer("ReLU", 0, 600)
    assert view.edits.rename_node(new)
    editor = view.edits.rename_editor()
    editor.setText("act")
    doc.undo_stack.undo()  # the toolbar's Undo: the node under the editor is gone
    assert new not in doc.graph
    assert view.edits.rename_editor() is None  # closed with its node, so Enter cannot commit
    settle()
    assert "act" not in doc.graph
    refused: list[str] = []
    doc.refused.connect(refused.append)
    assert not doc.push(RenameNode(new, "act"))  # a refusal, not a ValueError
    assert refused and new in refused[0]


def test_rename_editor_closes_when_another_file_opens(make_window) -> None:
    window = make_window()
    doc, view = window.doc, window.view
    node = doc.graph.nodes()[1]
    assert view.edits.rename_node(node)
    view.edits.rename_editor().setText("renamed")
    assert window.files.open_example("lenet5")
    settle()
    assert view.edits.rename_editor() is None
    assert "renamed" not in doc.graph


def test_rename_to_an_existing_id_keeps_the_editor_with_the_reason(make_window) -> None:
    window = make_window()
    doc, view = window.doc, window.view
    first, second = doc.graph.nodes()[1:3]
    assert view.edits.rename_node(first)
    editor = view.edits.rename_editor()
    editor.setText(second)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert view.edits.rename_editor() is editor and "already" in editor.toolTip()
    assert first in doc.graph and doc.undo_stack.count() == 0


# -- wire drags ----------------------------------------------------------------------------
def test_wire_drag_survives_undo_of_its_source(make_window) -> None:
    window = make_window()
    doc, view, scene = window.doc, window.view, window.scene
    new = doc.add_layer("ReLU", 0, 600)
    settle()
    assert view.start_wire_drag(scene.nodes[new].output_port_pos())
    doc.undo_stack.undo()
    settle()
    target = scene.nodes[doc.graph.nodes()[1]]
    view.move_wire_drag(target.input_port_pos(0))
    result = view.finish_wire_drag(target.input_port_pos(0))
    assert result.outcome == "refused"
    assert new not in doc.graph
    all_panels_follow(window)


def test_picked_up_wire_survives_undo_of_that_wire(make_window) -> None:
    window = make_window(graph=chain(("ReLU", {}), ("ReLU", {})), example=None)
    doc, view, scene = window.doc, window.view, window.scene
    doc.push(RemoveEdge("n1", "n2"))
    assert doc.connect("n1", "n2")
    settle()
    assert view.start_wire_drag(scene.nodes["n2"].input_port_pos(0))  # picks the wire up
    doc.undo_stack.undo()  # the wire it holds is gone
    settle()
    result = view.finish_wire_drag(QPointF(5000, 5000))  # on empty canvas: would disconnect
    assert result.outcome == "refused"
    assert ("n1", "n2") not in scene.wires and "n1" not in doc.graph.inputs("n2")
    doc.undo_stack.undo()
    assert ("n1", "n2") in scene.wires and scene.wires[("n1", "n2")].isVisible()
    all_panels_follow(window)


# -- clipboard -----------------------------------------------------------------------------
def test_paste_of_malformed_clipboards_is_refused_with_a_reason(make_window) -> None:
    window = make_window()
    doc, view = window.doc, window.view
    messages: list[str] = []
    view.status_message.connect(messages.append)
    before = doc.graph.nodes()
    bad = [b"\xff\xfe not utf-8", b"", b"[]", b"{}", b"null", b"[" * 100_000,
           b'{"format": "dlbuilder.fragment", "version": 1, "nodes": [{"id": 3}]}',
           b'{"format": "dlbuilder.fragment", "version": 1, "nodes": "x"}',
           b'{"format": "dlbuilder.fragment", "version": 1, "nodes": [], "edges": [1]}',
           (b'{"format": "dlbuilder.fragment", "version": 1, "nodes": '
            b'[{"id": "a", "type": "ReLU", "ui": []}]}')]
    for data in bad:
        put_on_clipboard(data)
        assert view.edits.paste() == []
        assert doc.graph.nodes() == before
    assert len(messages) == len(bad)


def test_paste_of_a_cycle_or_self_loop_changes_nothing(make_window) -> None:
    window = make_window()
    doc, view = window.doc, window.view
    before = doc.graph.nodes()
    put_on_clipboard(b'{"format": "dlbuilder.fragment", "version": 1, "nodes": ['
                     b'{"id": "a", "type": "ReLU"}, {"id": "b", "type": "ReLU"}], "edges": ['
                     b'{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]}')
    assert view.edits.paste() == []
    put_on_clipboard(b'{"format": "dlbuilder.fragment", "version": 1, "nodes": ['
                     b'{"id": "a", "type": "ReLU"}], "edges": [{"from": "a", "to": "a"}]}')
    assert view.edits.paste() == []
    assert doc.graph.nodes() == before
    all_panels_follow(window)


def test_paste_refuses_what_a_saved_file_could_not_hold(make_window, tmp_path) -> None:
    """An unknown type, NaN or 1e400 would make a file (and the autosave) that cannot be
    reopened, or a save that raises: the paste is refused with the reason instead."""
    window = make_window()
    doc, view = window.doc, window.view
    messages: list[str] = []
    view.status_message.connect(messages.append)
    before = doc.graph.nodes()
    head = b'{"format": "dlbuilder.fragment", "version": 1, "nodes": [{"id": "a", '
    for node in (b'"type": "Bogus"}]}', b'"type": "Dropout", "params": {"p": NaN}}]}',
                 b'"type": "Dropout", "params": {"p": 1e400}}]}',
                 b'"type": "Dropout", "ui": {"x": -Infinity}}]}'):
        put_on_clipboard(head + node)
        assert view.edits.paste() == []
    assert doc.graph.nodes() == before
    assert "Bogus" in messages[0] and all("clipboard" in m or "copied" in m for m in messages)
    put_on_clipboard(head + b'"type": "Dropout", "params": {"p": 0.25}}]}')
    (new,) = view.edits.paste()
    doc.save(tmp_path / "pasted.json")
    assert doc.graph.params(new) == {"p": 0.25}


# -- undo/redo of macros keeps every view in step ------------------------------------------
@pytest.mark.slow
def test_macros_undo_and_redo_keep_views_in_step(make_window) -> None:
    window = make_window(example="resnet_cifar")
    doc, view = window.doc, window.view
    nodes = doc.graph.nodes()
    doc.select(nodes[2:5])
    view.edits.cut()
    view.edits.paste()
    view.edits.duplicate()
    view.edits.auto_layout()
    doc.select(nodes[1:2])
    view.edits.delete_selected()
    count = doc.undo_stack.count()
    for _ in range(2):
        for _ in range(count):
            doc.undo_stack.undo()
            all_panels_follow(window)
        for _ in range(count):
            doc.undo_stack.redo()
            all_panels_follow(window)
    for node, item in window.scene.nodes.items():
        ui = doc.graph.ui(node)
        assert (item.x(), item.y()) == (ui["x"], ui["y"])


def test_inspector_follows_undo_of_a_field_edit(make_window) -> None:
    window = make_window()
    doc = window.doc
    conv = next(n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Conv2d")
    doc.select([conv])
    field = window.inspector.fields["out_channels"]
    old = field.spin.value()
    field.spin.setValue(old + 5)
    assert doc.graph.params(conv)["out_channels"] == old + 5
    doc.undo_stack.undo()
    settle()
    assert window.inspector.fields["out_channels"].spin.value() == old
    doc.undo_stack.redo()
    settle()
    assert window.inspector.fields["out_channels"].spin.value() == old + 5


# -- gestures interrupted by undo or by another graph -------------------------------------
def test_card_drag_with_undo_in_the_middle(make_window) -> None:
    window = make_window()
    doc, view, scene = window.doc, window.view, window.scene
    new = doc.add_layer("ReLU", 0, 600)
    settle()
    view.fit()
    settle()
    item = scene.nodes[new]
    start = viewport_point(view, item.card_rect().center())
    port = view.viewport()
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(port, start + QPoint(30, 30))
    QTest.mouseMove(port, start + QPoint(60, 60))
    doc.undo_stack.undo()  # the dragged card is gone
    QTest.mouseMove(port, start + QPoint(90, 90))
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(90, 90))
    assert new not in doc.graph
    doc.undo_stack.redo()
    all_panels_follow(window)


def test_delete_while_renaming(make_window) -> None:
    window = make_window()
    doc, view = window.doc, window.view
    node = doc.graph.nodes()[2]
    doc.select([node])
    assert view.edits.rename_node(node)
    window.actions["delete"].trigger()
    settle()
    assert node not in doc.graph and view.edits.rename_editor() is None
    doc.undo_stack.undo()
    all_panels_follow(window)


def test_quick_add_after_a_source_that_undo_removed(make_window) -> None:
    window = make_window()
    doc, view = window.doc, window.view
    new = doc.add_layer("ReLU", 0, 600)
    doc.select([new])
    view.request_quick_add()
    doc.undo_stack.undo()
    window.quick_add.chosen.emit("Dropout")
    window.quick_add.hide()
    added = doc.selection()
    assert len(added) == 1 and doc.graph.type_of(added[0]) == "Dropout"
    assert doc.graph.inputs(added[0]) == []
    all_panels_follow(window)


def test_palette_add_after_an_unplaced_or_oddly_placed_node(make_window) -> None:
    graph = chain(("ReLU", {}))
    graph.set_ui("n1", {"x": "left", "y": None})
    window = make_window(graph=graph, example=None)
    doc = window.doc
    doc.select(["n1"])
    window.palette.add_requested.emit("Dropout")
    (added,) = doc.selection()
    assert doc.graph.inputs(added) == ["n1"]
    all_panels_follow(window)


def test_problem_fix_then_undo_in_every_panel(make_window) -> None:
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Linear", {
        "out_features": 10}))
    window = make_window(graph=graph, example=None)
    doc = window.doc
    doc.select(["n2"])
    settle()
    buttons = window.inspector.fix_buttons()
    assert buttons
    buttons[0].click()
    settle()
    assert not any(d.severity == "error" for d in doc.engine.diagnostics())
    all_panels_follow(window)
    doc.undo_stack.undo()
    all_panels_follow(window)
    assert window.problems.counts()[0] >= 1
    doc.undo_stack.redo()
    all_panels_follow(window)


def test_summary_rows_selected_then_removed_by_undo(make_window) -> None:
    window = make_window()
    doc, view = window.doc, window.view
    doc.select(doc.graph.nodes()[1:3])
    view.edits.duplicate()
    settle()
    window.summary.refresh()
    assert sorted(window.summary.selected_nodes()) == sorted(doc.selection())
    window.summary.view.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    doc.undo_stack.undo()
    settle()
    window.summary.refresh()
    assert doc.selection() == ()
    assert window.summary.selected_nodes() == []
    all_panels_follow(window)


def test_huge_positions_from_a_file_or_the_clipboard(make_window, tmp_path) -> None:
    graph = chain(("ReLU", {}))
    graph.set_ui("n1", {"x": 10**400, "y": 0})
    window = make_window(graph=graph, example=None)
    view = window.view
    view.fit()
    put_on_clipboard(b'{"format": "dlbuilder.fragment", "version": 1, "nodes": [{"id": "a", '
                     b'"type": "ReLU", "ui": {"x": ' + b"9" * 400 + b', "y": 0}}]}')
    assert len(view.edits.paste()) == 1
    all_panels_follow(window)


def test_a_file_with_a_number_too_big_for_a_float_is_refused(make_window, tmp_path) -> None:
    """1e400 loaded as infinity, and Save then raised (JSON cannot write it)."""
    window = make_window()
    before = window.doc.graph.nodes()
    path = tmp_path / "inf.json"
    path.write_text('{"format": "dlbuilder.graph", "version": 1, "nodes": [{"id": "in", '
                    '"type": "Input", "params": {"shape": [4]}}, {"id": "d", "type": '
                    '"Dropout", "params": {"p": 1e400}}], "edges": [{"from": "in", "to": "d"}]}')
    assert not window.files.open(path, ask=False)
    assert "1e400" in str(window.files.last_error)
    assert window.doc.graph.nodes() == before


def test_inspector_pair_and_choice_fields_follow_undo(make_window) -> None:
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Softmax", {}))
    window = make_window(graph=graph, example=None)
    doc, inspector = window.doc, window.inspector
    doc.select(["n1"])
    kernel = inspector.fields["kernel_size"]
    kernel.lock.setChecked(False)
    kernel.second.setValue(5)
    assert doc.graph.params("n1")["kernel_size"] == [3, 5]
    padding = inspector.fields["padding"]
    padding.mode.setCurrentText("same")
    assert doc.graph.params("n1")["padding"] == "same"
    doc.undo_stack.undo()
    assert padding.mode.currentText() == "number" and not padding.first.isHidden()
    doc.undo_stack.undo()
    assert (kernel.first.value(), kernel.second.value()) == (3, 3) and kernel.locked()
    all_panels_follow(window)


def test_wire_drag_when_a_new_graph_replaces_the_scene(make_window) -> None:
    window = make_window(graph=chain(("ReLU", {}), ("ReLU", {})), example=None)
    view, scene = window.view, window.scene
    assert view.start_wire_drag(scene.nodes["n2"].input_port_pos(0))  # picks the wire up
    assert window.files.new()
    assert view.finish_wire_drag(QPointF(100, 100)) is None  # the drag went with its graph
    assert view.start_wire_drag(QPointF(0, 0)) is False
    all_panels_follow(window)


def test_card_drag_when_a_new_graph_replaces_the_scene(make_window) -> None:
    window = make_window()
    view, scene = window.view, window.scene
    view.fit()
    settle()
    node = window.doc.graph.nodes()[1]
    start = viewport_point(view, scene.nodes[node].card_rect().center())
    port = view.viewport()
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(port, start + QPoint(40, 40))
    assert window.files.open_example("lenet5")
    QTest.mouseMove(port, start + QPoint(80, 80))
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(80, 80))
    assert window.doc.undo_stack.count() == 0
    all_panels_follow(window)


def test_a_shape_typed_but_not_applied_stays_with_its_node(make_window) -> None:
    """Ctrl+V or Ctrl+D while typing in a text field selects the new node; the typed text
    is applied as the field is left, and must go to the node it was typed for."""
    window = make_window()
    doc, view = window.doc, window.view
    inp = next(n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Input")
    shape = doc.graph.params(inp)["shape"]
    doc.select([inp])
    view.edits.copy()
    window.activateWindow()
    line = window.inspector.fields["shape"].line
    line.setFocus()
    settle()
    assert line.hasFocus()
    QTest.keyClicks(line, "9")  # 1, 8, 8 -> 1, 8, 89: typed, not yet applied
    (pasted,) = view.edits.paste()
    settle()
    assert doc.graph.params(pasted)["shape"] == shape
    assert doc.graph.params(inp)["shape"] == [*shape[:-1], shape[-1] * 10 + 9]
