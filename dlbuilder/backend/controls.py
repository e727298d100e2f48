"""Stop and pause requests for a training run, made from another thread (the GUI) or a signal
handler (Ctrl+C). No torch, so the GUI can hold one before torch is loaded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TrainControl:
    """Stop and pause requests from another thread (or a signal handler); the loop looks at
    them between batches, so a request takes effect within one batch."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        # called in the loop's thread just before it waits while paused (the GUI's worker
        # sends the records it holds back, so a paused plot shows the last batch)
        self.before_wait: Callable[[], None] | None = None

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run wakes up to stop

    def reset(self) -> None:
        """Ready for a new run: no stop request, not paused."""
        self._stop.clear()
        self._running.set()

    def pause(self) -> None:
        if not self._stop.is_set():  # a run asked to stop must not then wait forever
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; the seconds spent waiting (left out of the throughput)."""
        if self._running.is_set():
            return 0.0
        if self.before_wait is not None:
            self.before_wait()
        start = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - start
