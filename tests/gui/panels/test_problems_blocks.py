"""Problems inside blocks: listed by their path, selecting the instance on click, and fixed
in the block's definition as one undo step."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlbuilder.core.commands import SetParams
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.fileformat import load_graph
from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.problems_panel import (
    COL_MESSAGE,
    COL_WHERE,
    ProblemsPanel,
    place_and_text,
)
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parents[2] / "core" / "data" / "blocks_tiny.json"
WIDE = {"block": "Basic", "channels": 32, "repeat": 3}  # its shortcut keeps 16 channels


@pytest.fixture
def wide(qtbot) -> tuple[Document, ProblemsPanel]:
    doc = Document(load_graph(TINY, REGISTRY))
    doc.push(SetParams("layer1", WIDE))
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    return doc, panel


def test_a_problem_inside_a_block_shows_its_path_as_the_place(wide) -> None:
    _doc, panel = wide
    diag = panel.diagnostics()[0]
    assert (diag.node, diag.inside, diag.code) == ("layer1", ("layer1", "add"),
                                                   "add_shape_mismatch")
    item = panel.tree.topLevelItem(0)
    assert item.text(COL_WHERE) == "layer1.0/add"
    assert item.text(COL_MESSAGE).startswith("Add needs inputs of equal shape")
    assert item.toolTip(COL_MESSAGE).endswith(diag.message)  # the whole message stays


def test_place_and_text_splits_only_at_the_inner_node() -> None:
    nested = Diagnostic("layer2", None, "error", "bad", "layer2.0.1/conv 1: x: y",
                        inside=("layer2", "0", "conv 1"))
    assert place_and_text(nested) == ("layer2.0.1/conv 1", "x: y")
    whole = Diagnostic("layer1", None, "error", "block_no_ports",
                       "layer1 (Basic): a block needs a BlockOutput", inside=("layer1",))
    assert place_and_text(whole) == ("layer1", "layer1 (Basic): a block needs a BlockOutput")
    plain = Diagnostic("fc", "out_features", "error", "bad", "fc: too big")
    assert place_and_text(plain) == ("fc", "fc: too big")


def test_clicking_it_selects_the_instance(qtbot, wide) -> None:
    doc, panel = wide
    focused: list[str] = []
    doc.focus_requested.connect(focused.append)
    panel._on_tree_item_clicked(panel.tree.topLevelItem(0))
    assert doc.selection() == ("layer1",) and focused == ["layer1"]


def test_its_fix_changes_the_definition_in_one_undo_step(qtbot, wide) -> None:
    doc, panel = wide
    basic = doc.graph.block("Basic").graph
    before = set(basic.nodes())
    button = panel.fix_button(0)
    assert button is not None and "Basic" in button.toolTip()
    steps = doc.undo_stack.count()
    button.click()
    added = set(basic.nodes()) - before
    assert added and all(basic.type_of(n) == "Conv2d" for n in added)
    assert set(doc.graph.nodes()) == {"in", "conv1", "layer1", "layer2", "pool", "flat",
                                      "fc", "out"}  # nothing added at the top
    assert doc.undo_stack.count() == steps + 1
    qtbot.waitUntil(lambda: not panel.diagnostics())  # every instance: its width is a reference
    doc.undo_stack.undo()
    assert set(basic.nodes()) == before
    qtbot.waitUntil(lambda: bool(panel.diagnostics())
                    and panel.diagnostics()[0].code == "add_shape_mismatch")


def test_double_click_opens_the_block_at_the_inner_layer(qtbot, wide) -> None:
    doc, panel = wide
    panel._on_tree_item_activated(panel.tree.topLevelItem(0))
    assert doc.scope.block == "Basic" and doc.selection() == ("add",)
    # inside a block, a single click goes to the inner layer too; a top-level one leaves
    doc.leave(0)
    doc.open_block("layer2")
    panel._on_tree_item_clicked(panel.tree.topLevelItem(0))
    assert doc.scope.block == "Basic" and doc.selection() == ("add",)


def test_a_top_level_fix_chosen_inside_a_block_applies_at_the_top(qtbot) -> None:
    doc = Document(load_graph(TINY, REGISTRY))
    doc.push(SetParams("fc", {"out_features": 10, "bogus": 1}))
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    row = next(i for i, d in enumerate(panel.diagnostics()) if d.node == "fc" and d.fix)
    assert panel.diagnostics()[row].fix.block is None
    doc.open_block("layer1")
    panel.fix_button(row).click()
    assert doc.scope.block is None and doc.graph.raw_params("fc") == {"out_features": 10}
    qtbot.waitUntil(lambda: not panel.diagnostics())  # let the list follow before teardown
