"""The main window's size and place on screen: the first window, and a restored one, fit the
screen's available geometry, so no panel, tab or status bar opens off-screen (a 1600x1000
window on a 1280x720 laptop hid the inspector and the status bar)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

FIRST_SIZE = QSize(1600, 1000)
# What a window manager adds around the window (title bar, borders): kept free on screen.
FRAME_ALLOWANCE = QSize(16, 40)


def available_area(window: QWidget) -> QRect | None:
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else None


def fit_to_screen(window: QWidget, centre: bool = False) -> None:
    """Shrink `window` to its screen's available area (less a frame) and move it inside;
    `centre` places it in the middle (a first window), else as near its place as fits."""
    area = available_area(window)
    if area is None or window.isMaximized() or window.isFullScreen():
        return
    room = area.size() - FRAME_ALLOWANCE
    size = window.size().boundedTo(room).expandedTo(window.minimumSize())
    window.resize(size)
    outer = size + FRAME_ALLOWANCE
    if centre:
        top_left = area.topLeft() + QPoint((area.width() - outer.width()) // 2,
                                           (area.height() - outer.height()) // 2)
    else:
        top_left = window.pos()
    x = min(max(top_left.x(), area.left()), area.right() + 1 - outer.width())
    y = min(max(top_left.y(), area.top()), area.bottom() + 1 - outer.height())
    window.move(max(x, area.left()), max(y, area.top()))
