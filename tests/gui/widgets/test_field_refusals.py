"""A number a field does not take is said under the field, with what it takes: Qt's spin
boxes put the last value back (or drop the key) without a word."""

from __future__ import annotations

import pytest
from helpers import example_graph
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox

from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.inspector import InspectorPanel


@pytest.fixture
def panel(qtbot):
    doc = Document(example_graph("lenet5"))
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(320, 800)
    panel.show()
    qtbot.waitExposed(panel)
    return doc, panel


def type_and_tab(qtbot, spin: QAbstractSpinBox, text: str) -> None:
    """Go into the spin box, replace its text with `text` key by key, then Tab away."""
    if not spin.window().isActiveWindow():
        with qtbot.waitActive(spin.window()):
            spin.window().activateWindow()
    spin.setFocus()
    assert spin.hasFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Tab)


def test_kernel_of_zero_is_refused_with_the_range(panel, qtbot) -> None:
    doc, panel = panel
    doc.select(["c1"])
    field = panel.fields["kernel_size"]
    steps = doc.undo_stack.count()
    type_and_tab(qtbot, field.first, "0")
    assert field.first.value() == 5 and doc.graph.params("c1")["kernel_size"] == 5
    assert doc.undo_stack.count() == steps
    assert field.error() == ("0 was not taken: kernel_size takes a whole number of at least 1, "
                             "or a pair like [1, 1]")
    type_and_tab(qtbot, field.first, "3")  # a value it takes clears the message
    assert doc.graph.params("c1")["kernel_size"] == 3 and field.error() is None


def test_negative_padding_is_refused_not_turned_positive(panel, qtbot) -> None:
    doc, panel = panel
    doc.select(["c1"])
    field = panel.fields["padding"]
    type_and_tab(qtbot, field.first, "-3")
    assert doc.graph.params("c1")["padding"] == 2 and field.first.value() == 2
    assert field.error() is not None
    assert field.error().startswith("-3 was not taken: padding takes a whole number of at least 0")


def test_enter_says_it_too(panel, qtbot) -> None:
    doc, panel = panel
    doc.select(["c1"])
    field = panel.fields["out_channels"]
    field.spin.setFocus()
    field.spin.selectAll()
    qtbot.keyClicks(field.spin, "0")
    qtbot.keyClick(field.spin, Qt.Key.Key_Return)
    assert doc.graph.params("c1")["out_channels"] == 6
    assert field.error() == "0 was not taken: out_channels takes a whole number of at least 1"


def test_too_large_and_float_out_of_range(qtbot) -> None:
    doc = Document(example_graph("digits_cnn"))
    dropout = next(n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Dropout")
    conv = next(n for n in doc.graph.nodes() if doc.graph.type_of(n) == "Conv2d")
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    doc.select([dropout])
    p = panel.fields["p"]
    before = doc.graph.params(dropout).get("p")
    type_and_tab(qtbot, p.spin, "2")
    assert doc.graph.params(dropout).get("p") == before
    assert p.error() == "2 was not taken: p takes a number from 0 to 1"
    type_and_tab(qtbot, p.spin, "1.5")  # 1 applied as it was typed, then 1.5 refused
    assert p.error() == "1.5 was not taken: p takes a number from 0 to 1"
    assert doc.graph.params(dropout).get("p") == p.spin.value() == 1.0
    doc.select([conv])
    type_and_tab(qtbot, panel.fields["out_channels"].spin, "99999999999")
    assert "99999999999 was not taken" in panel.fields["out_channels"].error()


def test_a_refusal_clears_when_another_layer_is_shown(panel, qtbot) -> None:
    doc, panel = panel
    doc.select(["c1"])
    type_and_tab(qtbot, panel.fields["kernel_size"].first, "0")
    doc.select(["c3"])
    assert panel.fields["kernel_size"].error() is None
