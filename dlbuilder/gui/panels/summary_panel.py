"""A torchinfo-like tree of the open graph: each layer's output shape, parameters, share of
the total and mult-adds, with the totals under it. A block instance is one row with the totals
of all its repeats; expanding it shows its repeats and the block's layers.

The rows are the engine's numbers, the same that `dlbuilder summary` prints (core/summary.py).
The table follows the document: a burst of edits refreshes it once; a change that keeps the
layers re-reads only the rows of the nodes it changed and updates their cells (no reset, so
sorting, scrolling, selection and open branches stay), and selecting a row selects the layer
(or the instance a row inside a block belongs to) on the canvas and back, without echo.
"""

from __future__ import annotations

import re

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.changes import Change, by_node
from dlbuilder.core.inference import InferenceEngine, Totals
from dlbuilder.core.summary import BYTES_PER_VALUE, layer_row, summary_rows
from dlbuilder.core.tuning import frozen_params
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.panels.summary_model import (
    COL_LAYER,
    COL_PARAMS,
    COL_SHAPE,
    COL_SHARE,
    COLUMNS,
    NODE_ROLE,
    PATH_ROLE,
    SHARE_ROLE,
    SORT_ROLE,
    SummaryModel,
    SummaryRow,
    summary_row,
    with_field,
)
from dlbuilder.gui.widgets.table_model import RIGHT
from dlbuilder.gui.widgets.text import number_font, totals_problems

__all__ = ["COL_LAYER", "COL_PARAMS", "COL_SHAPE", "COL_SHARE", "NODE_ROLE", "SORT_ROLE",
           "SummaryPanel", "current"]

SHARE_WIDTH = 150  # bar and percentage; leaves Mult-adds in view at 1280 px
NOT_LAYERS = frozenset({"input", "output"})  # roles without a module: no activations


