"""The main window's size and place on screen: the first window, and a restored one, fit the
screen's available geometry, so no panel, tab or status bar opens off-screen (a 1600x1000
window on a 1280x720 laptop hid the inspector and the status bar). Docks restored from a bigger
window are re-balanced so the canvas keeps a usable share (it was a strip 65 px tall)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

FIRST_SIZE = QSize(1600, 1000)
# What a window manager adds around the window (title bar, borders): kept free on screen.
FRAME_ALLOWANCE = QSize(16, 40)
# Less canvas than this is not usable: the docks around it are re-balanced.
MIN_CANVAS = QSize(300, 200)
SIDE_DOCK_SHARE = 0.2     # of the window's width, for each of the left and right docks
BOTTOM_DOCK_SHARE = 0.3   # of the window's height, for the bottom (and top) docks


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


def keep_canvas_room(window: QMainWindow) -> None:
    """Where the docks leave the central widget under MIN_CANVAS in a direction, size the
    docks across that direction to their shares of the window; the others are left alone."""
    central = window.centralWidget()
    if central is None:
        return
    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
    area = Qt.DockWidgetArea
    checks = ((central.height() < MIN_CANVAS.height(), (area.TopDockWidgetArea,
               area.BottomDockWidgetArea), window.height() * BOTTOM_DOCK_SHARE,
               Qt.Orientation.Vertical),
              (central.width() < MIN_CANVAS.width(), (area.LeftDockWidgetArea,
               area.RightDockWidgetArea), window.width() * SIDE_DOCK_SHARE,
               Qt.Orientation.Horizontal))
    for cramped, areas, size, orientation in checks:
        across = [d for d in docks if window.dockWidgetArea(d) in areas]
        if cramped and across:
            window.resizeDocks(across, [int(size)] * len(across), orientation)


class CanvasRoomKeeper(QObject):
    """Calls keep_canvas_room once, when `window` is first shown at its restored size."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(watched, QMainWindow):
            watched.removeEventFilter(self)
            keep_canvas_room(watched)
            self.deleteLater()
        return False
