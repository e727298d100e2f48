"""A card with several outputs (Chunk): one port per piece along the card's right side; a wire
drags from a specific port, draws from it and keeps it when picked up and dropped elsewhere."""

from __future__ import annotations

from gui_helpers import all_panels_follow, settle, viewport_point
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from dlbuilder.core.commands import SetParams
from dlbuilder.core.graph import Graph
from dlbuilder.gui.canvas.style import PORT_R


def split_graph() -> Graph:
    """in (8x6x6) -> split (Chunk 2) -> a (port 0), b (port 1); c unwired; all placed."""
    graph = Graph("split")
    graph.add_node("in", "Input", {"shape": [8, 6, 6]}, {"x": 0, "y": 0})
    graph.add_node("split", "Chunk", {"chunks": 2}, {"x": 260, "y": 0})
    graph.add_node("a", "ReLU", {}, {"x": 520, "y": -140})
    graph.add_node("b", "Conv2d", {"out_channels": 4, "kernel_size": 3}, {"x": 520, "y": 140})
    graph.add_node("c", "Sigmoid", {}, {"x": 780, "y": 140})
    graph.add_edge("in", "split")
    graph.add_edge("split", "a")
    graph.add_edge("split", "b", from_port=1)
    return graph


def test_the_card_has_one_port_per_piece_and_wires_leave_from_theirs(make_view) -> None:
    view = make_view(split_graph())
    scene = view.graph_scene
    card = scene.nodes["split"]
    assert card.output_count == 2 and card.port_shapes == ("4x6x6", "4x6x6")
    top, bottom = card.output_port_pos(0), card.output_port_pos(1)
    assert top.x() == bottom.x() == card.card_rect().right() and top.y() < bottom.y()
    assert card.port_at(top) == ("out", 0) and card.port_at(bottom) == ("out", 1)
    assert scene.wires[("split", "b")].path().pointAtPercent(0) == bottom
    assert scene.wires[("split", "a")].path().pointAtPercent(0) == top
    assert scene.wires[("split", "b")].label_text() == "4x6x6"
    assert card.port_tooltip(1) == "output 1 of split: 4x6x6"
    assert card.texts()["shape"] == "2 \u00d7 4x6x6"
    assert "output 1: 4x6x6" in card.toolTip()
    single = scene.nodes["a"]
    assert single.output_count == 1 and single.port_at(single.output_port_pos()) == ("out", 0)


def test_a_drag_from_the_second_port_wires_the_second_piece(make_view, qtbot) -> None:
    view = make_view(split_graph())
    scene, doc = view.graph_scene, view.doc
    start = viewport_point(view, scene.nodes["split"].output_port_pos(1))
    end = viewport_point(view, scene.nodes["c"].card_rect().center())
    port = view.viewport()
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(port, (start + end) / 2)
    QTest.mouseMove(port, end)
    assert view._wire_drag.loose.refused is None
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert doc.graph.from_port("split", "c") == 1
    assert doc.undo_stack.undoText() == "Connect split output 1 to c"
    wire = scene.wires[("split", "c")]
    assert wire.from_port == 1
    assert wire.path().pointAtPercent(0) == scene.nodes["split"].output_port_pos(1)
    doc.undo_stack.undo()
    assert ("split", "c") not in scene.wires


def test_a_picked_up_wire_keeps_its_port(make_view) -> None:
    view = make_view(split_graph())
    scene, doc = view.graph_scene, view.doc
    assert view.start_wire_drag(scene.nodes["b"].input_port_pos(0))  # picks up split:1 -> b
    result = view.finish_wire_drag(scene.nodes["c"].card_rect().center())
    assert result.outcome == "connected"
    assert doc.graph.input_sources("c") == [("split", 1)]
    doc.undo_stack.undo()
    assert doc.graph.input_sources("b") == [("split", 1)]


def test_a_drag_back_from_an_input_takes_the_output_port_it_ends_on(make_view) -> None:
    view = make_view(split_graph())
    scene, doc = view.graph_scene, view.doc
    assert view.start_wire_drag(scene.nodes["c"].input_port_pos(0))
    end = scene.nodes["split"].output_port_pos(1)
    assert view.move_wire_drag(end) is None
    assert view._wire_drag.loose.tip == end
    assert view.finish_wire_drag(end).outcome == "connected"
    assert doc.graph.input_sources("c") == [("split", 1)]


def test_a_wire_dropped_on_empty_canvas_adds_the_layer_after_that_port(make_view) -> None:
    view = make_view(split_graph())
    scene, doc = view.graph_scene, view.doc
    assert view.start_wire_drag(scene.nodes["split"].output_port_pos(1))
    empty = scene.nodes["split"].card_rect().bottomRight() + QPointF(40, 400)
    result = view.finish_wire_drag(empty)
    assert (result.outcome, result.source, result.from_port) == ("empty", "split", 1)
    assert (view.pending_source, view.pending_from_port) == ("split", 1)
    node = doc.add_layer("Tanh", empty.x(), empty.y(), after="split", from_port=1)
    assert doc.graph.input_sources(node) == [("split", 1)]


def test_more_chunks_add_ports_and_fewer_leave_a_lost_wire_red(make_view) -> None:
    view = make_view(split_graph())
    scene, doc = view.graph_scene, view.doc
    doc.push(SetParams("split", {"chunks": 4}))
    card = scene.nodes["split"]
    assert card.output_count == 4 and card.port_shapes == ("2x6x6",) * 4
    assert scene.wires[("split", "b")].path().pointAtPercent(0) == card.output_port_pos(1)
    assert scene.wires[("split", "b")].label_text() == "2x6x6"
    doc.connect("split", "c", from_port=3)
    doc.push(SetParams("split", {"chunks": 3}))  # 8 in 3 chunks: 3, 3, 2 - output 3 is gone
    assert card.port_shapes == ("3x6x6", "3x6x6", "2x6x6", "?")
    assert card.output_count == 4 and card._outputs_given == 3
    assert card.port_tooltip(3).startswith("output 3 of split: the layer gives only 3 outputs")
    assert card.severity == "error"
    assert scene.wires[("split", "c")].path().pointAtPercent(0) == card.output_port_pos(3)


def test_the_inspector_and_summary_name_each_output(make_window) -> None:
    window = make_window(split_graph())
    window.doc.select(["split"])
    settle()
    assert window.inspector.result_label.text().startswith("Outputs 0: 4x6x6, 1: 4x6x6")
    window.docks["summary"].show()
    settle()
    row = next(r for r in window.summary.model.rows() if r.node == "split")
    assert row.shape == "4x6x6 | 4x6x6"
    all_panels_follow(window)


def test_the_card_names_the_pieces_the_layer_gives_not_lost_ones(make_view) -> None:
    graph = split_graph()
    graph.add_edge("split", "c", from_port=2)  # as a file may say: chunks 2 has no output 2
    view = make_view(graph)
    card = view.graph_scene.nodes["split"]
    assert card.output_count == 3 and card._outputs_given == 2
    assert card.texts()["shape"] == "2 \u00d7 4x6x6"
    hit = card.output_port_pos(2) + QPointF(PORT_R, 0)  # the dot's outer half is still it
    assert card.contains(card.mapFromScene(hit))
    assert card.port_at(hit) == ("out", 2)
