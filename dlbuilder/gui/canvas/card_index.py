"""Where the cards are, in buckets of one layout cell, for the wire router's "what is in this
rectangle" questions. QGraphicsScene.items() answers them too, but re-indexes its BSP tree as
wires change shape, which made building a 500-node scene take half a second."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Generic, TypeVar

from PySide6.QtCore import QRectF

from dlbuilder.gui.canvas.style import GAP_X, GAP_Y, NODE_H, NODE_W

T = TypeVar("T")
_CELL_W, _CELL_H = NODE_W + GAP_X, NODE_H + GAP_Y


def _cells(rect: QRectF) -> Iterable[tuple[int, int]]:
    left, right = math.floor(rect.left() / _CELL_W), math.floor(rect.right() / _CELL_W)
    top, bottom = math.floor(rect.top() / _CELL_H), math.floor(rect.bottom() / _CELL_H)
    for cx in range(left, right + 1):
        for cy in range(top, bottom + 1):
            yield (cx, cy)


class CardIndex(Generic[T]):
    """Rectangles by key (a card), found by overlap."""

    def __init__(self) -> None:
        self._rects: dict[T, QRectF] = {}
        self._buckets: dict[tuple[int, int], set[T]] = {}

    def clear(self) -> None:
        self._rects.clear()
        self._buckets.clear()

    def put(self, key: T, rect: QRectF) -> None:
        self.remove(key)
        self._rects[key] = QRectF(rect)
        for cell in _cells(rect):
            self._buckets.setdefault(cell, set()).add(key)

    def remove(self, key: T) -> None:
        old = self._rects.pop(key, None)
        if old is None:
            return
        for cell in _cells(old):
            bucket = self._buckets.get(cell)
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del self._buckets[cell]

    def overlapping(self, rect: QRectF) -> list[tuple[T, QRectF]]:
        """The keys whose rectangle intersects `rect`, with their rectangles."""
        found: dict[T, QRectF] = {}
        cells = _cells(rect)
        if (rect.width() / _CELL_W + 1) * (rect.height() / _CELL_H + 1) > 4 * len(self._rects):
            cells = list(self._buckets)  # a huge rectangle: walk what there is instead
        for cell in cells:
            for key in self._buckets.get(cell, ()):
                if key not in found:
                    r = self._rects[key]
                    if r.intersects(rect):
                        found[key] = r
        return list(found.items())
