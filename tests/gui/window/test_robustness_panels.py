"""Odd graphs in every panel (empty, an unknown type, Input and Output, a five-way Concat,
huge values) and views that must stay in step: none may raise, and all agree with the graph."""

from __future__ import annotations

import pytest
from gui_helpers import all_panels_follow, settle
from helpers import chain
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from dlbuilder.core.graph import Graph
from dlbuilder.gui.look.theme import theme_manager


# -- odd graphs in every panel ---------------------------------------------------------------
@pytest.mark.slow
def test_empty_graph_in_every_panel(make_window) -> None:
    window = make_window(graph=Graph(), example=None)
    view = window.view
    view.edits.select_all()
    assert not view.edits.delete_selected() and not view.edits.copy() and not view.edits.cut()
    assert view.edits.duplicate() == [] and not view.edits.rename_selected()
    assert not view.edits.auto_layout()
    view.fit()
    view.request_quick_add()
    window.quick_add.hide()
    theme_manager().apply("dark")
    theme_manager().apply("light")
    all_panels_follow(window)
    assert window.code.code() is None and not window.code.banner.isHidden()


def unknown_type_graph() -> Graph:
    graph = chain(("Conv2d", {"out_channels": 4}), ("ReLU", {}))
    graph.add_node("odd", "Bogus", {"k": 1}, {"x": 10, "y": 300})
    graph.add_edge("n2", "odd")
    graph.add_node("after", "ReLU", {}, {"x": 300, "y": 300})
    graph.add_edge("odd", "after")
    return graph


@pytest.mark.slow
def test_unknown_type_in_every_panel(make_window) -> None:
    window = make_window(graph=unknown_type_graph(), example=None)
    doc, view = window.doc, window.view
    settle()
    doc.select(["odd"])
    settle()
    assert window.inspector.node == "odd"
    assert "unknown" in window.scene.nodes["odd"].texts()["key"]
    window.code.refresh()
    assert window.code.code() is None
    assert view.edits.copy() and view.edits.paste() == []  # a file could not hold it
    assert len(view.edits.duplicate()) == 1
    view.request_quick_add()
    window.quick_add.hide()
    view.edits.auto_layout()
    theme_manager().apply("dark")
    theme_manager().apply("light")
    all_panels_follow(window)


def test_input_and_output_in_the_inspector(make_window) -> None:
    window = make_window()
    doc = window.doc
    for node in doc.graph.nodes():
        if doc.graph.type_of(node) in ("Input", "Output"):
            doc.select([node])
            settle()
            assert window.inspector.node == node
            assert window.inspector.fields
    inp = next(n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Input")
    doc.select([inp])
    line = window.inspector.fields["shape"].line
    line.setText("3, 8, 8")
    line.editingFinished.emit()
    assert doc.graph.params(inp)["shape"] == [3, 8, 8]
    all_panels_follow(window)


def test_concat_with_five_inputs(make_window) -> None:
    graph = chain(("ReLU", {}), output=False)
    graph.add_node("cat", "Concat", {})
    for i in range(5):
        graph.add_node(f"b{i}", "Conv2d", {"out_channels": 2, "kernel_size": 3})
        graph.add_edge("n1", f"b{i}")
        graph.add_edge(f"b{i}", "cat")
    graph.add_node("out", "Output", {})
    graph.add_edge("cat", "out")
    window = make_window(graph=graph, example=None)
    doc, scene = window.doc, window.scene
    settle()
    assert scene.nodes["cat"].connected == 5 and scene.nodes["cat"].input_count == 6
    assert scene.nodes["cat"].texts()["shape"] == "10x26x26"
    doc.select(["cat"])
    settle()
    assert window.inspector.node == "cat"
    view = window.view
    assert view.edits.rename_node("b2")
    view.edits.rename_editor().setText("middle")
    QTest.keyClick(view.edits.rename_editor(), Qt.Key.Key_Return)
    assert doc.graph.inputs("cat") == ["b0", "b1", "middle", "b3", "b4"]
    assert doc.selection() == ("middle",) and window.inspector.node == "middle"
    all_panels_follow(window)
    doc.undo_stack.undo()
    assert doc.graph.inputs("cat") == ["b0", "b1", "b2", "b3", "b4"]
    all_panels_follow(window)
    doc.select(["b2"])
    window.view.edits.delete_selected()
    assert [scene.wires[(s, "cat")].port for s in doc.graph.inputs("cat")] == [0, 1, 2, 3]
    doc.undo_stack.undo()
    assert [scene.wires[(s, "cat")].port for s in doc.graph.inputs("cat")] == [0, 1, 2, 3, 4]
    all_panels_follow(window)


@pytest.mark.slow
def test_theme_switch_with_panels_hidden(make_window) -> None:
    window = make_window()
    for dock in window.docks.values():
        dock.hide()
    window.doc.select([window.doc.graph.nodes()[1]])
    theme_manager().apply("dark")
    window.doc.undo_stack.undo()
    window.view.edits.delete_selected()
    theme_manager().apply("light")
    for dock in window.docks.values():
        dock.show()
    all_panels_follow(window)


def test_open_a_file_while_the_inspector_shows_a_node(make_window) -> None:
    window = make_window()
    doc = window.doc
    doc.select([doc.graph.nodes()[1]])
    settle()
    assert window.inspector.node is not None
    assert window.files.open_example("lenet5")
    settle()
    assert window.inspector.node is None
    all_panels_follow(window)


def test_huge_and_fractional_values_in_the_inspector(make_window) -> None:
    graph = chain(("Conv2d", {"out_channels": 10**12, "kernel_size": 3.5, "stride": [2**40, 1]}),
                  ("Dropout", {"p": 1e300}), ("BatchNorm2d", {"eps": "x"}))
    window = make_window(graph=graph, example=None)
    for node in ("n1", "n2", "n3"):
        window.doc.select([node])
        settle()
        assert window.inspector.node == node
    all_panels_follow(window)
