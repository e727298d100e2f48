"""The layer palette: every registered layer type, grouped by category, searchable.

Drag an entry onto the canvas to place it there, or double-click it (Enter in the list or in
the search box) to add it after the selected layer; `add_requested` carries the type name and
the main window does the adding. The entries come from the registry, so a new declaration
appears here with no other change.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.registry import Registry
from dlbuilder.gui.look.icons import category_icon, icon
from dlbuilder.gui.mime import LAYER_MIME
from dlbuilder.gui.widgets.layer_search import (
    SUMMARY_ROLE,
    TYPE_ROLE,
    LayerItemDelegate,
    category_title,
    find_layers,
    tooltip_for,
)

SEARCH_PLACEHOLDER = "Search layers…"


def layer_mime_data(type_name: str) -> QMimeData:
    """What a palette drag carries: the layer type name as UTF-8 under LAYER_MIME."""
    data = QMimeData()
    data.setData(LAYER_MIME, type_name.encode("utf-8"))
    return data


class LayerTreeWidget(QTreeWidget):
    """The palette's tree: drags carry LAYER_MIME; Enter on a layer asks to add it."""

    activated_layer = Signal(str)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        names = [item.data(0, TYPE_ROLE) for item in items if item.data(0, TYPE_ROLE)]
        return layer_mime_data(names[0]) if names else QMimeData()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None \
                and item.data(0, TYPE_ROLE):
            self.activated_layer.emit(item.data(0, TYPE_ROLE))
            return
        super().keyPressEvent(event)


class PalettePanel(QWidget):
    """A search box over a tree of layers grouped by category."""

    add_requested = Signal(str)  # a layer type to add after the selected node

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.search = QLineEdit()
        self.search.setPlaceholderText(SEARCH_PLACEHOLDER)
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setToolTip("Type to filter by name or description; Enter adds the highlighted "
                               "best match after the selected layer")
        self.tree = LayerTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(False)
        self.tree.setItemDelegate(LayerItemDelegate(self.tree))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setToolTip("Drag a layer onto the canvas, or double-click it to add it after "
                             "the selected layer")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        self._populate()
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.search.installEventFilter(self)
        self.tree.itemDoubleClicked.connect(self._on_tree_item_double_clicked)
        self.tree.activated_layer.connect(self.add_requested)

    # -- contents ------------------------------------------------------------------------------
    def _populate(self) -> None:
        self.tree.clear()
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for category, specs in self.registry.by_category().items():
            if not specs:
                continue
            group = QTreeWidgetItem([category_title(category)])
            group.setData(0, Qt.ItemDataRole.UserRole, category)
            group.setFont(0, bold)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(group)
            for spec in specs:
                item = QTreeWidgetItem([spec.type])
                item.setIcon(0, category_icon(spec.category))
                item.setData(0, TYPE_ROLE, spec.type)
                item.setData(0, SUMMARY_ROLE, spec.summary)
                item.setToolTip(0, tooltip_for(spec))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                group.addChild(item)
        self.tree.expandAll()

    def layer_items(self) -> list[QTreeWidgetItem]:
        """Every layer entry (not the category headings), in tree order."""
        items = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            items.extend(group.child(j) for j in range(group.childCount()))
        return items

    def visible_types(self) -> list[str]:
        """The layer types the filter leaves visible, in tree order."""
        return [item.data(0, TYPE_ROLE) for item in self.layer_items() if not item.isHidden()]

    def mime_data(self, type_name: str) -> QMimeData:
        """The drag payload for `type_name` (what dragging its entry carries)."""
        return layer_mime_data(type_name)

    def set_filter(self, text: str) -> None:
        """Show only the layers matching `text` (see layer_search.find_layers)."""
        if self.search.text() != text:
            self.search.setText(text)  # textChanged applies it
            return
        matching = {spec.type for spec in find_layers(self.registry, text)}
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                child = group.child(j)
                child.setHidden(child.data(0, TYPE_ROLE) not in matching)
                shown += not child.isHidden()
            group.setHidden(shown == 0)
            group.setExpanded(True)
        best = self.best_item()
        self.tree.setCurrentItem(best)
        if best is not None:
            self.tree.scrollToItem(best)

    def best_item(self) -> QTreeWidgetItem | None:
        """The entry of the search's best match (find_layers' first): the one highlighted,
        the one Enter adds and the one Down lands on. Tree order is category order, so a type
        matched only by its group's title ("dropout" in "Normalization and dropout") may be
        listed above it."""
        text = self.search.text()
        found = find_layers(self.registry, text) if text.strip() else []
        if not found:
            return None
        return next(it for it in self.layer_items() if it.data(0, TYPE_ROLE) == found[0].type)

    # -- handlers ------------------------------------------------------------------------------
    def _on_search_text_changed(self, text: str) -> None:
        self.set_filter(text)

    def _on_search_return_pressed(self) -> None:
        best = self.best_item()
        if best is not None:
            self.add_requested.emit(best.data(0, TYPE_ROLE))

    def _on_tree_item_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        type_name = item.data(0, TYPE_ROLE)
        if type_name:
            self.add_requested.emit(type_name)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Down in the search box moves into the list; Escape clears the search."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Down:
                start = self.best_item() or next(
                    (it for it in self.layer_items() if not it.isHidden()), None)
                if start is not None:
                    self.tree.setCurrentItem(start)
                    self.tree.setFocus()
                return True
            if event.key() == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                return True
        return super().eventFilter(watched, event)
