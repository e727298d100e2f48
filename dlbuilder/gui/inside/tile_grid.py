"""A grid of small pictures (a layer's channels, a convolution's filters), as large as the room
allows: each tile scaled up without smoothing, so a 4x4 map is 16 clear squares, with its
caption under it while there is room, and its description on hover."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QHelpEvent, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.gui.look.theme import current, theme_manager

MIN_SIDE = 18  # a tile is never drawn smaller than this; with more tiles the grid scrolls
MAX_SIDE = 160
GAP = 4
GROUP_GAP = 8  # more between groups of tiles (one filter's from the next)
CAPTION_MIN_SIDE = 36  # captions are shown on tiles at least this large


class TileGridWidget(QWidget):
    """`set_tiles(images, captions, tips, group)`: tiles come in groups of `group` kept on one
    row, a little apart from the next group (a filter's input channels); the grid picks the
    layout that makes the tiles largest."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: list[QImage] = []
        self.captions: list[str] = []
        self.tips: list[str] = []
        self.group = 1
        self._layout_key: tuple = ()
        self._shape: tuple = ()
        self._line_h = QFontMetrics(self.font()).height()  # a caption's height
        self._layout = (0, 0, 0)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        theme_manager().changed.connect(self._on_theme_changed)

    def set_tiles(self, images: Sequence[QImage], captions: Sequence[str] = (),
                  tips: Sequence[str] = (), group: int = 1) -> None:
        self.images = list(images)
        self.captions = list(captions) if len(captions) == len(images) else []
        self.tips = list(tips) if len(tips) == len(images) else []
        shape = (len(self.images), group, self._aspect(), bool(self.captions))
        self.group = max(1, group)
        if shape != self._shape:  # the same tiles anew (another sample): the same layout
            self._shape = shape
            self.updateGeometry()
        self.update()

    # -- layout --------------------------------------------------------------------------
    def _caption_h(self, side: int) -> int:
        if not self.captions or side < CAPTION_MIN_SIDE:
            return 0
        return self._line_h

    def changeEvent(self, event: QEvent) -> None:  # Qt override
        if event.type() == QEvent.Type.FontChange:
            self._line_h = QFontMetrics(self.font()).height()
        super().changeEvent(event)

    def _aspect(self) -> float:
        image = self.images[0] if self.images else None
        return image.width() / image.height() if image is not None and image.height() else 1.0

    def _tile_width(self, width: int, columns: int) -> float:
        """A tile's width when `columns` tiles share `width` (groups a little apart)."""
        groups = columns // self.group
        return (width - (columns - 1) * GAP - (groups - 1) * GROUP_GAP) / columns

    def layout_for(self, width: int, height: int | None) -> tuple[int, int, int]:
        """(columns, rows, tile height) that fit `width` (and `height`, when given) best."""
        n = len(self.images)
        if not n:
            return 0, 0, 0
        aspect = self._aspect()
        best = (self.group, math.ceil(n / self.group), MIN_SIDE)
        for columns in range(self.group, n + self.group, self.group):
            rows = math.ceil(n / columns)
            side = int(self._tile_width(width, columns) / aspect)
            if height is not None:
                caption = self._line_h if self.captions else 0
                side = min(side, int((height - (rows - 1) * GAP) / rows) - caption)
            side = min(side, MAX_SIDE)
            if side > best[2]:
                best = (columns, rows, side)
        return best

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """The least height that holds every tile at MIN_SIDE: the grid scrolls only when
        its room is smaller than that (a scroll area gives it its whole room otherwise)."""
        n = len(self.images)
        if not n:
            return 0
        tile_w = MIN_SIDE * self._aspect()
        fit = max(1, int((width + GAP) // (tile_w + GAP)))
        columns = max(self.group, fit // self.group * self.group)
        rows = math.ceil(n / min(columns, n))
        return rows * (MIN_SIDE + self._caption_h(MIN_SIDE)) + (rows - 1) * GAP

    def sizeHint(self) -> QSize:
        return QSize(320, 200)

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_SIDE * 2, MIN_SIDE)

    def _current_layout(self) -> tuple[int, int, int]:
        """layout_for the widget's size, remembered while the size and the tiles stay."""
        key = (self.width(), self.height(), len(self.images), self.group, bool(self.captions),
               self._aspect())
        if key != self._layout_key:
            self._layout_key = key
            self._layout = self.layout_for(self.width(), self.height())
        return self._layout

    def tile_rect(self, index: int) -> QRect:
        columns, _, side = self._current_layout()
        row, column = divmod(index, max(columns, 1))
        width = round(side * self._aspect())
        pitch_y = side + self._caption_h(side) + GAP
        x = column * (width + GAP) + (column // self.group) * GROUP_GAP
        return QRect(x, row * pitch_y, width, side)

    def index_at(self, pos: QPoint) -> int | None:
        return next((i for i in range(len(self.images)) if self.tile_rect(i).contains(pos)),
                    None)

    # -- painting and events -------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        theme = current()
        painter.setPen(theme.color("muted"))
        for i, image in enumerate(self.images):
            rect = self.tile_rect(i)
            if not rect.intersects(event.rect()):
                continue
            painter.drawImage(rect, image)  # no smoothing: pixels stay squares
            caption_h = self._caption_h(rect.height())
            if caption_h:
                painter.drawText(QRect(rect.left(), rect.bottom() + 1, rect.width(), caption_h),
                                 Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                                 self.captions[i])
        painter.end()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.index_at(event.pos())
            if index is not None and self.tips:
                QToolTip.showText(event.globalPos(), self.tips[index], self)
                return True
        return super().event(event)

    def _on_theme_changed(self, _theme: object) -> None:
        self.update()


def view_layout(owner: QWidget, top: list[tuple[QWidget, int]], range_label: QWidget,
                grid: TileGridWidget, pages: list[QWidget]) -> QStackedWidget:
    """The layer and filter views' layout: a row of `top` widgets (with their stretch) over
    the range line over a stack of pages: `pages[0]` (a hint), the grid scrolled, the rest."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(grid)
    stack = QStackedWidget()
    for page in [pages[0], scroll, *pages[1:]]:
        stack.addWidget(page)
    row = QHBoxLayout()
    for widget, stretch in top:
        row.addWidget(widget, stretch)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.setSpacing(4)
    layout.addLayout(row)
    layout.addWidget(range_label)
    layout.addWidget(stack, 1)
    return stack
