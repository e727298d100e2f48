"""The inspector for blocks: an instance's arguments and repeat with its totals, the ports'
explanation, and references to block parameters in the fields of a block's inside."""

from __future__ import annotations

import pytest
from blocks_doc import tiny_graph
from PySide6.QtCore import Qt

from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.inspector import InspectorPanel
from dlbuilder.gui.widgets.fields import IntFieldWidget
from dlbuilder.gui.widgets.ref_field import RefFieldWidget


@pytest.fixture
def tiny(qtbot):
    doc = Document(tiny_graph())
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(320, 900)
    panel.show()
    return doc, panel


def test_an_instance_shows_its_block_arguments_and_repeat(tiny) -> None:
    doc, panel = tiny
    doc.select(["layer2"])
    assert "Stage" in panel.title_label.text() and "layer2" in panel.title_label.text()
    assert list(panel.fields) == ["channels", "n", "repeat"]
    n = panel.fields["n"]
    assert isinstance(n, IntFieldWidget)
    assert n.spin.value() == 2 and n.spin.minimum() == 1  # Stage's n: default 2, min 1
    assert panel.fields["repeat"].spin.value() == 1  # omitted: 1
    assert panel.fields["repeat"].spin.maximum() == 1000
    assert panel.open_button.isVisibleTo(panel)


def test_an_argument_edit_is_one_undo_step_and_updates_the_totals(tiny) -> None:
    doc, panel = tiny
    doc.select(["layer1"])
    before = doc.engine.info("layer1").params
    assert f"{before:,} parameters" in panel.totals_label.text()
    assert "all 3 repeats" in panel.totals_label.text()
    steps = doc.undo_stack.count()
    panel.fields["channels"].spin.setValue(17)
    panel.fields["channels"].spin.setValue(18)
    assert doc.graph.params("layer1")["channels"] == 18
    assert doc.undo_stack.count() == steps + 1
    # 18 channels cannot be added to the 16 that come in: the instance says where, no totals
    assert panel.totals_label.text() == ""
    assert any("layer1" in d.message for d in panel._shown_diagnostics)
    doc.undo_stack.undo()
    assert f"{before:,} parameters" in panel.totals_label.text()
    panel.fields["repeat"].spin.setValue(2)
    assert doc.graph.params("layer1")["repeat"] == 2
    assert "all 2 repeats" in panel.totals_label.text()
    assert f"{before * 2 // 3:,} parameters" in panel.totals_label.text()
    doc.undo_stack.redo()
    doc.undo_stack.undo()
    assert doc.graph.params("layer1")["channels"] == 16
    assert panel.fields["channels"].spin.value() == 16
    assert panel.fields["repeat"].spin.value() == 3


def test_fields_follow_a_change_of_the_block_parameters(tiny) -> None:
    doc, panel = tiny
    doc.select(["layer1"])
    from dlbuilder.core.blocks import BlockParam
    defn = doc.graph.block("Basic")
    doc.graph.declare_block("Basic", (*defn.params, BlockParam("stride", 1, 1, 4)), "")
    assert list(panel.fields) == ["channels", "stride", "repeat"]


def test_open_asks_for_the_block(tiny, qtbot) -> None:
    doc, panel = tiny
    doc.select(["layer1"])
    with qtbot.waitSignal(panel.open_requested) as signal:
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert signal.args == ["layer1"]


def test_a_port_explains_itself_and_has_no_fields(tiny) -> None:
    doc, panel = tiny
    doc.open_block("layer1")
    doc.select(["x"])
    assert panel.fields == {}
    assert "input" in panel.summary_label.text().lower()
    assert not panel.open_button.isVisibleTo(panel)
    doc.select(["y"])
    assert "output" in panel.summary_label.text().lower()


def test_outside_a_block_no_references_are_offered(tiny) -> None:
    doc, panel = tiny
    doc.select(["conv1"])
    assert not any(isinstance(f, RefFieldWidget) for f in panel.fields.values())


def test_inside_a_block_a_reference_shows_as_an_expression_with_its_value(tiny) -> None:
    doc, panel = tiny
    doc.open_block("layer1")
    doc.select(["conv1"])
    field = panel.fields["out_channels"]
    assert isinstance(field, RefFieldWidget)
    assert field.expression() == "channels"
    assert field.inner.isHidden() and not field.expr_line.isHidden()
    assert field.value_label.text() == "= 16"
    assert isinstance(panel.fields["kernel_size"], RefFieldWidget)
    assert panel.fields["kernel_size"].expression() is None  # a number, as written


def test_typing_an_expression_stores_a_reference_as_one_undo_step(tiny, qtbot) -> None:
    doc, panel = tiny
    doc.open_block("layer1")
    doc.select(["conv1"])
    field = panel.fields["kernel_size"]
    steps = doc.undo_stack.count()
    field.inner.first.setFocus()
    qtbot.keyClick(field.inner.first, Qt.Key.Key_Equal)  # "=" turns it into an expression
    assert not field.expr_line.isHidden()
    qtbot.keyClicks(field.expr_line, "channels // 8 + 1")
    qtbot.keyClick(field.expr_line, Qt.Key.Key_Return)
    basic = doc.graph.block("Basic").graph
    assert basic.params("conv1")["kernel_size"] == {"expr": "channels // 8 + 1"}
    assert doc.undo_stack.count() == steps + 1
    assert panel.fields["kernel_size"].value_label.text() == "= 3"  # 16 // 8 + 1
    doc.undo_stack.undo()
    assert basic.params("conv1")["kernel_size"] == 3
    assert panel.fields["kernel_size"].expression() is None


def test_a_bad_reference_shows_the_engines_diagnostic_and_keeps_the_text(tiny, qtbot) -> None:
    doc, panel = tiny
    doc.open_block("layer1")
    doc.select(["conv1"])
    field = panel.fields["out_channels"]
    field.expr_line.setFocus()
    field.expr_line.selectAll()
    qtbot.keyClicks(field.expr_line, "chanels * 2")
    qtbot.keyClick(field.expr_line, Qt.Key.Key_Return)
    basic = doc.graph.block("Basic").graph
    assert basic.params("conv1")["out_channels"] == {"expr": "chanels * 2"}
    field = panel.fields["out_channels"]
    assert field.expression() == "chanels * 2"
    assert field.error() is not None and "'chanels'" in field.error()
    assert "channels" in field.error()  # names the parameters it has
    field.expr_line.selectAll()
    qtbot.keyClicks(field.expr_line, "channels * 2")
    qtbot.keyClick(field.expr_line, Qt.Key.Key_Return)
    assert field.error() is None and field.value_label.text() == "= 32"


def test_picking_a_parameter_and_going_back_to_a_number(tiny) -> None:
    doc, panel = tiny
    doc.open_block("layer1")
    doc.select(["conv1"])
    field = panel.fields["kernel_size"]
    names = [a.text() for a in field.menu.actions() if a.text()]
    assert names[0].startswith("channels (default 16")
    field.menu.actions()[0].trigger()
    basic = doc.graph.block("Basic").graph
    assert basic.params("conv1")["kernel_size"] == {"expr": "channels"}
    field.number_action.trigger()
    assert basic.params("conv1")["kernel_size"] == 16  # the value it had for this instance
    assert field.expression() is None
