"""Where the open graph's runs are kept, and the health its newest runs kept: light (no torch,
no plots), so the window can put a kept run's health on the cards before the Training tab is
ever built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlbuilder.backend.runs.store import RunStore, RunStoreError, runs_folder
from dlbuilder.gui.document import Document
from dlbuilder.gui.paths import data_dir
from dlbuilder.resources import is_example


def doc_runs_folder(doc: Document, data: Path | None = None) -> Path:
    """The folder of the document's runs: beside its file, or under the data folder (`data`,
    by default the app's) for a graph never saved and for a shipped example (read-only)."""
    path = doc.path if doc.path is None or not is_example(doc.path) else None
    return runs_folder(path, doc.graph.name, data if data is not None else data_dir())


def kept_health(store: RunStore) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The last health record of the store's newest run that kept one, and the graph it
    measured; None when there is none or the store cannot be read."""
    try:
        return store.last_health()
    except (RunStoreError, OSError):
        return None
