"""The summary table: torchinfo's numbers, numeric sorting, selection both ways, totals."""

from __future__ import annotations

import pytest
from helpers import chain, flat_resnet_cifar
from PySide6.QtCore import Qt

from dlbuilder.core.commands import AddEdge, AddNode, SetParams
from dlbuilder.core.graph import Graph
from dlbuilder.core.registry import format_shape
from dlbuilder.core.summary import summary_dict
from dlbuilder.gui.document import Document
from dlbuilder.gui.panels import summary_panel
from dlbuilder.gui.panels.summary_panel import (
    COL_LAYER,
    COL_PARAMS,
    COL_SHARE,
    NODE_ROLE,
    SORT_ROLE,
    SummaryPanel,
)
from dlbuilder.gui.widgets.text import EMPTY_GRAPH


@pytest.fixture
def resnet(qtbot) -> tuple[Document, SummaryPanel]:
    doc = Document(flat_resnet_cifar())
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(1000, 400)
    panel.show()
    return doc, panel


def _cell(panel: SummaryPanel, row: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    return panel.proxy.index(row, column).data(role)


def test_rows_match_summary_dict(resnet) -> None:
    doc, panel = resnet
    data = summary_dict(doc.engine)
    assert panel.proxy.rowCount() == len(data["nodes"])
    for row, node in enumerate(data["nodes"]):
        shape = tuple(node["output_shape"]) if node["output_shape"] is not None else None
        shown = [_cell(panel, row, column) for column in range(6)]
        assert shown[:4] == [node["id"], node["type"], format_shape(shape),
                             f"{node['params']:,}"]
        assert shown[5] == f"{node['macs']:,}"
        assert _cell(panel, row, COL_PARAMS, SORT_ROLE) == node["params"]
    assert _cell(panel, 0, COL_PARAMS, Qt.ItemDataRole.TextAlignmentRole) & int(
        Qt.AlignmentFlag.AlignRight)


def test_sorting_by_params_is_numeric_and_layer_restores_order(resnet) -> None:
    doc, panel = resnet
    order = [info.node for info in doc.engine.infos()]
    panel.view.sortByColumn(COL_PARAMS, Qt.SortOrder.AscendingOrder)
    values = [_cell(panel, r, COL_PARAMS, SORT_ROLE) for r in range(panel.proxy.rowCount())]
    assert values == sorted(values)
    texts = [_cell(panel, r, COL_PARAMS) for r in range(panel.proxy.rowCount())]
    assert texts != sorted(texts)  # "2,304" < "64" as text: the numbers decide
    panel.view.sortByColumn(COL_PARAMS, Qt.SortOrder.DescendingOrder)
    assert _cell(panel, 0, COL_PARAMS, SORT_ROLE) == max(values)
    panel.view.sortByColumn(COL_LAYER, Qt.SortOrder.AscendingOrder)
    assert panel.visible_nodes() == order


def test_share_column_sums_to_all_parameters(resnet) -> None:
    _doc, panel = resnet
    shares = [_cell(panel, r, COL_SHARE, SORT_ROLE) for r in range(panel.proxy.rowCount())]
    assert sum(shares) == pytest.approx(1.0)
    assert all(_cell(panel, r, COL_SHARE).endswith("%") or _cell(panel, r, COL_SHARE) == "–"
               for r in range(panel.proxy.rowCount()))


def test_clicking_a_row_selects_and_focuses_the_node(qtbot, resnet) -> None:
    doc, panel = resnet
    index = panel.proxy.index(5, 0)
    node = index.data(NODE_ROLE)
    with qtbot.waitSignal(doc.focus_requested) as focused:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton,
                         pos=panel.view.visualRect(index).center())
    assert focused.args == [node]
    assert doc.selection() == (node,)


def test_selection_from_the_document_selects_the_row_without_echo(qtbot, resnet) -> None:
    doc, panel = resnet
    seen: list[tuple] = []
    doc.selection_changed.connect(seen.append)
    doc.select(["block2_proj"])
    assert panel.selected_nodes() == ["block2_proj"]
    doc.select(["fc", "stem_conv"])
    assert sorted(panel.selected_nodes()) == ["fc", "stem_conv"]
    assert seen == [("block2_proj",), ("fc", "stem_conv")]  # no feedback from the table


def test_totals_line(qtbot, resnet) -> None:
    doc, panel = resnet
    total = doc.engine.totals().params
    text = panel.totals_text()
    assert f"Total params: {total:,}" in text and f"Trainable: {total:,}" in text
    assert "Mult-adds: " in text and "Estimated size: " in text and " MB" in text
    assert "no problems" in text


def test_problem_rows_are_marked_and_totals_count_them(qtbot) -> None:
    doc = Document(chain(("Conv2d", {"out_channels": 4, "kernel_size": 40})))
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    row = panel.visible_nodes().index("n1")
    assert not _cell(panel, row, COL_LAYER, Qt.ItemDataRole.DecorationRole).isNull()
    assert "kernel" in _cell(panel, row, COL_LAYER, Qt.ItemDataRole.ToolTipRole)
    assert "1 error" in panel.totals_text()


