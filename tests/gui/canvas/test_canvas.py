"""The canvas: cards and wires mirror the document, gestures become single undo steps, and
refusals leave the graph alone with a reason."""

from __future__ import annotations

import pytest
from gui_helpers import convs, drag_events, place, viewport_point
from helpers import chain, example_graph, flat_resnet_cifar
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dlbuilder.core.commands import SetParams
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.core.layout import layout_for_view
from dlbuilder.gui.canvas import CanvasView
from dlbuilder.gui.canvas.style import GRID, NODE_H, NODE_W
from dlbuilder.gui.look.theme import theme_manager
from dlbuilder.gui.mime import LAYER_MIME


# -- mirroring the document ------------------------------------------------------------------
def test_scene_mirrors_the_graph(make_view) -> None:
    view = make_view(flat_resnet_cifar())
    scene, graph = view.graph_scene, view.doc.graph
    assert set(scene.nodes) == set(graph.nodes())
    assert set(scene.wires) == {(s, d) for s, d, _ in graph.edges()}
    ui = graph.ui("block2_proj")
    assert scene.nodes["block2_proj"].pos() == QPointF(ui["x"], ui["y"])
    texts = scene.nodes["stem_conv"].texts()
    assert texts["header"] == "Conv2d" and texts["id"] == "stem_conv"
    assert texts["key"] == "3x3 s1 p1 -> 16" and texts["shape"] == "16x32x32"
    assert texts["count"] == "432 params"
    assert scene.nodes["block1_add"].input_count == 3  # two wired, one free
    assert scene.nodes["input"].input_count == 0
    assert scene.wires[("stem_conv", "stem_bn")].label_text() == "16x32x32"


def test_set_params_updates_card_and_wire_label(make_view) -> None:
    view = make_view(convs())
    scene, doc = view.graph_scene, view.doc
    assert scene.nodes["n1"].texts()["shape"] == "8x10x10"
    refreshed: list[str] = []
    for item in scene.nodes.values():
        original = item.refresh
        item.refresh = lambda d, item=item, original=original: (refreshed.append(item.node),
                                                                 original(d))
    doc.push(SetParams("n1", {"out_channels": 4, "padding": 1}))
    assert scene.nodes["n1"].texts()["shape"] == "4x12x12"
    assert scene.nodes["n1"].texts()["key"] == "3x3 s1 p1 -> 4"
    assert scene.wires[("n1", "n2")].label_text() == "4x12x12"
    assert scene.nodes["n3"].texts()["shape"] == "16x10x10"
    assert "in" not in refreshed  # only what changed is refreshed
    doc.undo_stack.undo()
    assert scene.wires[("n1", "n2")].label_text() == "8x10x10"


def test_error_and_warning_state(make_view) -> None:
    graph = place(chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}),
                        ("Linear", {"out_features": 10}), ("Softmax", {})))
    view = make_view(graph)
    scene, doc = view.graph_scene, view.doc
    linear = scene.nodes["n2"]
    assert linear.severity == "error" and linear.texts()["shape"] == "?"
    assert "Flatten" in linear.toolTip()
    softmax = scene.nodes["n3"]  # its warning is reported by the Output's check
    assert softmax.severity is None  # blocked by the error upstream
    menu = view.edits.node_menu("n2")
    fixes = [a for a in menu.actions() if a.text().startswith("Fix:")]
    assert fixes and "Flatten" in fixes[0].text()
    fixes[0].trigger()
    assert scene.nodes["n2"].severity == "hint"  # fixed; it now holds most weights: advice
    assert scene.nodes["n3"].severity == "warning"
    assert "CrossEntropyLoss" in scene.nodes["n3"].toolTip()
    flatten = next(n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Flatten")
    assert scene.nodes[flatten].isVisible() and scene.nodes[flatten].pos() != QPointF(0, 0)
    view.grab()  # paints cards with badges
    doc.undo_stack.undo()
    assert scene.nodes["n2"].severity == "error" and flatten not in scene.nodes


# -- adding and wiring -----------------------------------------------------------------------
def test_drop_from_palette_creates_the_layer_there(make_view) -> None:
    view = make_view(convs())
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"BatchNorm2d")
    at = QPoint(400, 500)
    assert drag_events(view, mime, at) == [True, True, True]
    doc = view.doc
    (new,) = [n for n in doc.graph.nodes() if doc.graph.type_of(n) == "BatchNorm2d"]
    ui = doc.graph.ui(new)
    centre = view.mapToScene(at)
    assert abs(ui["x"] + NODE_W / 2 - centre.x()) <= GRID and ui["x"] % GRID == 0
    assert abs(ui["y"] + NODE_H / 2 - centre.y()) <= GRID and ui["y"] % GRID == 0
    assert doc.selection() == (new,) and new in view.graph_scene.nodes
    assert doc.undo_stack.count() == 1


