"""What a card shows of a node's fine-tuning options: a padlock at its bottom right and a
faint hatching over its body when it is frozen, else `lr ×0.1` there when its learning rate
is scaled. Drawn in the theme's muted colour, so it reads on both themes without shouting:
the lock as tall as the count line's text, the hatching set apart from other cards at a
glance (a dimmed card would read as disabled, a coloured one as a problem)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QStaticText

from dlbuilder.core.tuning import TrainOptions
from dlbuilder.gui.canvas.style import NODE_H, NODE_W, PAD, Paints, fonts

LOCK_W = 12.0
_BASELINE = NODE_H - 19.0  # the card's count line
HATCH_ALPHA = {"light card": 0.3, "dark card": 0.16}  # of the muted colour: seen, not loud


def _lock_paths() -> tuple[QPainterPath, QPainterPath]:
    """The padlock's body (filled) and shackle (stroked), in card coordinates: 12 x 15 at
    the count line's height."""
    left, top = NODE_W - PAD - LOCK_W, NODE_H - 21.0
    body = QPainterPath()
    body.addRoundedRect(QRectF(left, top + 6.5, LOCK_W, 8.5), 1.8, 1.8)
    shackle = QPainterPath()
    shackle.moveTo(left + 2.5, top + 7)
    shackle.lineTo(left + 2.5, top + 4.5)
    shackle.arcTo(QRectF(left + 2.5, top + 0.8, LOCK_W - 5, 7.5), 180, -180)
    shackle.lineTo(left + LOCK_W - 2.5, top + 7)
    return body, shackle


LOCK_BODY, LOCK_SHACKLE = _lock_paths()


def rate_text(options: TrainOptions) -> tuple[QStaticText, QPointF] | None:
    """The prepared `lr ×0.1` of a card whose learning rate is scaled (not when frozen)."""
    if options.frozen or options.lr_scale == 1.0:
        return None
    f = fonts()
    text = f"lr \u00d7{options.lr_scale:g}"
    static = QStaticText(text)
    static.setTextFormat(Qt.TextFormat.PlainText)
    static.prepare(font=f.small)
    return static, QPointF(NODE_W - PAD - f.small_metrics.horizontalAdvance(text), _BASELINE)


def frozen_hatch(p: Paints) -> QBrush:
    """The faint diagonal hatching over a frozen card's body, in the theme's muted colour."""
    colour = QColor(p.muted)
    light = p.card.color().lightnessF() > 0.5
    colour.setAlphaF(HATCH_ALPHA["light card" if light else "dark card"])
    return QBrush(colour, Qt.BrushStyle.BDiagPattern)


def paint_frozen_body(painter: QPainter, p: Paints, outline: QPainterPath) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(frozen_hatch(p))
    painter.drawPath(outline)


def paint_tuning(painter: QPainter, p: Paints, options: TrainOptions,
                 rate: tuple[QStaticText, QPointF] | None) -> None:
    if options.frozen:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(p.muted)
        painter.drawPath(LOCK_BODY)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(p.muted, 2.0))
        painter.drawPath(LOCK_SHACKLE)
    elif rate is not None:
        painter.setFont(fonts().small)
        painter.setPen(p.muted)
        painter.drawStaticText(rate[1], rate[0])
