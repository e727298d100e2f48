"""Solving for a size in the editor: the inspector's box lists the proposals as buttons, one
click is one undo step (inside a block, on the definition), impossible sizes say why with
the nearest as buttons, and the card's menu leads to the field."""

from __future__ import annotations

import pytest
from gui_helpers import settle
from helpers import example_graph
from PySide6.QtCore import Qt

from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.inspector import InspectorPanel


@pytest.fixture
def inspector(make_inspector):
    return make_inspector("lenet5")


def test_typing_a_size_lists_proposals_and_one_click_applies(inspector, qtbot) -> None:
    doc, panel = inspector
    box = panel.solve_box
    doc.select(["c3"])
    settle()
    assert box.isVisibleTo(panel)
    box.size_edit.setText("14x14")
    qtbot.keyClick(box.size_edit, Qt.Key.Key_Return)
    texts = [b.text_label.text() for b in box.proposal_buttons()]
    assert texts[0] == "padding 2 \u2192 16x14x14" and len(texts) == 6
    steps = doc.undo_stack.count()
    box.proposal_buttons()[0].click()
    assert doc.undo_stack.count() == steps + 1
    assert doc.engine.info("c3").output_shape == (16, 14, 14)
    assert box.message_label.text() == "It gives 14x14 already." and not box.proposal_buttons()
    doc.undo_stack.undo()
    assert doc.engine.info("c3").output_shape == (16, 10, 10)
    assert box.proposal_buttons()  # the answer follows the graph


def test_impossible_says_why_and_offers_the_nearest(inspector) -> None:
    doc, panel = inspector
    doc.select(["c1"])
    settle()
    solution = panel.solve_box.solve("40")
    assert solution is not None and not solution.proposals
    words = panel.solve_box.message_label.text()
    assert words.startswith("No setting in the searched ranges gives 40x40 at c1 "
                            "(tried c1: padding 0-5")
    assert "= 28" in words and words.endswith("The nearest sizes:")
    assert [b.text_label.text() for b in panel.solve_box.proposal_buttons()] == [
        "38x38: padding 5, kernel_size 1 \u2192 6x38x38"]


def test_bad_text_is_said_inline_and_flat_outputs_have_no_box(inspector) -> None:
    doc, panel = inspector
    doc.select(["c1"])
    settle()
    assert panel.solve_box.solve("big") is None
    assert "not whole numbers" in panel.solve_box.message_label.text()
    doc.select(["f5"])
    settle()
    assert not panel.solve_box.isVisibleTo(panel)


def test_inside_a_block_a_proposal_edits_the_definition(qtbot) -> None:
    doc = Document(example_graph("resnet_cifar"))
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    doc.open_block("block1")
    doc.select(["conv2"])
    settle()
    solution = panel.solve_box.solve("30")  # the identity shortcut keeps 32x32
    assert solution.broken and not panel.solve_box.proposal_buttons()
    assert "breaks the graph elsewhere" in panel.solve_box.message_label.text()
    doc.select(["conv1"])  # the first layer of the block: the whole block follows it
    settle()
    solution = panel.solve_box.solve("30")
    assert solution.broken and "block1/add" in solution.broken[0][1].message


def test_the_card_menu_leads_to_the_size_field(make_window) -> None:
    window = make_window(example_graph("lenet5"))
    window.doc.select(["s2"])
    menu = window.view.edits.node_menu("s2")
    actions = {a.text(): a for a in menu.actions() if a.text()}
    actions["Solve for Size..."].trigger()
    settle()
    assert window.inspector.node == "s2"
    assert window.inspector.solve_box.size_edit.hasFocus() or \
        window.focusWidget() is window.inspector.solve_box.size_edit
    assert "Solve for Size..." not in [a.text() for a in window.view.edits.node_menu("f5")
                                       .actions()]


def test_the_answer_is_scrolled_into_view(qtbot) -> None:
    """In a short inspector the proposals land below the fold: they are scrolled to."""
    doc = Document(example_graph("lenet5"))
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(300, 500)
    panel.show()
    doc.select(["c3"])
    settle()
    panel.solve_box.solve("7x7")
    buttons = panel.solve_box.proposal_buttons()
    assert buttons
    qtbot.waitUntil(lambda: not buttons[-1].visibleRegion().isEmpty(), timeout=3000)