def test_drop_of_an_unknown_type_says_so(make_view, qtbot) -> None:
    view = make_view(convs())
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"Conv9d")
    with qtbot.waitSignal(view.status_message) as said:
        drag_events(view, mime, QPoint(300, 300))
    assert "Conv9d" in said.args[0] and len(view.doc.graph) == 5


def test_drag_connect_with_view_methods(make_view) -> None:
    graph = convs()
    graph.remove_edge("n2", "n3")
    view = make_view(graph)
    scene, doc = view.graph_scene, view.doc
    assert view.start_wire_drag(scene.nodes["n2"].output_port_pos())
    assert view.move_wire_drag(scene.nodes["n3"].card_rect().center()) is None
    result = view.finish_wire_drag(scene.nodes["n3"].card_rect().center())
    assert result.outcome == "connected"
    assert doc.graph.inputs("n3") == ["n2"] and ("n2", "n3") in scene.wires
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert ("n2", "n3") not in scene.wires


def test_drag_connect_with_real_mouse_events(make_view) -> None:
    graph = convs()
    graph.remove_edge("n2", "n3")
    view = make_view(graph)
    scene = view.graph_scene
    start = viewport_point(view, scene.nodes["n2"].output_port_pos())
    end = viewport_point(view, scene.nodes["n3"].input_port_pos(0))
    port = view.viewport()
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(port, (start + end) / 2)
    QTest.mouseMove(port, end)
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert view.doc.graph.inputs("n3") == ["n2"]
    assert scene.nodes["n2"].pos() == QPointF(view.doc.graph.ui("n2")["x"], 0)  # not moved


def test_refused_wire_leaves_the_graph_alone(make_view, qtbot) -> None:
    view = make_view(convs())
    scene, doc = view.graph_scene, view.doc
    before = graph_to_dict(doc.graph)
    view.start_wire_drag(scene.nodes["n3"].output_port_pos())
    reason = view.move_wire_drag(scene.nodes["n1"].card_rect().center())
    assert reason is not None and "cycle" in reason
    assert view._wire_drag.loose.refused == reason  # drawn red
    view.grab()
    with qtbot.waitSignal(view.status_message) as said:
        result = view.finish_wire_drag(scene.nodes["n1"].card_rect().center())
    assert result.outcome == "refused" and "cycle" in said.args[0]
    assert graph_to_dict(doc.graph) == before and doc.undo_stack.count() == 0
    assert not [i for i in scene.items() if type(i).__name__ == "DragWireItem"]


