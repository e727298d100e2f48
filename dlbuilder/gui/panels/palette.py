"""The layer palette: every registered layer type, grouped by category, searchable.

Drag an entry onto the canvas to place it there, or double-click it (Enter in the list or in
the search box) to add it after the selected layer; `add_requested` carries the type name and
the main window does the adding. The entries come from the registry, so a new declaration
appears here with no other change. Below the layers, a Blocks section lists the open file's
blocks, the built-in library and the user's saved blocks (gui/panels/block_shelf.py);
`block_requested` carries the entry to place, and the search finds blocks too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.block_commands import RemoveBlock, remove_problem
from dlbuilder.core.changes import Change
from dlbuilder.core.fileformat import GraphFileError
from dlbuilder.core.registry import Registry
from dlbuilder.gui.look.icons import category_icon, icon
from dlbuilder.gui.mime import BLOCK_MIME, LAYER_MIME
from dlbuilder.gui.panels.block_shelf import (
    FILE,
    SHELF_TITLES,
    BlockEntry,
    file_entries,
    find_blocks,
    save_block,
)
from dlbuilder.gui.widgets.layer_search import (
    SUMMARY_ROLE,
    TYPE_ROLE,
    LayerItemDelegate,
    category_title,
    find_layers,
    tooltip_for,
)

SEARCH_PLACEHOLDER = "Search layers and blocks…"
BLOCKS_TITLE = "Blocks"
BLOCK_ROLE = Qt.ItemDataRole.UserRole + 3  # the BlockEntry an item stands for
SAVE_ACTION = "Save to My blocks"
REMOVE_ACTION = "Remove from This File"
Library = Callable[[], tuple[list[BlockEntry], list[str]]]  # library blocks, unread files


def layer_mime_data(type_name: str) -> QMimeData:
    """What a palette drag carries: the layer type name as UTF-8 under LAYER_MIME."""
    data = QMimeData()
    data.setData(LAYER_MIME, type_name.encode("utf-8"))
    return data


def block_mime_data(entry: BlockEntry) -> QMimeData:
    """A block's drag: `{"source": "builtin", "name": "BasicBlock"}` as JSON under BLOCK_MIME
    (the canvas asks the palette for the entry: `PalettePanel.entry(source, name)`)."""
    data = QMimeData()
    text = json.dumps({"source": entry.source, "name": entry.name})
    data.setData(BLOCK_MIME, text.encode("utf-8"))
    return data


class LayerTreeWidget(QTreeWidget):
    """The palette's tree: drags carry LAYER_MIME; Enter on a layer asks to add it."""

    activated_layer = Signal(str)
    activated_block = Signal(object)  # a BlockEntry

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME, BLOCK_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        blocks = [item.data(0, BLOCK_ROLE) for item in items if item.data(0, BLOCK_ROLE)]
        if blocks:
            return block_mime_data(blocks[0])
        names = [item.data(0, TYPE_ROLE) for item in items if item.data(0, TYPE_ROLE)]
        return layer_mime_data(names[0]) if names else QMimeData()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None:
            if item.data(0, TYPE_ROLE):
                self.activated_layer.emit(item.data(0, TYPE_ROLE))
                return
            if item.data(0, BLOCK_ROLE):
                self.activated_block.emit(item.data(0, BLOCK_ROLE))
                return
        super().keyPressEvent(event)


