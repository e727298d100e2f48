"""The runs table: every training run of the graph, one row each, to compare, rename, delete,
reopen the graph it trained, or take its weights.

Rows come from `RunStore.summaries()` (no curves are read). Numeric columns sort as numbers,
with missing values ("–") last in either order; the Run column sorts by name, numbers within
names in order (run 9 before run 10). Store errors show as a line above the table.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.backend.runs.store import RunStore, RunStoreError, RunSummary
from dlbuilder.gui.look.icons import icon
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.training.runs_model import (
    COL_RUN,
    COL_STARTED,
    COL_TIME,
    COLUMNS,
    EMPTY_TEXT,
    RUN_ROLE,
    RunsModel,
    RunsProxy,
)
from dlbuilder.gui.widgets.table_model import select_rows, set_up_table


# -- panel ------------------------------------------------------------------------------------
class RunsPanel(QWidget):
    """The runs of one store in a sortable table, with Open graph, Use weights, Rename and
    Delete for the selected runs."""

    selection_changed = Signal(object)  # list[int]: the selected run ids, in table order
    open_graph_requested = Signal(int)  # a run id: open the graph it trained
    weights_requested = Signal(int)  # a run id: load its trained weights into the model
    inside_requested = Signal(int)  # a run id: look inside the network it trained

    def __init__(self, store: RunStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store: RunStore | None = None
        self._emitted: list[int] = []
        self.delete_box: QMessageBox | None = None  # the open confirmation, if any
        self.model = RunsModel(self)
        self.model.rename_handler = self._rename
        self.proxy = RunsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setDynamicSortFilter(True)
        self._build_actions()
        self._build()
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())
        self.set_store(store)

    def _build_actions(self) -> None:
        def action(text: str, tip: str, handler: Callable[[], None],
                   icon_name: str | None = None) -> QAction:
            made = QAction(icon(icon_name), text, self) if icon_name else QAction(text, self)
            made.setToolTip(tip)
            made.setStatusTip(tip)
            made.triggered.connect(handler)
            return made

        self.open_action = action("Open graph", "Open the graph this run trained, as it was "
                                  "then (double-click a row does the same)",
                                  self._on_open_action_triggered, "open")
        self.weights_action = action("Use weights", "Load this run's trained weights into the "
                                     "network", self._on_weights_action_triggered)
        self.inside_action = action("Look Inside", "Look into this run's network: what each "
                                    "layer makes of a sample, its filters, saliency",
                                    self._on_inside_action_triggered)
        self.rename_action = action("Rename", "Give the selected run a name (F2)",
                                    self._on_rename_action_triggered, "rename")
        self.delete_action = action("Delete…", "Delete the selected runs with their curves and "
                                    "weights (asks first)", self._on_delete_action_triggered,
                                    "delete")
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.actions_in_order = (self.open_action, self.weights_action, self.inside_action,
                                 self.rename_action, self.delete_action)

    def _build(self) -> None:
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        self.buttons: dict[str, QToolButton] = {}
        for act in self.actions_in_order:
            button = QToolButton()
            button.setDefaultAction(act)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            buttons.addWidget(button)
            self.buttons[act.text().rstrip("…")] = button
        buttons.addStretch(1)
        self.count_label = QLabel()  # under the table: the buttons need the row's width
        self.count_label.setToolTip("Runs kept for this graph, and how many are selected")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setToolTip("What went wrong with the runs file")
        self.message_label.hide()
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setToolTip("Start a training run; it is added here when it ends")
        self.view = self._build_view()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.count_label)
        self.menu = QMenu(self)
        self.menu.addActions(list(self.actions_in_order))

    def _build_view(self) -> QTableView:
        view = QTableView()
        view.setModel(self.proxy)
        view.setSortingEnabled(True)
        view.sortByColumn(COL_STARTED, Qt.SortOrder.AscendingOrder)
        set_up_table(view)
        view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        header = view.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setStretchLastSection(True)
        view.setToolTip("Click a header to sort; select several runs to compare them; "
                        "right-click for more")
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_view_context_menu_requested)
        view.doubleClicked.connect(self._on_view_double_clicked)
        view.selectionModel().selectionChanged.connect(self._on_view_selection_changed)
        view.addAction(self.delete_action)
        return view

    # -- public ---------------------------------------------------------------------------------
    def set_store(self, store: RunStore | None) -> None:
        """Show the runs of `store` (None: no runs), none selected: the ids selected before
        name another store's runs, whose curves the compare view no longer draws."""
        if store is not self._store:
            self.view.clearSelection()
        self._store = store
        self.refresh()
        self._fit_columns(widen_only=False)

    def refresh(self) -> None:
        """Re-read the summaries (after a run was added, renamed or deleted)."""
        keep = self.selected_runs()
        rows: list[RunSummary] = []
        error = None
        if self._store is not None:
            try:
                rows = self._store.summaries()
            except RunStoreError as err:
                error = str(err)
        if self.model.set_rows(rows):
            self._fit_columns(widen_only=True)
            self.select_runs(keep)
        self.show_message(error)
        self._update_state()

    def select_runs(self, run_ids: list[int]) -> None:
        """Select these runs (those not shown are ignored) and scroll to the first."""
        select_rows(self.view, self.proxy, self.model, run_ids)
        self._emit_selection()

    def selected_runs(self) -> list[int]:
        """The selected run ids, in the order the table shows them."""
        rows = sorted(i.row() for i in self.view.selectionModel().selectedRows())
        return [self.proxy.index(r, 0).data(RUN_ROLE) for r in rows]

    def visible_runs(self) -> list[int]:
        """Every run id in the order the table shows them (after sorting)."""
        return [self.proxy.index(r, 0).data(RUN_ROLE) for r in range(self.proxy.rowCount())]

    def delete_runs(self, run_ids: list[int]) -> None:
        """Delete these runs now, without asking (the Delete button asks, then calls this)."""
        if self._store is None or not run_ids:
            return
        error = None
        try:
            self._store.delete(list(run_ids))
        except RunStoreError as err:
            error = str(err)
        self.refresh()
        if error:
            self.show_message(error)

    def show_message(self, text: str | None) -> None:
        """Show a problem above the table (None hides it)."""
        self.message_label.setText(text or "")
        self.message_label.setVisible(bool(text))
        self._update_state()

    def message(self) -> str:
        return self.message_label.text() if self.message_label.isVisibleTo(self) else ""

    # -- state ----------------------------------------------------------------------------------
    def _update_state(self) -> None:
        """Enable what the selection allows; the empty text in place of an empty table."""
        selected = self.selected_runs()
        one = selected[0] if len(selected) == 1 else None
        for act in (self.open_action, self.rename_action):
            act.setEnabled(one is not None)
        self.delete_action.setEnabled(bool(selected))
        has_weights = one is not None and self._has_weights(one)
        self.weights_action.setEnabled(has_weights)
        self.inside_action.setEnabled(has_weights)
        self.weights_action.setToolTip(
            "Load this run's trained weights into the network" if has_weights or one is None
            else "This run kept no weights file")
        count = self.model.rowCount()
        runs = f"{count:,} run{'s' * (count != 1)}"
        self.count_label.setText(
            "" if not count else f"{runs}, {len(selected):,} selected" if selected else runs)
        self.empty_label.setText(
            "No runs can be shown until the runs file can be read" if self.message()
            else EMPTY_TEXT)
        self.stack.setCurrentWidget(self.view if count else self.empty_label)

    def _emit_selection(self) -> None:
        ids = self.selected_runs()
        if ids != self._emitted:
            self._emitted = ids
            self.selection_changed.emit(ids)

    def _fit_columns(self, widen_only: bool) -> None:
        """Columns as wide as their contents and header (the Run column at most 220 px); on a
        refresh only widen, so widths the user chose stay."""
        header = self.view.horizontalHeader()
        for column in range(len(COLUMNS)):
            want = max(self.view.sizeHintForColumn(column) + 12, header.sectionSizeHint(column))
            if column == COL_RUN:
                want = min(want, 220)
            elif column == COL_TIME:  # right-aligned beside left-aligned text: keep them apart
                want += 10
            if not widen_only or want > self.view.columnWidth(column):
                self.view.setColumnWidth(column, want)

    def _has_weights(self, run_id: int) -> bool:
        try:
            return self._store is not None and self._store.weights_path(run_id).is_file()
        except OSError:  # a folder we may not look into: as good as no file
            return False

    def _single(self) -> int | None:
        selected = self.selected_runs()
        return selected[0] if len(selected) == 1 else None

    def _rename(self, run_id: int, text: str) -> bool:
        if self._store is None:
            return False
        try:
            self._store.rename(run_id, text)
        except RunStoreError as err:
            self.show_message(str(err))
            return False
        self.refresh()
        return True

    # -- handlers -------------------------------------------------------------------------------
    def _on_view_selection_changed(self, _selected: QItemSelection,
                                   _deselected: QItemSelection) -> None:
        self._update_state()
        self._emit_selection()

    def _on_view_double_clicked(self, index: QModelIndex) -> None:
        run_id = index.data(RUN_ROLE)
        if run_id is not None:
            self.open_graph_requested.emit(int(run_id))

    def _on_view_context_menu_requested(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        run_id = index.data(RUN_ROLE) if index.isValid() else None
        if run_id is not None and run_id not in self.selected_runs():
            self.select_runs([run_id])
        self.menu.popup(self.view.viewport().mapToGlobal(pos))

    def _on_open_action_triggered(self) -> None:
        run_id = self._single()
        if run_id is not None:
            self.open_graph_requested.emit(run_id)

    def _on_weights_action_triggered(self) -> None:
        run_id = self._single()
        if run_id is not None and self.weights_action.isEnabled():
            self.weights_requested.emit(run_id)

    def _on_inside_action_triggered(self) -> None:
        run_id = self._single()
        if run_id is not None and self.inside_action.isEnabled():
            self.inside_requested.emit(run_id)

    def _on_rename_action_triggered(self) -> None:
        run_id = self._single()
        if run_id is None:
            return
        index = self.proxy.mapFromSource(self.model.index(self.model.row_of(run_id), COL_RUN))
        self.view.setFocus()
        self.view.edit(index)

    def _on_delete_action_triggered(self) -> None:
        ids = self.selected_runs()
        if not ids or self._store is None:
            return
        labels = [self.model.row(self.model.row_of(i)).label for i in ids]
        question = (f"Delete “{labels[0]}”?" if len(ids) == 1
                    else f"Delete {len(ids):,} runs?")
        box = QMessageBox(QMessageBox.Icon.Question, "Delete runs", question,
                          QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("Their curves, graph snapshots and weights files are removed. "
                               "This cannot be undone.")
        box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: self._on_delete_box_clicked(box, button, ids))
        box.finished.connect(box.deleteLater)
        self.delete_box = box
        box.open()

    def _on_delete_box_clicked(self, box: QMessageBox, button: QAbstractButton,
                               ids: list[int]) -> None:
        self.delete_box = None
        if box.buttonRole(button) == QMessageBox.ButtonRole.DestructiveRole:
            self.delete_runs(ids)

    def _on_theme_changed(self, theme: Theme) -> None:
        for label, color in ((self.message_label, theme.error), (self.empty_label, theme.muted),
                             (self.count_label, theme.muted)):
            label.setStyleSheet(f"color: {color}")
        self.view.viewport().update()