def test_wire_dropped_on_empty_canvas_asks_for_quick_add(make_view, qtbot) -> None:
    view = make_view(convs())
    scene = view.graph_scene
    view.start_wire_drag(scene.nodes["out"].input_port_pos(0))  # picks up n3 -> out
    view.cancel_wire_drag()
    assert scene.wires[("n3", "out")].isVisible()
    view.start_wire_drag(scene.nodes["n3"].output_port_pos())
    empty = scene.nodes["n3"].card_rect().bottomRight() + QPointF(100, 300)
    with qtbot.waitSignal(view.quick_add_requested) as asked:
        view.finish_wire_drag(empty)
    assert view.pending_source == "n3"
    assert abs(asked.args[0].x() - empty.x()) <= GRID
    assert view.doc.undo_stack.count() == 0


def test_picking_up_a_wire_moves_or_detaches_it(make_view) -> None:
    graph = convs()
    graph.add_node("side", "ReLU", ui={"x": 520, "y": 300})
    view = make_view(graph)
    scene, doc = view.graph_scene, view.doc
    view.start_wire_drag(scene.nodes["n3"].input_port_pos(0))  # the wire n2 -> n3
    assert not scene.wires[("n2", "n3")].isVisible()
    result = view.finish_wire_drag(scene.nodes["side"].card_rect().center())
    assert result.outcome == "connected"
    assert doc.graph.inputs("side") == ["n2"] and doc.graph.inputs("n3") == []
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.graph.inputs("n3") == ["n2"] and scene.wires[("n2", "n3")].isVisible()
    view.start_wire_drag(scene.nodes["n3"].input_port_pos(0))
    view.finish_wire_drag(QPointF(-3000, -3000))
    assert doc.graph.inputs("n3") == [] and doc.undo_stack.count() == 1


def test_select_and_delete_a_wire(make_view) -> None:
    view = make_view(convs())
    scene, doc = view.graph_scene, view.doc
    wire = scene.wires[("n1", "n2")]
    mid = viewport_point(view, wire.path().pointAtPercent(0.3))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, mid)
    assert wire.isSelected() and doc.selection() == ()
    assert view.edits.delete_selected()
    assert doc.graph.inputs("n2") == [] and doc.undo_stack.undoText() == "Delete wire n1 -> n2"


# -- selection, moving -----------------------------------------------------------------------
def test_selection_follows_both_ways(make_view) -> None:
    view = make_view(convs())
    scene, doc = view.graph_scene, view.doc
    doc.select(["n1", "n3"])
    assert {i.node for i in scene.selectedItems()} == {"n1", "n3"}
    assert scene.wires[("n1", "n2")].highlighted()
    centre = viewport_point(view, scene.nodes["n2"].card_rect().center())
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, centre)
    assert doc.selection() == ("n2",)
    view.edits.select_all()
    assert len(scene.selectedItems()) == 5


def test_dragging_cards_is_one_move_on_the_grid(make_view) -> None:
    view = make_view(convs())
    scene, doc = view.graph_scene, view.doc
    doc.select(["n1", "n2"])
    port = view.viewport()
    start = viewport_point(view, scene.nodes["n1"].card_rect().center())
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 6):
        QTest.mouseMove(port, start + QPoint(step * 13, step * 17))
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(65, 85))
    assert doc.undo_stack.count() == 1
    for node in ("n1", "n2"):
        ui = doc.graph.ui(node)
        assert ui["y"] != 0 and ui["x"] % GRID == 0 and ui["y"] % GRID == 0
    doc.undo_stack.undo()
    assert scene.nodes["n1"].pos() == QPointF(260, 0)


# -- edit actions ----------------------------------------------------------------------------
def test_delete_selection_is_one_step(make_view) -> None:
    view = make_view(convs())
    doc = view.doc
    before = graph_to_dict(doc.graph)
    doc.select(["n1", "n2", "n3"])
    assert view.edits.delete_selected()
    assert doc.graph.nodes() == ["in", "out"] and doc.undo_stack.undoText() == "Delete 3 nodes"
    doc.undo_stack.undo()
    assert graph_to_dict(doc.graph) == before and len(view.graph_scene.wires) == 4
    doc.select([])
    assert not view.edits.delete_selected()


