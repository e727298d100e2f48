"""Where the export dialogs start: the folder of the user's last export, else beside their
graph file (never inside the shipped examples, which may be read-only), else their documents
folder. The last export folder is kept in the window's settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QWidget

from dlbuilder.resources import is_example

LAST_EXPORT_KEY = "export/last_folder"


def settings_for(widget: QWidget) -> QSettings:
    """The settings of the window `widget` is in (the main window keeps them), else the app's."""
    settings = getattr(widget.window(), "settings", None)
    return settings if isinstance(settings, QSettings) else QSettings()


def documents_folder() -> Path:
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def export_folder(graph_path: Path | None, settings: QSettings) -> Path:
    """The folder an export dialog starts in, for the graph saved at `graph_path`."""
    last = settings.value(LAST_EXPORT_KEY)
    if last and Path(str(last)).is_dir():
        return Path(str(last))
    if graph_path is not None and not is_example(graph_path) and graph_path.parent.is_dir():
        return graph_path.parent
    return documents_folder()


def remember_export_folder(target: Path, settings: QSettings) -> None:
    """After a successful export to `target`: the next dialog starts beside it."""
    settings.setValue(LAST_EXPORT_KEY, str(Path(target).resolve().parent))
