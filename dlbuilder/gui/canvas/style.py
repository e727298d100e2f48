"""The canvas's measures, fonts and colours, made once and shared by every item.

Fonts and colours are built on first use (after the QApplication exists) and kept, so painting
never parses a colour or measures a font; a theme's paints are cached per theme.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPen, QStaticText
from PySide6.QtWidgets import QApplication

from dlbuilder.core.layout import GAP, NODE_SIZE
from dlbuilder.gui.look.theme import Theme

NODE_W, NODE_H = NODE_SIZE
GAP_X, GAP_Y = GAP
HEADER_H = 24
RADIUS = 8.0
PORT_R = 5.0
PORT_HIT = 12.0      # how close to a port a press or a drop must be (scene units)
BADGE_R = 8.0
GRID = 20            # snap step; the grid's minor lines
GRID_MAJOR = 100
PAD = 10.0           # text inset inside a card

# Zoom levels below which details are left out: text is unreadable there and costs time.
# Below LOD_TEXT a card shows low detail: its category's colour and its type name, large.
LOD_TEXT = 0.45
LOD_SHAPE = 0.22
FAR_NAME_PX = 48     # low detail: the largest type name (scene pixels); long names get less
FAR_SHAPE_TOP = 68   # low detail: where the output shape's line starts, under the name


@dataclass
class Fonts:
    header: QFont
    small: QFont
    shape: QFont
    label: QFont
    badge: QFont
    small_metrics: QFontMetricsF
    header_metrics: QFontMetricsF
    shape_metrics: QFontMetricsF
    label_metrics: QFontMetricsF


_fonts: Fonts | None = None


@dataclass(frozen=True)
class FarName:
    """A type name as low detail draws it: one or two `lines`, prepared in `font`, each
    `line_height` apart."""

    lines: tuple[QStaticText, ...]
    font: QFont
    line_height: float

    @property
    def height(self) -> float:
        return self.line_height * len(self.lines)


_far_names: dict[tuple[str, int], FarName] = {}


def far_name(type_name: str, band: int) -> FarName:
    """`type_name` in bold, as large as fits a card's width and `band` of its height
    (FAR_NAME_PX at most): on one line, or on two split where a word starts
    ("BatchNorm2d": "Batch", "Norm2d") when that makes it larger. Made once per type and band,
    so painting a zoomed-out network measures nothing."""
    cached = _far_names.get((type_name, band))
    if cached is not None:
        return cached
    base = QApplication.font()
    metrics = QFontMetricsF(_font(base, 100, True))
    room_x, room_y = NODE_SIZE[0] - 2 * PAD, band - PAD

    def size(lines: list[str]) -> int:
        wide = max(metrics.horizontalAdvance(line) for line in lines)
        tall = metrics.lineSpacing() * len(lines)
        return max(1, min(FAR_NAME_PX, int(100 * min(room_x / wide, room_y / tall))))

    splits = [[type_name]] + [[type_name[:i], type_name[i:]] for i in range(1, len(type_name))
                              if type_name[i].isupper() and not type_name[i - 1].isupper()]
    lines = max(splits, key=size)  # the first (fewest lines) of the largest
    font = _font(base, size(lines), True)
    made = FarName(tuple(_prepared(line, font) for line in lines), font,
                   QFontMetricsF(font).lineSpacing())
    _far_names[(type_name, band)] = made
    return made


def _prepared(text: str, font: QFont) -> QStaticText:
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    static.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
    static.prepare(font=font)
    return static


def _font(base: QFont, pixels: int, bold: bool = False) -> QFont:
    font = QFont(base)
    font.setPixelSize(pixels)
    font.setBold(bold)
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    return font


def fonts() -> Fonts:
    """The canvas fonts, in pixel sizes so a card looks the same on every screen."""
    global _fonts
    if _fonts is None:
        base = QApplication.font()
        header, small = _font(base, 12, True), _font(base, 11)
        shape, label = _font(base, 19, True), _font(base, 10)
        shape.setFeature(QFont.Tag("tnum"), 1)  # tabular digits where the font has them
        _fonts = Fonts(header, small, shape, label, _font(base, 11, True),
                       QFontMetricsF(small), QFontMetricsF(header), QFontMetricsF(shape),
                       QFontMetricsF(label))
    return _fonts


@dataclass
class Paints:
    """A theme's colours as ready-made Qt objects."""

    theme: Theme
    canvas: QColor
    card: QBrush
    border: QPen
    text: QColor
    muted: QColor
    header_text: QColor
    header_id: QColor
    wire: QColor
    wire_pen: QPen
    wire_hi_pen: QPen
    label_bg: QBrush
    label_border: QPen
    selection_pen: QPen
    error: QColor
    warning: QColor
    hint: QColor
    refused_pen: QPen
    port_pen: QPen
    categories: dict[str, QBrush]

    def header(self, category: str) -> QBrush:
        """A card header's brush: its category's colour (io's for an unknown type)."""
        return self.categories.get(category, self.categories["io"])


_paints: dict[int, Paints] = {}


def paints(theme: Theme) -> Paints:
    cached = _paints.get(id(theme))
    if cached is not None and cached.theme is theme:
        return cached
    wire = QColor(theme.wire)
    selection = QColor(theme.selection)
    header_id = QColor(theme.header_text)
    header_id.setAlphaF(0.78)
    label_border = QColor(theme.wire)
    label_border.setAlphaF(0.45)
    refused = QPen(QColor(theme.refused), 2.2, Qt.PenStyle.DashLine)
    refused.setCapStyle(Qt.PenCapStyle.RoundCap)
    result = Paints(
        theme=theme, canvas=QColor(theme.canvas), card=QBrush(QColor(theme.card)),
        border=QPen(QColor(theme.card_border), 1.0), text=QColor(theme.text),
        muted=QColor(theme.muted), header_text=QColor(theme.header_text), header_id=header_id,
        wire=wire, wire_pen=_round_pen(wire, 1.8), wire_hi_pen=_round_pen(selection, 2.6),
        label_bg=QBrush(QColor(theme.wire_label_bg)), label_border=QPen(label_border, 1.0),
        selection_pen=QPen(selection, 2.5), error=QColor(theme.error),
        warning=QColor(theme.warning), hint=QColor(theme.hint), refused_pen=refused,
        port_pen=QPen(wire, 1.5),
        categories={name: QBrush(QColor(value)) for name, value in theme.categories.items()},
    )
    _paints[id(theme)] = result
    return result


def _round_pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def snap(value: float, step: int = GRID) -> int:
    return int(round(value / step) * step)
