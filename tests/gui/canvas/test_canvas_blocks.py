"""Blocks on the canvas: the instance card, opening a block and coming back, edits inside a
definition, group and ungroup, expand in place, and a block kept out of its own definition."""

from __future__ import annotations

from pathlib import Path

from block_graphs import depthwise_graph
from gui_helpers import viewport_point
from helpers import chain
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QToolButton

from dlbuilder.core.block_commands import InBlock
from dlbuilder.core.commands import SetParams
from dlbuilder.core.fileformat import graph_from_dict, graph_to_dict, load_graph
from dlbuilder.core.fragment import copy_fragment
from dlbuilder.core.layout import layout_for_view
from dlbuilder.gui.canvas.edit_ops import put_fragment_on_clipboard
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parents[2] / "core" / "data" / "blocks_tiny.json"


def tiny():
    return load_graph(TINY, REGISTRY)


def statuses(view) -> list[str]:
    said: list[str] = []
    view.status_message.connect(said.append)
    return said


def double_click(view, node: str) -> None:
    card = view.graph_scene.nodes[node].card_rect()
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, viewport_point(view, card.center()))
    QApplication.processEvents()


# -- the instance card ------------------------------------------------------------------------
def test_instance_card_says_block_arguments_repeat_shape_and_total(make_view) -> None:
    view = make_view(tiny())
    item = view.graph_scene.nodes["layer1"]
    texts = item.texts()
    info = view.doc.engine.info("layer1")
    assert item.kind == "instance" and item.category == "block"
    assert texts["header"] == "Basic \u00d73" and texts["id"] == "layer1"
    assert texts["key"] == "channels=16"
    assert texts["shape"] == "16x32x32"
    assert texts["count"] == f"{info.params:,} params" and info.params == 3 * 4672
    assert (item.input_count, item.output_count) == (1, 1)
    assert "Double-click to open" in item.toolTip()
    assert view.graph_scene.nodes["layer2"].texts()["key"] == "channels=16, n=2"
    assert view.graph_scene.nodes["conv1"].kind == "layer"


def test_an_instance_without_arguments_leaves_its_key_line_empty(make_view) -> None:
    """Its count line gives the parameters; "no parameters" above it would contradict it."""
    data = graph_to_dict(tiny())
    data["blocks"][0]["params"] = []
    data["blocks"][0]["nodes"][1]["params"]["out_channels"] = 16
    data["blocks"][0]["nodes"][4]["params"]["out_channels"] = 16
    data["nodes"][2]["params"] = {"block": "Basic", "repeat": 3}
    view = make_view(graph_from_dict(data, REGISTRY))
    texts = view.graph_scene.nodes["layer1"].texts()
    assert texts["key"] == "" and texts["header"] == "Basic \u00d73"
    assert texts["count"] == f"{3 * 4672:,} params"


def test_a_problem_inside_shows_on_the_instance_card(make_view) -> None:
    view = make_view(tiny())
    doc = view.doc
    doc.push(InBlock("Basic", SetParams("conv1", {"kernel_size": 50})), scoped=False)
    item = view.graph_scene.nodes["layer1"]
    assert item.severity == "error"
    assert any(d.message.startswith("layer1.0/conv1:") for d in item.diagnostics)


def test_ports_inside_a_definition_draw_as_ports(make_view) -> None:
    view = make_view(tiny())
    view.doc.open_block("layer1")
    scene = view.graph_scene
    assert set(scene.nodes) == set(view.doc.graph.block("Basic").graph.nodes())
    x, y = scene.nodes["x"], scene.nodes["y"]
    assert (x.kind, x.input_count, x.has_output) == ("port", 0, True)
    assert (y.kind, y.input_count, y.has_output) == ("port", 1, False)
    assert x.texts()["header"] == "Block input" and x.texts()["shape"] == "16x32x32"
    assert scene.wires[("x", "add")].label_text() == "16x32x32"


