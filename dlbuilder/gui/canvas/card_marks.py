"""What a card shows of a node's fine-tuning options: a small padlock at its bottom right
when it is frozen, else `lr ×0.1` there when its learning rate is scaled. Drawn in the
theme's muted colour, so it reads on both themes without shouting."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen, QStaticText

from dlbuilder.core.tuning import TrainOptions
from dlbuilder.gui.canvas.style import NODE_H, NODE_W, PAD, Paints, fonts

LOCK_W = 10.0
_BASELINE = NODE_H - 19.0  # the card's count line


def _lock_paths() -> tuple[QPainterPath, QPainterPath]:
    """The padlock's body (filled) and shackle (stroked), in card coordinates."""
    left, top = NODE_W - PAD - LOCK_W, NODE_H - 18.0
    body = QPainterPath()
    body.addRoundedRect(QRectF(left, top + 5, LOCK_W, 7), 1.5, 1.5)
    shackle = QPainterPath()
    shackle.moveTo(left + 2, top + 5.5)
    shackle.lineTo(left + 2, top + 3.5)
    shackle.arcTo(QRectF(left + 2, top, LOCK_W - 4, 7), 180, -180)
    shackle.lineTo(left + LOCK_W - 2, top + 5.5)
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


def paint_tuning(painter: QPainter, p: Paints, options: TrainOptions,
                 rate: tuple[QStaticText, QPointF] | None) -> None:
    if options.frozen:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(p.muted)
        painter.drawPath(LOCK_BODY)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(p.muted, 1.6))
        painter.drawPath(LOCK_SHACKLE)
    elif rate is not None:
        painter.setFont(fonts().small)
        painter.setPen(p.muted)
        painter.drawStaticText(rate[1], rate[0])
