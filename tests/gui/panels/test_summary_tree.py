"""The summary tree with blocks: instances collapsed with their totals, expandable to repeats
and inner layers; rows inside a block select their instance; edits keep the open branches."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt

from dlbuilder.core.commands import AddEdge, AddNode, SetParams
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.summary import summary_dict
from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.summary_model import (
    COL_LAYER,
    COL_MACS,
    COL_PARAMS,
    COL_SHAPE,
    COL_TYPE,
    SORT_ROLE,
)
from dlbuilder.gui.panels.summary_panel import SummaryPanel
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parents[2] / "core" / "data" / "blocks_tiny.json"


@pytest.fixture
def tiny(qtbot) -> tuple[Document, SummaryPanel]:
    doc = Document(load_graph(TINY, REGISTRY))
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(1000, 500)
    panel.show()
    return doc, panel


def _row_of(panel: SummaryPanel, path: str) -> QModelIndex:
    index = panel.proxy.mapFromSource(panel.model.index_of_path(path))
    assert index.isValid(), path
    return index


def _children(panel: SummaryPanel, parent: QModelIndex, column: int = COL_LAYER,
              role=Qt.ItemDataRole.DisplayRole) -> list:
    return [panel.proxy.index(r, column, parent).data(role)
            for r in range(panel.proxy.rowCount(parent))]


def test_instances_are_rows_with_totals_and_open_to_repeats_and_layers(tiny) -> None:
    doc, panel = tiny
    top = summary_dict(doc.engine, 1)["nodes"]
    assert panel.visible_nodes() == [n["id"] for n in top]
    layer1 = _row_of(panel, "layer1")
    assert not panel.view.isExpanded(layer1)  # collapsed at first, with all repeats' totals
    assert layer1.siblingAtColumn(COL_TYPE).data() == "Basic x3"
    assert layer1.siblingAtColumn(COL_PARAMS).data(SORT_ROLE) == 14_016
    assert _children(panel, layer1) == ["layer1.0", "layer1.1", "layer1.2"]
    repeat = _row_of(panel, "layer1.1")
    assert _children(panel, repeat)[0] == "layer1.1.conv1"
    assert "x" not in _children(panel, repeat, COL_TYPE)  # ports are not rows
    assert sum(_children(panel, layer1, COL_PARAMS, SORT_ROLE)) == 14_016
    assert sum(_children(panel, repeat, COL_PARAMS, SORT_ROLE)) == 14_016 // 3
    stage = _row_of(panel, "layer2.0")  # layer2 runs once: its layers sit right under it
    assert _children(panel, stage) == ["layer2.0.0", "layer2.0.1"]


def test_a_row_inside_a_block_selects_its_instance_without_echo(qtbot, tiny) -> None:
    doc, panel = tiny
    assert panel.expand_path("layer1.1.conv2")
    inner = _row_of(panel, "layer1.1.conv2")
    focused: list[str] = []
    doc.focus_requested.connect(focused.append)
    rect = panel.view.visualRect(inner)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert doc.selection() == ("layer1",) and focused == ["layer1"]
    chosen = panel.view.selectionModel().selectedRows()
    assert [i.data() for i in chosen] == ["layer1.1.conv2"]  # the row the user clicked stays
    doc.select(["fc"])
    assert [i.data() for i in panel.view.selectionModel().selectedRows()] == ["fc"]


def test_an_edit_updates_rows_inside_blocks_without_closing_them(qtbot, tiny) -> None:
    doc, panel = tiny
    panel.expand_path("layer1.0")
    resets: list[int] = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    doc.push(SetParams("in", {"shape": [3, 16, 16]}))  # every inner shape changes
    conv = lambda: _row_of(panel, "layer1.0.conv2").siblingAtColumn(COL_SHAPE)  # noqa: E731
    qtbot.waitUntil(lambda: conv().data() == "16x16x16")
    assert conv().siblingAtColumn(COL_MACS).data(SORT_ROLE) == 16 * 16 * 9 * 16 * 16
    assert resets == [] and panel.view.isExpanded(_row_of(panel, "layer1.0"))
    # a new layer resets the tree; the open branches open again
    doc.push(AddNode("extra", "ReLU", {}))
    doc.push(AddEdge("fc", "extra"))
    qtbot.waitUntil(lambda: "extra" in panel.visible_nodes())
    assert resets and set(panel.expanded_paths()) == {"layer1", "layer1.0"}


def test_a_problem_inside_a_block_marks_its_instance(qtbot) -> None:
    graph = load_graph(TINY, REGISTRY)
    inner = graph.block("Basic").graph
    inner.set_params("conv1", {**inner.raw_params("conv1"), "kernel_size": 99})
    doc = Document(graph)
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    rows = {r.path: r for r in panel.model.rows()}
    assert rows["layer1"].severity == "error" and rows["layer1"].shape == "?"
    assert any("layer1.0/conv1" in p for p in rows["layer1"].problems)
    assert rows["layer1"].children == ()  # no shares of parameters the total does not count
    tip = _row_of(panel, "layer1").data(Qt.ItemDataRole.ToolTipRole)
    assert "kernel 99" in tip


def test_inside_an_open_block_the_rows_are_its_layers_for_that_instance(qtbot, tiny) -> None:
    doc, panel = tiny
    doc.open_block("layer2")
    qtbot.waitUntil(lambda: panel.visible_nodes() == ["0"])
    assert panel.model.rows()[0].type == "Basic x2"
    assert panel.model.rows()[0].params == 9_344  # layer2's numbers, as on the card
    doc.leave(0)
    qtbot.waitUntil(lambda: "layer1" in panel.visible_nodes())