# -- open and go back -------------------------------------------------------------------------
def test_double_click_opens_esc_and_backspace_go_up_keeping_each_levels_view(make_view) -> None:
    view = make_view(tiny())
    doc = view.doc
    view.set_zoom(0.7)
    top_zoom = view.zoom()
    double_click(view, "layer2")
    assert doc.scope.path == ("layer2",)
    assert set(view.graph_scene.nodes) == {"x", "0", "y"}
    inner = view.graph_scene.nodes["0"].texts()  # references, with what they come to here
    assert inner["header"] == "Basic \u00d72" and inner["key"] == "channels=channels (16)"
    double_click(view, "0")
    assert doc.scope.path == ("layer2", "0")
    assert view.graph_scene.nodes["conv1"].texts()["shape"] == "16x32x32"
    view.set_zoom(1.5)
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert doc.scope.path == ("layer2",) and doc.selection() == ("0",)
    doc.select([])
    QTest.keyClick(view, Qt.Key.Key_Backspace)  # deletes nothing: goes up
    assert doc.scope.path == () and abs(view.zoom() - top_zoom) < 1e-9
    double_click(view, "layer2")
    double_click(view, "0")
    assert abs(view.zoom() - 1.5) < 1e-9  # as this level was left


def test_double_click_on_a_layer_still_renames(make_view) -> None:
    view = make_view(tiny())
    double_click(view, "conv1")
    assert view.doc.scope.path == () and view.edits.rename_editor() is not None
    view.edits.cancel_rename()


def test_an_edit_inside_redraws_each_changed_card_once(make_view) -> None:
    view = make_view(tiny())
    doc = view.doc
    doc.open_block("layer1")
    scene = view.graph_scene
    refreshed: list[str] = []
    for item in scene.nodes.values():
        original = item.refresh
        item.refresh = lambda d, item=item, original=original: (refreshed.append(item.node),
                                                                 original(d))
    seen: list = []
    doc.changed.connect(seen.append)
    doc.push(SetParams("conv2", {"kernel_size": 5}))
    assert len(seen) == 1
    assert sorted(refreshed) == sorted(set(refreshed))  # once each
    assert "conv2" in refreshed and "x" not in refreshed
    assert scene.nodes["conv2"].texts()["key"].startswith("5x5")
    assert scene.nodes["add"].severity == "error"  # 16x30x30 + 16x32x32: shapes differ
    doc.undo_stack.undo()
    assert scene.nodes["add"].severity is None


def test_breadcrumb_and_menus_in_the_window(make_window) -> None:
    window = make_window(tiny(), example=None)
    doc, crumbs = window.doc, window.breadcrumb
    assert crumbs.isHidden()
    doc.open_block("layer2")
    doc.open_block("0")
    assert not crumbs.isHidden()
    assert crumbs.crumbs() == ["tiny", "layer2 (Stage)", "0 (Basic)"]
    menus = [a.objectName() for menu in window.menuBar().findChildren(QMenu)
             for a in menu.actions()]
    assert "action_group" in menus and "action_ungroup" in menus
    assert window.actions["leave_block"].isEnabled()
    button = crumbs.findChildren(QToolButton, "crumb_1")
    assert button
    button[0].click()
    assert doc.scope.path == ("layer2",)
    window.actions["leave_block"].trigger()
    assert doc.scope.path == () and crumbs.isHidden()


