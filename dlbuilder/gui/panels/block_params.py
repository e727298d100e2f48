"""The inspector's page for the open block itself: shown when the canvas shows a definition and
nothing is selected. Its name, its description and its parameters (name, default, min, max) are
edited in place; each change is one undo step on the file's definitions (pushed unscoped), and
every instance follows. Renaming a parameter carries the instances' values and the expressions
inside (core/block_params); removing one that expressions still name is allowed and the status
bar says which layers now show an error (undo brings it back).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.block_commands import RenameBlock, instances
from dlbuilder.core.block_params import declare_commands, references
from dlbuilder.core.blocks import BlockParam
from dlbuilder.gui.look.theme import current, theme_manager

COLUMNS = ("Name", "Default", "Min", "Max")
REF_HINT = ("A layer inside refers to a parameter in its field: type = and an expression, "
            "e.g. channels * 2.")


class _DocEdit(QPlainTextEdit):
    """A description box that applies when the user leaves it."""

    def __init__(self, on_done: Any) -> None:
        super().__init__()
        self._on_done = on_done

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._on_done()


class BlockParamsEditor(QWidget):
    """Name, description and parameters of the block the canvas shows."""

    message = Signal(str)  # what an edit did that the user should know (the status bar)

    def __init__(self, doc: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.block: str | None = None
        self._loading = False
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.uses = QLabel()
        self.uses.setWordWrap(True)
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The block's class name in exported code (e.g. BasicBlock); "
                                  "every instance follows a rename")
        self.name_edit.editingFinished.connect(self._on_name_edit_editing_finished)
        self.doc_edit = _DocEdit(self._on_doc_edit_done)
        self.doc_edit.setPlaceholderText("What the block does (the exported class's docstring)")
        self.doc_edit.setFixedHeight(self.doc_edit.fontMetrics().lineSpacing() * 3 + 12)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setToolTip("Whole numbers; leave Min or Max empty for no bound. Each change "
                              "is one undo step")
        self.table.itemChanged.connect(self._on_table_item_changed)
        self.add_button = QPushButton("Add parameter")
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected parameter; instances drop their "
                                      "value for it")
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.hint = QLabel(REF_HINT)
        self.hint.setWordWrap(True)
        self._lay_out()
        doc.changed.connect(self._on_doc_changed)
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Name", self.name_edit)
        form.addRow("Description", self.doc_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.uses)
        layout.addLayout(form)
        self.params_label = QLabel("Parameters")
        self.params_label.setObjectName("sectionLabel")
        layout.addWidget(self.params_label)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)

    # -- showing -------------------------------------------------------------------------------
    def show_block(self, block: str | None) -> None:
        """Show block `block` of the file (None: hide)."""
        self.block = block if block in self.doc.graph.blocks else None
        self.setVisible(self.block is not None)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the block from the file (after an edit, an undo, a rename)."""
        if self.block is None:
            return
        defn = self.doc.graph.block(self.block)
        count = len(instances(self.doc.graph, self.block))
        self.title.setText(f'<span style="font-size:large; font-weight:600">'
                           f'{html.escape(defn.name)}</span>&nbsp;&nbsp;'
                           f'<span style="color:{current().muted}">block definition</span>')
        self.uses.setText(f"Placed {count} time{'s' * (count != 1)} in this file; a change "
                          "here changes every instance.")
        self._loading = True
        try:
            if not self.name_edit.hasFocus():
                self.name_edit.setText(defn.name)
            if not self.doc_edit.hasFocus():
                self.doc_edit.setPlainText(defn.doc)
            self.table.setRowCount(len(defn.params))
            for row, param in enumerate(defn.params):
                for column, value in enumerate((param.name, param.default, param.low,
                                                param.high)):
                    self.table.setItem(row, column,
                                       QTableWidgetItem("" if value is None else str(value)))
        finally:
            self._loading = False
        self._fit_table()
        self._on_table_item_selection_changed()

    def _fit_table(self) -> None:
        """As tall as its rows (one empty row at least): no empty box under a short list."""
        rows = max(self.table.rowCount(), 1)
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + rows * self.table.verticalHeader().defaultSectionSize()
                                  + 2 * self.table.frameWidth() + 2)

    def params(self) -> tuple[BlockParam, ...]:
        """The parameters the block has now."""
        return self.doc.graph.block(self.block).params if self.block else ()

    # -- editing -------------------------------------------------------------------------------
    def declare(self, params: tuple[BlockParam, ...], doc: str | None = None,
                renamed: dict[str, str] | None = None) -> bool:
        """Give the block these parameters (and doc) as one undo step."""
        if self.block is None:
            return False
        defn = self.doc.graph.block(self.block)
        command = declare_commands(self.doc.graph, self.block, params,
                                   defn.doc if doc is None else doc, renamed)
        return self.doc.push(command, scoped=False)

    def rename_block(self, new: str) -> bool:
        if self.block is None or new == self.block:
            return False
        ok = self.doc.push(RenameBlock(self.block, new), scoped=False)
        if ok:
            self.block = new
        self.refresh()
        return ok

    def add_param(self) -> bool:
        taken = {p.name for p in self.params()}
        name = next(n for n in ("param", *(f"param_{i}" for i in range(2, 1000)))
                    if n not in taken)
        if not self.declare((*self.params(), BlockParam(name, 1, 1))):
            return False
        self.table.selectRow(len(self.params()) - 1)
        return True

    def remove_param(self, name: str) -> bool:
        users = references(self.doc.graph, self.block, name) if self.block else []
        if not self.declare(tuple(p for p in self.params() if p.name != name)):
            return False
        if users:
            where = ", ".join(f"{node}.{key}" for node, key in users)
            self.message.emit(f"Removed {name}: {where} still name it and show an error "
                                  "until changed (Ctrl+Z brings it back)")
        return True

    def _row_param(self, row: int) -> BlockParam | str:
        """The parameter row `row` of the table now says, or why it cannot be one."""
        texts = [(self.table.item(row, c).text().strip() if self.table.item(row, c) else "")
                 for c in range(len(COLUMNS))]
        numbers: list[int | None] = []
        for column, text in zip(COLUMNS[1:], texts[1:], strict=True):
            try:
                numbers.append(int(text) if text or column == "Default" else None)
            except ValueError:
                return f"{column} of {texts[0] or 'a parameter'} must be a whole number, " \
                       f"got {text!r}"
        return BlockParam(texts[0], *numbers)

    # -- handlers ------------------------------------------------------------------------------
    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        if self._loading or self.block is None:
            return
        row, old = item.row(), self.params()
        made = self._row_param(row)
        if isinstance(made, str):
            self.doc.refused.emit(made)
            self.refresh()
            return
        params = tuple(made if i == row else p for i, p in enumerate(old))
        renamed = {old[row].name: made.name} if made.name != old[row].name else None
        if not self.declare(params, renamed=renamed):
            self.refresh()

    def _on_name_edit_editing_finished(self) -> None:
        if self.block is not None and self.name_edit.text().strip() != self.block:
            self.rename_block(self.name_edit.text().strip())

    def _on_doc_edit_done(self) -> None:
        if self.block is None:
            return
        text = self.doc_edit.toPlainText().strip()
        if text != self.doc.graph.block(self.block).doc:
            self.declare(self.params(), doc=text)

    def _on_add_button_clicked(self) -> None:
        self.add_param()

    def _on_remove_button_clicked(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.params()):
            self.remove_param(self.params()[row].name)

    def _on_table_item_selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.table.selectedItems()))

    def _on_doc_changed(self, _change: Any) -> None:
        if self.block is not None and self.isVisibleTo(self.parentWidget() or self):
            if self.block not in self.doc.graph.blocks:  # renamed by undo: follow the scope
                self.show_block(self.doc.scope.block)
            else:
                self.refresh()

    def _on_theme_changed(self, theme: Any) -> None:
        self.uses.setStyleSheet(f"color: {theme.muted};")
        self.hint.setStyleSheet(f"color: {theme.muted};")
        self.params_label.setStyleSheet(f"color: {theme.muted}; font-weight: 600;")
        self.refresh()
