"""The data folders a user chose for the built-in datasets, remembered in the app's settings
(QSettings), so that every graph naming MNIST finds its files without being told again.

A remembered folder is used only where a graph names the dataset without a `data_dir` of its
own, and it is never written into the graph: the file stays free of this computer's paths
(and works elsewhere, where the data lies somewhere else or comes from the cache). A folder
the user chooses in a graph's data panel is written into that graph as before, and
remembered as well.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

GROUP = "data_folders"


class DataFolders:
    """Remembered folders, by built-in dataset name ("mnist", "cifar10", ...)."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def get(self, dataset: str) -> str | None:
        """The folder remembered for `dataset`, if it still exists."""
        value = self.settings.value(f"{GROUP}/{dataset}")
        return value if isinstance(value, str) and value and Path(value).is_dir() else None

    def remember(self, dataset: str, folder: str) -> None:
        self.settings.setValue(f"{GROUP}/{dataset}", folder)

    def forget(self, dataset: str) -> None:
        self.settings.remove(f"{GROUP}/{dataset}")
