"""The first F5 answers at once (issue 19: nothing showed for about 3 s while the Training tab
loaded): the tab comes forward with a loading state, then the panel, then the run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_training_flows import RUN_S, finish

from dlbuilder.core.commands import SetTraining


@pytest.mark.slow
def test_f5_shows_the_training_tab_loading_then_starts(qtbot, make_window):
    window = make_window()
    assert window.doc.push(SetTraining({**window.doc.graph.training, "epochs": 1}))
    window.doc.undo_stack.setClean()
    host = window.training
    assert host.panel is None
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_F5)
    dock = window.docks["training"]
    assert dock.isVisible() and not dock.visibleRegion().isEmpty()  # forward at once
    assert host.loading_label.isVisibleTo(window) and "Loading" in host.loading_label.text()
    assert host.panel is None  # built after the loading state has been painted
    qtbot.waitUntil(lambda: host.panel is not None and host.panel.history.finished is not None,
                    timeout=RUN_S)
    finish(qtbot, host.panel)
    assert host.panel.history.finished["reason"] == "completed"


@pytest.mark.slow
def test_a_first_run_waiting_for_pytorch_says_so(qtbot, make_window):
    window = make_window()
    window.show_training()
    panel = window.training.panel
    assert not panel.session.is_warm  # it says so once this thread hears from it
    assert panel.start()
    text = panel.header.line.text()
    panel.stop()
    finish(qtbot, panel)
    assert "Loading PyTorch" in text