def test_edits_refresh_once_with_cells_not_reset(qtbot, resnet, monkeypatch) -> None:
    doc, panel = resnet
    calls: list[set[str] | None] = []
    real = panel._rows_now
    monkeypatch.setattr(panel, "_rows_now",
                        lambda e, nodes, fields: calls.append(nodes) or real(e, nodes, fields))
    resets: list[int] = []
    changes: list[int] = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    panel.model.dataChanged.connect(lambda *a: changes.append(1))
    doc.select(["fc"])
    for width in (20, 24, 32):
        doc.push(SetParams("fc", {"out_features": width}))
    qtbot.waitUntil(lambda: len(calls) == 1)
    qtbot.wait(20)
    assert len(calls) == 1 and resets == [] and changes
    assert calls[0] is not None and "fc" in calls[0] and "conv1" not in calls[0]  # its rows
    row = panel.visible_nodes().index("fc")
    assert _cell(panel, row, COL_PARAMS, SORT_ROLE) == 64 * 32 + 32
    assert panel.selected_nodes() == ["fc"]


def test_structure_change_resets_and_keeps_the_selection(qtbot, resnet) -> None:
    doc, panel = resnet
    doc.select(["gap"])
    resets: list[int] = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    doc.push(AddNode("extra", "ReLU", {}))
    doc.push(AddEdge("fc", "extra"))
    qtbot.waitUntil(lambda: "extra" in panel.visible_nodes())
    assert resets and panel.selected_nodes() == ["gap"]
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: "extra" not in panel.visible_nodes())


def test_graph_wide_problems_naming_a_node_mark_its_row(qtbot) -> None:
    graph = chain(("Flatten", {}), ("Linear", {"out_features": 10}))
    graph.add_node("side", "Flatten", {})
    graph.add_edge("in", "side")  # a branch nothing uses: a graph-wide check names it
    doc = Document(graph)
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    row = panel.visible_nodes().index("side")
    assert "warning" in _cell(panel, row, COL_LAYER, Qt.ItemDataRole.ToolTipRole)
    assert not _cell(panel, row, COL_LAYER, Qt.ItemDataRole.DecorationRole).isNull()
    assert "1 warning" in panel.totals_text()


def test_a_layer_waiting_for_a_wire_is_calm_and_a_real_error_is_not(qtbot) -> None:
    """As on the canvas: a half-built graph's rows are muted, not red; the count stays."""
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 40}))
    graph.add_node("loose", "ReLU", {})  # dropped on the canvas, not wired yet
    doc = Document(graph)
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    rows = panel.model.rows()
    by_node = {r.node: r for r in rows}
    assert by_node["loose"].severity == "pending"
    assert by_node["n1"].severity == "error"
    loose = panel.visible_nodes().index("loose")
    colour = _cell(panel, loose, summary_panel.COL_SHAPE, Qt.ItemDataRole.ForegroundRole)
    assert colour == summary_panel.current().color("muted")
    icon = _cell(panel, loose, COL_LAYER, Qt.ItemDataRole.DecorationRole)
    error = _cell(panel, panel.visible_nodes().index("n1"), COL_LAYER,
                  Qt.ItemDataRole.DecorationRole)
    assert icon.pixmap(16).toImage() != error.pixmap(16).toImage()
    assert "2 errors" in panel.totals_text()


def test_an_empty_graph_says_so_in_the_totals_not_an_error_count(qtbot) -> None:
    doc = Document(Graph("untitled"))
    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    assert doc.engine.totals().errors  # the graph-wide "no Input" diagnostic is still there
    assert panel.totals_text().endswith(EMPTY_GRAPH)
    assert "error" not in panel.totals_text()
    doc.push(AddNode("inp", "Input", {"shape": [3, 8, 8]}))
    panel.refresh()
    assert EMPTY_GRAPH not in panel.totals_text()


def test_an_edit_that_changes_only_fields_rewrites_only_their_cells(qtbot, resnet) -> None:
    """Kernel 3 pad 1 -> kernel 5 pad 2 on the stem: no shape changes, every field after it
    does; the rows show the new fields as a fresh panel would."""
    doc, panel = resnet
    stem = next(n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Conv2d")
    before = {row.node: row.field for row in panel.model.rows()}
    params = doc.graph.raw_params(stem)
    kernel = 5 if params.get("kernel_size") != 5 else 3
    changes = []
    doc.changed.connect(changes.append)
    assert doc.push(SetParams(stem, {"kernel_size": kernel, "padding": kernel // 2}))
    assert changes[-1].fields_only and stem not in changes[-1].fields_only
    qtbot.waitUntil(lambda: {r.node: r.field for r in panel.model.rows()} != before)
    fresh = SummaryPanel(doc)
    qtbot.addWidget(fresh)
    assert panel.model.rows() == fresh.model.rows()
