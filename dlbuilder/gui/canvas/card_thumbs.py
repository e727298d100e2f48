"""A card's output for the sample picked in Look Inside, as a strip hanging under the card: a
few channels as small images (on the layer's common range, so a dark tile is a weak channel),
a vector as bars, the input as its picture, the Output as its class probabilities.

`thumb_data` (numpy only: the Look Inside thread makes it) picks the pixels; `CardThumb` turns
them into images once, in the GUI thread, and paints them for the card (`NodeItem.thumbnail`,
set by `GraphScene.set_thumbnails`). The strip fits in the gap the layout leaves under a card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPen

from dlbuilder.backend.inside.tiles import to_bytes
from dlbuilder.backend.module_names import NodePath
from dlbuilder.gui.canvas import style
from dlbuilder.gui.canvas.style import NODE_H, NODE_W, fonts
from dlbuilder.gui.widgets.images import array_image

STRIP_TOP = NODE_H + 3  # under the card, clear of its selection outline's corner
STRIP_H = 32.0  # fits the gap the auto-layout leaves between rows (40)
MAX_TILES = 5  # channels shown of a (C, H, W) output
MAX_BARS = 64  # a longer vector is shown by its largest magnitude in each of 64 groups
TEXT_W = 44.0  # room for "+27" or "7 97%" right of the tiles or bars


@dataclass(frozen=True, eq=False)
class ThumbData:
    """What a strip shows. kind "maps": `pixels` (n, h, w) uint8, the first n of `channels`;
    "picture": `pixels` (h, w) or (h, w, 3) uint8; "bars": `values` in -1..1; "classes":
    `values` the probabilities, `label` the predicted class."""

    kind: str
    pixels: np.ndarray | None = None
    values: np.ndarray | None = None
    channels: int = 0
    label: str = ""


def thumb_data(look: Any, path: NodePath) -> ThumbData:
    """The strip of node `path`'s output in `look` (a backend Look)."""
    output = look.outputs[path]
    if output.ndim == 3 and output.shape[1] * output.shape[2] > 1:
        low, high = float(output.min()), float(output.max())
        return ThumbData("maps", pixels=to_bytes(output[:MAX_TILES], low, high),
                         channels=len(output))
    return ThumbData("bars", values=_bars(output.reshape(-1)))


def input_thumb(look: Any) -> ThumbData | None:
    """The Input card's strip: the sample's picture (None for samples that are not)."""
    return ThumbData("picture", pixels=look.picture) if look.picture is not None else None


def output_thumb(look: Any) -> ThumbData | None:
    """The Output card's strip: the class probabilities, or an autoencoder's
    reconstruction; None for outputs that are neither."""
    if look.probabilities is not None:
        best = int(np.argmax(look.probabilities))
        name = look.classes[best] if best < len(look.classes) else str(best)
        return ThumbData("classes", values=np.asarray(look.probabilities, dtype=np.float32),
                         label=f"{name} {100 * float(look.probabilities[best]):.0f}%")
    if look.reconstruction is not None:
        return ThumbData("picture", pixels=look.reconstruction)
    return None


def _bars(values: np.ndarray) -> np.ndarray:
    """Values over their largest magnitude (-1..1), at most MAX_BARS of them."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) > MAX_BARS:
        groups = np.array_split(values, MAX_BARS)
        values = np.array([g[np.argmax(np.abs(g))] for g in groups])
    peak = float(np.abs(values).max()) if len(values) else 0.0
    return (values / peak if peak > 0 else np.zeros_like(values)).astype(np.float32)


def strip_rect() -> QRectF:
    """Where the strip is, in the card's coordinates."""
    return QRectF(0, STRIP_TOP, NODE_W, STRIP_H)


def with_strip(bounds: QRectF) -> QRectF:
    """A card's bounding rectangle grown to hold the strip."""
    return bounds.united(strip_rect().adjusted(-1, -1, 1, 1))


class CardThumb:
    """A ThumbData ready to paint: its images made once."""

    def __init__(self, data: ThumbData) -> None:
        self.data = data
        self.images: list[QImage] = []
        if data.pixels is not None:
            tiles = [data.pixels] if data.kind == "picture" else list(data.pixels)
            self.images = [array_image(tile) for tile in tiles]

    def paint(self, painter: QPainter, p: style.Paints, lod: float) -> None:
        if lod < style.LOD_TEXT:  # a few pixels: nothing to read
            return
        rect = strip_rect()
        painter.setPen(QPen(p.border.color(), 1.0))
        painter.setBrush(p.card)
        painter.drawRoundedRect(rect, 4, 4)
        inner = rect.adjusted(3, 3, -3, -3)
        kind = self.data.kind
        if kind in ("maps", "picture"):
            self._paint_tiles(painter, inner, p)
        else:
            self._paint_bars(painter, inner, p)

    def _paint_tiles(self, painter: QPainter, inner: QRectF, p: style.Paints) -> None:
        side = inner.height()
        x = inner.left()
        for image in self.images:
            h, w = image.height(), image.width()
            width = side * w / h if h else side
            if x + width > inner.right() - (TEXT_W if self.data.channels else 0):
                break
            painter.drawImage(QRectF(x, inner.top(), width, side), image)
            x += width + 2
        more = self.data.channels - len(self.images)
        if more > 0:
            self._text(painter, QRectF(x, inner.top(), inner.right() - x, side), f"+{more}", p)

    def _paint_bars(self, painter: QPainter, inner: QRectF, p: style.Paints) -> None:
        values = self.data.values if self.data.values is not None else np.zeros(0)
        classes = self.data.kind == "classes"
        room = inner.adjusted(0, 0, -(TEXT_W if classes else 0), 0)
        if not len(values):
            return
        pitch = room.width() / len(values)
        zero = room.bottom() if classes or values.min() >= 0 else room.center().y()
        span = room.height() if zero == room.bottom() else room.height() / 2
        best = int(np.argmax(values)) if classes else -1
        painter.setPen(Qt.PenStyle.NoPen)
        for i, value in enumerate(values):
            colour = p.selection_pen.color() if i == best else p.muted
            painter.setBrush(colour)
            top = zero - float(value) * span
            painter.drawRect(QRectF(room.left() + i * pitch + pitch * 0.12, min(top, zero),
                                    max(pitch * 0.76, 0.8), max(abs(zero - top), 0.6)))
        if classes:
            self._text(painter, QRectF(room.right() + 2, inner.top(), TEXT_W - 2,
                                       inner.height()), self.data.label, p)

    @staticmethod
    def _text(painter: QPainter, rect: QRectF, text: str, p: style.Paints) -> None:
        painter.setFont(fonts().small)
        painter.setPen(p.muted)
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
