"""Cyclic garbage is freed in the GUI thread, never in the thread that happened to allocate
(a training run's): Qt objects must be deleted in the thread they belong to."""

from __future__ import annotations

import gc
import sys
import threading
import types
import weakref

from PySide6.QtCore import QObject

from dlbuilder.gui import collector as collector_module
from dlbuilder.gui.collector import IMPORT_BURST, GuiThreadCollector

FREED_IN: list[str] = []  # the threads _Cycle objects were freed in


class _Cycle:

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        FREED_IN.append(threading.current_thread().name)


def test_automatic_collection_is_off_in_the_tests_as_in_the_app(gui_collector):
    assert not gc.isenabled()


def test_cycles_dropped_by_another_thread_are_freed_in_the_gui_thread(qtbot, gui_collector):
    FREED_IN.clear()
    box: list[object] = []

    def work() -> None:  # what a training thread does: drops cycles, allocates a lot
        for _ in range(50):
            _Cycle()
        box.extend([[i] for i in range(50 * gc.get_threshold()[0])])

    thread = threading.Thread(target=work, name="not-the-gui")
    thread.start()
    thread.join()
    assert FREED_IN == []  # nothing was collected in that thread
    qtbot.waitUntil(lambda: len(FREED_IN) == 50, timeout=5_000)  # the collector's timer
    assert set(FREED_IN) == {threading.current_thread().name}


def test_a_qobject_in_a_cycle_waits_for_the_gui_thread(gui_collector):
    class Held(QObject):
        pass

    held = Held()
    held.me = held
    alive = weakref.ref(held)
    del held
    thread = threading.Thread(target=lambda: [[i] for i in range(100_000)])
    thread.start()
    thread.join()
    assert alive() is not None
    gc.collect()
    assert alive() is None


def test_the_oldest_generation_past_its_threshold_is_collected(qtbot, monkeypatch):
    """CPython's rule, on given counts (the real counts move with every allocation and free,
    in any thread)."""
    collector = GuiThreadCollector()
    collector.threshold = (700, 10, 10)
    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", collected.append)
    cases = [((10, 0, 0), -1), ((701, 0, 0), 0), ((701, 11, 0), 1), ((701, 11, 11), 2),
             ((701, 0, 11), 0), ((5, 11, 11), -1)]
    try:
        for counts, expected in cases:
            monkeypatch.setattr(gc, "get_count", lambda counts=counts: counts)
            assert collector.check() == expected, counts
        assert collected == [0, 1, 2, 0]
    finally:
        collector.deleteLater()


def test_a_burst_of_imports_is_frozen_so_full_collections_stay_short(qtbot, monkeypatch):
    monkeypatch.setattr(collector_module, "_modules_at_freeze", len(sys.modules))
    collector = GuiThreadCollector()
    try:
        before = gc.get_freeze_count()
        assert not collector.freeze_new_modules()
        for i in range(IMPORT_BURST):
            monkeypatch.setitem(sys.modules, f"_dlbuilder_burst_{i}", types.ModuleType("m"))
        _ = [[i] for i in range(1_000)]
        assert collector.freeze_new_modules()
        assert gc.get_freeze_count() >= before + 1_000
    finally:
        collector.deleteLater()
