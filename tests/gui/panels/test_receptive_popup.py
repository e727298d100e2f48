"""Hovering a card shows, after a tooltip's delay, the region one of its outputs sees."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt


def _hover(qtbot, window, node: str) -> None:
    view = window.view
    card = window.scene.nodes[node]
    centre = card.sceneBoundingRect().center()
    view._hover_hint(QPointF(centre))


def test_hovering_a_convolution_shows_its_region_and_leaving_hides_it(qtbot, make_window):
    window = make_window(example="lenet5")
    popup = window.receptive_popup
    _hover(qtbot, window, "c3")
    assert popup.node == "c3" and not popup.isVisible()  # not at once: a tooltip's delay
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    assert "14x14" in popup.box.caption.text()
    assert popup.box.picture.region is not None
    window.view._hover_card(None)
    assert not popup.isVisible()


def test_a_flattened_vector_shows_nothing_and_a_linear_sees_everything(qtbot, make_window):
    window = make_window(example="lenet5")
    popup = window.receptive_popup
    _hover(qtbot, window, "flatten")  # each value sees another place: no one picture
    qtbot.wait(popup.DELAY_MS + 200)
    assert not popup.isVisible()
    _hover(qtbot, window, "f6")
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    assert "whole input" in popup.box.caption.text()


def test_a_press_hides_the_picture(qtbot, make_window):
    window = make_window(example="lenet5")
    popup = window.receptive_popup
    _hover(qtbot, window, "c1")
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    card = window.scene.nodes["c1"]
    point = window.view.mapFromScene(card.sceneBoundingRect().center())
    qtbot.mousePress(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert not popup.isVisible()
    qtbot.mouseRelease(window.view.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_the_cards_tooltip_waits_while_the_picture_shows(qtbot, make_window):
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent

    window = make_window(example="lenet5")
    popup = window.receptive_popup
    _hover(qtbot, window, "c3")
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    event = QHelpEvent(QEvent.Type.ToolTip, QPoint(5, 5), QPoint(5, 5))
    assert popup.eventFilter(window.view.viewport(), event)  # swallowed
    window.view._hover_card(None)
    assert not popup.eventFilter(window.view.viewport(), event)  # the card's own again
