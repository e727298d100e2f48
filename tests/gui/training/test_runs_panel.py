"""The runs table: rows from the store, numeric sorting, selection, rename, delete, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox
from run_helpers import graph_dict, make_history

from dlbuilder.backend.runs.store import RunStore
from dlbuilder.gui.look.theme import DARK, LIGHT, theme_manager
from dlbuilder.gui.training.formats import percent
from dlbuilder.gui.training.runs_model import (
    COL_ENDED,
    COL_PARAMS,
    COL_RUN,
    COL_TEST,
    COL_TIME,
    COL_VAL,
    EMPTY_TEXT,
    duration_text,
    started_text,
)
from dlbuilder.gui.training.runs_panel import RunsPanel


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    """Four runs: test accuracies 9%, 50%, none and 10% (a text sort would put 10% first)."""
    store = RunStore(tmp_path / "tiny.runs")
    for test, reason in ((0.09, "completed"), (0.5, "early_stopped"), (None, "stopped"),
                         (0.1, "diverged")):
        store.add(graph_dict(), {"dataset": "mnist", "epochs": 3},
                  make_history(test_accuracy=test, reason=reason, params=38314, seconds=72.0,
                               val_accuracy=0.987))
    return store


@pytest.fixture
def panel(qtbot, store: RunStore) -> RunsPanel:
    panel = RunsPanel(store)
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def cell(panel: RunsPanel, row: int, column: int) -> str:
    return panel.proxy.index(row, column).data()


def test_rows_show_formatted_values(panel: RunsPanel) -> None:
    assert panel.visible_runs() == [1, 2, 3, 4]
    assert panel.stack.currentWidget() is panel.view
    assert [cell(panel, 0, c) for c in (COL_RUN, COL_PARAMS, COL_VAL, COL_TEST, COL_TIME)] == [
        "run 1", "38,314", "98.7%", "9.0%", "1:12"]
    assert [cell(panel, r, COL_ENDED) for r in range(4)] == [
        "completed", "early stop", "stopped", "diverged"]
    assert cell(panel, 2, COL_TEST) == "–"
    align = panel.proxy.index(0, COL_PARAMS).data(Qt.ItemDataRole.TextAlignmentRole)
    assert align & Qt.AlignmentFlag.AlignRight
    assert panel.count_label.text() == "4 runs"
    for button in panel.buttons.values():
        assert button.toolTip()


def test_formatting_helpers() -> None:
    assert percent(0.98765) == "98.8%" and percent(None) == "–"
    assert duration_text(72) == "1:12" and duration_text(3725.4) == "1:02:05"
    assert duration_text(None) == "–"
    assert started_text("2024-05-01T10:03:59") == "2024-05-01 10:03"
    assert started_text("whenever") == "whenever"


def test_test_accuracy_sorts_as_numbers_with_missing_last(panel: RunsPanel) -> None:
    panel.view.sortByColumn(COL_TEST, Qt.SortOrder.AscendingOrder)
    assert [cell(panel, r, COL_TEST) for r in range(4)] == ["9.0%", "10.0%", "50.0%", "–"]
    panel.view.sortByColumn(COL_TEST, Qt.SortOrder.DescendingOrder)
    assert [cell(panel, r, COL_TEST) for r in range(4)] == ["50.0%", "10.0%", "9.0%", "–"]


def test_run_names_sort_with_numbers_in_order(panel: RunsPanel, store: RunStore) -> None:
    store.rename(1, "run 10")
    store.rename(4, "baseline")
    panel.refresh()
    panel.view.sortByColumn(COL_RUN, Qt.SortOrder.AscendingOrder)
    assert [cell(panel, r, COL_RUN) for r in range(4)] == ["baseline", "run 2", "run 3",
                                                           "run 10"]


def test_selection_emits_ids_in_table_order(qtbot, panel: RunsPanel) -> None:
    panel.view.sortByColumn(COL_TEST, Qt.SortOrder.DescendingOrder)  # runs 2, 4, 1, 3
    with qtbot.waitSignal(panel.selection_changed) as signal:
        panel.select_runs([1, 4])
    assert signal.args == [[4, 1]]
    assert panel.selected_runs() == [4, 1]
    assert panel.count_label.text() == "4 runs, 2 selected"
    assert not panel.open_action.isEnabled() and panel.delete_action.isEnabled()
    with qtbot.waitSignal(panel.selection_changed) as signal:
        panel.view.selectRow(0)
    assert signal.args == [[2]]
    assert panel.open_action.isEnabled() and panel.rename_action.isEnabled()


def test_refresh_after_add_shows_new_row_and_keeps_selection(panel: RunsPanel,
                                                              store: RunStore) -> None:
    panel.select_runs([2])
    store.add(graph_dict(), {}, make_history(test_accuracy=0.75))
    assert panel.model.rowCount() == 4
    panel.refresh()
    assert panel.visible_runs() == [1, 2, 3, 4, 5]
    assert cell(panel, 4, COL_TEST) == "75.0%"
    assert panel.selected_runs() == [2]


def test_empty_state(qtbot, tmp_path: Path) -> None:
    panel = RunsPanel(None)
    qtbot.addWidget(panel)
    assert panel.stack.currentWidget() is panel.empty_label
    assert panel.empty_label.text() == EMPTY_TEXT
    panel.set_store(RunStore(tmp_path / "nothing.runs"))
    assert panel.stack.currentWidget() is panel.empty_label
    assert not panel.delete_action.isEnabled()
    assert not (tmp_path / "nothing.runs").exists()


def test_corrupt_store_shows_message_not_traceback(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "bad.runs"
    folder.mkdir()
    (folder / "runs.sqlite").write_bytes(b"not sqlite" * 50)
    panel = RunsPanel(RunStore(folder))
    qtbot.addWidget(panel)
    assert str(folder / "runs.sqlite") in panel.message()
    assert "damaged" in panel.message()
    assert panel.empty_label.text() != EMPTY_TEXT  # says the runs cannot be shown
    assert panel.stack.currentWidget() is panel.empty_label


def test_open_graph_and_weights_requests(qtbot, panel: RunsPanel, store: RunStore) -> None:
    index = panel.proxy.index(1, COL_TEST)
    with qtbot.waitSignal(panel.open_graph_requested) as signal:
        panel.view.doubleClicked.emit(index)
    assert signal.args == [2]
    panel.select_runs([3])
    assert not panel.weights_action.isEnabled()
    assert "no weights" in panel.weights_action.toolTip()
    store.weights_path(3).write_bytes(b"weights")
    panel.select_runs([1])
    panel.select_runs([3])
    assert panel.weights_action.isEnabled()
    with qtbot.waitSignal(panel.weights_requested) as signal:
        panel.buttons["Use weights"].click()
    assert signal.args == [3]
    with qtbot.waitSignal(panel.open_graph_requested) as signal:
        panel.buttons["Open graph"].click()
    assert signal.args == [3]


@pytest.mark.slow
def test_inline_rename(qtbot, panel: RunsPanel, store: RunStore) -> None:
    panel.select_runs([2])
    panel.rename_action.trigger()
    assert panel.view.state() == panel.view.State.EditingState
    editor = panel.view.focusWidget()
    editor.setText("wide conv")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on the next event loop
    qtbot.waitUntil(lambda: store.summaries()[1].label == "wide conv", timeout=2000)
    assert cell(panel, 1, COL_RUN) == "wide conv"
    assert panel.selected_runs() == [2]


def test_rename_of_a_run_gone_elsewhere_shows_message(panel: RunsPanel,
                                                      store: RunStore) -> None:
    RunStore(store.folder).delete([3])
    assert not panel.proxy.setData(panel.proxy.index(2, COL_RUN), "x")
    assert "no run 3" in panel.message()


def test_delete_asks_then_removes_rows_and_weights(qtbot, panel: RunsPanel,
                                                   store: RunStore) -> None:
    store.weights_path(1).write_bytes(b"weights")
    panel.select_runs([1, 3])
    panel.delete_action.trigger()
    box = panel.delete_box
    assert box is not None and box.isVisible()
    assert "2 runs" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert panel.visible_runs() == [1, 2, 3, 4]
    panel.delete_action.trigger()
    box = panel.delete_box
    delete = next(b for b in box.buttons()
                  if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    with qtbot.waitSignal(panel.selection_changed) as signal:
        delete.click()
    assert signal.args == [[]]
    assert panel.visible_runs() == [2, 4]
    assert [r.id for r in store.summaries()] == [2, 4]
    assert not store.weights_path(1).exists()


def test_context_menu_selects_the_row_under_the_pointer(qtbot, panel: RunsPanel) -> None:
    panel.select_runs([1])
    rect = panel.view.visualRect(panel.proxy.index(3, COL_RUN))
    panel.view.customContextMenuRequested.emit(rect.center())
    assert panel.selected_runs() == [4]
    assert panel.menu.isVisible()
    panel.menu.close()
    panel.view.customContextMenuRequested.emit(QPoint(5, panel.view.height() - 5))  # no row
    assert panel.selected_runs() == [4]
    panel.menu.close()


@pytest.mark.slow
def test_message_follows_the_theme(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "bad.runs"
    folder.mkdir()
    (folder / "runs.sqlite").write_bytes(b"x" * 200)
    panel = RunsPanel(RunStore(folder))
    qtbot.addWidget(panel)
    before = theme_manager().choice
    try:
        theme_manager().apply("dark")
        assert DARK.error in panel.message_label.styleSheet()
        theme_manager().apply("light")
        assert LIGHT.error in panel.message_label.styleSheet()
    finally:
        theme_manager().apply(before)
