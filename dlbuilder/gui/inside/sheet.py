"""The picture sheet of `dlbuilder inspect -o out.png`: one sample and what the network made of
it, drawn offscreen with QPainter for papers and slides.

Top to bottom: the title (graph, sample, weights), the input (and an autoencoder's
reconstruction, the saliency overlays) beside the top classes as bars, the filters, then per
layer a labelled grid of its channels with their common value range (black is the layer's
lowest value, white its highest, so channels compare), a vector as bars. The pixels are
backend/inside/tiles.py's, the ones the app shows. Small maps are scaled up by whole factors
without smoothing (an 8x8 map stays crisp); text is 11 px or more, legible at 100%.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter

from dlbuilder.backend.inside.stats import output_stats
from dlbuilder.backend.inside.tiles import (
    FilterTiles,
    Tiles,
    filter_tiles,
    heat,
    map_tiles,
    mosaic,
    overlay,
)
from dlbuilder.gui.look.theme import THEMES, Theme
from dlbuilder.gui.training.predictions import to_qimage

if TYPE_CHECKING:
    from dlbuilder.backend.inside.probe import Filters, Look, Probe, Saliency
    from dlbuilder.backend.module_names import NodePath

WIDTH = 1280
MARGIN = 28
GAP = 8
PICTURE = 168     # side of the input and saliency pictures
MAP_SIDE = 64     # about the side a small map is scaled up to
LARGE_SIDE = 112  # the side a map larger than MAP_SIDE is drawn at
FILTER_SIDE = 36  # about the side of one filter's tile
KERNEL_SIDE = 20  # ... and of one input channel's kernel in a filter of several
MAX_FILTERS = 64
MAX_INPUTS = 32
BARS_HEIGHT = 84
MAX_SIDE = 32_000  # QPainter's limit on one side of an image


@dataclass(frozen=True, eq=False)
class MapsPanel:
    """One layer on the sheet: `title` (id and type), `note` (shape, range...), its tiles, how
    many of them are drawn, and names under a vector's bars (class names) if any."""

    title: str
    note: str
    tiles: Tiles
    shown: int
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class SheetParts:
    """What a sheet shows, already in words and pixels. `pictures`: labelled uint8 pictures
    (H, W) or (H, W, 3): the input, a reconstruction, saliency overlays."""

    title: str
    lines: tuple[str, ...]
    pictures: tuple[tuple[str, np.ndarray], ...]
    top: tuple[tuple[str, float], ...]
    filters: tuple[str, FilterTiles] | None
    maps: tuple[MapsPanel, ...]


def sheet_parts(probe: Probe, look: Look, report: dict[str, Any], layers: list[NodePath],
                saliency: Saliency | None = None, filters: Filters | None = None,
                order: str = "index", channels: int | None = None) -> SheetParts:
    """What `dlbuilder inspect` puts on its sheet: `report` is its JSON (title, sample,
    weights); each of `layers` gets a panel of at most `channels` tiles (None: all)."""
    sample = report["sample"]
    title = f"{report['graph']} · {sample['name']}"
    if sample["label"] is not None:
        title += f" · true class {sample['label']}"
    lines = [report["weights_note"]]
    if look.probabilities is not None:
        lines.append("prediction: " + ",  ".join(f"{c} {p:.1%}" for c, p in look.top(3)))
    pictures = [(label, picture) for label, picture in (("input", look.picture),
                                                       ("reconstruction", look.reconstruction))
                if picture is not None]
    if saliency is not None:
        pictures += _saliency_pictures(probe, look, saliency)
        lines.append("saliency: dark = no effect on the score, bright = the most")
    filter_part = None
    if filters is not None:
        w = filters.weights
        filter_part = (f"Filters of {probe.text(filters.node)} ({probe.node_type(filters.node)}):"
                       f" {w.shape[0]} of {'x'.join(map(str, w.shape[1:]))}, weights "
                       f"{filters.low:+.3f} (black) .. {filters.high:+.3f} (white)",
                       filter_tiles(filters))
    maps = tuple(_panel(probe, look, path, order, channels) for path in layers)
    return SheetParts(title, tuple(lines), tuple(pictures), tuple(look.top(5)), filter_part,
                      maps)


