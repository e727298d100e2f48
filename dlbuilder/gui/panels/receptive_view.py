"""The inspector's picture of a receptive field: the region one output value of the selected
layer sees, drawn over the first training image when data is chosen (over a plain frame of
the input's size otherwise).

The centre output is shown: its region clipped to the image is filled, and where padding lets
the region reach past the border, the whole region is outlined with a dashed line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QCursor, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QFrame, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.receptive import Receptive
from dlbuilder.gui.look.theme import current
from dlbuilder.gui.widgets.labels import wrapped_label

if TYPE_CHECKING:
    from dlbuilder.gui.canvas.view import CanvasView
    from dlbuilder.gui.document import Document

SIDE = 168   # the picture's largest side, in pixels
MARGIN = 14  # room around the image for a region that reaches past the border

Region = tuple[tuple[int, int], tuple[int, int]]


def centre_region(field: Receptive, out_shape: tuple[int, ...]) -> tuple[tuple[int, int], Region]:
    """The centre output's position and its whole (unclipped) region, rows then columns."""
    position = (out_shape[1] // 2, out_shape[2] // 2)
    (top, bottom), (left, right) = field.region(position)
    return position, ((top, bottom), (left, right))


class RegionPictureWidget(QWidget):
    """The input (a sample image, or a frame of its size) with one region drawn on it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.input_size: tuple[int, int] | None = None  # H, W
        self.region: Region | None = None
        self.whole = False
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def show_region(self, input_size: tuple[int, int] | None, region: Region | None,
                    whole: bool = False) -> None:
        self.input_size, self.region, self.whole = input_size, region, whole
        self.updateGeometry()
        self.update()

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(SIDE + 2 * MARGIN, self._picture_height() + 2 * MARGIN)

    def _picture_height(self) -> int:
        if self.input_size is None:
            return SIDE
        h, w = self.input_size
        return max(8, round(SIDE * h / max(h, w)))

    def _image_rect(self) -> QRectF:
        h, w = self.input_size or (1, 1)
        scale = SIDE / max(h, w)
        left = (self.width() - w * scale) / 2
        return QRectF(left, MARGIN, w * scale, h * scale)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.input_size is None:
            return
        theme = current()
        painter = QPainter(self)
        frame = self._image_rect()
        if self.image is not None:
            painter.drawImage(frame, self.image)
        else:
            painter.fillRect(frame, QColor(theme.alt_base))
        painter.setPen(QPen(QColor(theme.card_border), 1))
        painter.drawRect(frame)
        if self.region is not None or self.whole:
            self._draw_region(painter, frame)
        painter.end()

    def _draw_region(self, painter: QPainter, frame: QRectF) -> None:
        theme = current()
        accent = QColor(theme.highlight)
        h, w = self.input_size  # type: ignore[misc]
        scale = frame.width() / w
        if self.whole or self.region is None:
            full = frame
        else:
            (top, bottom), (left, right) = self.region
            full = QRectF(frame.left() + left * scale, frame.top() + top * scale,
                          (right - left + 1) * scale, (bottom - top + 1) * scale)
        inside = full.intersected(frame)
        fill = QColor(accent)
        fill.setAlpha(70)
        painter.fillRect(inside, fill)
        painter.setPen(QPen(accent, 2))
        painter.drawRect(inside)
        if full != inside:
            dashed = QPen(accent, 1, Qt.PenStyle.DashLine)
            painter.setPen(dashed)
            painter.drawRect(full.intersected(QRectF(self.rect())))


class ReceptiveBox(QWidget):
    """The picture and its caption, for the node the inspector shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picture = RegionPictureWidget()
        self.caption = wrapped_label()
        self.caption.setStyleSheet(f"color: {current().muted};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.no_data = wrapped_label("Choose image data in the Training tab to see the "
                                     "region on a sample.")
        self.no_data.setStyleSheet(f"color: {current().muted};")
        layout.addWidget(self.picture)
        layout.addWidget(self.caption)
        layout.addWidget(self.no_data)

    def set_sample(self, image: QImage | None) -> None:
        """The first training image of the chosen data (None: no data, or not images)."""
        self.picture.set_image(image)
        self.no_data.setVisible(image is None)

    def show_node(self, engine: EngineBase, node: str, in_block: bool) -> None:
        """Draw what `node`'s centre output sees; hidden where there is nothing to draw (not
        an image, unknown, or inside an opened block, where fields count from the block's
        input)."""
        info = engine.info(node)
        field, shape = info.receptive, info.output_shape
        image = _input_size(engine)
        if in_block or field is None or image is None or shape is None:
            self.hide()
            return
        if field.whole:
            self.picture.show_region(image, None, whole=True)
            self.caption.setText("every output value sees the whole input")
        elif len(shape) != 3 or not field.size:  # a vector: its values see different places
            self.hide()
            return
        else:
            position, region = centre_region(field, shape)
            self.picture.show_region(image, region)
            self.caption.setText(f"what output ({position[0]}, {position[1]}) sees: "
                                 f"{field.size[0]}x{field.size[1]} input pixels")
        for label in (self.caption, self.no_data):  # the theme may have changed
            label.setStyleSheet(f"color: {current().muted};")
        self.show()


def _input_size(engine: EngineBase) -> tuple[int, int] | None:
    """H x W of the graph's Input, when it is an image."""
    roles = engine.registry.types_with_role("input")
    for info in engine.infos():
        if info.type in roles and info.output_shape is not None and len(info.output_shape) == 3:
            return info.output_shape[1], info.output_shape[2]
    return None


class ReceptivePopup(QFrame):
    """The same picture beside the card the mouse rests on, after a tooltip's delay: hover a
    layer and see what one of its outputs sees. Nothing shows for a layer without a spatial
    receptive field, and the popup never takes the focus or the mouse."""

    DELAY_MS = 600

    def __init__(self, doc: Document, view: CanvasView) -> None:
        super().__init__(view, Qt.WindowType.ToolTip | Qt.WindowType.FramelessWindowHint)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFrameShape(QFrame.Shape.Box)
        self.doc, self.view = doc, view
        self.box = ReceptiveBox(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.box)
        self.node: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        view.viewport().installEventFilter(self)  # the card's tooltip waits while it shows

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.isVisible():
            return True  # the picture says more than the card's tooltip, which would cover it
        return super().eventFilter(watched, event)

    def set_sample(self, image: QImage | None) -> None:
        self.box.set_sample(image)

    def follow(self, node: str | None) -> None:
        """The mouse is over `node`'s card now (None: over no card)."""
        self.node = node
        self.hide()
        if node is None:
            self._timer.stop()
        else:
            self._timer.start()

    def _on_timer_timeout(self) -> None:
        engine = self.doc.scope.engine
        if self.node is None or engine is None or self.node not in engine.graph:
            return
        self.box.show_node(engine, self.node, self.doc.scope.block is not None)
        if self.box.isHidden():
            return
        self.box.caption.setText(f"{self.node}: {self.box.caption.text()}")
        self.setStyleSheet(f"ReceptivePopup {{ background: {current().base}; "
                           f"border: 1px solid {current().card_border}; }}")
        self.adjustSize()
        self.move(self._beside_card())
        QToolTip.hideText()
        self.show()

    def _beside_card(self) -> QPoint:
        """Right of the hovered card (the card's own tooltip opens under the mouse), or by
        the mouse when the card is not found."""
        card = self.view.graph_scene.nodes.get(self.node or "")
        if card is None:
            return QCursor.pos() + QPoint(18, 18)
        corner = self.view.mapFromScene(card.sceneBoundingRect().topRight())
        return self.view.viewport().mapToGlobal(corner) + QPoint(12, 0)
