"""PySide6 6.12.0 aborts Python 3.11 after a few hundred Signal.emit() calls (each drops a
reference to True). pyproject pins PySide6-Essentials below 6.12; this catches a regression."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    toggled = Signal(bool)
    progressed = Signal(int, float, str)


def test_thousands_of_emits_survive(qtbot) -> None:
    emitter = _Emitter()
    received: list[bool] = []
    counted: list[int] = []
    emitter.toggled.connect(received.append)
    emitter.progressed.connect(lambda i, x, s: counted.append(i))
    for i in range(5000):
        emitter.toggled.emit(i % 2 == 0)
        emitter.progressed.emit(i, i / 10, "batch")
    assert len(received) == 5000 and received[:2] == [True, False]
    assert counted[-1] == 4999
