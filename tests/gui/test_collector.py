"""Cyclic garbage is freed in the GUI thread, never in the thread that happened to allocate
(a training run's): Qt objects must be deleted in the thread they belong to."""

from __future__ import annotations

import gc
import sys
import threading
import types
import weakref

from PySide6.QtCore import QObject

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


def test_a_generation_is_collected_only_once_its_count_passed_the_threshold(qtbot):
    collector = GuiThreadCollector()
    try:
        gc.collect()
        assert collector.check() == -1  # nothing new yet
        # well past the threshold each time: frees count the generation's count down again
        garbage = [[i] for i in range(10 * collector.threshold[0])]
        assert collector.check() == 0
        del garbage
        for _ in range(collector.threshold[1] + 1):
            gc.collect(0)
        _ = [[i] for i in range(10 * collector.threshold[0])]
        assert collector.check() == 1
    finally:
        collector.deleteLater()


def test_a_burst_of_imports_is_frozen_so_full_collections_stay_short(qtbot, monkeypatch):
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
