"""The editor driven as a user drives it, in the whole main window: build a network from the
palette, wire it, edit it in the inspector, fix a residual block, undo it all, save and reopen."""

from __future__ import annotations

from pathlib import Path

from gui_helpers import drag_events, viewport_point
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from dlbuilder.core.fileformat import graph_to_dict, load_graph
from dlbuilder.gui.window.main_window import MainWindow
from dlbuilder.layers import REGISTRY


def drop(window: MainWindow, type_name: str, at: QPoint) -> str:
    """Drag `type_name` from the palette onto the canvas; the new node's id."""
    before = set(window.doc.graph.nodes())
    assert drag_events(window.view, window.palette.mime_data(type_name), at) == [True] * 3
    (new,) = set(window.doc.graph.nodes()) - before
    assert window.doc.graph.type_of(new) == type_name
    return new


def wire(window: MainWindow, src: str, dst: str, port: int = 0) -> None:
    """Press on src's output port, drag, release on dst's input port (real mouse events)."""
    view, nodes = window.view, window.scene.nodes
    start = viewport_point(view, nodes[src].output_port_pos())
    end = viewport_point(view, nodes[dst].input_port_pos(port))
    viewport = view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, (start + end) / 2)
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert src in window.doc.graph.inputs(dst)


def test_build_edit_fix_undo_save_reopen(make_window, tmp_path: Path) -> None:
    window = make_window()
    doc, nodes = window.doc, window.scene.nodes
    window.actions["new"].trigger()
    assert len(doc.graph) == 0 and not nodes
    window.view.set_zoom(0.5)
    window.view.centerOn(QPointF(700, 300))

    # Input -> Conv2d -> ReLU, from the palette, wired by dragging between ports.
    inp = drop(window, "Input", viewport_point(window.view, QPointF(100, 100)))
    conv = drop(window, "Conv2d", viewport_point(window.view, QPointF(450, 100)))
    relu = drop(window, "ReLU", viewport_point(window.view, QPointF(800, 100)))
    wire(window, inp, conv)
    wire(window, conv, relu)
    shape = nodes[conv].texts()["shape"]
    assert shape == "16x26x26"  # Input starts at 1x28x28, Conv2d at 3x3 with 16 filters
    assert window.scene.wires[(conv, relu)].label_text() == shape

    # Change kernel_size in the inspector: the card and the wire after it follow at once.
    doc.select([conv])
    field = window.inspector.fields["kernel_size"]
    field.first.setValue(5)
    assert doc.graph.params(conv)["kernel_size"] == 5
    assert nodes[conv].texts()["shape"] == "16x24x24"
    assert nodes[conv].texts()["key"].startswith("5x5")
    assert window.scene.wires[(conv, relu)].label_text() == "16x24x24"
    assert "(28 - 5 + 2*0)/1 + 1 = 24" in window.inspector.explain_text()

    # A residual block whose main path halves the size and doubles the channels.
    main = drop(window, "Conv2d", viewport_point(window.view, QPointF(450, 400)))
    add = drop(window, "Add", viewport_point(window.view, QPointF(800, 400)))
    wire(window, relu, main)
    doc.select([main])
    fields = window.inspector.fields
    fields["out_channels"].spin.setValue(32)
    fields["stride"].first.setValue(2)
    fields["padding"].first.setValue(1)
    assert doc.graph.params(main) == {"out_channels": 32, "kernel_size": 3, "stride": 2,
                                      "padding": 1}
    wire(window, main, add, 0)
    wire(window, relu, add, 1)
    assert nodes[add].severity == "error"
    window.problems.refresh()
    rows = [d for d in window.problems.diagnostics() if d.node == add]
    assert rows and rows[0].code == "add_shape_mismatch"
    row = window.problems.diagnostics().index(rows[0])
    button = window.problems.fix_button(row)
    assert button is not None and "1x1 Conv2d" in button.toolTip() + button.text()
    button.click()
    assert nodes[add].severity != "error"  # left: the warning that there is no Output yet
    assert not [d for d in doc.engine.diagnostics() if d.severity == "error"]
    projection = next(n for n in doc.graph.inputs(add) if n != main)
    assert doc.graph.type_of(projection) == "Conv2d" and doc.graph.inputs(projection) == [relu]
    assert nodes[add].texts()["shape"] == "32x12x12"
    assert window.undo_action.text().startswith("&Undo Project input 1")  # the Edit menu

    # Undo everything, back to the empty graph; redo it all.
    steps = doc.undo_stack.count()
    while doc.undo_stack.canUndo():
        window.undo_action.trigger()
    assert len(doc.graph) == 0 and not nodes and not window.scene.wires
    while doc.undo_stack.canRedo():
        window.redo_action.trigger()
    assert doc.undo_stack.index() == steps and nodes[add].severity != "error"
    assert window.isWindowModified()

    # Save, reopen, compare (the untitled graph takes the file's name).
    saved = {**graph_to_dict(doc.graph), "name": "block"}
    target = tmp_path / "block.json"
    assert window.files._save_to(target)
    assert not window.isWindowModified() and "block.json" in window.windowTitle()
    assert graph_to_dict(load_graph(target, REGISTRY)) == saved
    reopened = make_window(example=None)
    assert reopened.files.open(target, ask=False)
    assert graph_to_dict(reopened.doc.graph) == saved
    assert reopened.scene.nodes[add].texts()["shape"] == "32x12x12"