def _saliency_pictures(probe: Probe, look: Look, saliency: Saliency
                       ) -> list[tuple[str, np.ndarray]]:
    """The input gradient and Grad-CAM, over the picture when there is one of their size."""
    def shown(values: np.ndarray) -> np.ndarray:
        picture = look.picture
        fits = picture is not None and picture.shape[:2] == values.shape
        return overlay(picture, values, 0.6) if fits else heat(values)

    name = probe.classes[saliency.class_index]
    out = [(f"input gradient · {name}", shown(saliency.gradient))]
    if saliency.cam is not None and saliency.cam_layer is not None:
        h, w = saliency.cam_raw.shape
        out.append((f"Grad-CAM · {probe.text(saliency.cam_layer)} ({h}x{w})",
                    shown(saliency.cam)))
    return out


def _panel(probe: Probe, look: Look, path: NodePath, order: str, channels: int | None
           ) -> MapsPanel:
    output = look.outputs[path]
    stats = output_stats(path, output)
    tiles = map_tiles(output, order)
    count = len(tiles.order)
    shown = count if channels is None else min(channels, count)
    shape = "x".join(str(n) for n in stats.shape)
    colours = " (black) .. " if tiles.bars is None else " .. "
    note = (f"{shape} · values {stats.low:+.3f}{colours}{stats.high:+.3f}"
            f"{' (white)' if tiles.bars is None else ''} · mean {stats.mean:+.3f} · "
            f"{stats.zero_share:.0%} zeros")
    if shown < count:
        note += f" · {'the strongest' if order == 'mean' else 'the first'} {shown} of {count} " \
                "channels"
    elif tiles.bars is None and order == "mean":
        note += " · strongest first"
    labels = look.classes if path == look.result and tiles.bars is not None else ()
    return MapsPanel(f"{probe.text(path)} · {probe.node_type(path)}", note, tiles, shown,
                     labels)


def write_sheet(parts: SheetParts, path: str | os.PathLike[str], theme_name: str = "light"
                ) -> tuple[int, int]:
    """Draw the sheet into a PNG; returns its (width, height). ValueError when it would be
    too tall for one image (choose one layer then); OSError when it cannot be written."""
    theme = THEMES[theme_name]
    height = _Sheet(parts, theme, None).draw()
    if height > MAX_SIDE:
        raise ValueError(f"the sheet would be {height} pixels tall, more than {MAX_SIDE}; "
                         "show one layer with --layer")
    image = QImage(WIDTH, height, QImage.Format.Format_RGB32)
    image.fill(QColor(theme.base))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        _Sheet(parts, theme, painter).draw()
    finally:
        painter.end()
    if not image.save(os.fspath(Path(path)), "PNG"):
        raise OSError(f"could not write {path}")
    return WIDTH, height


