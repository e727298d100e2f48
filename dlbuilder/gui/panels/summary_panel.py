"""A torchinfo-like table of the open graph: each layer's output shape, parameters, share of
the total and mult-adds, with the totals under it.

The rows are the engine's numbers, the same that `dlbuilder summary` prints (core/summary.py).
The table follows the document: a burst of edits refreshes it once; a change that keeps the
layers re-reads only the rows of the nodes it changed and updates their cells (no reset, so
sorting, scrolling and selection stay), and selecting a row selects the layer on the canvas
and back, without echo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QIcon,
    QPainter,
    QPalette,
    QPixmap,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.changes import Change, by_node
from dlbuilder.core.diagnostics import Diagnostic, shown_severity
from dlbuilder.core.inference import InferenceEngine, NodeInfo, Totals
from dlbuilder.core.summary import BYTES_PER_VALUE, key_params, shape_text
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.icons import severity_icon
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.widgets.table_model import RIGHT, RowsTableModel, select_rows, set_up_table
from dlbuilder.gui.widgets.text import number_font, totals_problems

COLUMNS = ("Layer", "Type", "Output shape", "Params", "% of total", "Mult-adds")
COL_LAYER, COL_TYPE, COL_SHAPE, COL_PARAMS, COL_SHARE, COL_MACS = range(len(COLUMNS))
NUMERIC = frozenset({COL_PARAMS, COL_SHARE, COL_MACS})
SORT_ROLE = Qt.ItemDataRole.UserRole + 1   # the value a column sorts by (numbers as numbers)
NODE_ROLE = Qt.ItemDataRole.UserRole + 2   # the node id of a row
SHARE_ROLE = Qt.ItemDataRole.UserRole + 3  # the share of all parameters, 0..1, for the bar
HEADER_TIPS = (
    "The layer's id; sorting by it restores the network's order",
    "The layer type (torch.nn class)",
    ("The output of one sample (batch dimension left out); ? when it cannot be computed. "
     "Sorts by the number of values"),
    "Trainable parameters (weights and biases)",
    "This layer's share of all parameters",
    "Multiply-accumulate operations for one sample",
)
SHARE_WIDTH = 150  # bar and percentage; leaves Mult-adds in view at 1280 px
NOT_LAYERS = frozenset({"input", "output"})  # roles without a module: no activations


@dataclass(frozen=True)
class SummaryRow:
    """One layer as the table shows it."""

    node: str
    type: str
    shape: str
    values: int           # elements in the output: what the shape column sorts by
    params: int
    macs: int
    order: int            # topological position
    key_params: str
    severity: str | None  # shown_severity's: "error", "pending", "warning" or None
    problems: tuple[str, ...]


def summary_row(engine: InferenceEngine, info: NodeInfo, order: int,
                problems: tuple[Diagnostic, ...]) -> SummaryRow:
    """One layer's row; `problems` are all the diagnostics that name it (some graph-wide
    checks do too)."""
    return SummaryRow(
        node=info.node, type=info.type, shape=shape_text(info.output_shape, info.port_shapes),
        values=info.activations, params=info.params, macs=info.macs, order=order,
        key_params=key_params(engine, info),
        severity=shown_severity((d.severity, d.code) for d in problems),
        problems=tuple(f"{d.severity}: {d.message}" for d in problems))


def _per_mille(params: int, total: int) -> int:
    """A share as the table shows it: to 0.1% (the text), finer than the bar's pixels."""
    return round(1000 * params / total) if total else 0


def share_text(share: float) -> str:
    if share <= 0:
        return "–"
    return "<0.1%" if share < 0.001 else f"{100 * share:.1f}%"