def test_copy_paste_and_duplicate(make_view) -> None:
    view = make_view(convs())
    scene, doc = view.graph_scene, view.doc
    doc.select(["n1", "n2"])
    assert view.edits.copy()
    new = view.edits.paste()
    assert len(new) == 2 and not set(new) & {"n1", "n2"}
    assert doc.selection() == tuple(new)
    assert doc.graph.inputs(new[1]) == [new[0]]
    originals = [scene.nodes[n].card_rect() for n in ("in", "n1", "n2", "n3", "out")]
    for node in new:
        assert not any(scene.nodes[node].card_rect().intersects(r) for r in originals)
    again = view.edits.paste()  # a second paste does not cover the first either
    assert not scene.nodes[again[0]].card_rect().intersects(scene.nodes[new[0]].card_rect())
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert len(doc.graph) == 5
    doc.select(["n3"])
    (dup,) = view.edits.duplicate()
    assert doc.graph.type_of(dup) == "Conv2d" and doc.undo_stack.undoText() == "Duplicate 1 node"


def test_cut_is_one_step_and_pastes_back(make_view) -> None:
    view = make_view(convs())
    doc = view.doc
    doc.select(["n2"])
    assert view.edits.cut()
    assert "n2" not in doc.graph and doc.undo_stack.undoText() == "Cut n2"
    (back,) = view.edits.paste()
    assert doc.graph.type_of(back) == "ReLU"


def test_paste_without_layers_on_the_clipboard(make_view, qtbot) -> None:
    view = make_view(convs())
    QApplication.clipboard().setText("hello")
    with qtbot.waitSignal(view.status_message) as said:
        assert view.edits.paste() == []
    assert "no copied layers" in said.args[0]


def test_rename_in_place(make_view, qtbot) -> None:
    view = make_view(convs())
    doc = view.doc
    doc.select(["n1"])
    assert view.edits.rename_selected()
    editor = view.edits.rename_editor()
    assert editor is not None and editor.text() == "n1" and editor.isVisible()
    editor.setText("n3")  # taken: refused, keeps editing
    with qtbot.waitSignal(view.status_message) as said:
        QTest.keyClick(editor, Qt.Key.Key_Return)
    assert "already" in said.args[0] and view.edits.rename_editor() is editor
    assert "n1" in doc.graph
    editor.setText("conv_a")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert "conv_a" in doc.graph and doc.graph.inputs("conv_a") == ["in"]
    assert doc.selection() == ("conv_a",) and view.edits.rename_editor() is None
    assert "conv_a" in view.graph_scene.nodes
    doc.select(["conv_a"])
    view.edits.rename_selected()
    view.edits.rename_editor().setText("other")
    QTest.keyClick(view.edits.rename_editor(), Qt.Key.Key_Escape)
    assert view.edits.rename_editor() is None and "conv_a" in doc.graph


def test_auto_layout_is_one_step_then_fits(make_view) -> None:
    graph = place(example_graph("resnet_cifar"))  # one long row, as if drawn by hand
    view = make_view(graph)
    doc = view.doc
    before = {n: doc.graph.ui(n) for n in doc.graph.nodes()}
    assert view.edits.auto_layout()
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Auto-layout"
    rects = [item.card_rect() for item in view.graph_scene.nodes.values()]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(view.graph_scene.nodes_rect()) and view.zoom() <= 1.0
    doc.undo_stack.undo()
    assert {n: doc.graph.ui(n) for n in doc.graph.nodes()} == before


def test_graph_without_positions_gets_them_laid_out_for_the_view(make_view) -> None:
    view = make_view(chain(("ReLU", {}), ("ReLU", {})))
    graph = view.doc.graph
    assert {n: (graph.ui(n)["x"], graph.ui(n)["y"]) for n in graph.nodes()} == \
        layout_for_view(graph, *view.layout_size())  # as the layout action lays out
    for node, item in view.graph_scene.nodes.items():
        assert item.pos() == QPointF(graph.ui(node)["x"], graph.ui(node)["y"])
    assert view.doc.undo_stack.count() == 0 and not view.doc.modified  # not an edit


