"""A card's output for the sample picked in Look Inside, as a strip hanging under the card: a
few channels as small images (on the layer's common range, so a dark tile is a weak channel),
a vector as bars, the input as its picture, the Output as its class probabilities.

`thumb_data` (numpy only: the Look Inside thread makes it) picks the pixels; `CardThumb`, a
child item of the card (`NodeItem.thumbnail`, kept by `GraphScene.set_thumbnails`), turns them
into images once per sample and paints them: the card's own cached picture is left alone, so a
new sample repaints only the strips. The strip fits in the gap the layout leaves under a card.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from dlbuilder.backend.inside.tiles import to_bytes
from dlbuilder.backend.module_names import NodePath
from dlbuilder.gui.canvas import style
from dlbuilder.gui.canvas.style import NODE_H, NODE_W, fonts
from dlbuilder.gui.look.theme import current
from dlbuilder.gui.widgets.images import array_image

STRIP_TOP = NODE_H + 3  # under the card, clear of its selection outline's corner
STRIP_H = 32.0  # fits the gap the auto-layout leaves between rows (40)
MAX_TILES = 5  # channels shown of a (C, H, W) output
MAX_BARS = 64  # a longer vector is shown by its largest magnitude in each of 64 groups
TEXT_W = 44.0  # room for "+27" or "7 97%" right of the tiles or bars
INSET = 3.0  # the strip's margin round its picture


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
    if len(values) > MAX_BARS:  # groups of equal size (the last padded with zeros)
        size = -(-len(values) // MAX_BARS)
        groups = np.zeros(size * MAX_BARS)
        groups[:len(values)] = values
        groups = groups.reshape(MAX_BARS, size)
        values = groups[np.arange(MAX_BARS), np.abs(groups).argmax(axis=1)]
    peak = float(np.abs(values).max()) if len(values) else 0.0
    return (values / peak if peak > 0 else np.zeros_like(values)).astype(np.float32)


STRIP = QRectF(0, 0, NODE_W, STRIP_H)


class CardThumb(QGraphicsItem):
    """The strip under a card (a child of its NodeItem, so repainting it leaves the card's
    cached picture alone): a ThumbData drawn as one image, made once per sample and theme."""

    def __init__(self, card: QGraphicsItem, data: ThumbData) -> None:
        super().__init__(card)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # a picture, not a control
        self.setPos(0, STRIP_TOP)
        self.data = data
        self.image: QImage | None = None
        self.shown = 0  # channels (or pictures) in the image
        self._made_for: str | None = None  # the theme the image was made in
        self.set_data(data)

    def set_data(self, data: ThumbData) -> None:
        tip = _tooltip(data)
        if tip != self.toolTip():
            self.setToolTip(tip)
        self.data = data
        self._made_for = None
        self.update()

    def boundingRect(self) -> QRectF:
        return STRIP.adjusted(-1, -1, 1, 1)

    def picture(self, p: style.Paints) -> QImage:
        """The strip's content as one image: tiles side by side, or bars."""
        if self.image is None or self._made_for != p.theme.name:
            self.image, self.shown = _strip_image(self.data, p)
            self._made_for = p.theme.name
        return self.image

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < style.LOD_SHAPE:  # a few pixels: nothing to see
            return
        p = style.paints(self.scene().theme() if self.scene() is not None else current())
        painter.fillRect(STRIP, p.border.color())  # fills: cheaper than a stroked outline
        painter.fillRect(STRIP.adjusted(1, 1, -1, -1), p.card)
        inner = STRIP.adjusted(INSET, INSET, -INSET, -INSET)
        image = self.picture(p)
        width = inner.height() * image.width() / max(image.height(), 1)
        painter.drawImage(QRectF(inner.left(), inner.top(), width, inner.height()), image)
        words = f"+{self.data.channels - self.shown}" if self.data.kind == "maps" \
            and self.data.channels > self.shown else self.data.label
        if words and lod >= style.LOD_TEXT:
            _text(painter, QRectF(inner.left() + width + 3, inner.top(),
                                  inner.right() - inner.left() - width - 3, inner.height()),
                  words, p)


