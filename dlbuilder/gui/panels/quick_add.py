"""Quick-add: Tab on the canvas opens a small search popup; type, pick, and the layer is added.

It matches with the same function as the palette (layer_search.find_layers), so a query finds
the same layers in both places, best match first.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.registry import Registry
from dlbuilder.gui.look.icons import category_icon, icon
from dlbuilder.gui.widgets.layer_search import (
    SUMMARY_ROLE,
    TYPE_ROLE,
    LayerItemDelegate,
    find_layers,
    tooltip_for,
)

POPUP_SIZE = (360, 330)
NAVIGATION_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


class QuickAddPopup(QFrame):
    """A search line over a filtered list of layers, shown as a popup at the cursor."""

    chosen = Signal(str)  # the layer type picked; the popup has closed

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.registry = registry
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFrameShadow(QFrame.Shadow.Raised)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Add a layer: type to search…")
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setItemDelegate(LayerItemDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.empty_label = QLabel("No layer matches; try another word.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label)
        self.resize(*POPUP_SIZE)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.installEventFilter(self)
        self.list.itemClicked.connect(self._on_list_item_clicked)
        self.set_filter("")

    # -- public ---------------------------------------------------------------------------------
    def popup_at(self, global_pos: QPoint) -> None:
        """Show the popup with its top-left at `global_pos` (kept on screen), search focused."""
        self.search.clear()
        self.set_filter("")
        self.move(self._on_screen(QPoint(global_pos)))
        self.show()
        self.raise_()
        self.activateWindow()
        self.search.setFocus(Qt.FocusReason.PopupFocusReason)

    def set_filter(self, text: str) -> None:
        """List the layers matching `text`, best first, and select the first one."""
        self.list.clear()
        for spec in find_layers(self.registry, text):
            item = QListWidgetItem(category_icon(spec.category), spec.type)
            item.setData(TYPE_ROLE, spec.type)
            item.setData(SUMMARY_ROLE, spec.summary)
            item.setToolTip(tooltip_for(spec))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.empty_label.setVisible(self.list.count() == 0)

    def visible_types(self) -> list[str]:
        return [self.list.item(i).data(TYPE_ROLE) for i in range(self.list.count())]

    def current_type(self) -> str | None:
        item = self.list.currentItem()
        return item.data(TYPE_ROLE) if item is not None else None

    def choose_current(self) -> None:
        """Pick the highlighted layer: close and emit `chosen`."""
        type_name = self.current_type()
        if type_name is None:
            return
        self.hide()
        self.chosen.emit(type_name)

    # -- handlers -------------------------------------------------------------------------------
    def _on_search_text_changed(self, text: str) -> None:
        self.set_filter(text)

    def _on_list_item_clicked(self, item: QListWidgetItem) -> None:
        self.list.setCurrentItem(item)
        self.choose_current()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The search box keeps focus: arrows move in the list, Enter picks, Escape closes."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent):
            return self._handle_key(event)
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handle_key(event):
            super().keyPressEvent(event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key in NAVIGATION_KEYS:
            self._move(key)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.choose_current()
            return True
        if key == Qt.Key.Key_Escape:
            self.hide()
            return True
        return False

    def _move(self, key: Qt.Key) -> None:
        count = self.list.count()
        if not count:
            return
        step = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -5,
                Qt.Key.Key_PageDown: 5}[key]
        row = max(0, min(count - 1, self.list.currentRow() + step))
        self.list.setCurrentRow(row)
        self.list.scrollToItem(self.list.item(row))

    def _on_screen(self, pos: QPoint) -> QPoint:
        screen = QGuiApplication.screenAt(pos) or QGuiApplication.primaryScreen()
        if screen is None:
            return pos
        area: QRect = screen.availableGeometry()
        x = min(max(pos.x(), area.left()), area.right() - self.width())
        y = min(max(pos.y(), area.top()), area.bottom() - self.height())
        return QPoint(x, y)
