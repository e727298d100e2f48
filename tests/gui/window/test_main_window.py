"""The main window around the canvas: files, recent files, the unsaved-changes prompt,
autosave and recovery, error reporting, themes, docks kept in settings, the status bar."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import example_graph
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox

from dlbuilder.core.commands import AddNode, SetParams
from dlbuilder.core.fileformat import graph_to_dict, save_graph
from dlbuilder.gui import errors
from dlbuilder.gui.errors import ErrorReporter
from dlbuilder.gui.look.theme import theme_manager
from dlbuilder.gui.widgets.text import EMPTY_GRAPH
from dlbuilder.resources import example_names


def open_dialogs(window) -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()]


def close_dialogs() -> None:
    for box in QApplication.topLevelWidgets():
        if isinstance(box, QMessageBox) and box.isVisible():
            box.close()


def test_opens_on_the_digits_example_with_totals(make_window) -> None:
    window = make_window()
    assert window.doc.graph.name == "digits_cnn"
    assert window.windowTitle().startswith("digits_cnn.json")
    assert window.status.params_label.text() == "38,314 params"
    assert window.status.problems_label.text() == "no problems"
    for name in ("palette", "inspector", "summary"):  # code and problems: tabs behind summary
        assert window.docks[name].isVisible()


def test_the_window_wears_the_application_icon(make_window) -> None:
    window = make_window()
    pixmap = window.windowIcon().pixmap(32, 32)
    assert not pixmap.isNull()
    # drawn in the logo's own colours (dlbuilder.svg), not left blank
    image = pixmap.toImage()
    colours = {image.pixelColor(x, y).name() for x in range(32) for y in range(32)
               if image.pixelColor(x, y).alpha() > 200}
    assert len(colours) >= 3


def test_a_new_graph_is_called_empty_not_an_error_until_a_layer_is_added(make_window) -> None:
    window = make_window()
    assert window.files.new()
    QApplication.processEvents()
    label = window.status.problems_label
    assert label.text() == EMPTY_GRAPH
    assert theme_manager().theme.muted in label.styleSheet()
    assert EMPTY_GRAPH in window.docks["summary"].widget().totals_text()
    assert "error" not in window.docks["summary"].widget().totals_text()
    window.doc.push(AddNode("fc", "Linear", {"out_features": 4}))
    QApplication.processEvents()
    assert "error" in label.text() and label.text() != EMPTY_GRAPH  # counted again
    assert theme_manager().theme.error in label.styleSheet()


def test_edit_marks_the_title_and_undo_clears_it(make_window) -> None:
    window = make_window()
    assert not window.isWindowModified()
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    assert window.isWindowModified()
    QApplication.processEvents()
    assert window.status.params_label.text() == f"{window.doc.engine.totals().params:,} params"
    window.undo_action.trigger()
    assert not window.isWindowModified()


def test_a_broken_file_shows_every_problem_and_keeps_the_work(make_window, tmp_path) -> None:
    window = make_window()
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    before = graph_to_dict(window.doc.graph)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"format": "dlbuilder.graph", "version": 1, "nodes": [
        {"id": "a", "type": "Conv9d"}, {"id": "a", "type": "ReLU"}], "edges": []}))
    assert not window.files.open(broken, ask=False)
    (box,) = open_dialogs(window)
    assert "broken.json cannot be opened: 2 problems" in box.text()
    assert "Conv9d" in box.detailedText() and "'a'" in box.detailedText()
    box.close()
    assert graph_to_dict(window.doc.graph) == before and window.isWindowModified()


def test_unsaved_changes_prompt(make_window, monkeypatch) -> None:
    window = make_window()
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    answers = []

    def answer(button):
        def ask(*args, **kwargs):
            answers.append(args[2])
            return button
        return ask

    monkeypatch.setattr(QMessageBox, "warning", answer(QMessageBox.StandardButton.Cancel))
    window.actions["new"].trigger()
    assert len(window.doc.graph) == 13 and "Save the changes to digits_cnn.json" in answers[0]
    monkeypatch.setattr(QMessageBox, "warning", answer(QMessageBox.StandardButton.Discard))
    window.actions["new"].trigger()
    assert len(window.doc.graph) == 0 and not window.isWindowModified()


def test_save_as_recent_files_and_examples_menu(make_window, tmp_path, monkeypatch) -> None:
    window = make_window()
    target = tmp_path / "mine.json"
    monkeypatch.setattr("dlbuilder.gui.window.file_ops.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "mine"), ""))
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    window.actions["save"].trigger()  # an example is never overwritten: Save asks where
    assert target.exists() and window.doc.path == target and not window.isWindowModified()
    assert window.files.recent() == [target.resolve()]
    recent = [a.text() for a in window.recent_menu.actions()]
    assert recent[0] == "mine.json" and "Clear list" in recent
    assert [a.text() for a in window.examples_menu.actions()] == example_names()
    lenet = next(a for a in window.examples_menu.actions() if a.text() == "lenet5")
    lenet.trigger()
    assert window.doc.graph.name == "lenet5" and window.files.recent() == [target.resolve()]
    window.recent_menu.actions()[0].trigger()
    assert window.doc.path == target.resolve() or window.doc.path == target


def test_save_failure_says_so_and_keeps_the_graph(make_window, tmp_path) -> None:
    window = make_window()
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    assert not window.files._save_to(tmp_path / "missing" / "x.json")
    (box,) = open_dialogs(window)
    assert "could not be written" in box.text()
    box.close()
    assert window.isWindowModified()


def test_autosave_and_recovery_banner(make_window, tmp_path) -> None:
    folder = tmp_path / "recovery"
    window = make_window(recovery_dir=folder)
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    window.files.autosave()
    own = folder / f"{window.files.recovery.pid}.json"
    assert own.exists()
    crashed = dict(json.loads(own.read_text()))
    # A session that died: its recovery file is there and nobody holds its lock.
    (folder / "4242.json").write_text(json.dumps(crashed))
    later = make_window(recovery_dir=folder)
    later.offer_recovery()
    assert later.banner.isVisible() and "digits_cnn.json" in later.banner.label.text()
    later.banner.recover_button.click()
    assert later.doc.graph.params("fc1")["out_features"] == 32
    assert later.isWindowModified() and not later.banner.isVisible()
    assert not (folder / "4242.json").exists()
    window.files._save_to(tmp_path / "saved.json")
    assert not own.exists()  # saved: nothing to recover


def test_unexpected_exception_is_logged_and_shown(make_window, monkeypatch) -> None:
    window = make_window()
    reporter = ErrorReporter(interactive=True)
    shown = []
    monkeypatch.setattr(reporter, "_show", lambda *args: shown.append(args))
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        reporter.report(*sys.exc_info())
    assert shown and "RuntimeError: boom in a slot" in shown[0][0]
    assert "boom in a slot" in errors.log_path().read_text()
    assert "Traceback" in shown[0][1]
    window.doc.push(SetParams("fc1", {"out_features": 32}))  # still usable
    assert window.isWindowModified()


def test_error_dialog_has_the_details(make_window) -> None:
    make_window()
    reporter = ErrorReporter(interactive=True)
    try:
        raise ValueError("bad thing")
    except ValueError:
        info = sys.exc_info()
    from PySide6.QtCore import QTimer

    seen = []

    def inspect() -> None:
        box = QApplication.activeModalWidget()
        seen.append((box.text(), box.detailedText()))
        box.close()

    QTimer.singleShot(50, inspect)
    reporter.report(*info)
    assert "bad thing" in seen[0][0] and "Traceback" in seen[0][1]


@pytest.mark.slow
def test_theme_switch_and_settings_kept(make_window, settings: QSettings) -> None:
    window = make_window()
    dark = next(a for a in window.theme_group.actions() if a.data() == "dark")
    dark.trigger()
    assert theme_manager().theme.name == "dark"
    window.grab()
    window.docks["code"].hide()
    window.close()
    assert settings.value("theme") == "dark"
    again = make_window()
    assert not again.docks["code"].isVisible()
    assert next(a for a in again.theme_group.actions() if a.isChecked()).data() == "dark"
    again.actions["reset_layout"].trigger()
    assert again.docks["code"].isVisible() or again.docks["code"].isVisibleTo(again)
    theme_manager().apply("light")


def test_palette_and_quick_add_add_after_the_selection(make_window) -> None:
    window = make_window()
    doc = window.doc
    doc.select(["output"])
    doc.undo_stack.clear()
    doc.select(["fc2"])
    window.palette.add_requested.emit("ReLU")
    new = doc.selection()[0]
    assert doc.graph.type_of(new) == "ReLU" and doc.graph.inputs(new) == ["fc2"]
    assert doc.graph.ui(new)["x"] > doc.graph.ui("fc2")["x"]
    window.view.request_quick_add()  # Tab: after the selected layer
    assert window.quick_add.isVisible()
    window.quick_add.chosen.emit("Sigmoid")
    (sig,) = doc.selection()
    assert doc.graph.type_of(sig) == "Sigmoid" and doc.graph.inputs(sig) == [new]
    window.view.request_quick_add(window.view.mapToScene(10, 10))  # right-click: unwired
    window.quick_add.chosen.emit("Tanh")
    (tanh,) = doc.selection()
    assert doc.graph.inputs(tanh) == []
    doc.undo_stack.undo()
    assert doc.undo_stack.index() == 2


def test_docks_are_tabs_below_and_sides(make_window) -> None:
    window = make_window()
    tabs = window.tabifiedDockWidgets(window.docks["summary"])
    assert set(tabs) == {window.docks[name] for name in ("code", "problems", "training",
                                                         "inside")}
    assert all(isinstance(d, QDockWidget) and d.toolTip() for d in window.docks.values())
    for action in window.actions.values():
        assert action.toolTip()


@pytest.mark.parametrize("name", example_names())
def test_every_example_opens_in_the_window(make_window, name: str) -> None:
    window = make_window(example=name)
    assert set(window.scene.nodes) == set(example_graph(name).nodes())
    window.grab()


def test_a_graph_saved_elsewhere_opens_by_path(make_window, tmp_path: Path) -> None:
    path = tmp_path / "copy.json"
    save_graph(example_graph("lenet5"), path)
    window = make_window()
    assert window.files.open(path)
    assert window.doc.path == path and not window.isWindowModified()


def test_a_hidden_summary_catches_up_when_shown(make_window) -> None:
    window = make_window()
    window.docks["code"].raise_()
    QApplication.processEvents()
    assert window.summary.visibleRegion().isEmpty()  # a tab behind Code
    window.doc.push(SetParams("fc1", {"out_features": 32}))
    QApplication.processEvents()

    def fc1_shape() -> str:
        return next(r for r in window.summary.model.rows() if r.node == "fc1").shape

    assert fc1_shape() == "64"  # unseen, so not yet refreshed
    window.docks["summary"].raise_()
    QApplication.processEvents()
    assert fc1_shape() == "32"


@pytest.mark.slow
def test_every_menu_action_runs(make_window, tmp_path, monkeypatch) -> None:
    """Each action does its work or asks; none may raise (pytest-qt fails on a slot's error)."""
    window = make_window()
    dialogs = "dlbuilder.gui.{}.QFileDialog.{}"
    for module in ("window.file_ops", "window.export_side", "panels.code_panel"):
        monkeypatch.setattr(dialogs.format(module, "getSaveFileName"), lambda *a, **k: ("", ""))
        monkeypatch.setattr(dialogs.format(module, "getOpenFileName"), lambda *a, **k: ("", ""))
    monkeypatch.setattr(QMessageBox, "about", lambda *a, **k: None)
    window.doc.select(["conv1"])
    names = [n for n in window.actions if n not in ("quit", "new")] + ["new"]
    for name in names:
        if name == "new":  # last: it replaces the graph
            assert window.doc.undo_stack.count() >= 4  # cut, paste, duplicate, delete...
            monkeypatch.setattr(QMessageBox, "warning",
                                lambda *a, **k: QMessageBox.StandardButton.Discard)
        window.actions[name].trigger()
        QApplication.processEvents()
        close_dialogs()
        window.quick_add.close()
    assert len(window.doc.graph) == 0


def test_export_code_from_the_file_menu(make_window, tmp_path, monkeypatch) -> None:
    window = make_window()
    target = tmp_path / "digits"
    monkeypatch.setattr("dlbuilder.gui.panels.code_panel.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(target), ""))
    window.actions["export_code"].trigger()
    text = (tmp_path / "digits.py").read_text()
    assert "class Net(nn.Module)" in text or "class Net(torch.nn.Module)" in text
    compile(text, "digits.py", "exec")


def test_render_from_the_file_menu(make_window, tmp_path, monkeypatch) -> None:
    window = make_window()
    monkeypatch.setattr("dlbuilder.gui.window.export_side.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "g.svg"), ""))
    window.actions["render"].trigger()
    assert "Conv2d" in (tmp_path / "g.svg").read_text()


def test_starts_on_the_last_file_else_the_digits_example(make_window, settings,
                                                          tmp_path) -> None:
    from dlbuilder.gui.app import open_start_graph

    mine = tmp_path / "mine.json"
    save_graph(example_graph("lenet5"), mine)
    settings.setValue("last_file", str(mine))
    window = make_window(example=None)
    assert open_start_graph(window, None, settings) and window.doc.path == mine
    mine.write_text("{")  # broken since: skipped without a dialog
    assert open_start_graph(window, None, settings)
    assert window.doc.graph.name == "digits_cnn" and not open_dialogs(window)
    assert not open_start_graph(window, str(mine), settings)  # asked for: it says why
    assert window.doc.graph.name == "digits_cnn" and len(open_dialogs(window)) == 1
    close_dialogs()


def test_delete_key_acts_on_the_canvas_not_on_the_summary(make_window, qtbot) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window = make_window()
    window.activateWindow()
    window.doc.select(["dropout"])
    window.summary.view.setFocus()
    QTest.keyClick(window.summary.view, Qt.Key.Key_Delete)
    assert "dropout" in window.doc.graph
    window.view.setFocus()
    QTest.keyClick(window.view.viewport(), Qt.Key.Key_Delete)
    assert "dropout" not in window.doc.graph
