"""The data preview: one small sample image per class, pixels kept as pixels, the class name
under each in a small font. Ten fit one row of a ~360 px column; narrower, they wrap evenly.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QHelpEvent, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from dlbuilder.backend.datasets import Dataset
from dlbuilder.gui.look.theme import current

THUMB = 32  # pixels of a thumbnail's square
MIN_PITCH, MAX_PITCH = THUMB + 3, 56  # a cell's width: its thumbnail and the gap beside it
ROW_GAP = 4
NAME_GAP = 1  # between a thumbnail and its name
MAX_SAMPLES = 10
SMALL_FONT = 0.85  # the names' size against the widget's font


class SamplesWidget(QWidget):
    """The first training image of each class (up to ten) with the class name under it; the
    row wraps to the width, evened out (5 + 5 rather than 8 + 2). Hovering one names it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples: list[tuple[QImage, str]] = []
        self._thumbnails: list[QImage] = []
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_dataset(self, data: Dataset | None) -> None:
        self.samples = sample_images(data) if data is not None and data.kind == "image" else []
        self._thumbnails = [thumbnail(image) for image, _ in self.samples]
        more = data is not None and data.num_classes > MAX_SAMPLES
        tip = "The first training image of each class" + (
            f" (of the first {MAX_SAMPLES} classes)" if more else "")
        self.setToolTip(tip if self.samples else "")
        self.setVisible(bool(self.samples))
        self.updateGeometry()
        self.update()

    # -- geometry ------------------------------------------------------------------------------
    def name_font(self) -> QFont:
        font = QFont(self.font())
        if font.pointSizeF() > 0:
            font.setPointSizeF(max(6.5, font.pointSizeF() * SMALL_FONT))
        else:
            font.setPixelSize(max(9, round(font.pixelSize() * SMALL_FONT)))
        return font

    def _columns(self, width: int) -> int:
        fit = max(1, width // MIN_PITCH)
        rows = -(-len(self.samples) // fit) or 1
        return -(-len(self.samples) // rows) or 1

    def _pitch(self, width: int) -> int:
        return max(MIN_PITCH, min(MAX_PITCH, width // self._columns(width)))

    def _cell_h(self) -> int:
        return THUMB + NAME_GAP + QFontMetrics(self.name_font()).height()

    def cell_rect(self, index: int, width: int) -> QRect:
        """Where the sample `index` (its thumbnail and name) sits at this width."""
        columns, pitch = self._columns(width), self._pitch(width)
        row, column = divmod(index, columns)
        return QRect(column * pitch, row * (self._cell_h() + ROW_GAP), pitch, self._cell_h())

    def index_at(self, pos: QPoint) -> int | None:
        return next((i for i in range(len(self.samples))
                     if self.cell_rect(i, self.width()).contains(pos)), None)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if not self.samples:
            return 0
        rows = -(-len(self.samples) // self._columns(width))
        return rows * self._cell_h() + (rows - 1) * ROW_GAP

    def sizeHint(self) -> QSize:
        width = len(self.samples) * MIN_PITCH
        return QSize(width, self.heightForWidth(max(width, MIN_PITCH)))

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_PITCH, 0)

    # -- events --------------------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.index_at(event.pos())
            if index is not None:
                QToolTip.showText(event.globalPos(), f"{self.samples[index][1]}: "
                                  "the first training image of this class", self)
                return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        theme = current()
        font = self.name_font()
        metrics = QFontMetrics(font)
        painter.setFont(font)
        for i, (shown, (_, name)) in enumerate(zip(self._thumbnails, self.samples, strict=True)):
            cell = self.cell_rect(i, self.width())
            box = QRect(cell.x() + (cell.width() - THUMB) // 2, cell.y(), THUMB, THUMB)
            painter.fillRect(box, theme.color("alt_base"))
            painter.drawImage(box.x() + (THUMB - shown.width()) // 2,
                              box.y() + (THUMB - shown.height()) // 2, shown)
            painter.setPen(theme.color("muted"))
            text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, cell.width() - 2)
            painter.drawText(cell.x(), cell.y() + THUMB + NAME_GAP, cell.width(),
                             metrics.height(),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)
        painter.end()


def thumbnail(image: QImage) -> QImage:
    """The image at most THUMB square: enlarged by a whole factor, nearest-neighbour, so that
    pixels stay sharp squares (8 -> 32, 28 stays 28); larger ones shrink smoothly."""
    longer = max(image.width(), image.height(), 1)
    if longer > THUMB:
        return image.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                            Qt.TransformationMode.SmoothTransformation)
    factor = THUMB // longer
    if factor == 1:
        return image
    return image.scaled(image.width() * factor, image.height() * factor,
                        Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.FastTransformation)


def first_of_each_class(data: Dataset) -> list[tuple[int, int]]:
    """(class, training sample index) of the first sample of each of the first ten classes:
    the samples the preview shows, in its order."""
    classes, first = np.unique(data.train.y, return_index=True)
    return [(int(c), int(i)) for c, i in zip(classes, first, strict=True)][:MAX_SAMPLES]


def sample_images(data: Dataset) -> list[tuple[QImage, str]]:
    """(image, class name) for the first training sample of each of the first ten classes."""
    return [(to_qimage(data.train.x[i], data.scale), data.classes[c])
            for c, i in first_of_each_class(data)]


def to_qimage(sample: np.ndarray, scale: float) -> QImage:
    """A (C, H, W) or (H, W) sample as an 8-bit grey or RGB image: x / scale * 255, or
    stretched to its own range where float data lies outside [0, 1]."""
    pixels = sample if sample.ndim == 3 else sample[None]
    if pixels.dtype != np.uint8 or scale != 255.0:
        values = pixels.astype(np.float32) / np.float32(scale or 1.0)
        low, high = float(values.min()), float(values.max())
        if low < 0.0 or high > 1.0:
            values = (values - low) / ((high - low) or 1.0)
        pixels = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
    height, width = pixels.shape[1:]
    if pixels.shape[0] >= 3:
        rgb = np.ascontiguousarray(pixels[:3].transpose(1, 2, 0))
        return QImage(rgb.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    grey = np.ascontiguousarray(pixels[0])
    return QImage(grey.tobytes(), width, height, width, QImage.Format.Format_Grayscale8).copy()
