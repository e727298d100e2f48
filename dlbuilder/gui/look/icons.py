"""The application's icons: one family of SVGs in resources/icons, loaded once and cached.

The SVGs draw their lines in one neutral grey (theme.ICON_INK). Each icon is painted by
`ThemedSvgEngine` in the active theme's icon colour, and a disabled one (a toolbar button whose
action is off) faintly in that colour, so it reads as disabled on the light and the dark
palette alike; Qt's own disabled pixmap brightened the grey on the dark one, so Undo looked
enabled. Painting reads the theme each time, so a theme switch needs only a repaint.

Asking for a name that does not exist is a programming error, so it raises KeyError listing the
known names (a test walks the code for every name used), rather than showing a blank button.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from dlbuilder.gui.look.theme import DISABLED_ICON_OPACITY, ICON_INK, Theme, current
from dlbuilder.resources import resources_dir

APP_ICON = "dlbuilder"


def icons_dir() -> Path:
    return resources_dir() / "icons"


@cache
def icon_names() -> tuple[str, ...]:
    """Every icon shipped, by file stem ("save", "category-convolution", ...)."""
    return tuple(sorted(p.stem for p in icons_dir().glob("*.svg")))


class ThemedSvgEngine(QIconEngine):
    """One SVG drawn in the current theme's icon colour; faint when disabled."""

    def __init__(self, svg: bytes) -> None:
        super().__init__()
        self.svg = svg
        self._renderers: dict[str, QSvgRenderer] = {}
        # drawn pixmaps by theme, size, scale and faintness: a toolbar or palette repaints
        # often (hover, scroll), and an SVG need not be rendered again for that
        self._pixmaps: dict[tuple[str, int, int, float, bool], QPixmap] = {}

    def _renderer(self, theme: Theme) -> QSvgRenderer:
        renderer = self._renderers.get(theme.name)
        if renderer is None:
            text = self.svg.replace(ICON_INK.encode(), theme.icon.encode())
            renderer = self._renderers[theme.name] = QSvgRenderer(QByteArray(text))
        return renderer

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        # the SVG renderer sets its own opacity, so a faint icon is drawn, then faded
        scale = painter.device().devicePixelRatioF() if painter.device() else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State,  # Qt override
                     scale: float) -> QPixmap:
        theme, faint = current(), mode == QIcon.Mode.Disabled
        key = (theme.name, size.width(), size.height(), scale, faint)
        image = self._pixmaps.get(key)
        if image is None:
            image = self._pixmaps[key] = self._faded(_drawn(self._renderer(theme), size * scale),
                                                     faint)
            image.setDevicePixelRatio(scale)
        return image

    @staticmethod
    def _faded(image: QPixmap, faint: bool) -> QPixmap:
        if faint:
            faded = QPixmap(image.size())
            faded.fill(Qt.GlobalColor.transparent)
            painter = QPainter(faded)
            painter.setOpacity(DISABLED_ICON_OPACITY)
            painter.drawPixmap(0, 0, image)
            painter.end()
            image = faded
        return image

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        return QSize(size)

    def isNull(self) -> bool:
        return not self._renderer(current()).isValid()

    def clone(self) -> QIconEngine:
        return ThemedSvgEngine(self.svg)


def _drawn(renderer: QSvgRenderer, size: QSize) -> QPixmap:
    image = QPixmap(size)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(QPoint(0, 0), size))
    painter.end()
    return image


@cache
def icon(name: str) -> QIcon:
    """The icon `name` (a file stem in resources/icons); KeyError for an unknown name."""
    path = icons_dir() / f"{name}.svg"
    if name not in icon_names() or not path.is_file():
        raise KeyError(f"no icon {name!r}; known icons: {', '.join(icon_names())}")
    return QIcon(ThemedSvgEngine(path.read_bytes()))


def category_icon(category: str) -> QIcon:
    """The coloured square of a layer category (registry.CATEGORIES)."""
    return icon(f"category-{category}")


def app_icon() -> QIcon:
    return icon(APP_ICON)


def severity_icon(severity: str) -> QIcon:
    """The icon of a problem's severity; "pending" (a layer that waits for a wire) is calm,
    and a "hint" (advice) calmer still."""
    return icon({"error": "error", "pending": "info", "hint": "hint"}.get(severity, "warning"))
