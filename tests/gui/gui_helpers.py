"""Gestures for GUI tests: a synthesized palette drop, scene-to-viewport points."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from dlbuilder.gui.canvas import CanvasView


def drag_events(view: CanvasView, mime: QMimeData, at: QPoint) -> list[bool]:
    """Enter, move and drop `mime` at viewport point `at`; whether each event was accepted."""
    action, button = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton
    modifier = Qt.KeyboardModifier.NoModifier
    accepted = []
    for event in (QDragEnterEvent(at, action, mime, button, modifier),
                  QDragMoveEvent(at, action, mime, button, modifier),
                  QDropEvent(QPointF(at), action, mime, button, modifier)):
        QApplication.sendEvent(view.viewport(), event)
        accepted.append(event.isAccepted())
    return accepted


def viewport_point(view: CanvasView, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)