def _strip_image(data: ThumbData, p: style.Paints) -> tuple[QImage, int]:
    """(image, tiles in it): tiles on the strip's height side by side, TILE_GAP apart in the
    card's colour, as many as fit beside the words; or bars."""
    if data.kind == "picture" and data.pixels is not None:
        return array_image(data.pixels), 1
    if data.kind == "maps" and data.pixels is not None and len(data.pixels):
        tiles = data.pixels
        h, w = tiles.shape[1:3]
        room = (STRIP_H - 2 * INSET) * w / h  # a tile's width on the strip
        fits = int((NODE_W - 2 * INSET - TEXT_W + 2) // (room + 2))
        shown = max(1, min(len(tiles), fits))
        gap = max(1, round(2 * h / (STRIP_H - 2 * INSET)))
        card = np.array(p.card.color().getRgb()[:3], dtype=np.uint8)
        out = np.empty((h, shown * (w + gap) - gap, 3), dtype=np.uint8)
        out[:] = card
        for i in range(shown):
            out[:, i * (w + gap):i * (w + gap) + w] = tiles[i][..., None]
        return array_image(out), shown
    return _bars_image(data, p), 0


def _bars_image(data: ThumbData, p: style.Paints) -> QImage:
    """Bars as pixels: a column group per value, up from the bottom (or both ways from the
    middle for signed values), the predicted class in the selection colour; an indexed image
    (card, bar, chosen bar), made by a few array operations."""
    values = data.values if data.values is not None else np.zeros(0, dtype=np.float32)
    classes = data.kind == "classes"
    h = int(STRIP_H - 2 * INSET)
    w = int(NODE_W - 2 * INSET - (TEXT_W if classes else 0))
    index = np.zeros((h, w), dtype=np.uint8)
    if len(values):
        column, gaps = _columns(w, len(values))
        value = values.astype(np.float64)[column]
        rows = np.arange(h, dtype=np.float64)[:, None] + 0.5
        if not classes and float(values.min()) < 0:  # signed: both ways from the middle
            middle = h / 2
            inked = (rows >= middle - np.maximum(value, 0) * middle) \
                & (rows <= middle - np.minimum(value, 0) * middle)
        else:
            inked = rows >= np.minimum(h - np.clip(value, 0, 1) * h, h - 1)
        index[inked & gaps] = 1
        if classes:
            index[inked & gaps & (column == int(np.argmax(values)))] = 2
    image = QImage(index.data, w, h, w, QImage.Format.Format_Indexed8)
    image.setColorTable([p.card.color().rgb(), p.muted.rgb(), p.selection_pen.color().rgb()])
    return image.copy()


@functools.cache
def _columns(width: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Which value each pixel column shows, and which columns are not a bar's first (its
    first column is the gap before it)."""
    column = np.minimum((np.arange(width) * count) // width, count - 1)
    first = np.concatenate([[True], column[1:] != column[:-1]])
    return column, ~first[None, :]


def _text(painter: QPainter, rect: QRectF, text: str, p: style.Paints) -> None:
    painter.setFont(fonts().small)
    painter.setPen(p.muted)
    painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)


def _tooltip(data: ThumbData) -> str:
    if data.kind == "maps":
        shown = min(MAX_TILES, data.channels)
        return (f"The output for Look Inside's sample: the first {shown} of {data.channels} "
                "channels, on the layer's range (select the card for all of them)")
    if data.kind == "classes":
        return f"The network's answer for Look Inside's sample: {data.label}"
    if data.kind == "picture":
        return "Look Inside's sample, as the network sees it"
    return "The output for Look Inside's sample, as bars (select the card for their values)"
