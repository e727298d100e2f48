"""The selected layer's output for the picked sample: every channel as a tile on the layer's
common range (so channels compare), in channel order or strongest first, with the value range
and the share of zeros; a vector (Linear, Softmax) as labelled bars."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QWidget,
)

from dlbuilder.backend.inside.stats import output_stats
from dlbuilder.backend.module_names import NodePath
from dlbuilder.gui.inside.bars import BarsWidget
from dlbuilder.gui.inside.tile_grid import TileGridWidget, view_layout
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.images import array_image
from dlbuilder.gui.widgets.labels import ReadoutLabel, wrapped_label

HINT = "Select a layer on the canvas to see all its channels for this sample"
ORDERS = (("index", "Channel order"), ("mean", "Strongest first"))
PAGE_HINT, PAGE_TILES, PAGE_BARS = 0, 1, 2


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def range_text(low: float, high: float) -> str:
    return f"{low:.3g} … {high:.3g}"


class LayerMapsWidget(QWidget):
    """`show_layer(title, output, tiles, labels, percent)`, `show_hint(text)`."""

    order_changed = Signal(str)  # "index" or "mean"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title_label = ReadoutLabel()
        self.range_label = ReadoutLabel()
        self.range_label.setToolTip("The output's smallest and largest value for this sample "
                                    "(every tile is drawn on this one range: black the "
                                    "smallest, white the largest), and the share of values "
                                    "that are exactly zero (after a ReLU: units that are off)")
        self.order_combo = QComboBox()
        for key, text in ORDERS:
            self.order_combo.addItem(text, key)
        self.order_combo.setToolTip("Show the channels in their order, or the most active "
                                    "(highest mean) first")
        self.order_combo.currentIndexChanged.connect(self._on_order_combo_changed)
        self.grid = TileGridWidget()
        self.bars = BarsWidget()
        self.hint_label = wrapped_label(HINT)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = view_layout(self, [(self.title_label, 1), (self.order_combo, 0)],
                                 self.range_label, self.grid, [self.hint_label, self.bars])
        self.path: NodePath | None = None
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())
        self.show_hint(HINT)

    @property
    def order(self) -> str:
        return str(self.order_combo.currentData())

    def show_hint(self, text: str) -> None:
        self.path = None
        self.title_label.setText("")
        self.range_label.setText("")
        self.order_combo.setVisible(False)
        self.hint_label.setText(text)
        self.stack.setCurrentIndex(PAGE_HINT)

    def show_layer(self, path: NodePath, title: str, output: np.ndarray, tiles: Any,
                   labels: tuple[str, ...] = (), percent: bool = False) -> None:
        """`output` the layer's values; `tiles` their backend Tiles (None: made here)."""
        self.path = path
        stats = output_stats(path, output)
        self.title_label.setText(f"<b>{title}</b> · {shape_text(stats.shape)}")
        zeros = f" · {100 * stats.zero_share:.0f}% exactly zero" if stats.zero_share else ""
        self.range_label.setText(f"values {range_text(stats.low, stats.high)}, mean "
                                 f"{stats.mean:.3g}{zeros}")
        if tiles is None:
            from dlbuilder.backend.inside.tiles import map_tiles

            tiles = map_tiles(output, self.order)
        if tiles.bars is not None or not len(tiles.pixels):
            self.order_combo.setVisible(False)
            values = np.asarray(output, dtype=np.float32).reshape(-1)
            highlight = int(np.argmax(values)) if labels and len(values) else None
            self.bars.set_values(values, labels, percent=percent, highlight=highlight)
            self.stack.setCurrentIndex(PAGE_BARS)
            return
        self.order_combo.setVisible(len(tiles.order) > 1)
        images = [array_image(tile) for tile in tiles.pixels]
        captions = [str(i) for i in tiles.order]
        tips = [f"channel {i}: mean {m:.3g}" for i, m in zip(tiles.order, tiles.means,
                                                             strict=True)]
        self.grid.set_tiles(images, captions, tips)
        self.stack.setCurrentIndex(PAGE_TILES)

    def _on_order_combo_changed(self, _index: int) -> None:
        self.order_changed.emit(self.order)

    def _on_theme_changed(self, theme: Any) -> None:
        self.range_label.setStyleSheet(f"color: {theme.muted};")
        self.hint_label.setStyleSheet(f"color: {theme.muted};")