# -- view ------------------------------------------------------------------------------------
def test_zoom_is_clamped_and_fit_never_zooms_in(make_view) -> None:
    view = make_view(chain(output=False))  # one small card
    view.fit()
    assert view.zoom() == 1.0
    for _ in range(40):
        view.zoom_in()
    assert view.zoom() == CanvasView.MAX_ZOOM
    for _ in range(60):
        view.zoom_out()
    assert view.zoom() == CanvasView.MIN_ZOOM
    view.reset_zoom()
    assert view.zoom() == 1.0


def test_a_fit_view_stays_fit_when_it_shrinks_until_the_user_zooms_or_pans(make_view) -> None:
    """An opened or imported graph was fit, then the window or a dock made the canvas smaller:
    both ends were cut off (review 15, item 14)."""
    view = make_view(flat_resnet_cifar())

    def shows_every_card() -> bool:
        QApplication.processEvents()
        seen = view.mapToScene(view.viewport().rect()).boundingRect()
        return seen.contains(view.graph_scene.nodes_rect())

    view.fit()
    zoom = view.zoom()
    view.resize(600, 400)
    assert shows_every_card() and view.zoom() < zoom
    view.resize(1000, 700)
    assert shows_every_card() and view.zoom() == pytest.approx(zoom)
    view.zoom_in()  # the user's own view is left as it is
    zoomed = view.zoom()
    view.resize(600, 400)
    QApplication.processEvents()
    assert view.zoom() == zoomed
    view.fit()
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + 50)  # a pan
    zoom = view.zoom()
    view.resize(500, 300)
    QApplication.processEvents()
    assert view.zoom() == zoom


def test_tab_and_right_click_ask_for_quick_add(make_view, qtbot) -> None:
    view = make_view(convs())
    view.doc.select(["n3"])
    with qtbot.waitSignal(view.quick_add_requested) as asked:
        QTest.keyClick(view, Qt.Key.Key_Tab)
    assert view.pending_source == "n3"
    assert asked.args[0].x() > view.graph_scene.nodes["n3"].card_rect().right()
    empty = view.viewport().rect().bottomLeft() + QPoint(30, -30)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, empty,
                              view.viewport().mapToGlobal(empty))
    QApplication.sendEvent(view.viewport(), event)  # the canvas's menu, layer search first
    menu = QApplication.activePopupWidget()
    assert [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()] == [
        "Add Layer…", "Paste", "Select All", "Fit to View", "Auto-layout"]
    with qtbot.waitSignal(view.quick_add_requested) as asked:
        menu.actions()[0].trigger()
    menu.hide()  # the view deletes it with itself
    assert view.pending_source is None and not view.pending_in_chain
    assert asked.args[0].x() < view.mapToScene(empty).x()  # centred where it was asked


def test_focus_request_centres_the_node(make_view) -> None:
    view = make_view(place(chain(*[("ReLU", {})] * 30)))
    view.reset_zoom()
    view.doc.focus("n25")
    centre = view.mapToScene(view.viewport().rect().center())
    assert view.graph_scene.nodes["n25"].card_rect().contains(centre)


def test_both_themes_paint(make_view) -> None:
    view = make_view(example_graph("resnet_cifar"))
    manager = theme_manager()
    old = manager.choice
    try:
        for name in ("dark", "light"):
            manager.apply(name)
            image = view.grab().toImage()
            corner = image.pixelColor(3, 3).name()
            assert corner == manager.theme.canvas or corner == manager.theme.grid_major \
                or corner == manager.theme.grid_minor
    finally:
        manager.apply(old)