def compact(value: float) -> str:
    """12,345,678 -> "12.35 M": for the totals line (the table shows every digit)."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:,.0f}"


class SummaryModel(RowsTableModel):
    """The summary rows; `set_rows` resets only when the layers themselves changed. A row's
    share is read against the total, so a new total changes one column, not every row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, HEADER_TIPS, NUMERIC, lambda row: row.node, parent)
        self._font = number_font()
        self._blank: QIcon | None = None
        self._total = 0  # all parameters

    def share(self, row: SummaryRow) -> float:
        """The row's share of all parameters, 0..1."""
        return row.params / self._total if self._total else 0.0

    def _blank_icon(self) -> QIcon:
        """Room for the problem icon on every row, so the ids line up."""
        if self._blank is None:
            pixmap = QPixmap(16, 16)
            pixmap.fill(Qt.GlobalColor.transparent)
            self._blank = QIcon(pixmap)
        return self._blank

    def rows(self) -> list[SummaryRow]:
        return list(self._rows)

    def set_rows(self, rows: list[SummaryRow], total: int) -> bool:
        """Show `rows` of `total` parameters in all; True when that needed a reset (layers
        added, removed or reordered)."""
        if [r.node for r in rows] != [r.node for r in self._rows]:
            self.beginResetModel()
            self._rows, self._total = list(rows), total
            self.endResetModel()
            return True
        self._set_total(total)
        pairs = enumerate(zip(self._rows, rows, strict=True))
        changed = [i for i, (old, new) in pairs if old != new]
        # Ids, types and order only change with a reset, so the Layer column is left out of the
        # range (sparing the proxy a re-sort in network order) except where a problem icon
        # changed. Tooltips are read on demand and need no signal.
        iconic = [i for i in changed if self._rows[i].severity != rows[i].severity]
        self._rows = list(rows)
        if changed:
            self.dataChanged.emit(self.index(changed[0], COL_SHAPE),
                                  self.index(changed[-1], len(COLUMNS) - 1))
        for i in iconic:
            self.dataChanged.emit(self.index(i, COL_LAYER), self.index(i, COL_LAYER))
        return False

    def _set_total(self, total: int) -> None:
        """A new total rescales every share alike (their order stays): only the cells whose
        percentage or bar shows a difference are repainted, not the whole table."""
        old, self._total = self._total, total
        if old == total:
            return
        for i, row in enumerate(self._rows):
            if _per_mille(row.params, old) != _per_mille(row.params, total):
                cell = self.index(i, COL_SHARE)
                self.dataChanged.emit(cell, cell)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, column, self.share(row))
        if role == SORT_ROLE:
            return _sort_value(row, column, self.share(row))
        if role == NODE_ROLE:
            return row.node
        if role == SHARE_ROLE:
            return self.share(row)
        return self._style(row, column, role)

    def _style(self, row: SummaryRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return RIGHT
        if role == Qt.ItemDataRole.FontRole and column in NUMERIC | {COL_SHAPE}:
            return self._font
        if role == Qt.ItemDataRole.DecorationRole and column == COL_LAYER:
            return severity_icon(row.severity) if row.severity else self._blank_icon()
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_SHAPE and row.shape == "?":
            return current().color("error" if row.severity == "error" else "muted")
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row, column, self.share(row))
        return None


def _display(row: SummaryRow, column: int, share: float) -> str:
    return (row.node, row.type, row.shape, f"{row.params:,}", share_text(share),
            f"{row.macs:,}")[column]


def _sort_value(row: SummaryRow, column: int, share: float) -> Any:
    return (row.order, row.type.lower(), row.values, row.params, share, row.macs)[column]


def _tooltip(row: SummaryRow, column: int, share: float) -> str:
    lines = [f"{row.node} ({row.type})" + (f": {row.key_params}" if row.key_params else "")]
    if column == COL_SHARE:
        lines.append(f"{100 * share:.2f}% of all parameters")
    lines += list(row.problems)
    return "\n".join(lines)


