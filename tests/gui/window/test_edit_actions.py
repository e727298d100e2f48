"""The edit actions (issue 19 review): on only when they can act, and one QAction per command,
shared by the main menus, the toolbar and the canvas's right-click menus (so those show the
shortcuts too, under the same names)."""

from __future__ import annotations

from gui_helpers import convs
from PySide6.QtCore import QPoint
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu, QToolBar

SELECTION_ACTIONS = ("cut", "copy", "duplicate", "delete", "rename")


def enabled(window) -> dict[str, bool]:
    return {name: window.actions[name].isEnabled() for name in SELECTION_ACTIONS}


def test_selection_actions_are_off_without_a_selection(make_window) -> None:
    window = make_window()
    window.doc.select([])
    assert not any(enabled(window).values())
    toolbar = window.findChild(QToolBar, "toolbar_main")
    assert not toolbar.widgetForAction(window.actions["delete"]).isEnabled()
    window.doc.select(["conv1"])
    assert all(enabled(window).values())
    assert toolbar.widgetForAction(window.actions["delete"]).isEnabled()
    window.doc.select(["conv1", "fc1"])
    assert enabled(window) == {"cut": True, "copy": True, "duplicate": True, "delete": True,
                               "rename": False}  # rename: exactly one layer
    window.doc.select([])
    assert not any(enabled(window).values())


def test_a_selected_wire_can_be_deleted_but_not_copied(make_window) -> None:
    window = make_window()
    window.doc.select([])
    wire = next(iter(window.scene.wires.values()))
    wire.setSelected(True)
    assert enabled(window) == {"cut": False, "copy": False, "duplicate": False,
                               "delete": True, "rename": False}


def test_training_lock_keeps_them_off_whatever_is_selected(make_window) -> None:
    window = make_window()
    window.doc.select(["conv1"])
    window.training.training_changed.emit(True)
    window.doc.select(["fc1"])
    assert enabled(window) == {"cut": False, "copy": True, "duplicate": False, "delete": False,
                               "rename": False}  # copying does not change the graph
    window.training.training_changed.emit(False)
    assert all(enabled(window).values())
    window.doc.select([])
    window.training.training_changed.emit(True)
    window.training.training_changed.emit(False)
    assert not any(enabled(window).values())  # unlocking does not switch on idle ones


def canvas_menu_of(view) -> QMenu:
    empty = view.viewport().rect().bottomLeft() + QPoint(30, -30)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, empty,
                              view.viewport().mapToGlobal(empty))
    QApplication.sendEvent(view.viewport(), event)
    return QApplication.activePopupWidget()


def test_the_canvas_menu_shares_the_main_menus_actions(make_window) -> None:
    window = make_window()
    menu = canvas_menu_of(window.view)
    try:
        shown = [a for a in menu.actions() if not a.isSeparator()]
        for name in ("paste", "select_all", "fit", "layout"):
            assert window.actions[name] in shown
        layout = window.actions["layout"]
        view_menu = next(m for m in window.menuBar().findChildren(QMenu)
                         if m.title() == "&View")
        assert layout in view_menu.actions()  # one action: one name, one shortcut
        assert layout.shortcut().toString() == "Ctrl+L"
    finally:
        menu.hide()


def test_the_node_menu_shares_them_too(make_window) -> None:
    window = make_window()
    window.doc.select(["conv1"])
    menu = window.view.edits.node_menu("conv1")
    for name in ("rename", "duplicate", "delete"):
        assert window.actions[name] in menu.actions()


def test_a_lone_canvas_has_the_same_named_actions(make_view) -> None:
    view = make_view(convs())
    menu = canvas_menu_of(view)
    try:
        texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
        assert texts == ["Add Layer…", "Paste", "Select All", "Fit to View", "Auto-layout"]
        assert view.edits.edit_actions["layout"] in menu.actions()
    finally:
        menu.hide()
    view.doc.select([])
    assert not view.edits.edit_actions["delete"].isEnabled()
    view.doc.select(["n1"])
    assert view.edits.edit_actions["delete"].isEnabled()
