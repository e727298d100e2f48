"""The problems list: every diagnostic, one-click fixes as undo steps, focus on click."""

from __future__ import annotations

import pytest
from helpers import chain, example_graph
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QToolButton

from dlbuilder.core.commands import SetParams
from dlbuilder.core.graph import Graph
from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.problems_panel import (
    COL_FIELD,
    COL_FIX,
    COL_MESSAGE,
    COL_WHERE,
    ProblemsPanel,
)
from dlbuilder.gui.widgets.text import NO_PROBLEMS, problems_text


def residual_mismatch() -> Graph:
    """Input(3x8x8) -> conv(16) -> add <- Input: the shortcut has 3 channels, not 16."""
    graph = Graph("residual")
    graph.add_node("in", "Input", {"shape": [3, 8, 8]})
    graph.add_node("conv", "Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1})
    graph.add_node("add", "Add", {})
    graph.add_node("flat", "Flatten", {})
    graph.add_node("fc", "Linear", {"out_features": 10})
    graph.add_node("out", "Output", {})
    for src, dst in (("in", "conv"), ("conv", "add"), ("in", "add"), ("add", "flat"),
                     ("flat", "fc"), ("fc", "out")):
        graph.add_edge(src, dst)
    return graph


@pytest.fixture
def residual(qtbot) -> tuple[Document, ProblemsPanel]:
    doc = Document(residual_mismatch())
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    panel.hints_box.setChecked(False)  # these tests are about errors; fc's hint is tested apart
    return doc, panel


def _codes(panel: ProblemsPanel) -> list[str]:
    return [d.code for d in panel.diagnostics()]


def test_lists_the_mismatched_add(residual) -> None:
    _doc, panel = residual
    assert _codes(panel) == ["add_shape_mismatch"]
    item = panel.tree.topLevelItem(0)
    assert item.text(COL_WHERE) == "add"
    assert "equal shape" in item.text(COL_MESSAGE)
    assert "equal shape" in item.toolTip(COL_MESSAGE)
    assert panel.count_label.text() == "1 error"
    assert panel.counts() == (1, 0) and panel.count_icon.isVisibleTo(panel)


def test_the_fix_button_applies_the_projection(qtbot, residual) -> None:
    doc, panel = residual
    before = set(doc.graph.nodes())
    button = panel.fix_button(0)
    assert button is not None and "1x1 Conv2d" in button.text()
    with qtbot.waitSignal(panel.count_changed) as counted:
        button.click()
    assert counted.args == [0, 0]
    added = set(doc.graph.nodes()) - before
    assert [doc.graph.type_of(n) for n in added] == ["Conv2d"]
    assert panel.diagnostics() == [] and panel.count_label.text() == NO_PROBLEMS
    assert not panel.tree.isVisibleTo(panel)


def test_the_batchnorm_variant_inserts_two_nodes_and_undo_restores(qtbot, residual) -> None:
    doc, panel = residual
    before = set(doc.graph.nodes())
    actions = panel.fix_button(0).menu().actions()
    assert len(actions) == 2 and actions[1].text().endswith("+ BatchNorm2d")
    actions[1].trigger()
    qtbot.waitUntil(lambda: panel.diagnostics() == [])
    added = set(doc.graph.nodes()) - before
    assert sorted(doc.graph.type_of(n) for n in added) == ["BatchNorm2d", "Conv2d"]
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: _codes(panel) == ["add_shape_mismatch"])
    assert set(doc.graph.nodes()) == before and panel.counts() == (1, 0)


def test_clicking_a_problem_focuses_its_node(qtbot, residual) -> None:
    doc, panel = residual
    tree = panel.tree
    rect = tree.visualItemRect(tree.topLevelItem(0))
    x = tree.columnViewportPosition(COL_WHERE) + tree.columnWidth(COL_WHERE) // 2
    with qtbot.waitSignal(doc.focus_requested) as focused:
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(x, rect.center().y()))
    assert focused.args == ["add"] and doc.selection() == ("add",)


def test_counts_and_a_graph_wide_problem(qtbot) -> None:
    doc = Document(chain(("Flatten", {}), ("Linear", {"out_features": 10}), output=False))
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    assert panel.counts() == (0, 1) and panel.count_label.text() == "1 warning"
    doc2 = Document(Graph("empty"))
    panel2 = ProblemsPanel(doc2)
    qtbot.addWidget(panel2)
    assert [d.code for d in panel2.diagnostics()] == ["no_input_node"]
    assert panel2.tree.topLevelItem(0).text(COL_WHERE) == "graph"
    with qtbot.assertNotEmitted(doc2.focus_requested):
        panel2.tree.itemClicked.emit(panel2.tree.topLevelItem(0), COL_WHERE)
    assert problems_text(2, 1) == "2 errors, 1 warning" and problems_text(0, 0) == NO_PROBLEMS


def test_edits_refresh_the_list_once(qtbot) -> None:
    doc = Document(chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Flatten", {}),
                         ("Linear", {"out_features": 10})))
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    assert panel.count_label.text() == NO_PROBLEMS
    counted: list[tuple[int, int]] = []
    panel.count_changed.connect(lambda e, w: counted.append((e, w)))
    doc.push(SetParams("n1", {"kernel_size": 40}))
    doc.push(SetParams("n1", {"kernel_size": 50}))
    qtbot.waitUntil(lambda: panel.counts() == (1, 0))
    qtbot.wait(20)
    assert counted == [(1, 0)]
    item = panel.tree.topLevelItem(0)
    assert item.text(COL_WHERE) == "n1" and item.text(COL_FIELD) == "kernel_size"
    assert panel.fix_button(0) is not None and panel.fix_button(0).menu() is None


def test_example_has_no_problems(qtbot) -> None:
    doc = Document(example_graph("resnet_cifar"))
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    assert panel.counts() == (0, 0) and panel.count_label.text() == NO_PROBLEMS


def test_hints_come_last_quietly_and_dismiss_is_one_undo_step(qtbot) -> None:
    doc = Document(example_graph("digits_cnn"))
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    assert panel.count_label.text() == NO_PROBLEMS and panel.counts() == (0, 0)
    assert panel.hints_box.text() == "Show 2 hints"
    assert _codes(panel) == ["bias_before_batchnorm", "dense_holds_most"]
    holder = panel.tree.itemWidget(panel.tree.topLevelItem(0), COL_FIX)
    dismiss = next(b for b in holder.findChildren(QToolButton) if b.text() == "Dismiss")
    dismiss.click()
    qtbot.waitUntil(lambda: _codes(panel) == ["dense_holds_most"])
    assert doc.graph.dismissed("conv1") == ("bias_before_batchnorm",)
    panel.hints_box.setChecked(False)
    assert _codes(panel) == [] and not panel.tree.isVisibleTo(panel)
    panel.hints_box.setChecked(True)
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: len(_codes(panel)) == 2)
    assert doc.graph.dismissed("conv1") == ()
