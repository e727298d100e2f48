"""Python's cycle collector, run by the GUI thread only.

Left alone, CPython collects cyclic garbage in whichever thread happens to allocate when a
threshold is crossed. With a run training in a worker thread that is often the worker, and what
it frees may be the Qt objects of a closed dialog or window, whose C++ side must be deleted in
the GUI thread: a crash, now or later. So the application turns automatic collection off and a
timer in the GUI thread collects instead, generation by generation at CPython's thresholds.

A full collection looks at every object: with torch loaded (about 150,000 objects) that is a
100 ms stall. Modules, classes and functions live as long as the process, so whatever a burst of
imports brought in is frozen (gc.freeze) and full collections look only at what came after. The
price: a cycle among objects that were alive at a freeze and die later is never freed.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Slot

CHECK_MS = 250  # how often the GUI thread looks at the collector's counts
IMPORT_BURST = 50  # modules loaded since the last freeze that make it worth freezing again

_modules_at_freeze = 0  # the freeze is the process's, and so is this count


class GuiThreadCollector(QObject):
    """Collects cyclic garbage in the thread it lives in (the GUI thread)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.freeze_new_modules()
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    @staticmethod
    def freeze_new_modules() -> bool:
        """Freeze what is alive if many modules were imported since the last freeze."""
        global _modules_at_freeze
        if len(sys.modules) - _modules_at_freeze < IMPORT_BURST:
            return False
        gc.freeze()
        _modules_at_freeze = len(sys.modules)
        return True

    @Slot()
    def check(self) -> int:
        """Collect the oldest generation whose count passed its threshold, and the younger ones
        with it (as CPython does); returns that generation, or -1 when none was due."""
        self.freeze_new_modules()
        counts = gc.get_count()
        if counts[0] <= self.threshold[0]:
            return -1
        generation = 0
        while generation < 2 and counts[generation + 1] > self.threshold[generation + 1]:
            generation += 1
        gc.collect(generation)
        return generation


_collector: GuiThreadCollector | None = None


def install_collector(app: QCoreApplication) -> GuiThreadCollector:
    """The application's collector, made once; call it from the GUI thread."""
    global _collector
    if _collector is None:
        _collector = GuiThreadCollector(app)
    return _collector
