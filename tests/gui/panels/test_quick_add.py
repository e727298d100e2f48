"""Quick-add: a popup search over the layers, with the palette's matching."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from dlbuilder.gui.panels import palette, quick_add
from dlbuilder.gui.panels.quick_add import QuickAddPopup
from dlbuilder.gui.widgets import layer_search
from dlbuilder.layers import REGISTRY


@pytest.fixture
def popup(qtbot) -> QuickAddPopup:
    widget = QuickAddPopup(REGISTRY)
    qtbot.addWidget(widget)
    widget.popup_at(QPoint(40, 40))
    return widget


def test_one_matching_function_for_palette_and_popup() -> None:
    assert quick_add.find_layers is layer_search.find_layers
    assert palette.find_layers is layer_search.find_layers


def test_opens_with_every_layer_and_an_empty_search(popup: QuickAddPopup) -> None:
    assert popup.isVisible() and popup.search.text() == ""
    assert popup.visible_types() == REGISTRY.types()
    assert popup.windowFlags() & Qt.WindowType.Popup


def test_typing_filters_and_enter_chooses(popup: QuickAddPopup, qtbot) -> None:
    qtbot.keyClicks(popup.search, "conv")
    assert popup.visible_types()[:1] == ["Conv2d"] and "ConvTranspose2d" in popup.visible_types()
    assert popup.current_type() == "Conv2d"
    with qtbot.waitSignal(popup.chosen, timeout=1000) as blocker:
        qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert blocker.args == ["Conv2d"]
    assert not popup.isVisible()


def test_arrows_move_the_choice(popup: QuickAddPopup, qtbot) -> None:
    qtbot.keyClicks(popup.search, "relu")
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    assert popup.current_type() == popup.visible_types()[1]  # the second match
    qtbot.keyClick(popup.search, Qt.Key.Key_Up)
    qtbot.keyClick(popup.search, Qt.Key.Key_Up)  # stays on the first
    assert popup.current_type() == "ReLU"


def test_escape_closes_without_choosing(popup: QuickAddPopup, qtbot) -> None:
    with qtbot.assertNotEmitted(popup.chosen):
        qtbot.keyClick(popup.search, Qt.Key.Key_Escape)
    assert not popup.isVisible()


def test_click_chooses(popup: QuickAddPopup, qtbot) -> None:
    qtbot.keyClicks(popup.search, "pool")
    item = popup.list.item(1)
    with qtbot.waitSignal(popup.chosen, timeout=1000) as blocker:
        popup.list.itemClicked.emit(item)
    assert blocker.args == [item.text()]


def test_no_match_says_so_and_enter_does_nothing(popup: QuickAddPopup, qtbot) -> None:
    qtbot.keyClicks(popup.search, "qqq")
    assert popup.visible_types() == [] and popup.empty_label.isVisibleTo(popup)
    with qtbot.assertNotEmitted(popup.chosen):
        qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert popup.isVisible()


def test_reopening_starts_afresh(popup: QuickAddPopup, qtbot) -> None:
    qtbot.keyClicks(popup.search, "tanh")
    popup.hide()
    popup.popup_at(QPoint(10, 10))
    assert popup.search.text() == "" and len(popup.visible_types()) == len(REGISTRY)
