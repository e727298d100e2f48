"""Every problem in the graph in one list: where it is, what is wrong, and the fix as a button.

Hints (advice, core/hints.py) come last, with a quiet icon, a Dismiss button beside their fix,
and a switch that hides them; the counts that other views show leave them out.

Clicking a problem shows its layer on the canvas; a fix is applied as one undo step through the
document, so Ctrl+Z brings the problem back. The list is rebuilt once after a burst of edits.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.changes import Change
from dlbuilder.core.diagnostics import Diagnostic, Fix
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.icons import icon, severity_icon
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.widgets.text import plural, problems_text

COL_SEVERITY, COL_WHERE, COL_FIELD, COL_MESSAGE, COL_FIX = range(5)
HEADERS = ("", "Layer", "Field", "Problem", "Fix")
FIX_TEXT_WIDTH = 300  # longer fix labels are elided on the button (the tooltip has them whole)


def _key(diag: Diagnostic) -> tuple:
    """What identifies a problem across refreshes (to keep it selected)."""
    return (diag.node, diag.field, diag.code, diag.inside)


def place_and_text(diag: Diagnostic) -> tuple[str, str]:
    """The Layer and Problem columns: for a problem inside a block, its path
    (`layer2.0/conv1`, which its message starts with) and the rest of the message."""
    where = diag.node or "graph"
    if not diag.inside:
        return where, diag.message
    mark = f"/{diag.inside[-1]}: "
    cut = diag.message.find(mark)
    if cut < 0:  # a problem of the block as a whole: "layer1 (Basic): ..."
        return where, diag.message
    return diag.message[:cut + len(mark) - 2], diag.message[cut + len(mark):]


_RANK = {"error": 0, "warning": 1, "hint": 2}


def _in_order(diagnostics: list[Diagnostic], hints: bool) -> list[Diagnostic]:
    """Errors, then warnings, then (when shown) hints; in their order within each."""
    kept = [d for d in diagnostics if hints or d.severity != "hint"]
    return sorted(kept, key=lambda d: _RANK.get(d.severity, 1))


def _where_fixed(fix: Fix) -> str:
    """For a fix inside a block: where it goes, and that every instance follows."""
    if fix.block is None:
        return ""
    return f", in block {fix.block}'s definition: every instance of {fix.block} changes"


class _WrappingDelegate(QStyledItemDelegate):
    """Rows as tall as their wrapped message at the column's current width (QTreeView alone
    would size them for one line)."""

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self._tree = tree

    def sizeHint(self, option: QStyleOptionViewItem,  # Qt override
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        width = self._tree.header().sectionSize(index.column()) - 12
        if width <= 0:
            return hint
        bounds = QFontMetrics(option.font).boundingRect(
            QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), str(index.data() or ""))
        return QSize(hint.width(), max(hint.height(), bounds.height() + 8))


class ProblemsPanel(QWidget):
    """All diagnostics of the open graph, errors first, with one-click fixes."""

    count_changed = Signal(int, int)  # errors, warnings

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self._diagnostics: list[Diagnostic] = []
        self._hint_count = 0
        self._counts = (-1, -1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        self._build()
        doc.changed.connect(self._on_doc_changed)
        theme_manager().changed.connect(self._on_theme_changed)
        self.refresh()

    def _build(self) -> None:
        self.count_icon = QLabel()
        self.count_label = QLabel()
        header = QHBoxLayout()
        header.setContentsMargins(2, 0, 2, 0)
        header.addWidget(self.count_icon)
        header.addWidget(self.count_label, 1)
        self.hints_box = QCheckBox()
        self.hints_box.setChecked(True)
        self.hints_box.setToolTip("Hints are advice, not problems: a design choice the course "
                                  "warns about, with its reason. Dismiss one on its row")
        self.hints_box.toggled.connect(self._on_hints_box_toggled)
        header.addWidget(self.hints_box)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(HEADERS))
        self.tree.setHeaderLabels(list(HEADERS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(False)
        self.tree.setWordWrap(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.tree.setToolTip("Click a problem to show its layer on the canvas (inside a block: "
                             "the block's card); double-click to open the block at the layer")
        heads = self.tree.header()
        heads.setStretchLastSection(False)
        for column in (COL_SEVERITY, COL_WHERE, COL_FIELD, COL_FIX):
            heads.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        heads.setSectionResizeMode(COL_MESSAGE, QHeaderView.ResizeMode.Stretch)
        heads.sectionResized.connect(self._on_header_section_resized)
        self.tree.setItemDelegateForColumn(COL_MESSAGE, _WrappingDelegate(self.tree))
        self.tree.itemClicked.connect(self._on_tree_item_clicked)
        self.tree.itemActivated.connect(self._on_tree_item_activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.tree, 1)
        layout.addStretch(0)  # takes the space while the list is hidden

    # -- public --------------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        """(errors, warnings) as shown."""
        return max(self._counts[0], 0), max(self._counts[1], 0)

    def diagnostics(self) -> list[Diagnostic]:
        """The problems listed, in row order."""
        return list(self._diagnostics)

    def fix_button(self, row: int) -> QToolButton | None:
        """The fix button of a row, if its problem has fixes (tests and shortcuts use it)."""
        item = self.tree.topLevelItem(row)
        holder = self.tree.itemWidget(item, COL_FIX) if item is not None else None
        return holder.findChild(QToolButton) if holder is not None else None

    def refresh(self) -> None:
        """Rebuild the list from the engine now (edits call this once after a burst)."""
        self._timer.stop()
        engine = self.doc.engine
        every = engine.diagnostics() if engine is not None else []
        self._hint_count = sum(d.severity == "hint" for d in every)
        diags = _in_order(every, self.hints_box.isChecked())
        selected = self._selected_key()
        self._diagnostics = diags
        self.tree.clear()
        for diag in diags:
            self._add_row(diag)
        self._restore_selection(selected)
        self._show_counts()

    # -- rows ----------------------------------------------------------------------------------
    def _add_row(self, diag: Diagnostic) -> None:
        where, text = place_and_text(diag)
        item = QTreeWidgetItem(["", where, diag.field or "", text, ""])
        item.setIcon(COL_SEVERITY, severity_icon(diag.severity))
        item.setToolTip(COL_SEVERITY, diag.severity.capitalize())
        item.setData(COL_SEVERITY, Qt.ItemDataRole.AccessibleTextRole, diag.severity)
        tip = f"{diag.severity.capitalize()} [{diag.code}]: {diag.message}"
        for column in (COL_WHERE, COL_FIELD, COL_MESSAGE):
            item.setToolTip(column, tip)
        if diag.node is None:
            item.setForeground(COL_WHERE, current().color("muted"))
        self.tree.addTopLevelItem(item)
        fixes = self.doc.fixes_for(diag)
        if fixes or diag.severity == "hint":
            holder = QWidget()  # keeps the button its own height in a tall (wrapped) row
            box = QHBoxLayout(holder)
            box.setContentsMargins(2, 1, 4, 1)
            if fixes:
                box.addWidget(self._make_fix_button(fixes), 0, Qt.AlignmentFlag.AlignVCenter)
            if diag.severity == "hint":
                box.addWidget(self._make_dismiss_button(diag), 0,
                              Qt.AlignmentFlag.AlignVCenter)
            box.addStretch(1)
            self.tree.setItemWidget(item, COL_FIX, holder)

    def _make_fix_button(self, fixes: list[Fix]) -> QToolButton:
        """One fix: a button. Several: the first on the button, all in its menu."""
        button = QToolButton()
        button.setIcon(icon("fix"))
        button.setText(QFontMetrics(button.font()).elidedText(
            fixes[0].label, Qt.TextElideMode.ElideRight, FIX_TEXT_WIDTH))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setToolTip(f"{fixes[0].label}{_where_fixed(fixes[0])} (one undo step)")
        button.clicked.connect(partial(self._on_fix_chosen, fixes[0]))
        if len(fixes) > 1:
            menu = QMenu(button)
            for fix in fixes:
                action = menu.addAction(fix.label)
                action.triggered.connect(partial(self._on_fix_chosen, fix))
            button.setMenu(menu)
            button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            button.setToolTip(f"{fixes[0].label}{_where_fixed(fixes[0])}; the arrow offers "
                              f"{len(fixes) - 1} other way{'s' if len(fixes) > 2 else ''}")
        return button

    def _make_dismiss_button(self, hint: Diagnostic) -> QToolButton:
        button = QToolButton()
        button.setText("Dismiss")
        button.setAccessibleName(f"Dismiss the hint on {hint.node}")
        button.setToolTip(f"Hide this hint on {(hint.inside or (hint.node,))[-1]}; the file "
                          "keeps the choice (one undo step)")
        button.clicked.connect(partial(self._on_dismiss_chosen, hint))
        return button

    def _selected_key(self) -> tuple | None:
        item = self.tree.currentItem()
        row = self.tree.indexOfTopLevelItem(item) if item is not None else -1
        return _key(self._diagnostics[row]) if 0 <= row < len(self._diagnostics) else None

    def _restore_selection(self, key: tuple | None) -> None:
        if key is None:
            return
        for row, diag in enumerate(self._diagnostics):
            if _key(diag) == key:
                self.tree.setCurrentItem(self.tree.topLevelItem(row))
                return

    def _show_counts(self) -> None:
        errors = sum(d.severity == "error" for d in self._diagnostics)
        warnings = sum(d.severity == "warning" for d in self._diagnostics)
        self.count_label.setText(problems_text(errors, warnings))
        self.hints_box.setText(f"Show {plural(self._hint_count, 'hints')}")
        self.hints_box.setVisible(bool(self._hint_count))
        self.tree.setVisible(bool(self._diagnostics))
        changed = (errors, warnings) != self._counts
        self._counts = (errors, warnings)
        self._style_header(current())
        if changed:
            self.count_changed.emit(errors, warnings)

    def _style_header(self, theme: Theme) -> None:
        errors, warnings = self.counts()
        name = "error" if errors else "warning" if warnings else "info"
        size = self.count_label.fontMetrics().height()
        self.count_icon.setPixmap(icon(name).pixmap(size, size))
        self.count_icon.setVisible(bool(errors or warnings))
        color = theme.error if errors else theme.warning if warnings else theme.muted
        self.count_label.setStyleSheet(f"color: {color}; font-weight: 600;")

    # -- handlers ------------------------------------------------------------------------------
    def _on_doc_changed(self, change: Change) -> None:
        shown = _in_order(list(change.diagnostics), self.hints_box.isChecked())
        if change.replaced or shown != self._diagnostics:  # else the list stays as it is
            self._timer.start()

    def _on_tree_item_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        """Show the problem's layer; one inside a block: its instance, or, when the canvas
        already shows a block, the inner layer itself."""
        self._go_to(item, inside=self.doc.scope.block is not None)

    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        """Double-click or Enter: open the block the problem is in, at its layer."""
        self._go_to(item, inside=True)

    def _go_to(self, item: QTreeWidgetItem, inside: bool) -> None:
        row = self.tree.indexOfTopLevelItem(item)
        if not 0 <= row < len(self._diagnostics) or self._diagnostics[row].node is None:
            return
        diag = self._diagnostics[row]
        path = diag.inside if inside and diag.inside else (diag.node,)
        if len(path) == 1 and self.doc.scope.block is None:
            self.doc.focus(path[0])
        else:  # the list holds the whole model's problems: the path starts at the top level
            self.doc.open_path(path)

    def _on_fix_chosen(self, fix: Fix, _checked: bool = False) -> None:
        if fix.block is None and self.doc.scope.block is not None:
            self.doc.leave(0)  # a top-level layer's fix: show it where it applies
        self.doc.apply_fix(fix)

    def _on_dismiss_chosen(self, hint: Diagnostic, _checked: bool = False) -> None:
        self.doc.dismiss_hint(hint, top=True)

    def _on_hints_box_toggled(self, _checked: bool) -> None:
        self.refresh()

    def _on_header_section_resized(self, column: int, _old: int, _new: int) -> None:
        if column == COL_MESSAGE:  # wrapped messages need new row heights
            self.tree.scheduleDelayedItemsLayout()

    def _on_theme_changed(self, theme: Theme) -> None:
        self._style_header(theme)
        for row, diag in enumerate(self._diagnostics):
            item = self.tree.topLevelItem(row)
            if item is not None and diag.node is None:
                item.setForeground(COL_WHERE, theme.color("muted"))
