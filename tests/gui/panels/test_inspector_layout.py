"""The inspector in a narrow dock: long problems and fix labels wrap inside the panel's width
(never clipped at its right edge), and the panel scrolls vertically when it must."""

from __future__ import annotations

import pytest
from gui_helpers import settle
from helpers import flat_resnet_cifar
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QWidget

from dlbuilder.core.commands import SetParams
from dlbuilder.gui.document import Document
from dlbuilder.gui.panels.inspector import InspectorPanel

FIXES = ["Project input 1 with a 1x1 Conv2d (stride 2, 16 channels)",
         "Project input 1 with a 1x1 Conv2d (stride 2, 16 channels) + BatchNorm2d"]


@pytest.fixture
def broken_add(qtbot):
    """resnet_cifar (flat) with block1_conv1's stride 2: block1_add's inputs no longer match."""
    doc = Document(flat_resnet_cifar())
    doc.push(SetParams("block1_conv1", {"stride": 2}))
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(320, 700)
    panel.show()
    doc.select(["block1_add"])
    settle()
    return doc, panel


def right_edge(widget: QWidget, panel: InspectorPanel) -> int:
    """Where `widget` ends, in the scroll area's viewport."""
    viewport = panel.scroll.viewport()
    return widget.mapTo(viewport, QPoint(widget.width(), 0)).x()


def test_fix_buttons_show_their_whole_label_inside_the_panel(broken_add) -> None:
    _doc, panel = broken_add
    viewport = panel.scroll.viewport()
    buttons = panel.fix_buttons()
    assert [b.text() for b in buttons] == FIXES
    for button in buttons:
        label = button.text_label
        assert label.text() == button.text() and label.isVisibleTo(panel)
        assert label.wordWrap()
        assert right_edge(button, panel) <= viewport.width()
        assert label.height() >= label.heightForWidth(label.width())  # every line shows
        assert button.height() >= label.height()
    assert buttons[0].height() > buttons[0].fontMetrics().height() * 2  # wrapped, not elided


def test_nothing_is_clipped_at_the_right(broken_add) -> None:
    _doc, panel = broken_add
    viewport = panel.scroll.viewport()
    assert panel.scroll.widget().width() <= viewport.width()
    for label in panel.problems_box.findChildren(QLabel):
        if label.isVisibleTo(panel):
            assert right_edge(label, panel) <= viewport.width(), label.text()


def test_a_short_panel_scrolls_vertically(broken_add) -> None:
    _doc, panel = broken_add
    panel.resize(320, 260)
    settle()
    bar = panel.scroll.verticalScrollBar()
    assert panel.scroll.verticalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert bar.maximum() > 0 and bar.isVisibleTo(panel)
    assert panel.scroll.horizontalScrollBar().maximum() == 0


def test_a_fix_button_applies_its_fix(broken_add, qtbot) -> None:
    doc, panel = broken_add
    button = panel.fix_buttons()[1]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not any(d.node == "block1_add" for d in doc.engine.diagnostics())
    doc.undo_stack.undo()
    assert any(d.node == "block1_add" for d in doc.engine.diagnostics())


def test_wrapped_labels_are_as_tall_as_their_lines(broken_add) -> None:
    """No gap under a long problem: the label takes the height of its wrapped lines."""
    _doc, panel = broken_add
    message = next(label for label in panel.problems_box.findChildren(QLabel)
                   if label.text().startswith("Add needs inputs"))
    assert message.height() == message.heightForWidth(message.width())


def test_a_pair_fields_mode_box_keeps_its_words_in_a_narrow_dock(qtbot) -> None:
    """At the dock's default width the padding row's mode box used to be cut ("numbe")."""
    doc = Document(flat_resnet_cifar())
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(330, 700)  # the dock's default width
    panel.show()
    doc.select(["stem_conv"])
    settle()
    mode = panel.fields["padding"].mode
    assert mode.isVisibleTo(panel)
    assert mode.width() >= mode.sizeHint().width()
    assert right_edge(mode.parentWidget(), panel) <= panel.scroll.viewport().width()