# -- group and ungroup ------------------------------------------------------------------------
def convs_relu():
    graph = chain(("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
                  ("BatchNorm2d", {}), ("ReLU", {}), ("Flatten", {}))
    for node, (x, y) in layout_for_view(graph, 1600, 600).items():
        graph.set_ui(node, {"x": x, "y": y})
    return graph


def test_group_makes_one_selected_card_where_the_selection_was(make_view) -> None:
    view = make_view(convs_relu())
    doc, scene = view.doc, view.graph_scene
    chosen = ["n1", "n2", "n3"]
    before = [scene.nodes[n].card_rect() for n in chosen]
    doc.select(chosen)
    count = doc.undo_stack.count()
    view.edits.edit_actions["group"].trigger()
    assert doc.undo_stack.count() == count + 1
    [instance] = [n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Block"]
    assert doc.selection() == (instance,)
    card = scene.nodes[instance].card_rect()
    span = before[0].united(before[-1])
    assert span.left() <= card.center().x() <= span.right()
    assert scene.nodes[instance].texts()["shape"] == "8x28x28"
    doc.undo_stack.undo()
    assert set(scene.nodes) == set(doc.graph.nodes()) and "n2" in scene.nodes


def test_a_refused_group_changes_nothing_and_says_why(make_view) -> None:
    view = make_view(convs_relu())
    said = statuses(view)
    doc = view.doc
    doc.select(["in", "n1"])
    count = doc.undo_stack.count()
    view.edits.edit_actions["group"].trigger()
    assert doc.undo_stack.count() == count
    assert said and said[-1].startswith("Cannot group:") and "in" in said[-1]


def test_ungroup_puts_the_layers_back_selected(make_view) -> None:
    view = make_view(tiny())
    doc = view.doc
    doc.select(["layer2"])
    view.edits.edit_actions["ungroup"].trigger()
    assert "layer2" not in doc.graph
    assert doc.selection() and all(n in doc.graph for n in doc.selection())
    assert set(view.graph_scene.nodes) == set(doc.graph.nodes())
    doc.undo_stack.undo()
    assert "layer2" in view.graph_scene.nodes


def test_group_inside_an_open_block(make_view) -> None:
    view = make_view(tiny())
    doc = view.doc
    doc.open_block("layer1")
    doc.select(["conv1", "bn1"])
    made = view.edits.blocks.group_selected()
    assert made is not None and made in doc.scope.graph
    assert doc.scope.block == "Basic" and len(doc.graph.blocks) == 3
    assert doc.engine.info("layer1").params == 3 * 4672  # the same numbers
    doc.undo_stack.undo()
    assert len(doc.graph.blocks) == 2 and "conv1" in view.graph_scene.nodes


# -- expand in place --------------------------------------------------------------------------
def test_expand_in_place_shows_the_inside_read_only(make_view) -> None:
    view = make_view(tiny())
    doc = view.doc
    item = view.graph_scene.nodes["layer1"]
    item.set_expanded(True)
    frame = item.expanded
    assert frame is not None and frame.scene() is view.graph_scene
    assert ("conv1 \u00b7 Conv2d", "16x32x32") in frame.texts()
    assert frame.acceptedMouseButtons() == Qt.MouseButton.NoButton
    doc.push(InBlock("Basic", SetParams("conv1", {"kernel_size": 5})), scoped=False)
    assert ("conv1 \u00b7 Conv2d", "16x30x30") in item.expanded.texts()
    item.set_expanded(False)
    assert item.expanded is None and frame.scene() is None


def test_an_expanded_block_is_compact_and_fit_shows_it(make_view) -> None:
    view = make_view(tiny())
    item = view.graph_scene.nodes["layer1"]
    item.set_expanded(True)
    frame = item.expanded.sceneBoundingRect()
    assert frame.width() < 4.5 * item.card_rect().width()  # wrapped, not one long strip
    assert view.graph_scene.nodes_rect().contains(frame)
    view.fit()
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(frame)


# -- a block kept out of itself ---------------------------------------------------------------
def test_paste_of_a_block_into_its_own_definition_is_refused(make_view) -> None:
    view = make_view(tiny())
    doc = view.doc
    put_fragment_on_clipboard(copy_fragment(doc.graph, ["layer2"]))
    doc.open_block("layer2")
    said = statuses(view)
    assert view.edits.paste() == []
    assert "cannot contain itself" in said[-1] and "Stage" in said[-1]
    doc.leave()
    put_fragment_on_clipboard(copy_fragment(doc.graph, ["layer1"]))
    doc.open_block("layer2")
    pasted = view.edits.paste()  # a Basic inside Stage is fine
    assert len(pasted) == 1 and doc.scope.graph.type_of(pasted[0]) == "Block"


def test_ungroup_evaluates_in_channels_for_the_instance(make_view) -> None:
    view = make_view(depthwise_graph())
    view.doc.select(["b"])
    view.edits.edit_actions["ungroup"].trigger()
    graph = view.doc.graph
    assert graph.raw_params("dw")["groups"] == 8 and "b" not in graph
    assert view.doc.engine.totals().errors == 0