class ShareBarDelegate(QStyledItemDelegate):
    """Draws a share as a bar with the percentage beside it, so the heavy layers stand out."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:  # Qt override
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        metrics = QFontMetrics(opt.font)
        text_width = metrics.horizontalAdvance("100.0%") + 8
        area = QRectF(opt.rect.adjusted(6, 5, -text_width, -5))
        share = float(index.data(SHARE_ROLE) or 0.0)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        group = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        track = QColor(opt.palette.color(group))
        track.setAlphaF(0.12)
        painter.setBrush(track)
        painter.drawRoundedRect(area, 2, 2)
        if share > 0 and area.width() > 0:
            bar = QRectF(area)
            bar.setWidth(max(2.0, area.width() * min(share, 1.0)))
            fill = QColor(opt.palette.color(group))
            fill.setAlphaF(0.75 if not selected else 0.9)
            painter.setBrush(fill)
            painter.drawRoundedRect(bar, 2, 2)
        text_role = (QPalette.ColorRole.HighlightedText if selected
                     else QPalette.ColorRole.Text)
        painter.setPen(opt.palette.color(text_role))
        painter.setFont(opt.font)
        painter.drawText(opt.rect.adjusted(0, 0, -6, 0),
                         RIGHT, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem,  # Qt override
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 140), hint.height())


class SummaryPanel(QWidget):
    """The layer table with its totals line, kept in step with the document."""

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._syncing = False
        self._totals: Totals | None = None
        self._pending: set[str] | None = None  # rows to re-read; None: all of them
        self._totals_plain = ""
        self._stale = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        self.model = SummaryModel(self)
        self.proxy = QSortFilterProxyModel(self)  # a stable sort: ties keep the network order
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setDynamicSortFilter(True)
        self._build()
        doc.changed.connect(self._on_doc_changed)
        doc.selection_changed.connect(self._on_doc_selection_changed)
        theme_manager().changed.connect(self._on_theme_changed)
        self.refresh()

    def _build(self) -> None:
        view = self.view = QTableView()
        view.setModel(self.proxy)
        view.setItemDelegateForColumn(COL_SHARE, ShareBarDelegate(view))
        view.setSortingEnabled(True)
        view.sortByColumn(COL_LAYER, Qt.SortOrder.AscendingOrder)
        set_up_table(view)
        header = view.horizontalHeader()
        header.setMinimumSectionSize(60)
        view.setToolTip("Click a layer to show it on the canvas; click a header to sort")
        view.selectionModel().selectionChanged.connect(self._on_view_selection_changed)
        view.clicked.connect(self._on_view_clicked)
        view.activated.connect(self._on_view_clicked)
        self.totals_label = QLabel()
        self.totals_label.setTextFormat(Qt.TextFormat.RichText)
        self.totals_label.setFont(number_font())
        self.totals_label.setWordWrap(True)
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(view, 1)
        layout.addWidget(self.totals_label)

    # -- public --------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the summary now (edits call this once after a burst): the rows of the nodes
        the edits changed, or every row when layers came or went."""
        self._timer.stop()
        engine = self.doc.engine
        self._totals = engine.totals()
        rows = self._rows_now(engine, self._pending)
        self._pending = set()
        self._syncing = True
        try:
            if self.model.set_rows(rows, self._totals.params):
                self._fit_columns()
                self._select_rows(self.doc.selection())
        finally:
            self._syncing = False
        self._show_totals()

    def _rows_now(self, engine: InferenceEngine, nodes: set[str] | None) -> list[SummaryRow]:
        problems = by_node(engine.diagnostics())
        rows = self.model.rows()
        where = {row.node: i for i, row in enumerate(rows)}
        if nodes is None or not rows or not nodes <= where.keys():
            return [summary_row(engine, info, order, problems.get(info.node, ()))
                    for order, info in enumerate(engine.infos())]
        for node in nodes:
            i = where[node]
            rows[i] = summary_row(engine, engine.info(node), i, problems.get(node, ()))
        return rows

    def _fit_columns(self) -> None:
        """Columns as wide as their contents, the share bar a readable fixed width."""
        self.view.resizeColumnsToContents()
        for column in range(len(COLUMNS)):
            if column != COL_SHARE:
                self.view.setColumnWidth(column, self.view.columnWidth(column) + 16)
        self.view.setColumnWidth(COL_SHARE, SHARE_WIDTH)

    def visible_nodes(self) -> list[str]:
        """The node ids in the order the table shows them (after sorting)."""
        return [self.proxy.index(r, 0).data(NODE_ROLE) for r in range(self.proxy.rowCount())]

    def selected_nodes(self) -> list[str]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        return [self.proxy.index(r, 0).data(NODE_ROLE) for r in rows]

    def totals_text(self) -> str:
        """The totals line as plain text."""
        return self._totals_plain

    # -- totals --------------------------------------------------------------------------------
    def _show_totals(self, theme: Theme | None = None) -> None:
        theme = theme or current()
        totals, rows = self._totals, self.model.rows()
        if totals is None:
            return
        params, role = totals.params, self.doc.registry.role_of
        input_values = next((r.values for r in rows if role(r.type) == "input"), 0)
        layer_values = sum(r.values for r in rows if role(r.type) not in NOT_LAYERS)
        mb = {name: values * BYTES_PER_VALUE / 1e6 for name, values in (
            ("input", input_values), ("passes", 2 * layer_values), ("params", params))}
        size = sum(mb.values())
        problems, color = totals_problems(not rows, totals.errors, totals.warnings, theme)
        parts = [f"Total params: <b>{params:,}</b>", f"Trainable: {params:,}",
                 f"Mult-adds: {compact(totals.macs)}",
                 f"Estimated size: {size:.2f} MB",
                 f"<span style='color:{color}'>{problems}</span>"]
        self.totals_label.setText(" &nbsp;·&nbsp; ".join(parts))
        self._totals_plain = re.sub(r"<[^>]+>", "", " · ".join(parts))
        self.totals_label.setToolTip(
            "Per sample, float32 (as torchinfo counts them):\n"
            f"  input {mb['input']:.2f} MB + forward/backward pass {mb['passes']:.2f} MB"
            f" + params {mb['params']:.2f} MB = {size:.2f} MB\n"
            f"Buffers (BatchNorm running statistics): {totals.buffers:,}\n"
            f"Mult-adds: {totals.macs:,}")

    # -- selection -----------------------------------------------------------------------------
    def _select_rows(self, nodes: tuple[str, ...] | list[str]) -> None:
        select_rows(self.view, self.proxy, self.model, nodes)

    def _on_doc_selection_changed(self, nodes: tuple[str, ...]) -> None:
        if self._syncing or tuple(self.selected_nodes()) == tuple(nodes):
            return
        self._syncing = True
        try:
            self._select_rows(nodes)
        finally:
            self._syncing = False

    def _on_view_selection_changed(self, _selected: QItemSelection,
                                   _deselected: QItemSelection) -> None:
        if not self._syncing:
            self._syncing = True
            try:
                self.doc.select(self.selected_nodes())
            finally:
                self._syncing = False

    def _on_view_clicked(self, index: QModelIndex) -> None:
        node = index.data(NODE_ROLE)
        if node is not None and len(self.selected_nodes()) <= 1:
            self.doc.focus(node)

    # -- other handlers ------------------------------------------------------------------------
    def _on_doc_changed(self, change: Change) -> None:
        if not change.inferred:  # moves and training settings show nowhere in the table
            return
        if change.replaced or change.structural:
            self._pending = None
        elif self._pending is not None:
            self._pending |= change.shapes | change.params_changed
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self._timer.start()
        else:  # a closed dock, or a tab behind another: catch up when shown
            self._stale = True

    def catch_up(self) -> None:
        """Refresh if edits came while the table could not be seen (its dock shows it)."""
        if self._stale:
            self._stale = False
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.catch_up()

    def _on_theme_changed(self, theme: Theme) -> None:
        self._show_totals(theme)
        self.view.viewport().update()

