"""Autosave to a recovery file, and finding the work a crashed session left behind.

Every 30 s a modified graph is written (atomically) to `recovery/<pid>.json` in the app's data
folder, with the file it belongs to; the session holds `<pid>.lock` (a QLockFile, which knows a
dead owner's lock on every platform). A clean exit, a save, or a discard removes the file; a
recovery file whose lock nobody holds at start-up means that session ended without saving.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile

from dlbuilder.core.fileformat import graph_to_dict, write_atomic
from dlbuilder.core.graph import Graph
from dlbuilder.gui.paths import data_dir

AUTOSAVE_MS = 30_000


def recovery_dir() -> Path:
    return data_dir() / "recovery"


@dataclass(frozen=True)
class Recovered:
    """Work left by an earlier session: the graph's file text and where it came from."""

    path: Path              # the recovery file
    source: Path | None     # the graph file it was editing, if it had one
    name: str
    saved_at: float         # the recovery file's time (seconds since the epoch)


class RecoveryStore:
    def __init__(self, folder: Path | None = None, pid: int | None = None) -> None:
        self.folder = folder or recovery_dir()
        self.pid = os.getpid() if pid is None else pid
        self._lock: QLockFile | None = None

    def hold(self) -> None:
        """Mark this session's recovery file as in use while the app runs."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = QLockFile(str(self.folder / f"{self.pid}.lock"))
        self._lock.setStaleLockTime(0)
        self._lock.tryLock(0)

    def release(self) -> None:
        self.clear()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    @property
    def own_file(self) -> Path:
        return self.folder / f"{self.pid}.json"

    def write(self, graph: Graph, source: Path | None) -> Path:
        data = {"recovery_of": str(source) if source else None, "graph": graph_to_dict(graph)}
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.own_file, json.dumps(data, indent=1))
        return self.own_file

    def clear(self) -> None:
        self.own_file.unlink(missing_ok=True)

    def left_behind(self) -> list[Recovered]:
        """Recovery files of sessions that are no longer running, newest first."""
        found = []
        for path in self.folder.glob("*.json"):
            if not path.stem.isdigit() or int(path.stem) == self.pid or self._in_use(path):
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                source = data.get("recovery_of")
                name = data["graph"].get("name", "untitled")
            except (OSError, ValueError, KeyError, AttributeError):
                continue  # unreadable: not something we can offer
            found.append(Recovered(path, Path(source) if source else None, str(name),
                                   path.stat().st_mtime))
        return sorted(found, key=lambda r: r.saved_at, reverse=True)

    def _in_use(self, path: Path) -> bool:
        lock = QLockFile(str(path.with_suffix(".lock")))
        lock.setStaleLockTime(0)
        if lock.tryLock(0):  # nobody holds it: that session is gone
            lock.unlock()
            return False
        return lock.error() == QLockFile.LockError.LockFailedError

    def discard(self, recovered: Recovered) -> None:
        recovered.path.unlink(missing_ok=True)

    @staticmethod
    def graph_text(recovered: Recovered) -> str:
        """The recovered graph as file text, for the loader (which checks everything)."""
        data = json.loads(recovered.path.read_text(encoding="utf-8"))
        return json.dumps(data["graph"])
