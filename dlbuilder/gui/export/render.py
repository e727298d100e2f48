"""A picture of a whole graph, drawn offscreen without a window: PNG or SVG by file extension.

The same cards and wires as the canvas (same items, same paint code), on the theme's canvas
colour without the grid, so a figure for a report matches what the editor shows.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication

from dlbuilder.core.fileformat import graph_from_dict, graph_to_dict
from dlbuilder.core.graph import Graph
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import THEMES

FORMATS = (".png", ".svg")
if TYPE_CHECKING:
    from dlbuilder.gui.canvas.scene import GraphScene

_MARGIN = 24.0
_MAX_SIDE = 32_000  # pixels: QPainter's limit on one side of an image

_app: QApplication | None = None


def render_graph(doc_or_graph: Document | Graph, out_path: str | os.PathLike[str],
                 theme_name: str = "light", scale: float = 2.0) -> Path:
    """Draw every node and wire of the top-level graph into `out_path` (.png at `scale`
    pixels per scene unit, or .svg), also while the document shows a block's inside; returns
    the path. ValueError for another extension, theme or a bad scale."""
    path = Path(out_path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot render to {path.name!r}: the file name must end in .png "
                         "(a picture) or .svg (a vector drawing)")
    if theme_name not in THEMES:
        raise ValueError(f"unknown theme {theme_name!r}; use one of {', '.join(THEMES)}")
    if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    _ensure_app()
    from dlbuilder.gui.canvas.scene import GraphScene  # needs the QApplication

    doc = doc_or_graph if isinstance(doc_or_graph, Document) else _document_for(doc_or_graph)
    if doc.scope.block is not None:  # the canvas is inside a block: draw the whole network
        doc = _document_for(doc.graph)
    theme = THEMES[theme_name]
    scene = GraphScene(doc, theme=theme)
    try:
        for item in scene.nodes.values():  # draw, not blit: real text in an SVG
            item.setCacheMode(item.CacheMode.NoCache)
        scene.blockSignals(True)  # unselect for the picture without touching the document
        scene.clearSelection()
        scene.blockSignals(False)
        source = scene.itemsBoundingRect().adjusted(-_MARGIN, -_MARGIN, _MARGIN, _MARGIN)
        if suffix == ".png":
            _write_png(scene, source, path, QColor(theme.canvas), scale)
        else:
            _write_svg(scene, source, path, QColor(theme.canvas), doc.graph.name)
    finally:
        scene.detach()
        scene.clear()
        scene.deleteLater()
        if doc is not doc_or_graph:
            doc.engine.close()
    return path


def _document_for(graph: Graph) -> Document:
    """A document over a copy of `graph`, so rendering never subscribes to the caller's."""
    from dlbuilder.layers import REGISTRY

    return Document(graph_from_dict(graph_to_dict(graph), REGISTRY))


def _ensure_app() -> None:
    global _app
    if QApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no window: no display needed
        _app = QApplication([])


def _write_png(scene: GraphScene, source: QRectF, path: Path, background: QColor,
               scale: float) -> None:
    width, height = math.ceil(source.width() * scale), math.ceil(source.height() * scale)
    if max(width, height) > _MAX_SIDE:
        raise ValueError(f"the picture would be {width}x{height} pixels, more than "
                         f"{_MAX_SIDE} on a side; use a smaller scale or SVG")
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.setDotsPerMeterX(round(3780 * scale))
    image.setDotsPerMeterY(round(3780 * scale))
    image.fill(background)
    painter = QPainter(image)
    try:
        _hints(painter)
        scene.render(painter, QRectF(0, 0, width, height), source)
    finally:
        painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")


def _write_svg(scene: GraphScene, source: QRectF, path: Path, background: QColor,
               title: str) -> None:
    from PySide6.QtSvg import QSvgGenerator

    generator = QSvgGenerator()
    generator.setFileName(str(path))
    size = QSize(math.ceil(source.width()), math.ceil(source.height()))
    generator.setSize(size)
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setTitle(title)
    generator.setDescription("drawn by dlbuilder")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path}")
    try:
        _hints(painter)
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), background)
        scene.render(painter, QRectF(0, 0, size.width(), size.height()), source)
    finally:
        painter.end()
    if not path.exists():
        raise OSError(f"could not write {path}")


def _hints(painter: QPainter) -> None:
    painter.setRenderHints(QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing)
