"""One picture as large as its room allows, pixels kept square (no smoothing), with a caption
over it: the sample as the network sees it, a reconstruction, a saliency map."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.images import array_image


class PictureWidget(QWidget):
    """`set_picture(pixels or None, caption)`; `pixels` uint8 (h, w) or (h, w, 3)."""

    def __init__(self, caption: str = "", parent: QWidget | None = None,
                 minimum: int = 64) -> None:
        super().__init__(parent)
        self.caption = caption
        self.image: QImage | None = None
        self.pixels: np.ndarray | None = None
        self._minimum = minimum
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        theme_manager().changed.connect(self._on_theme_changed)

    def set_picture(self, pixels: np.ndarray | None, caption: str | None = None) -> None:
        self.pixels = None if pixels is None else np.asarray(pixels)
        self.image = None if pixels is None else array_image(pixels)
        if caption is not None:
            self.caption = caption
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(140, 160)

    def minimumSizeHint(self) -> QSize:
        return QSize(self._minimum, self._minimum + self._caption_h())

    def _caption_h(self) -> int:
        return QFontMetrics(self.font()).height() + 2 if self.caption else 0

    def picture_rect(self) -> QRect:
        """Where the picture is drawn: centred, as large as fits, its aspect kept."""
        top = self._caption_h()
        room = QRect(0, top, self.width(), self.height() - top)
        if self.image is None or self.image.isNull():
            return QRect()
        w, h = self.image.width(), self.image.height()
        scale = min(room.width() / w, room.height() / h)
        if scale >= 1:  # whole pixels where it can
            scale = float(int(scale))
        size = QSize(max(1, int(w * scale)), max(1, int(h * scale)))
        rect = QRect(0, 0, size.width(), size.height())
        rect.moveCenter(room.center())
        return rect

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        theme = current()
        if self.caption:
            painter.setPen(theme.color("muted"))
            painter.drawText(QRect(0, 0, self.width(), self._caption_h()),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             QFontMetrics(self.font()).elidedText(
                                 self.caption, Qt.TextElideMode.ElideRight, self.width()))
        if self.image is not None:
            rect = self.picture_rect()
            painter.drawImage(rect, self.image)
            painter.setPen(theme.color("card_border"))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.end()

    def _on_theme_changed(self, _theme: object) -> None:
        self.update()