class PalettePanel(QWidget):
    """A search box over a tree of layers grouped by category, and of blocks by shelf."""

    add_requested = Signal(str)  # a layer type to add after the selected node
    block_requested = Signal(object)  # a BlockEntry to place
    message = Signal(str)  # what saving a block did, or why the library could not be read

    def __init__(self, registry: Registry, parent: QWidget | None = None, doc=None,
                 library: Library | None = None, user_folder: Path | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.doc = doc
        self.library = library
        self.user_folder = user_folder
        self.library_problems: list[str] = []
        self._library_entries: list[BlockEntry] | None = None
        self._file_names: tuple[str, ...] = ()
        self.blocks_group: QTreeWidgetItem | None = None
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
        self.tree.setToolTip("Drag a layer or a block onto the canvas, or double-click it to "
                             "add it")
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
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
        self.tree.activated_block.connect(self.block_requested)
        self.tree.customContextMenuRequested.connect(self._on_tree_context_menu_requested)
        if doc is not None:
            doc.changed.connect(self._on_doc_changed)

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
        self.blocks_group = None
        self._populate_blocks()
        self.tree.expandAll()

    def layer_items(self) -> list[QTreeWidgetItem]:
        """Every layer entry (not the category headings), in tree order."""
        items = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            if group is not self.blocks_group:
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
        self._filter_blocks(text)
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            if group is self.blocks_group:
                continue
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
            blocks = find_blocks(self.block_entries(), text) if text.strip() else []
            return self.block_item(blocks[0]) if blocks else None
        return next(it for it in self.layer_items() if it.data(0, TYPE_ROLE) == found[0].type)

    # -- blocks --------------------------------------------------------------------------------
    def block_entries(self) -> list[BlockEntry]:
        """Every block offered: the file's, the built-in ones, the user's, in shelf order."""
        own = file_entries(self.doc.graph) if self.doc is not None else []
        if self._library_entries is None:
            self._library_entries, self.library_problems = self.library() \
                if self.library is not None else ([], [])
            for problem in self.library_problems:
                self.message.emit(f"a saved block could not be read: {problem}")
        return own + self._library_entries

    def entry(self, source: str, name: str) -> BlockEntry | None:
        """The entry a drag names (block_mime_data), if it is still offered."""
        return next((e for e in self.block_entries() if (e.source, e.name) == (source, name)),
                    None)

    def block_items(self) -> list[QTreeWidgetItem]:
        """Every block entry of the Blocks section, in tree order."""
        group = self.blocks_group
        if group is None:
            return []
        shelves = [group.child(i) for i in range(group.childCount())]
        return [shelf.child(j) for shelf in shelves for j in range(shelf.childCount())]

    def visible_blocks(self) -> list[tuple[str, str]]:
        """(shelf, name) of the blocks the filter leaves visible, in tree order."""
        return [(item.data(0, BLOCK_ROLE).source, item.data(0, BLOCK_ROLE).name)
                for item in self.block_items() if not item.isHidden()]

    def block_item(self, entry: BlockEntry) -> QTreeWidgetItem | None:
        return next((it for it in self.block_items() if it.data(0, BLOCK_ROLE) == entry), None)

    def reload_blocks(self, library: bool = False) -> None:
        """Re-read the shelves (`library`: the built-in and saved ones too) and keep the
        filter."""
        if library:
            self._library_entries = None
        index = self.tree.indexOfTopLevelItem(self.blocks_group) if self.blocks_group else -1
        if index >= 0:
            self.tree.takeTopLevelItem(index)
        self._populate_blocks()
        self.set_filter(self.search.text())

    def _populate_blocks(self) -> None:
        entries = self.block_entries()
        self._file_names = tuple(e.name for e in entries if e.source == FILE)
        bold = QFont(self.tree.font())
        bold.setBold(True)
        group = self.blocks_group = QTreeWidgetItem([BLOCKS_TITLE])
        group.setFont(0, bold)
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.tree.addTopLevelItem(group)
        for source, title in SHELF_TITLES.items():
            shelf = QTreeWidgetItem([title])
            shelf.setData(0, Qt.ItemDataRole.UserRole, source)
            shelf.setFlags(Qt.ItemFlag.ItemIsEnabled)
            group.addChild(shelf)
            for entry in (e for e in entries if e.source == source):
                item = QTreeWidgetItem([entry.name])
                item.setIcon(0, icon("block"))
                item.setData(0, BLOCK_ROLE, entry)
                item.setData(0, SUMMARY_ROLE, entry.summary())
                item.setToolTip(0, entry.tooltip())
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                shelf.addChild(item)
            shelf.setHidden(shelf.childCount() == 0)
        group.setExpanded(True)
        for i in range(group.childCount()):
            group.child(i).setExpanded(True)

    def _filter_blocks(self, text: str) -> None:
        group = self.blocks_group
        if group is None:
            return
        matching = {(e.source, e.name) for e in find_blocks(self.block_entries(), text)}
        shown_any = False
        for i in range(group.childCount()):
            shelf = group.child(i)
            shown = 0
            for j in range(shelf.childCount()):
                entry = shelf.child(j).data(0, BLOCK_ROLE)
                shelf.child(j).setHidden((entry.source, entry.name) not in matching)
                shown += not shelf.child(j).isHidden()
            shelf.setHidden(shown == 0)
            shown_any = shown_any or shown > 0
        group.setHidden(not shown_any)

    def save_block(self, name: str) -> Path | None:
        """Write the file's block `name` to the user's folder and list it under My blocks."""
        if self.doc is None or self.user_folder is None or name not in self.doc.graph.blocks:
            return None
        try:
            path = save_block(self.user_folder, self.doc.graph, name)
        except (OSError, GraphFileError) as err:
            self.message.emit(f"could not save block {name}: {err}")
            return None
        self.message.emit(f"Saved block {name} to My blocks ({path})")
        self.reload_blocks(library=True)
        return path

    def _on_doc_changed(self, change: Change) -> None:
        names = tuple(self.doc.graph.blocks)
        if change.replaced or names != self._file_names:
            self.reload_blocks()

    def _on_tree_context_menu_requested(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        entry = item.data(0, BLOCK_ROLE) if item is not None else None
        if entry is None:
            return
        menu = QMenu(self)
        menu.addAction("Place").triggered.connect(lambda: self.block_requested.emit(entry))
        if entry.source == FILE and self.user_folder is not None:
            menu.addAction(SAVE_ACTION).triggered.connect(lambda: self.save_block(entry.name))
        if entry.source == FILE and self.doc is not None:
            menu.addAction(REMOVE_ACTION).triggered.connect(
                lambda: self.remove_block(entry.name))
        menu.popup(self.tree.viewport().mapToGlobal(pos))

    def remove_block(self, name: str) -> bool:
        """Take an unused block's definition out of the file (one undo step); a block still
        placed somewhere is refused, naming where."""
        problem = remove_problem(self.doc.graph, name)
        if problem:
            self.doc.refused.emit(problem)
            return False
        return self.doc.push(RemoveBlock(name), scoped=False)

    # -- handlers ------------------------------------------------------------------------------
    def _on_search_text_changed(self, text: str) -> None:
        self.set_filter(text)

    def _on_search_return_pressed(self) -> None:
        best = self.best_item()
        if best is not None:
            self._activate(best)

    def _on_tree_item_double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        self._activate(item)

    def _activate(self, item: QTreeWidgetItem) -> None:
        if item.data(0, TYPE_ROLE):
            self.add_requested.emit(item.data(0, TYPE_ROLE))
        elif item.data(0, BLOCK_ROLE):
            self.block_requested.emit(item.data(0, BLOCK_ROLE))

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
