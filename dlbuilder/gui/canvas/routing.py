"""The path a wire takes from an output port to an input port.

A wire to a node further right is a smooth S curve when nothing stands in its way. When cards
stand between the two ports (a residual shortcut alongside its block's main path), it runs in
the first free lane beside them, turning in the gaps next to its two ends. A wire that goes back
to the left (the next row of a wrapped layout) drops into the space below its source's row and
comes in from the left. Corners are rounded, so every wire reads as one smooth line.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath

from dlbuilder.gui.canvas.style import GAP_Y, NODE_H

LANE = NODE_H + GAP_Y  # a layout lane's pitch

Obstacles = Callable[[QRectF], list[QRectF]]  # the cards (other than the two ends) in a rect

_STEP_OUT = 20.0     # how far a routed wire leaves a port before turning
_CLEARANCE = 16.0    # between a routed wire and a card it passes
_CORNER = 12.0
_MAX_TRIES = 12
_LANE_STEP = 9.0     # between wires that wrap to the next row from different lanes


def wire_path(start: QPointF, end: QPointF, src_rect: QRectF, dst_rect: QRectF,
              obstacles: Obstacles) -> QPainterPath:
    """The wire's path in scene coordinates."""
    if end.x() - start.x() >= 2 * _STEP_OUT:
        corridor = QRectF(start, end).normalized().adjusted(1, -4, -1, 4)
        if not obstacles(corridor):
            return _s_curve(start, end)
        return _rounded(_forward_route(start, end, obstacles))
    return _rounded(_backward_route(start, end, src_rect, dst_rect, obstacles))


def _s_curve(start: QPointF, end: QPointF) -> QPainterPath:
    reach = max((end.x() - start.x()) * 0.5, 30.0)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(end.x() - reach, end.y()), end)
    return path


def _forward_route(start: QPointF, end: QPointF, obstacles: Obstacles) -> list[QPointF]:
    xa, xb = start.x() + _STEP_OUT, end.x() - _STEP_OUT
    lane = None
    if _lane_free(xa, xb, start.y(), obstacles) and _vertical_free(xb, start.y(), end.y(),
                                                                   obstacles):
        lane = start.y()
    elif _lane_free(xa, xb, end.y(), obstacles) and _vertical_free(xa, start.y(), end.y(),
                                                                   obstacles):
        lane = end.y()
    else:
        lane = _free_lane(xa, xb, max(start.y(), end.y()), obstacles)
    return [start, QPointF(xa, start.y()), QPointF(xa, lane), QPointF(xb, lane),
            QPointF(xb, end.y()), end]


def _backward_route(start: QPointF, end: QPointF, src_rect: QRectF, dst_rect: QRectF,
                    obstacles: Obstacles) -> list[QPointF]:
    xa, xb = start.x() + _STEP_OUT, end.x() - _STEP_OUT
    # The next row: run just above it, clear of the shortcuts under the row before; wires
    # from different lanes of the row before take different heights, so they stay apart.
    above = max(int((dst_rect.top() - src_rect.bottom() - 2 * GAP_Y) // LANE), 0)
    lane = dst_rect.top() - 1.5 * _CLEARANCE - _LANE_STEP * (above % 3)
    if dst_rect.top() <= src_rect.bottom() or not _lane_free(xb, xa, lane, obstacles):
        lane = _free_lane(xb, xa, max(src_rect.bottom(), dst_rect.bottom()) + _CLEARANCE,
                          obstacles)
    return [start, QPointF(xa, start.y()), QPointF(xa, lane), QPointF(xb, lane),
            QPointF(xb, end.y()), end]


def _lane_free(x1: float, x2: float, y: float, obstacles: Obstacles) -> bool:
    left, right = min(x1, x2), max(x1, x2)
    return not obstacles(QRectF(left, y - _CLEARANCE / 2, right - left, _CLEARANCE))


def _vertical_free(x: float, y1: float, y2: float, obstacles: Obstacles) -> bool:
    top, bottom = min(y1, y2), max(y1, y2)
    return not obstacles(QRectF(x - 2, top, 4, bottom - top))


def _free_lane(x1: float, x2: float, y: float, obstacles: Obstacles) -> float:
    """The first height at or below `y` where a horizontal run from x1 to x2 meets no card."""
    left, right = min(x1, x2), max(x1, x2)
    for _ in range(_MAX_TRIES):
        band = QRectF(left, y - _CLEARANCE, right - left, 2 * _CLEARANCE)
        blocking = obstacles(band)
        if not blocking:
            return y
        y = max(r.bottom() for r in blocking) + _CLEARANCE + 1
    return y


def _rounded(points: list[QPointF]) -> QPainterPath:
    """A polyline of horizontal and vertical runs with rounded corners."""
    pts = [points[0]]
    for point in points[1:]:
        if (point - pts[-1]).manhattanLength() > 0.5:
            pts.append(point)
    path = QPainterPath(pts[0])
    for i in range(1, len(pts) - 1):
        before, corner, after = pts[i - 1], pts[i], pts[i + 1]
        r_in = min(_CORNER, _length(corner - before) / 2)
        r_out = min(_CORNER, _length(after - corner) / 2)
        path.lineTo(_towards(corner, before, r_in))
        path.quadTo(corner, _towards(corner, after, r_out))
    path.lineTo(pts[-1])
    return path


def _length(v: QPointF) -> float:
    return (v.x() ** 2 + v.y() ** 2) ** 0.5


def _towards(a: QPointF, b: QPointF, distance: float) -> QPointF:
    """The point `distance` from a towards b."""
    d = _length(b - a)
    if d == 0:
        return QPointF(a)
    return a + (b - a) * (distance / d)