def compact(value: float) -> str:
    """12,345,678 -> "12.35 M": for the totals line (the table shows every digit)."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:,.0f}"


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
        self._frozen = 0  # of the totals' parameters, those frozen
        self._pending: set[str] | None = None  # rows to re-read; None: all of them
        self._fields: set[str] = set()  # rows whose receptive field alone changed
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
        doc.scope_changed.connect(self._on_doc_scope_changed)
        theme_manager().changed.connect(self._on_theme_changed)
        self.refresh()

    def _build(self) -> None:
        view = self.view = QTreeView()
        view.setModel(self.proxy)
        view.setItemDelegateForColumn(COL_SHARE, ShareBarDelegate(view))
        view.setSortingEnabled(True)
        view.sortByColumn(COL_LAYER, Qt.SortOrder.AscendingOrder)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setAlternatingRowColors(True)
        view.setUniformRowHeights(True)
        view.setWordWrap(False)
        view.setIndentation(14)
        header = view.header()
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(60)
        view.setToolTip("Click a layer to show it on the canvas; expand a block to see its "
                        "repeats and layers; click a header to sort")
        view.selectionModel().selectionChanged.connect(self._on_view_selection_changed)
        view.clicked.connect(self._on_view_clicked)
        view.expanded.connect(self._on_view_expanded)
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
        engine = self.doc.scope.engine  # the open block's: its instance's numbers
        self._totals = engine.totals()
        self._frozen = frozen_params(engine)
        rows = self._rows_now(engine, self._pending, self._fields)
        self._pending, self._fields = set(), set()
        self._syncing = True
        try:
            opened = self.expanded_paths() if self.model.needs_reset(rows) else []
            if self.model.set_rows(rows, self._totals.params):
                self._expand(opened)
                self._fit_columns()
                self._select_rows(self.doc.selection())
        finally:
            self._syncing = False
        self._show_totals()

    def _rows_now(self, engine: InferenceEngine, nodes: set[str] | None,
                  fields: set[str]) -> list[SummaryRow]:
        """The rows of the nodes in `nodes` read again, of `fields` only their receptive
        field, the others as they were (`nodes` None: every row)."""
        problems = by_node(engine.diagnostics())
        rows = self.model.rows()
        where = {row.node: i for i, row in enumerate(rows)}
        if nodes is None or not rows or not (nodes | fields) <= where.keys():
            return [summary_row(row, order, problems.get(row.id, ()))
                    for order, row in enumerate(summary_rows(engine))]
        for node in fields - nodes:
            i = where[node]
            if rows[i].children:  # the layers inside an instance count from the graph's input
                nodes = nodes | {node}
            else:
                rows[i] = with_field(rows[i], engine.info(node).receptive)
        for node in nodes:
            i = where[node]
            rows[i] = summary_row(layer_row(engine, engine.info(node)), i,
                                  problems.get(node, ()))
        return rows

    def _fit_columns(self) -> None:
        """Columns as wide as their contents (the open rows'), the share bar a readable fixed
        width."""
        for column in range(len(COLUMNS)):
            if column != COL_SHARE:
                self.view.resizeColumnToContents(column)
                self.view.setColumnWidth(column, self.view.columnWidth(column) + 16)
        self.view.setColumnWidth(COL_SHARE, SHARE_WIDTH)

    def visible_nodes(self) -> list[str]:
        """The top-level node ids in the order the table shows them (after sorting)."""
        return [self.proxy.index(r, 0).data(NODE_ROLE) for r in range(self.proxy.rowCount())]

    def selected_nodes(self) -> list[str]:
        """The canvas nodes of the selected rows, in table order: a row inside a block stands
        for its instance."""
        indexes = sorted(self.view.selectionModel().selectedRows(), key=self._position)
        return list(dict.fromkeys(i.data(NODE_ROLE) for i in indexes))

    def _position(self, index: QModelIndex) -> tuple[int, ...]:
        """Where a row is shown: its row number at each level, outermost first."""
        places = []
        while index.isValid():
            places.append(index.row())
            index = index.parent()
        return tuple(reversed(places))

    def expanded_paths(self) -> list[str]:
        """The paths of the rows shown open."""
        opened: list[str] = []
        stack = [QModelIndex()]
        while stack:
            parent = stack.pop()
            for r in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(r, 0, parent)
                if self.proxy.hasChildren(index) and self.view.isExpanded(index):
                    opened.append(index.data(PATH_ROLE))
                    stack.append(index)
        return opened

    def expand_path(self, path: str) -> bool:
        """Open the row of this path and the rows above it; False if there is none."""
        index = self.proxy.mapFromSource(self.model.index_of_path(path))
        if not index.isValid():
            return False
        while index.isValid():
            self.view.expand(index)
            index = index.parent()
        return True

    def _expand(self, paths: list[str]) -> None:
        for path in paths:
            self.expand_path(path)

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
        parts = [f"Total params: <b>{params:,}</b>", f"Trainable: {params - self._frozen:,}",
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
        """Select the top-level rows of these nodes (those not shown are ignored) and scroll
        to the first."""
        selection = QItemSelection()
        for node in nodes:
            row = self.model.row_of(node)
            if row >= 0:
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                selection.select(index, index)
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        self.view.selectionModel().select(selection, flags)
        if not selection.isEmpty():
            self.view.scrollTo(selection.indexes()[0])

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
    def _on_view_expanded(self, _index: QModelIndex) -> None:
        """Widen the Layer column for the paths just shown (never narrow it under the user)."""
        width = self.view.columnWidth(COL_LAYER)
        self.view.resizeColumnToContents(COL_LAYER)
        self.view.setColumnWidth(COL_LAYER, max(width, self.view.columnWidth(COL_LAYER) + 16))

    def _on_doc_changed(self, change: Change) -> None:
        if not (change.inferred or change.tuned):  # moves, training settings: not shown here
            return
        if change.replaced or change.structural:
            self._pending = None
        elif self._pending is not None:
            self._pending |= (change.shapes - change.fields_only) | change.params_changed
            self._fields |= change.fields_only
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self._timer.start()
        else:  # a closed dock, or a tab behind another: catch up when shown
            self._stale = True

    def _on_doc_scope_changed(self, _scope: object) -> None:
        """Another graph is shown (a block opened or left): every row anew."""
        self._pending = None
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self._timer.start()
        else:
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

