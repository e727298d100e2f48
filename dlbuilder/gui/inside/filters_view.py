"""A convolution's learned kernels, all on the layer's weight range (mid-grey is zero where the
range straddles it): a colour image per filter when the layer looks at colour images, else a
row per filter with a tile per input channel."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QWidget,
)

from dlbuilder.backend.module_names import NodePath
from dlbuilder.gui.inside.maps_view import range_text
from dlbuilder.gui.inside.tile_grid import TileGridWidget, view_layout
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.images import array_image
from dlbuilder.gui.widgets.labels import wrapped_label
from dlbuilder.gui.widgets.text import plural

MAX_TILES = 1024  # more kernels than this: the first filters and input channels only
MAX_INPUTS = 16  # input channels shown per filter
NO_CONVOLUTION = "This network has no convolution, so there are no filters to show"


def filter_layout(out: int, inputs: int, rgb: bool) -> tuple[int, int]:
    """(filters, input channels) shown: all, or as many as MAX_TILES allows."""
    if rgb:
        return min(out, MAX_TILES), 1
    shown_inputs = min(inputs, MAX_INPUTS)
    return min(out, max(1, MAX_TILES // shown_inputs)), shown_inputs


class FiltersWidget(QWidget):
    """`set_layers(paths, texts)`, then `show_filters(path, title, tiles)`; `layer_chosen`
    asks for another convolution's."""

    layer_chosen = Signal(object)  # NodePath

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer_combo = QComboBox()
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer_combo.setToolTip("Which convolution's filters to show (selecting one on "
                                    "the canvas shows its own)")
        self.layer_combo.activated.connect(self._on_layer_combo_activated)
        self.title_label = QLabel()
        self.range_label = QLabel()
        self.range_label.setToolTip("The smallest and largest weight of this layer: every "
                                    "tile is drawn on this range (black the smallest, white "
                                    "the largest)")
        self.grid = TileGridWidget()
        self.hint_label = wrapped_label(NO_CONVOLUTION)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = view_layout(self, [(self.layer_combo, 0), (self.title_label, 1)],
                                 self.range_label, self.grid, [self.hint_label])
        self.path: NodePath | None = None
        self.paths: list[NodePath] = []  # the convolutions, in the combo's order
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())

    def set_layers(self, paths: tuple[NodePath, ...], texts: dict[NodePath, str]) -> None:
        self.paths = list(paths)
        self.layer_combo.clear()
        for path in paths:
            self.layer_combo.addItem(texts.get(path, "/".join(map(str, path))))
        self.layer_combo.setVisible(bool(paths))
        if not paths:
            self.show_hint(NO_CONVOLUTION)

    def show_hint(self, text: str) -> None:
        self.path = None
        self.title_label.setText("")
        self.range_label.setText("")
        self.hint_label.setText(text)
        self.stack.setCurrentIndex(0)

    def show_filters(self, path: NodePath, tiles: Any) -> None:
        """`tiles` a backend FilterTiles."""
        self.path = path
        if path in self.paths:
            self.layer_combo.setCurrentIndex(self.paths.index(path))
        pixels = tiles.pixels
        out = len(pixels)
        inputs = 1 if tiles.rgb else pixels.shape[1]
        kh, kw = pixels.shape[1:3] if tiles.rgb else pixels.shape[2:4]
        shown, shown_inputs = filter_layout(out, inputs, tiles.rgb)
        what = f"{plural(out, 'filters')} of {3 if tiles.rgb else inputs}×{kh}×{kw}"
        if tiles.rgb:
            what += ", in colour (each the pattern of colours it answers to)"
        if shown < out or shown_inputs < inputs:
            what += f"; showing {shown} filters × {shown_inputs} input channels"
        self.title_label.setText(what)
        self.range_label.setText(f"weights {range_text(tiles.low, tiles.high)}")
        if tiles.rgb:
            images = [array_image(p) for p in pixels[:shown]]
            tips = [f"filter {i}" for i in range(shown)]
            captions = [str(i) for i in range(shown)]
            group = 1
        else:
            images = [array_image(p) for f in pixels[:shown] for p in f[:shown_inputs]]
            tips = [f"filter {i}, input channel {j}" for i in range(shown)
                    for j in range(shown_inputs)]
            captions = [f"{i}·{j}" for i in range(shown) for j in range(shown_inputs)]
            group = shown_inputs
        self.grid.set_tiles(images, captions, tips, group)
        self.stack.setCurrentIndex(1)

    def _on_layer_combo_activated(self, index: int) -> None:
        if 0 <= index < len(self.paths):
            self.layer_chosen.emit(self.paths[index])

    def _on_theme_changed(self, theme: Any) -> None:
        self.range_label.setStyleSheet(f"color: {theme.muted};")
        self.hint_label.setStyleSheet(f"color: {theme.muted};")
