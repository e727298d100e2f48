"""A QObject that owns a worker living in a thread of its own: the pattern training and Look
Inside share. The worker is moved to the thread and freed with it; `shutdown` ends the thread.

Qt aborts the whole process when a running QThread is destroyed, so the owner calls
`shutdown()` (the window does as it closes), and the interpreter's exit does it for any owner
still alive (a script that never closed its window).
"""

from __future__ import annotations

import atexit
import weakref

from PySide6.QtCore import QObject, QThread


class ThreadedSession(QObject):
    """Holds `worker` in a started thread named `name`."""

    def __init__(self, worker: QObject, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = worker
        worker.moveToThread(self._thread)
        self._thread.finished.connect(worker.deleteLater)
        self._thread.start()
        _LIVE.add(self)

    def shutdown(self, wait_ms: int = 10_000) -> bool:
        """End the thread once its current work returns; True when it ended within
        `wait_ms`. Subclasses first ask their worker to stop."""
        try:
            self._thread.quit()
            return self._thread.wait(wait_ms)
        except RuntimeError:  # Qt deleted the thread already (at interpreter exit): it has ended
            return True


_LIVE: weakref.WeakSet[ThreadedSession] = weakref.WeakSet()


@atexit.register
def _shut_down_live_sessions() -> None:
    for session in list(_LIVE):
        session.shutdown()
