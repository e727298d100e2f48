"""The app's own data folder (the log, recovery files): Qt's per-user location for our
organisation and app names, e.g. ~/.local/share/dlbuilder/dlbuilder on Linux."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def data_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".dlbuilder")
