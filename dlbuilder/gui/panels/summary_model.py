"""The summary's rows and their tree model: one row per layer of the open graph, a block
instance with the totals of all its repeats and, under it, its repeats and inner layers.

A row inside a block belongs to the instance on the canvas (`node`): selecting it selects that
instance. `set_rows` resets the model only when the rows themselves came, went or moved;
otherwise it updates the cells that changed, so sorting, scrolling, selection and the open
branches stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QWidget

from dlbuilder.core.diagnostics import Diagnostic, shown_severity
from dlbuilder.core.receptive import Receptive
from dlbuilder.core.receptive_text import describe, field_words
from dlbuilder.core.registry import prod
from dlbuilder.core.summary import Row, shape_text
from dlbuilder.gui.look.icons import severity_icon
from dlbuilder.gui.look.theme import current
from dlbuilder.gui.widgets.table_model import RIGHT
from dlbuilder.gui.widgets.text import number_font

COLUMNS = ("Layer", "Type", "Output shape", "Params", "% of total", "Mult-adds",
           "Receptive field")
COL_LAYER, COL_TYPE, COL_SHAPE, COL_PARAMS, COL_SHARE, COL_MACS, COL_FIELD = range(len(COLUMNS))
NUMERIC = frozenset({COL_PARAMS, COL_SHARE, COL_MACS})
SORT_ROLE = Qt.ItemDataRole.UserRole + 1   # the value a column sorts by (numbers as numbers)
NODE_ROLE = Qt.ItemDataRole.UserRole + 2   # the canvas node of a row (a block's: its instance)
SHARE_ROLE = Qt.ItemDataRole.UserRole + 3  # the share of all parameters, 0..1, for the bar
PATH_ROLE = Qt.ItemDataRole.UserRole + 4   # the row's module path (layer1.0.conv1)
HEADER_TIPS = (
    ("The layer's id; inside a block, its path in the exported model (layer1.0.conv1). "
     "Sorting by it restores the network's order"),
    "The layer type (torch.nn class), or the block a block instance runs (x3: repeated)",
    ("The output of one sample (batch dimension left out); ? when it cannot be computed. "
     "Sorts by the number of values"),
    "Trainable parameters (weights and biases); a block's: all of its repeats'",
    "This layer's share of all parameters",
    "Multiply-accumulate operations for one sample",
    ("The input pixels one output value sees (height x width), and the jump: how many input "
     "pixels apart neighbouring outputs' regions are. Rows inside an instance count from the "
     "graph's input; an opened block's layers from the block's input"),
)


@dataclass(frozen=True)
class SummaryRow:
    """One row as the table shows it: a layer, a block instance or one repeat of it."""

    node: str             # the node on the canvas: the layer, or the instance it lies inside
    path: str             # its module path; a top-level row's is its node id
    type: str
    shape: str
    values: int           # elements in the output: what the shape column sorts by
    params: int
    macs: int
    order: int            # position among its siblings (topological at the top)
    key_params: str
    severity: str | None  # shown_severity's: "error", "pending", "warning" or None
    problems: tuple[str, ...]
    children: tuple[SummaryRow, ...] = ()
    field: str = "-"      # the receptive field in words
    field_size: float = -1  # what that column sorts by (pixels seen; the whole input last)
    receptive: Receptive | None = None  # its tooltip's words are written when asked for


def summary_row(row: Row, order: int, problems: tuple[Diagnostic, ...],
                node: str | None = None) -> SummaryRow:
    """The row of a core summary row; `problems` are all the diagnostics that name it (some
    graph-wide checks do too). Rows inside a block take their own problems."""
    info = row.info
    top = node or info.node
    children = tuple(summary_row(child, i, child.info.diagnostics, top)
                     for i, child in enumerate(row.children))
    kind = row.block or info.type
    return SummaryRow(
        node=top, path=row.path, type=kind + (f" x{row.repeat}" if row.repeat > 1 else ""),
        shape=shape_text(info.output_shape, info.port_shapes), values=info.activations,
        params=info.params, macs=info.macs, order=order, key_params=row.key_params,
        severity=shown_severity((d.severity, d.code) for d in problems),
        problems=tuple(f"{d.severity}: {d.message}" for d in problems), children=children,
        **_field_cells(row.receptive))


def with_field(row: SummaryRow, field: Receptive | None) -> SummaryRow:
    """`row` with another receptive field (an edit before it changed only that): cheaper than
    building the row again, which an edit of the stem would do for every layer after it."""
    return replace(row, **_field_cells(field))


def _field_cells(field: Receptive | None) -> dict[str, Any]:
    return {"field": describe(field), "field_size": _field_size(field), "receptive": field}


def _field_size(field: Receptive | None) -> float:
    if field is None:
        return -1
    return float("inf") if field.whole else prod(field.size)


def walk(rows: tuple[SummaryRow, ...] | list[SummaryRow]) -> Iterator[SummaryRow]:
    """Every row, each before the rows inside it."""
    for row in rows:
        yield row
        yield from walk(row.children)


def _per_mille(params: int, total: int) -> int:
    """A share as the table shows it: to 0.1% (the text), finer than the bar's pixels."""
    return round(1000 * params / total) if total else 0