def test_replacing_the_document_rebuilds(make_view) -> None:
    view = make_view(convs())
    view.doc.replace(example_graph("lenet5"))
    assert set(view.graph_scene.nodes) == set(view.doc.graph.nodes())


def test_wheel_zooms_around_the_pointer(make_view) -> None:
    from PySide6.QtGui import QWheelEvent

    view = make_view(example_graph("resnet_cifar"))
    view.reset_zoom()
    at = QPoint(200, 150)
    under = view.mapToScene(at)
    event = QWheelEvent(QPointF(at), QPointF(view.viewport().mapToGlobal(at)), QPoint(),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom() > 1.3
    after = view.mapToScene(at)
    assert abs(after.x() - under.x()) < 3 and abs(after.y() - under.y()) < 3


def test_middle_button_and_space_drag_pan(make_view) -> None:
    view = make_view(example_graph("resnet_cifar"))
    view.reset_zoom()
    port = view.viewport()
    before = view.mapToScene(port.rect().center())
    QTest.mousePress(port, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(500, 300))
    QTest.mouseMove(port, QPoint(400, 250))
    QTest.mouseRelease(port, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(400, 250))
    moved = view.mapToScene(port.rect().center())
    assert abs(moved.x() - before.x() - 100) < 2 and abs(moved.y() - before.y() - 50) < 2
    QTest.keyPress(view, Qt.Key.Key_Space)
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(400, 250))
    QTest.mouseMove(port, QPoint(450, 250))
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(450, 250))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert abs(view.mapToScene(port.rect().center()).x() - (moved.x() - 50)) < 2
    assert view.doc.undo_stack.count() == 0 and view.doc.selection() == ()


def test_drag_from_a_free_merge_port_back_to_a_source(make_view) -> None:
    graph = place(chain(("ReLU", {}), ("ReLU", {}), ("Add", {}), shape=[4]))
    view = make_view(graph)
    scene, doc = view.graph_scene, view.doc
    add = scene.nodes["n3"]
    assert add.input_count == 2 and add.free_input_port() == 1
    assert view.start_wire_drag(add.input_port_pos(1))
    assert view.move_wire_drag(scene.nodes["n1"].card_rect().center()) is None
    assert view.finish_wire_drag(scene.nodes["n1"].card_rect().center()).outcome == "connected"
    assert doc.graph.inputs("n3") == ["n2", "n1"] and scene.nodes["n3"].input_count == 3
    wire = scene.wires[("n1", "n3")]
    assert wire.path().pointAtPercent(1.0) == add.input_port_pos(1)


def test_rubber_band_selects(make_view) -> None:
    view = make_view(convs())
    port = view.viewport()
    a = view.mapFromScene(view.graph_scene.nodes["n1"].card_rect().topLeft() - QPointF(30, 30))
    b = view.mapFromScene(view.graph_scene.nodes["n2"].card_rect().bottomRight()
                          + QPointF(10, 30))
    QTest.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(port, (a + b) / 2)
    QTest.mouseMove(port, b)
    QTest.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    assert set(view.doc.selection()) >= {"n1", "n2"} and "n3" not in view.doc.selection()


@pytest.mark.parametrize("name", ["resnet_cifar", "conv_autoencoder", "lenet5"])
def test_wires_go_around_cards_after_auto_layout(make_view, name: str) -> None:
    view = make_view(example_graph(name))
    view.edits.auto_layout()
    scene = view.graph_scene
    for (src, dst), wire in scene.wires.items():
        others = [item.card_rect().adjusted(2, 2, -2, -2) for node, item in scene.nodes.items()
                  if node not in (src, dst)]
        path = wire.path()
        for i in range(101):
            point = path.pointAtPercent(i / 100)
            assert not any(r.contains(point) for r in others), (src, dst, point)
        assert path.pointAtPercent(0) == scene.nodes[src].output_port_pos()
        assert path.pointAtPercent(1) == scene.nodes[dst].input_port_pos(wire.port)