def _font(pixels: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


class _Sheet:
    """Lays the sheet out top to bottom; with no painter it only measures (the height)."""

    def __init__(self, parts: SheetParts, theme: Theme, painter: QPainter | None) -> None:
        self.parts = parts
        self.theme = theme
        self.painter = painter
        self.fonts = {"title": _font(20, True), "heading": _font(15, True), "text": _font(13),
                      "small": _font(11)}
        self.y = MARGIN

    def draw(self) -> int:
        parts = self.parts
        self.text(parts.title, "title")
        for line in parts.lines:
            self.text(line, "text", muted=True)
        self.y += GAP
        self.pictures_and_classes()
        if parts.filters is not None:
            self.filters(*parts.filters)
        for panel in parts.maps:
            self.maps(panel)
        return self.y + MARGIN

    # -- pieces ----------------------------------------------------------------------------
    def text(self, text: str, font: str, muted: bool = False, x: int = MARGIN) -> None:
        metrics = QFontMetrics(self.fonts[font])
        if self.painter is not None:
            self.painter.setFont(self.fonts[font])
            self.painter.setPen(QColor(self.theme.muted if muted else self.theme.text))
            self.painter.drawText(QRectF(x, self.y, WIDTH - x - MARGIN, metrics.height()),
                                  Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                  metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                                     WIDTH - x - MARGIN))
        self.y += metrics.height() + 2

    def label_at(self, text: str, x: float, y: float, width: float, font: str = "small",
                 center: bool = True) -> None:
        if self.painter is None:
            return
        metrics = QFontMetrics(self.fonts[font])
        self.painter.setFont(self.fonts[font])
        self.painter.setPen(QColor(self.theme.muted))
        align = Qt.AlignmentFlag.AlignHCenter if center else Qt.AlignmentFlag.AlignLeft
        self.painter.drawText(QRectF(x, y, width, metrics.height()),
                              align | Qt.AlignmentFlag.AlignTop,
                              metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(width)))

    def image(self, image: QImage, x: float, y: float) -> None:
        if self.painter is not None:
            self.painter.drawImage(int(x), int(y), image)

    def pictures_and_classes(self) -> None:
        """The labelled pictures in a row, the top classes' bars to their right."""
        small = QFontMetrics(self.fonts["small"]).height()
        x = MARGIN
        for label, picture in self.parts.pictures:
            image = to_qimage(picture, PICTURE)
            self.image(image, x, self.y)
            self.label_at(label, x - 8, self.y + image.height() + 4, image.width() + 16)
            x += max(image.width(), 120) + 2 * GAP
        height = PICTURE + small + 8 if self.parts.pictures else 0
        if self.parts.top:
            height = max(height, self.class_bars(x + GAP, self.y))
        self.y += height + 2 * GAP

    def class_bars(self, x: float, y: float) -> int:
        """Class name, a bar as long as its probability, the percentage; returns the height."""
        metrics = QFontMetrics(self.fonts["text"])
        row = metrics.height() + 6
        name_width = max(metrics.horizontalAdvance(c) for c, _ in self.parts.top) + 12
        bar_width = min(320, WIDTH - MARGIN - x - name_width - 70)
        for i, (name, p) in enumerate(self.parts.top):
            top = y + i * row
            self.label_at(name, x, top + 3, name_width - 8, "text", center=False)
            if self.painter is not None:
                self.painter.fillRect(QRectF(x + name_width, top + 4, bar_width, row - 8),
                                      QColor(self.theme.alt_base))
                self.painter.fillRect(QRectF(x + name_width, top + 4,
                                             max(1.0, bar_width * p), row - 8),
                                      QColor(self.theme.highlight))
            self.label_at(f"{p:.1%}", x + name_width + bar_width + 8, top + 3, 70, "text",
                          center=False)
        return row * len(self.parts.top)

    def filters(self, title: str, tiles: FilterTiles) -> None:
        """Colour filters in rows; a grey filter as its kernels side by side, one per input
        channel (at most MAX_FILTERS filters of MAX_INPUTS channels), filters apart."""
        pixels = tiles.pixels[:MAX_FILTERS]
        if not tiles.rgb:
            pixels = pixels[:, :MAX_INPUTS]
        cut = len(pixels) < len(tiles.pixels) or pixels.shape[1] < tiles.pixels.shape[1]
        shown = f" (the first {len(pixels)} filters"
        shown += f", {pixels.shape[1]} input channels)" if not tiles.rgb else ")"
        self.text(title + (shown if cut else ""), "heading")
        self.y += 4
        room = WIDTH - 2 * MARGIN
        kernel = pixels.shape[2] if not tiles.rgb else pixels.shape[1]
        if pixels.shape[1] == 1 and not tiles.rgb:  # one input channel: a tile a filter
            pixels = pixels[:, 0]
        if tiles.rgb or pixels.ndim == 3:
            factor = max(1, FILTER_SIDE // kernel)
            grid = mosaic(pixels, max(1, room // ((kernel + 1) * factor)), 1, _fill(self.theme))
        else:
            rows = np.stack([mosaic(filt, len(filt), 1, _fill(self.theme)) for filt in pixels])
            row_width = rows.shape[2] + 3
            factor = max(1, min(KERNEL_SIDE // kernel, room // row_width))
            grid = mosaic(rows, max(1, room // (row_width * factor)), 3, _fill(self.theme))
        h, w = grid.shape[:2]
        image = _qimage(grid).scaled(w * factor, h * factor,
                                     Qt.AspectRatioMode.IgnoreAspectRatio,
                                     Qt.TransformationMode.FastTransformation)
        self.image(image, MARGIN, self.y)
        self.y += image.height() + 2 * GAP

    def maps(self, panel: MapsPanel) -> None:
        self.text(panel.title, "heading")
        self.text(panel.note, "small", muted=True)
        self.y += 4
        if panel.tiles.bars is not None:
            self.bars(panel.tiles.bars, panel.labels)
        else:
            self.tiles(panel.tiles, panel.shown)
        self.y += GAP

    def tiles(self, tiles: Tiles, shown: int) -> None:
        """Channel maps in rows, each with its channel number under it."""
        h, w = tiles.pixels.shape[1:]
        side = _scaled(max(h, w), max(h, w))
        small = QFontMetrics(self.fonts["small"]).height()
        columns = max(1, (WIDTH - 2 * MARGIN + GAP) // (side + GAP))
        for i in range(shown):
            r, c = divmod(i, columns)
            x, y = MARGIN + c * (side + GAP), self.y + r * (side + small + GAP)
            if self.painter is not None:
                image = to_qimage(tiles.pixels[i], side)
                self.image(image, x, y)
            self.label_at(str(tiles.order[i]), x, y + side + 1, side)
        rows = -(-shown // columns)
        self.y += rows * (side + small + GAP)

    def bars(self, values: np.ndarray, labels: tuple[str, ...]) -> None:
        """A vector as bars up (positive) and down (negative) from a zero line."""
        width = WIDTH - 2 * MARGIN
        step = width / max(len(values), 1)
        middle = self.y + BARS_HEIGHT / 2
        if self.painter is not None:
            self.painter.fillRect(QRectF(MARGIN, self.y, width, BARS_HEIGHT),
                                  QColor(self.theme.alt_base))
            colour = QColor(self.theme.highlight)
            for i, v in enumerate(values):
                top = min(middle, middle - v * BARS_HEIGHT / 2)
                self.painter.fillRect(QRectF(MARGIN + i * step, top, max(step - 1, 1.0),
                                             max(abs(v) * BARS_HEIGHT / 2, 0.5)), colour)
            self.painter.fillRect(QRectF(MARGIN, middle, width, 1), QColor(self.theme.muted))
        self.y += BARS_HEIGHT + 2
        if labels and len(labels) == len(values):
            for i, label in enumerate(labels):
                self.label_at(label, MARGIN + i * step, self.y, step)
            self.y += QFontMetrics(self.fonts["small"]).height()


def _scaled(size: int, longest: int) -> int:
    """The side a map `longest` pixels long is drawn at: whole factors up to about MAP_SIDE,
    LARGE_SIDE for larger ones."""
    if longest > MAP_SIDE:
        return LARGE_SIDE * size // longest
    return size * max(1, MAP_SIDE // max(longest, 1))


def _fill(theme: Theme) -> int:
    """The grey of the gaps between tiles: the sheet's own background, darker or lighter."""
    return 235 if theme.name == "light" else 40


def _qimage(pixels: np.ndarray) -> QImage:
    pixels = np.ascontiguousarray(pixels)
    h, w = pixels.shape[:2]
    if pixels.ndim == 2:
        return QImage(pixels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(pixels.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()

