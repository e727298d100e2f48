"""The pieces between the blocks' core, canvas, inspector and palette: the inspector's Open
button, a block dropped from the palette, a block placed after the selected layer, and the
open block's own parameters page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent

from dlbuilder.core.blocks import BLOCK, ref
from dlbuilder.core.fileformat import load_graph
from dlbuilder.gui.mime import BLOCK_MIME
from dlbuilder.gui.panels.block_shelf import BUILTIN, FILE
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).resolve().parents[2] / "core" / "data" / "blocks_tiny.json"


@pytest.fixture
def window(make_window):
    window = make_window(load_graph(TINY, REGISTRY))
    window.resize(1280, 720)
    return window


def drop_block(window, source: str, name: str, at: QPoint) -> None:
    data = QMimeData()
    data.setData(BLOCK_MIME, json.dumps({"source": source, "name": name}).encode())
    event = QDropEvent(QPointF(at), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)


def test_the_inspectors_open_button_opens_the_block(window) -> None:
    doc = window.doc
    doc.select(["layer2"])
    window.inspector.open_button.click()
    assert doc.scope.block == "Stage" and doc.scope.path == ("layer2",)


def test_a_dropped_block_lands_where_it_was_dropped(window) -> None:
    doc, view = window.doc, window.view
    at = view.viewport().rect().center() + QPoint(200, 150)
    steps = doc.undo_stack.count()
    drop_block(window, BUILTIN, "SqueezeExcite", at)
    (node,) = doc.selection()
    assert doc.graph.params(node) == {"block": "SqueezeExcite"}
    assert "SqueezeExcite" in doc.graph.blocks and doc.undo_stack.count() == steps + 1
    card = window.scene.nodes[node].card_rect()
    assert card.contains(view.mapToScene(at)) or \
        (card.center() - view.mapToScene(at)).manhattanLength() < 200  # moved aside at most


def test_a_block_dropped_on_a_wire_goes_in_between(window) -> None:
    doc, view = window.doc, window.view
    wire = window.scene.wires[("layer2", "pool")]
    at = view.mapFromScene(wire.mapToScene(wire.path().pointAtPercent(0.5)))
    steps = doc.undo_stack.count()
    drop_block(window, BUILTIN, "SqueezeExcite", at)
    (node,) = doc.selection()
    graph = doc.graph
    assert graph.inputs(node) == ["layer2"] and graph.outputs(node) == ["pool"]
    assert doc.undo_stack.count() == steps + 1 and doc.engine.totals().errors == 0
    doc.undo_stack.undo()
    assert "SqueezeExcite" not in graph.blocks and graph.outputs("layer2") == ["pool"]


def test_a_block_dropped_into_itself_is_refused_with_the_reason(window, qtbot) -> None:
    doc = window.doc
    doc.open_block("layer2")  # inside Stage
    nodes = set(doc.scope.graph.nodes())
    with qtbot.waitSignal(doc.refused) as refused:
        drop_block(window, FILE, "Stage", window.view.viewport().rect().center())
    assert "Stage > Stage" in refused.args[0]
    assert set(doc.scope.graph.nodes()) == nodes
    drop_block(window, FILE, "Basic", window.view.viewport().rect().center())  # inside: fine
    assert len(doc.graph.block("Stage").graph.nodes()) == len(nodes) + 1


def test_a_block_placed_with_a_layer_selected_goes_after_it(window) -> None:
    doc = window.doc
    doc.select(["conv1"])
    window.palette.block_requested.emit(window.palette.entry(FILE, "Basic"))
    (node,) = doc.selection()
    graph = doc.graph
    assert graph.type_of(node) == BLOCK
    assert graph.inputs(node) == ["conv1"] and graph.inputs("layer1") == [node]  # in chain
    assert doc.engine.info(node).output_shape == (16, 32, 32)
    doc.undo_stack.undo()
    assert node not in graph and graph.inputs("layer1") == ["conv1"]


def test_the_open_blocks_parameters_page(window) -> None:
    doc, page = window.doc, window.inspector.block_editor
    assert not page.isVisibleTo(window.inspector)  # top level: the usual hint
    doc.open_block("layer1")
    assert page.isVisibleTo(window.inspector) and page.name_edit.text() == "Basic"
    assert page.table.rowCount() == 1 and page.table.item(0, 0).text() == "channels"
    doc.select(["conv1"])
    assert not page.isVisibleTo(window.inspector)
    doc.select([])
    assert page.isVisibleTo(window.inspector)


def test_editing_a_parameter_row_is_one_undo_step(window) -> None:
    doc, page = window.doc, window.inspector.block_editor
    doc.open_block("layer1")
    steps = doc.undo_stack.count()
    page.table.item(0, 1).setText("32")  # the default
    assert doc.graph.block("Basic").params[0].default == 32
    page.table.item(0, 0).setText("width")  # a rename carries values and expressions
    assert doc.graph.params("layer1")["width"] == 16
    assert doc.graph.block("Basic").graph.params("conv1")["out_channels"] == ref("width")
    assert doc.undo_stack.count() == steps + 2
    assert doc.undo_stack.undoText() == "Rename parameter channels of Basic to width"
    doc.undo_stack.undo()
    assert page.table.item(0, 0).text() == "channels"  # the page follows undo
    assert doc.graph.params("layer1")["channels"] == 16


def test_a_bad_value_is_refused_and_the_row_restored(window, qtbot) -> None:
    doc, page = window.doc, window.inspector.block_editor
    doc.open_block("layer1")
    with qtbot.waitSignal(doc.refused) as refused:
        page.table.item(0, 0).setText("Channels")
    assert "lower-case" in refused.args[0]
    assert page.table.item(0, 0).text() == "channels"
    page.table.item(0, 2).setText("one")
    assert page.table.item(0, 2).text() == "1"
    assert window.statusBar().currentMessage().startswith("Min of channels must be a whole")


def test_add_remove_and_rename_the_block(window) -> None:
    doc, page = window.doc, window.inspector.block_editor
    doc.open_block("layer1")
    page.add_button.click()
    assert [p.name for p in doc.graph.block("Basic").params] == ["channels", "param"]
    page.table.selectRow(0)
    page.remove_button.click()  # conv1 and conv2 still name it: they show where
    assert [p.name for p in doc.graph.block("Basic").params] == ["param"]
    assert "conv1.out_channels, conv2.out_channels" in window.statusBar().currentMessage()
    assert any(d.code == "bad_reference" for d in doc.scope.engine.diagnostics())
    page.doc_edit.setPlainText("two convolutions")
    page._on_doc_edit_done()
    assert doc.graph.block("Basic").doc == "two convolutions"
    page.name_edit.setText("Pair")
    page.name_edit.editingFinished.emit()
    assert "Pair" in doc.graph.blocks and doc.graph.params("layer1")["block"] == "Pair"
    assert doc.scope.block == "Pair" and page.title.text().count("Pair") == 1
    for _ in range(4):
        doc.undo_stack.undo()
    assert [p.name for p in doc.graph.block("Basic").params] == ["channels"]
    assert page.name_edit.text() == "Basic"
