"""Training health on the canvas: a small badge over a card's top-right corner.

A healthy layer shows its most telling figure quietly (a ReLU's dead share, a weighted layer's
gradient norm) or a neutral dot; a layer the run flags shows the word in the theme's warning
colour ("vanishing", "dead 62%"). A block instance's card shows the worst of its layers.
Hovering the badge lists every figure of the last epoch measured. The figures and the flags are
backend/health.py's; this module only draws them.

The badge is a child item of the card (`NodeItem.health`), so it has its own tooltip and cache
and the card's painting is left as it was. It hangs above the card's top edge, left of the
problem badge, so it covers none of the card's text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from dlbuilder.backend.health import FIGURE_NAMES, flag_rules, flag_words, worst
from dlbuilder.gui.canvas import style
from dlbuilder.gui.canvas.style import BADGE_R, NODE_W, fonts, paints

if TYPE_CHECKING:
    from dlbuilder.gui.canvas.node_item import NodeItem

Layers = list[dict[str, Any]]
HEIGHT = 13.0
RIGHT = NODE_W - 2 * BADGE_R  # the badge's right edge: clear of the problem badge
BOTTOM = 1.0  # just over the card's top edge (y = 0): above the header's text
DOT_R = 3.0


def card_layers(by_node: dict[str, Layers], scope_path: tuple[str, ...], node: str) -> Layers:
    """The measured layers a card at `scope_path` (the instances opened, outermost first)
    stands for: at the top level a node's own (an instance's: all inside it); inside an opened
    block those of the instance's first run, the run the canvas shows."""
    if not scope_path:
        return by_node.get(node, [])
    prefix: tuple[str | int, ...] = ()
    for instance in scope_path:
        prefix += (instance, 0)
    prefix += (node,)
    return [layer for layer in by_node.get(scope_path[0], [])
            if tuple(layer["path"][:len(prefix)]) == prefix]


def _number(value: float) -> str:
    return f"{value:.2g}"


def badge_text(layers: Layers) -> tuple[str, bool]:
    """What the badge says and whether it warns: the worst flag, else the figure most telling
    for a single layer (a ReLU's dead share, a weighted layer's gradient norm), else nothing
    (a neutral dot)."""
    bad = worst(layers)
    if bad is not None:
        return flag_words(bad).split(", ")[0], True
    if len(layers) == 1:
        layer = layers[0]
        if layer.get("dead_share") is not None:
            return f"dead {layer['dead_share']:.0%}", False
        if layer.get("grad_norm") is not None:
            return f"\u2207 {_number(layer['grad_norm'])}", False
    return "", False


def figures_line(layer: dict[str, Any]) -> str:
    """One layer's figures in a line: 'conv1 (Conv2d): gradient norm 0.12 · ...'."""
    shown = []
    for key, name in FIGURE_NAMES.items():
        value = layer.get(key)
        if value is None:
            continue
        shown.append(f"{name} {value:.0%}" if key == "dead_share" else f"{name} {_number(value)}")
    text = f"{layer['node']} ({layer['type']}): " + (" · ".join(shown) or "nothing measured")
    words = flag_words(layer)
    return text + (f"  \u26a0 {words}" if words else "")


def tooltip(layers: Layers, epoch: int | None) -> str:
    when = f"epoch {epoch}" if epoch is not None else "the last epoch"
    lines = [f"Training health, {when}:"] + [figures_line(layer) for layer in layers]
    if any(layer.get("flags") for layer in layers):
        lines.append("")
        lines.append(flag_rules())
    return "\n".join(lines)


class HealthBadgeItem(QGraphicsItem):
    """The badge of one card: its text prepared once, its size from the text."""

    def __init__(self, card: NodeItem) -> None:
        super().__init__(card)
        self.text = ""
        self.warns = False
        self._rect = QRectF()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks go to the card
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def show_layers(self, layers: Layers, epoch: int | None) -> None:
        text, warns = badge_text(layers)
        if text != self.text or warns != self.warns or self._rect.isNull():
            self.prepareGeometryChange()
            self.text, self.warns = text, warns
            width = fonts().label_metrics.horizontalAdvance(text) + 10 if text else 2 * DOT_R + 4
            self._rect = QRectF(RIGHT - width, BOTTOM - HEIGHT, width, HEIGHT)
            self.update()
        self.setToolTip(tooltip(layers, epoch))

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        p = paints(self.scene().theme())
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if not self.text:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(p.muted)
            painter.drawEllipse(QPointF(self._rect.center()), DOT_R, DOT_R)
            return
        fill = p.warning if self.warns else p.card.color()
        painter.setPen(QPen(p.warning if self.warns else p.muted, 1.0))
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, HEIGHT / 2, HEIGHT / 2)
        if lod < style.LOD_TEXT:
            return
        painter.setFont(fonts().label)
        painter.setPen(_on(fill) if self.warns else p.muted)
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


def _on(fill: QColor) -> QColor:
    """Black or white, whichever contrasts more with `fill` (WCAG's relative luminance)."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    luminance = (0.2126 * linear(fill.redF()) + 0.7152 * linear(fill.greenF())
                 + 0.0722 * linear(fill.blueF()))
    black, white = (luminance + 0.05) / 0.05, 1.05 / (luminance + 0.05)
    return QColor("#000000") if black >= white else QColor("#ffffff")


def show_health(cards: dict[str, NodeItem], by_node: dict[str, Layers],
                scope_path: tuple[str, ...], epoch: int | None) -> None:
    """Give every card its badge (or none, where nothing was measured for it)."""
    for node, card in cards.items():
        layers = card_layers(by_node, scope_path, node)
        if not layers:
            if card.health is not None:
                card.health.setParentItem(None)
                if card.health.scene() is not None:
                    card.health.scene().removeItem(card.health)
                card.health = None
            continue
        if card.health is None:
            card.health = HealthBadgeItem(card)
        card.health.show_layers(layers, epoch)
