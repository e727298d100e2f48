"""Where the file dialogs start. Export dialogs: the folder of the user's last export, else
beside their graph file, else their documents folder. Open and Save As: beside the graph file,
else the folder last opened or saved in, else the documents folder. A graph file counts only
when it is the user's (never the shipped examples, which may be read-only). The last folders
are kept in the window's settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from dlbuilder.resources import is_example

LAST_EXPORT_KEY = "export/last_folder"
LAST_FILE_KEY = "files/last_folder"


def documents_folder() -> Path:
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def _graph_folder(graph_path: Path | None) -> Path | None:
    """The folder of the user's graph file; None for no file or a shipped example."""
    if graph_path is None or is_example(graph_path):
        return None
    return graph_path.parent


def _remembered(settings: QSettings, key: str) -> Path | None:
    value = settings.value(key)
    return Path(str(value)) if value else None


def _first_folder(*candidates: Path | None) -> Path:
    """The first candidate that is still a folder, else the documents folder."""
    return next((c for c in candidates if c is not None and c.is_dir()), documents_folder())


def export_folder(graph_path: Path | None, settings: QSettings) -> Path:
    """The folder an export dialog starts in, for the graph saved at `graph_path`."""
    return _first_folder(_remembered(settings, LAST_EXPORT_KEY), _graph_folder(graph_path))


def graph_file_folder(graph_path: Path | None, settings: QSettings) -> Path:
    """The folder the Open and Save As dialogs start in, for the graph saved at `graph_path`."""
    return _first_folder(_graph_folder(graph_path), _remembered(settings, LAST_FILE_KEY))


def remember_export_folder(target: Path, settings: QSettings) -> None:
    """After a successful export to `target`: the next dialog starts beside it."""
    settings.setValue(LAST_EXPORT_KEY, str(Path(target).resolve().parent))


def remember_file_folder(target: Path, settings: QSettings) -> None:
    """After opening or saving the user's graph `target`: Open and Save As start there next
    (a shipped example is not remembered)."""
    if not is_example(target):
        settings.setValue(LAST_FILE_KEY, str(Path(target).resolve().parent))
