"""What the app's tables (the layer summary, the runs) share: a model over a list of rows with
fixed columns, header tooltips and right-aligned numeric columns, and selecting rows by key
through a sort proxy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class RowsTableModel(QAbstractTableModel):
    """Rows in `self._rows`, one column per name in `columns`; subclasses give `data`."""

    def __init__(self, columns: Sequence[str], tips: Sequence[str], numeric: frozenset[int],
                 key: Callable[[Any], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self._columns, self._tips, self._numeric, self._key = columns, tips, numeric, key

    def row_of(self, key: Any) -> int:
        """The row whose key is `key`, or -1."""
        return next((i for i, r in enumerate(self._rows) if self._key(r) == key), -1)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tips[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in self._numeric:
            return RIGHT
        return None


def select_rows(view: QTableView, proxy: QSortFilterProxyModel, model: RowsTableModel,
                keys: Iterable[Any]) -> None:
    """Select the rows of these keys (those not shown are ignored) and scroll to the first."""
    selection = QItemSelection()
    for key in keys:
        row = model.row_of(key)
        if row >= 0:
            index = proxy.mapFromSource(model.index(row, 0))
            selection.select(index, index)
    flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
             | QItemSelectionModel.SelectionFlag.Rows)
    view.selectionModel().select(selection, flags)
    if not selection.isEmpty():
        view.scrollTo(selection.indexes()[0])


def set_up_table(view: QTableView) -> None:
    """The look the app's tables share: whole rows selected (several with Ctrl/Shift), no
    grid, alternating rows, one line a row, columns the user can resize."""
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
