"""Who frees the Qt objects with Python overrides: never the cyclic collector, which may free
their Python side before their C++ destructors run (a segmentation fault in CI, inside
QUndoStack::clear() from a collected Document)."""

from __future__ import annotations

import gc

from PySide6.QtGui import QFont

from dlbuilder.core.commands import SetTraining


def test_a_windows_document_and_scene_go_with_the_window_not_with_a_collection(
        make_window) -> None:
    """Deleting the window deletes the document (with its undo stack and steps) and the scene
    (with its cards) while every Python object of theirs lives: no collection is involved."""
    import shiboken6
    from PySide6.QtWidgets import QApplication

    from dlbuilder.gui.app import delete_window

    window = make_window()
    doc, scene = window.doc, window.scene
    assert doc.parent() is window and scene.parent() is window
    assert doc.push(SetTraining({**doc.graph.training, "epochs": 7}))
    enabled = gc.isenabled()
    gc.disable()
    try:
        window.doc.undo_stack.setClean()
        delete_window(QApplication.instance(), window)
        assert not shiboken6.isValid(doc) and not shiboken6.isValid(scene)
    finally:
        if enabled:
            gc.enable()


def test_plots_own_pyqtgraphs_menus(qtbot) -> None:
    from dlbuilder.gui.training.plot_parts import make_plot

    plot = make_plot("loss", QFont(), True, False)
    qtbot.addWidget(plot)
    item = plot.getPlotItem()
    assert item.getViewBox().menu.parent() is plot and item.ctrlMenu.parent() is plot
    assert item.getViewBox().menu.isWindow()  # still a popup
