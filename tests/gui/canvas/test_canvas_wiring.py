"""Dropping a wire on a single input that is already fed replaces the old wire (one undo step,
said while dragging, not refused); merges still take another input."""

from __future__ import annotations

from gui_helpers import convs, place, viewport_point
from helpers import chain
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def test_a_wire_dropped_on_a_fed_input_replaces_the_old_one(make_view, qtbot) -> None:
    view = make_view(convs())  # in -> n1 -> n2 -> n3 -> out
    scene, doc = view.graph_scene, view.doc
    start = viewport_point(view, scene.nodes["n1"].output_port_pos())
    end = viewport_point(view, scene.nodes["n3"].input_port_pos(0))
    port = view.viewport()
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(port, (start + end) / 2)
    with qtbot.waitSignal(view.status_message) as said:
        QTest.mouseMove(port, end)
    assert said.args[0] == "Release to connect: replaces the wire from n2"
    assert view._wire_drag.loose.refused is None  # not drawn as a refusal
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert doc.graph.inputs("n3") == ["n1"] and doc.graph.outputs("n2") == []
    assert ("n1", "n3") in scene.wires and ("n2", "n3") not in scene.wires
    assert doc.undo_stack.count() == 1
    assert doc.undo_stack.undoText() == "Connect n1 to n3 in place of n2"
    doc.undo_stack.undo()
    assert doc.graph.inputs("n3") == ["n2"] and doc.graph.outputs("n1") == ["n2"]


def test_a_picked_up_wire_dropped_on_a_fed_input_replaces_it_too(make_view) -> None:
    view = make_view(convs())
    scene, doc = view.graph_scene, view.doc
    assert view.start_wire_drag(scene.nodes["n2"].input_port_pos(0))  # picks up n1 -> n2
    result = view.finish_wire_drag(scene.nodes["n3"].card_rect().center())
    assert result.outcome == "connected"
    assert doc.graph.inputs("n3") == ["n1"] and doc.graph.inputs("n2") == []
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.graph.inputs("n2") == ["n1"] and doc.graph.inputs("n3") == ["n2"]


def test_a_merge_takes_the_wire_as_another_input(make_view) -> None:
    graph = place(chain(("ReLU", {}), ("Add", {}), ("ReLU", {}), shape=[4]))
    view = make_view(graph)  # in -> n1 -> n2 (Add) -> n3 -> out
    scene, doc = view.graph_scene, view.doc
    assert view.start_wire_drag(scene.nodes["in"].output_port_pos())
    assert view.move_wire_drag(scene.nodes["n2"].card_rect().center()) is None
    assert view._wire_drag.note is None
    view.finish_wire_drag(scene.nodes["n2"].card_rect().center())
    assert doc.graph.inputs("n2") == ["n1", "in"]


def test_a_replacement_that_would_make_a_cycle_is_still_refused(make_view) -> None:
    view = make_view(convs())
    scene, doc = view.graph_scene, view.doc
    assert view.start_wire_drag(scene.nodes["n3"].output_port_pos())
    reason = view.move_wire_drag(scene.nodes["n2"].card_rect().center())
    assert reason is not None and "cycle" in reason
    view.finish_wire_drag(scene.nodes["n2"].card_rect().center())
    assert doc.graph.inputs("n2") == ["n1"] and doc.undo_stack.count() == 0
