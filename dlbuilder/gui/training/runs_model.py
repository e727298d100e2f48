"""The runs table's model: one row per run summary, the columns' texts and tooltips, and the
sort order (numbers as numbers, missing values last, run 9 before run 10)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import QWidget

from dlbuilder.backend.runs.store import RunSummary
from dlbuilder.gui.look.theme import current
from dlbuilder.gui.training.formats import MISSING, clock, percent
from dlbuilder.gui.widgets.table_model import RIGHT, RowsTableModel
from dlbuilder.gui.widgets.text import number_font

# the name and the accuracies first: they are what a user compares, and stay in sight in a
# narrow window while the rest scrolls
COLUMNS = ("Run", "Val accuracy", "Test accuracy", "Epochs", "Ended", "Time", "Started",
           "Parameters", "Dataset", "Graph")
(COL_RUN, COL_VAL, COL_TEST, COL_EPOCHS, COL_ENDED, COL_TIME, COL_STARTED, COL_PARAMS,
 COL_DATASET, COL_GRAPH) = range(len(COLUMNS))
NUMERIC = frozenset({COL_PARAMS, COL_EPOCHS, COL_VAL, COL_TEST, COL_TIME})
RUN_ROLE = Qt.ItemDataRole.UserRole + 1  # the run id of a row
EMPTY_TEXT = ("No runs yet — each training run is kept here with its graph, settings and "
              "curves")
ENDED = {  # reason: (words in the table, what it means)
    "completed": ("completed", "Ran all its epochs"),
    "early_stopped": ("early stop", "Stopped early: the monitored value stopped improving"),
    "stopped": ("stopped", "Stopped by you before its last epoch"),
    "diverged": ("diverged", "Stopped because the loss became nan or infinite"),
}
HEADER_TIPS = (
    "The run's name (F2 or Rename to change it); sorts by name",
    "Validation accuracy of the kept (best) weights",
    "Accuracy of the kept weights on the dataset's test split",
    "Epochs the run went through",
    "How the run ended: completed, early stop, stopped (by you) or diverged",
    "How long the run took (minutes:seconds)",
    "When the run started (local time)",
    "Trainable parameters of the network",
    "The dataset it trained on",
    "The graph's name when the run trained",
)
_DIGITS = re.compile(r"(\d+)")


# -- formatting --------------------------------------------------------------------------------
def count_text(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def duration_text(seconds: float | None) -> str:
    """72 -> "1:12", 3725 -> "1:02:05"."""
    return MISSING if seconds is None else clock(seconds)


def started_text(started: str) -> str:
    """"2024-05-01T10:03:59" -> "2024-05-01 10:03"; other text as it is."""
    try:
        return datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return started


def ended_text(reason: str | None) -> str:
    return MISSING if reason is None else ENDED.get(reason, (reason, ""))[0]


def _natural(text: str) -> tuple[tuple[int, Any], ...]:
    """"run 10" after "run 9": digits compare as numbers (tagged so types never mix)."""
    return tuple((1, int(part)) if part.isdigit() else (0, part)
                 for part in _DIGITS.split(text.casefold()) if part)


def _display(row: RunSummary, column: int) -> str:
    return (row.label, percent(row.val_accuracy), percent(row.test_accuracy),
            count_text(row.epochs_run), ended_text(row.reason), duration_text(row.seconds),
            started_text(row.started), count_text(row.params), row.dataset,
            row.graph_name)[column]


def sort_key(row: RunSummary, column: int) -> Any:
    """What a column sorts by; None (missing) goes last."""
    return (_natural(row.label), row.val_accuracy, row.test_accuracy, row.epochs_run,
            ended_text(row.reason) if row.reason else None, row.seconds, row.started,
            row.params, row.dataset.casefold(), row.graph_name.casefold())[column]


def _tooltip(row: RunSummary, column: int) -> str:
    if column == COL_RUN:
        pairs = ", ".join(f"{k} {v}" for k, v in row.settings.items() if v is not None)
        return "\n".join([f"{row.label} (run {row.id}): {row.graph_name} on {row.dataset}",
                          *textwrap.wrap(pairs or "default settings", 72),
                          "Double-click to open its graph; F2 to rename"])
    if column == COL_STARTED:
        return f"Started {row.started.replace('T', ' ')}"
    if column == COL_EPOCHS and row.epochs_run is not None:
        planned = row.settings.get("epochs")
        return f"{row.epochs_run} epochs run" + (f" of {planned} planned" if planned else "")
    if column == COL_VAL:
        loss = (f"; validation loss {row.best_val_loss:.4g}"
                if row.best_val_loss is not None else "")
        return HEADER_TIPS[COL_VAL] + loss
    if column == COL_TEST and row.test_accuracy is None:
        return "No test accuracy: the dataset has no test split, or the run ended before it"
    if column == COL_TIME and row.seconds is not None:
        return f"{row.seconds:,.1f} seconds"
    if column == COL_ENDED:
        return ENDED.get(row.reason or "", ("", "The run did not finish"))[1] or row.reason
    return HEADER_TIPS[column]


# -- model ------------------------------------------------------------------------------------
class RunsModel(RowsTableModel):
    """The run summaries; the Run column is editable, and an edit renames through
    `rename_handler(run_id, text)` (True when the store took it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, HEADER_TIPS, NUMERIC, lambda row: row.id, parent)
        self._font = number_font()
        self.rename_handler: Callable[[int, str], bool] | None = None

    def set_rows(self, rows: list[RunSummary]) -> bool:
        """Show `rows`; True when that needed a reset (runs added or removed)."""
        if [r.id for r in rows] != [r.id for r in self._rows]:
            self.beginResetModel()
            self._rows = list(rows)
            self.endResetModel()
            return True
        pairs = enumerate(zip(self._rows, rows, strict=True))
        changed = [i for i, (old, new) in pairs if old != new]
        self._rows = list(rows)
        if changed:
            self.dataChanged.emit(self.index(changed[0], 0),
                                  self.index(changed[-1], len(COLUMNS) - 1))
        return False

    def row(self, i: int) -> RunSummary:
        return self._rows[i]

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == COL_RUN:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column)
        if role == Qt.ItemDataRole.EditRole:
            return row.label if column == COL_RUN else None
        if role == RUN_ROLE:
            return row.id
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return RIGHT
        if role == Qt.ItemDataRole.FontRole and column in NUMERIC | {COL_STARTED}:
            return self._font
        if role == Qt.ItemDataRole.ForegroundRole and _display(row, column) == MISSING:
            return current().color("muted")
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, column)
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (role != Qt.ItemDataRole.EditRole or not index.isValid()
                or index.column() != COL_RUN or self.rename_handler is None):
            return False
        return self.rename_handler(self._rows[index.row()].id, str(value))


class RunsProxy(QSortFilterProxyModel):
    """Sorts by `sort_key`: numbers as numbers, missing values last in either order."""

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,
                 right: QModelIndex | QPersistentModelIndex) -> bool:  # Qt override
        model = self.sourceModel()
        assert isinstance(model, RunsModel)
        a = sort_key(model.row(left.row()), left.column())
        b = sort_key(model.row(right.row()), right.column())
        descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
        if a is None or b is None:  # Qt sorts descending by asking lessThan(right, left)
            return (b is not None and descending) if a is None else not descending
        return bool(a < b)
