"""The first window fits the screen's available geometry, and so does a restored one; a graph
replaced clears the status message that belonged to the old one (issue 19)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from dlbuilder.gui.document import Document
from dlbuilder.gui.window.main_window import MainWindow
from dlbuilder.resources import examples_dir


def _window(qtbot, settings):
    window = MainWindow(Document(), settings, None)
    qtbot.addWidget(window)
    return window


def _inside(window) -> bool:
    available = window.screen().availableGeometry()
    return available.contains(QRect(window.pos(), window.size()))


def test_the_first_window_fits_a_small_screen(qtbot, settings):
    window = _window(qtbot, settings)  # the offscreen screen is 800x800, smaller than 1600x1000
    window.show()
    qtbot.waitExposed(window)
    assert _inside(window), (window.pos(), window.size())
    assert window.width() >= 600 and window.height() >= 600  # it uses the room there is


def test_a_window_restored_off_screen_comes_back(qtbot, settings):
    first = _window(qtbot, settings)
    first.resize(1500, 1400)
    first.move(3000, 2500)  # saved on a larger screen, to its right
    first.save_settings()
    again = _window(qtbot, settings)
    again.show()
    qtbot.waitExposed(again)
    assert _inside(again), (again.pos(), again.size())


@pytest.mark.slow
def test_opening_another_graph_clears_the_old_status_message(qtbot, settings, tmp_path):
    window = _window(qtbot, settings)
    window.show()
    window.statusBar().showMessage("Wrote lecture_model.py", 8000)
    assert window.files.open(examples_dir() / "lenet5.json", ask=False)
    QApplication.processEvents()
    assert "lecture_model" not in window.statusBar().currentMessage()
    window.statusBar().showMessage("Wrote lecture_model.py", 8000)
    assert window.files.new()
    assert window.statusBar().currentMessage() == ""


def _canvas_size(window):
    QApplication.processEvents()
    return window.centralWidget().size()


@pytest.mark.slow
def test_docks_saved_in_a_big_window_leave_the_canvas_room_in_a_small_one(qtbot, settings):
    """Review of issue 19: a layout saved at 1600x1000 with the Training tab up, restored on a
    1280x720 screen, left the canvas a strip 65 px tall under the Training panel."""
    first = _window(qtbot, settings)
    first.resize(1600, 1000)
    first.show()
    qtbot.waitExposed(first)
    first.docks["training"].raise_()
    docks = first.docks
    first.resizeDocks([docks["training"]], [650], Qt.Orientation.Vertical)
    first.resizeDocks([docks["palette"], docks["inspector"]], [420, 560],
                      Qt.Orientation.Horizontal)
    QApplication.processEvents()
    big = _canvas_size(first)
    assert big.height() < 400 and big.width() < 700  # a big window: still usable there
    first.save_settings()
    again = _window(qtbot, settings)  # the offscreen screen is 800x800
    again.show()
    qtbot.waitExposed(again)
    canvas = _canvas_size(again)
    assert canvas.height() >= 200 and canvas.width() >= 300, canvas
    assert again.docks["training"].isVisible() and again.docks["inspector"].isVisible()


def test_a_layout_that_fits_is_restored_as_it_was(qtbot, settings):
    first = _window(qtbot, settings)
    first.resize(760, 720)
    first.show()
    qtbot.waitExposed(first)
    first.resizeDocks([first.docks["summary"]], [180], Qt.Orientation.Vertical)
    QApplication.processEvents()
    saved = first.docks["summary"].height()
    first.save_settings()
    again = _window(qtbot, settings)
    again.show()
    qtbot.waitExposed(again)
    QApplication.processEvents()
    assert abs(again.docks["summary"].height() - saved) <= 2