def share_text(share: float) -> str:
    if share <= 0:
        return "–"
    return "<0.1%" if share < 0.001 else f"{100 * share:.1f}%"


class _Item:
    """A row's place in the tree (Qt's indexes point at these)."""

    __slots__ = ("children", "parent", "place", "row")

    def __init__(self, row: SummaryRow, parent: _Item | None, place: int) -> None:
        self.row, self.parent, self.place = row, parent, place
        self.children = [_Item(child, self, i) for i, child in enumerate(row.children)]


def _shape_of(rows: list[SummaryRow] | tuple[SummaryRow, ...]) -> list[tuple[str, Any]]:
    """What decides whether new rows fit the old items: every row's path and its children."""
    return [(row.path, _shape_of(row.children)) for row in rows]


class SummaryModel(QAbstractItemModel):
    """The summary rows as a tree. A row's share is read against the total, so a new total
    changes one column, not every row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[_Item] = []
        self._font = number_font()
        self._blank: QIcon | None = None
        self._total = 0  # all parameters

    # -- the tree ------------------------------------------------------------------------------
    def index(self, row: int, column: int,
              parent: QModelIndex | QPersistentModelIndex | None = None) -> QModelIndex:
        siblings = self._children(parent)
        if not 0 <= row < len(siblings) or not 0 <= column < len(COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column, siblings[row])

    def parent(self, index: QModelIndex | QPersistentModelIndex | None = None
               ) -> Any:  # type: ignore[override]
        """The index above `index`; without one, the model's QObject parent (as Qt's)."""
        if index is None:
            return super().parent()
        if not index.isValid():
            return QModelIndex()
        up = index.internalPointer().parent
        return QModelIndex() if up is None else self.createIndex(up.place, 0, up)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        if parent is not None and parent.isValid() and parent.column() != 0:
            return 0
        return len(self._children(parent))

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> bool:
        return self.rowCount(parent) > 0

    def _children(self, parent: QModelIndex | QPersistentModelIndex | None) -> list[_Item]:
        if parent is None or not parent.isValid():
            return self._items
        return parent.internalPointer().children

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in NUMERIC:
            return RIGHT
        return None

    # -- rows ----------------------------------------------------------------------------------
    def rows(self) -> list[SummaryRow]:
        """The top-level rows (the graph's own layers)."""
        return [item.row for item in self._items]

    def row_of(self, node: str) -> int:
        """The top-level row of `node`, or -1."""
        return next((i for i, item in enumerate(self._items) if item.row.node == node), -1)

    def index_of_path(self, path: str) -> QModelIndex:
        """The index of the row with this module path (invalid if there is none)."""
        for item in self._walk_items(self._items):
            if item.row.path == path:
                return self.createIndex(item.place, 0, item)
        return QModelIndex()

    def _walk_items(self, items: list[_Item]) -> Iterator[_Item]:
        for item in items:
            yield item
            yield from self._walk_items(item.children)

    def share(self, row: SummaryRow) -> float:
        """The row's share of all parameters, 0..1."""
        return row.params / self._total if self._total else 0.0

    def needs_reset(self, rows: list[SummaryRow]) -> bool:
        """Whether showing `rows` adds, removes or reorders rows at any level."""
        return _shape_of(rows) != _shape_of(self.rows())

    def set_rows(self, rows: list[SummaryRow], total: int) -> bool:
        """Show `rows` of `total` parameters in all; True when that needed a reset (rows added,
        removed or reordered, at any level)."""
        if self.needs_reset(rows):
            self.beginResetModel()
            self._items = [_Item(row, None, i) for i, row in enumerate(rows)]
            self._total = total
            self.endResetModel()
            return True
        self._set_total(total)
        self._update(self._items, rows)
        return False

    def _update(self, items: list[_Item], rows: list[SummaryRow] | tuple[SummaryRow, ...]
                ) -> None:
        """Give the items of one level their new rows, signalling the cells that changed. Ids,
        types and order only change with a reset, so the Layer column is left out of the range
        (sparing the proxy a re-sort in network order) except where a problem icon changed.
        Tooltips are read on demand and need no signal."""
        changed = [i for i, (item, row) in enumerate(zip(items, rows, strict=True))
                   if item.row != row]
        for i in changed:
            old, items[i].row = items[i].row, rows[i]
            self._update(items[i].children, rows[i].children)
            if old.severity != rows[i].severity:
                cell = self.createIndex(i, COL_LAYER, items[i])
                self.dataChanged.emit(cell, cell)
        if changed:
            first, last = items[changed[0]], items[changed[-1]]
            self.dataChanged.emit(self.createIndex(first.place, COL_SHAPE, first),
                                  self.createIndex(last.place, len(COLUMNS) - 1, last))

    def _set_total(self, total: int) -> None:
        """A new total rescales every share alike (their order stays): only the cells whose
        percentage or bar shows a difference are repainted, not the whole table."""
        old, self._total = self._total, total
        if old == total:
            return
        for item in self._walk_items(self._items):
            if _per_mille(item.row.params, old) != _per_mille(item.row.params, total):
                cell = self.createIndex(item.place, COL_SHARE, item)
                self.dataChanged.emit(cell, cell)

    # -- cells ---------------------------------------------------------------------------------
    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.internalPointer().row, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column, self.share(row))
        if role == SORT_ROLE:
            return _sort_value(row, column, self.share(row))
        if role == NODE_ROLE:
            return row.node
        if role == PATH_ROLE:
            return row.path
        if role == SHARE_ROLE:
            return self.share(row)
        return self._style(row, column, role)

    def _style(self, row: SummaryRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return RIGHT
        if role == Qt.ItemDataRole.FontRole and column in NUMERIC | {COL_SHAPE, COL_FIELD}:
            return self._font
        if role == Qt.ItemDataRole.DecorationRole and column == COL_LAYER:
            return severity_icon(row.severity) if row.severity else self._blank_icon()
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_SHAPE and row.shape == "?":
            return current().color("error" if row.severity == "error" else "muted")
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, column, self.share(row))
        return None

    def _blank_icon(self) -> QIcon:
        """Room for the problem icon on every row, so the ids line up."""
        if self._blank is None:
            pixmap = QPixmap(16, 16)
            pixmap.fill(Qt.GlobalColor.transparent)
            self._blank = QIcon(pixmap)
        return self._blank


def _display(row: SummaryRow, column: int, share: float) -> str:
    return (row.path, row.type, row.shape, f"{row.params:,}", share_text(share),
            f"{row.macs:,}", row.field)[column]


def _sort_value(row: SummaryRow, column: int, share: float) -> Any:
    return (row.order, row.type.lower(), row.values, row.params, share, row.macs,
            row.field_size)[column]


def _tooltip(row: SummaryRow, column: int, share: float) -> str:
    lines = [f"{row.path} ({row.type})" + (f": {row.key_params}" if row.key_params else "")]
    if column == COL_SHARE:
        lines.append(f"{100 * share:.2f}% of all parameters")
    if column == COL_FIELD:
        lines.append(field_words(row.receptive))
    if row.children:
        lines.append(f"{row.params:,} parameters in all of it; expand to see its parts")
    lines += list(row.problems)
    return "\n".join(lines)
