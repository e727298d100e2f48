"""A fix button in the inspector shows every line of its wrapped label: the layout gives it
the height its text needs at the width it actually gets (review of issue 19: "Insert Flatten
before this Linear" wrapped to two lines inside a one-line-high button)."""

from __future__ import annotations

from gui_helpers import settle
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDockWidget

from dlbuilder.gui.widgets.wrap_button import WrapButton

FLATTEN_FIX = "Insert Flatten before this Linear"


def assert_whole(button: WrapButton) -> None:
    label = button.text_label
    assert label.isVisible()
    assert label.height() >= label.heightForWidth(label.width()), "lines cut"
    inside = button.rect().contains(label.geometry())
    assert inside, f"label {label.geometry()} outside button {button.rect()}"
    assert button.height() >= button.heightForWidth(button.width())


def add_linear_after_pool1(window) -> None:
    """The review's steps: select pool1, double-click Linear in the palette."""
    window.doc.select(["pool1"])
    settle()
    tree = window.palette.tree
    item = next(it for it in window.palette.layer_items() if it.text(0) == "Linear")
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    QTest.mousePress(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseRelease(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    settle()


def flatten_button(window) -> WrapButton:
    buttons = [b for b in window.inspector.fix_buttons() if b.text() == FLATTEN_FIX]
    assert len(buttons) == 1, [b.text() for b in window.inspector.fix_buttons()]
    return buttons[0]


def test_the_flatten_fix_button_shows_both_lines(make_window) -> None:
    window = make_window()
    add_linear_after_pool1(window)
    selected = window.doc.selection()
    assert len(selected) == 1 and window.doc.graph.type_of(selected[0]) == "Linear"
    assert_whole(flatten_button(window))
    window.doc.select(["pool1"])  # and again after re-selecting
    settle()
    window.doc.select(list(selected))
    settle()
    assert_whole(flatten_button(window))


def test_a_narrow_dock_still_shows_every_line(make_window) -> None:
    window = make_window()
    add_linear_after_pool1(window)
    dock: QDockWidget = window.docks["inspector"]
    for width in (330, 240, 180, 420):
        window.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        settle()
        button = flatten_button(window)
        assert_whole(button)
        viewport = window.inspector.scroll.viewport()
        right = button.mapTo(viewport, QPoint(button.width(), 0)).x()
        content = window.inspector.scroll.widget()
        assert right <= max(viewport.width(), content.width())  # scrolls only past the fields
