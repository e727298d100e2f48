"""The Runs tab at the window sizes users have (issue 19): the run's name and accuracies are in
sight without scrolling, and the compared curves' controls are whole."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QLabel

from dlbuilder.backend.runs.history import RunHistory
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.gui.training.runs_model import COL_RUN, COL_TEST, COL_VAL


def whole(widget) -> bool:
    return widget.width() >= widget.sizeHint().width() and widget.isVisibleTo(widget.window())


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1600, 1000), (1280, 720)])
def test_names_accuracies_and_curve_controls_are_in_sight(qtbot, make_window, tmp_path, size):
    window = make_window()
    window.doc.save(tmp_path / "digits.json")
    window.resize(*size)
    window.show_training()
    panel = window.training.panel
    for _ in range(3):
        panel.store.add(graph_to_dict(window.doc.graph), {"epochs": 2}, RunHistory())
    panel.runs.refresh()
    panel.tabs.setCurrentWidget(panel.runs_split)
    panel.runs.select_runs(panel.runs.visible_runs())
    QApplication.processEvents()
    view = panel.runs.view
    for column in (COL_RUN, COL_VAL, COL_TEST):
        left = view.columnViewportPosition(column)
        right = left + view.columnWidth(column)
        assert 0 <= left <= right <= view.viewport().width(), (size, column)
    smoothing = next(w for w in panel.compare.findChildren(QLabel) if w.text() == "Smoothing")
    for widget in (smoothing, panel.compare.log_scale, panel.compare.csv_button,
                   panel.compare.png_button, *panel.runs.buttons.values()):
        assert whole(widget), (size, widget.text())
    panel.tabs.setCurrentWidget(panel.curves)
    QApplication.processEvents()
    for widget in (panel.curves.log_scale, panel.curves.csv_button, panel.curves.png_button):
        assert whole(widget), (size, "Curves tab", widget.text())


@pytest.mark.slow
def test_the_compare_view_asks_for_a_selection_not_a_start(qtbot, make_window, tmp_path):
    """With runs listed and none selected it used to say "Press Start to train"."""
    window = make_window()
    window.doc.save(tmp_path / "digits.json")
    window.show_training()
    panel = window.training.panel
    panel.store.add(graph_to_dict(window.doc.graph), {"epochs": 2}, RunHistory())
    panel.runs.refresh()
    shown = [w.text() for w in panel.compare.findChildren(QLabel) if w.isVisibleTo(panel.compare)]
    assert "Select runs in the table to compare their curves" in shown
    assert not any("Press Start" in text for text in shown)
    live = [w.text() for w in panel.curves.findChildren(QLabel)]
    assert "Press Start to train; the curves appear here" in live
