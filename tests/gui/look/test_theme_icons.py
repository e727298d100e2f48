"""Disabled toolbar buttons look disabled in both themes (issue 19: in the dark theme Undo,
Redo, Pause and Stop looked enabled while the menu showed them disabled)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QImage
from PySide6.QtWidgets import QApplication, QToolBar

from dlbuilder.gui.look.icons import icon
from dlbuilder.gui.look.theme import THEMES, theme_manager


def ink(image: QImage, background: QColor) -> float:
    """How far the most visible pixel is from the background (0..1, by RGB distance)."""
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    far = 0.0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            alpha = c.alphaF()
            mixed = [alpha * a + (1 - alpha) * b for a, b in (
                (c.redF(), background.redF()), (c.greenF(), background.greenF()),
                (c.blueF(), background.blueF()))]
            far = max(far, max(abs(m - b) for m, b in zip(mixed, (
                background.redF(), background.greenF(), background.blueF()), strict=True)))
    return far


@pytest.fixture(params=["light", "dark"])
def theme(request):
    theme_manager().apply(request.param)
    yield THEMES[request.param]
    theme_manager().apply("light")


def test_disabled_toolbar_buttons_are_faint_next_to_enabled_ones(make_window, theme):
    window = make_window()
    undo = window.undo_action
    assert not undo.isEnabled()
    toolbar = window.findChild(QToolBar, "toolbar_main")
    button = toolbar.widgetForAction(undo)
    background = QColor(theme.window)
    disabled = ink(button.grab().toImage(), background)
    window.doc.add_layer("ReLU", 0, 0)
    QApplication.processEvents()
    assert undo.isEnabled()
    enabled = ink(button.grab().toImage(), background)
    assert disabled < 0.55 * enabled, (disabled, enabled)
    stop = toolbar.widgetForAction(window.actions["stop"])
    assert not stop.isEnabled()
    assert ink(stop.grab().toImage(), background) < 0.55 * enabled


def test_icons_follow_the_theme_in_every_mode(theme):
    background = QColor(theme.window)
    normal = ink(icon("undo").pixmap(24, QIcon.Mode.Normal).toImage(), background)
    disabled = ink(icon("undo").pixmap(24, QIcon.Mode.Disabled).toImage(), background)
    assert normal > 0.3  # an enabled icon reads clearly on the window
    assert disabled < 0.55 * normal


def test_an_icon_is_rendered_once_per_theme_size_and_mode(qtbot, monkeypatch) -> None:
    """Toolbars and the palette repaint on hover and scroll: the SVG is drawn once for each
    theme, size and mode, and a theme switch still gets its own colour."""
    from dlbuilder.gui.look import icons
    from dlbuilder.gui.look.icons import ThemedSvgEngine
    from dlbuilder.gui.look.theme import theme_manager

    engine = ThemedSvgEngine((icons.icons_dir() / "save.svg").read_bytes())
    drawn = []
    real = icons._drawn
    monkeypatch.setattr(icons, "_drawn", lambda *a: drawn.append(a) or real(*a))
    normal, disabled = QIcon.Mode.Normal, QIcon.Mode.Disabled
    first = engine.scaledPixmap(QSize(24, 24), normal, QIcon.State.Off, 1.0)
    engine.scaledPixmap(QSize(24, 24), normal, QIcon.State.Off, 1.0)
    engine.scaledPixmap(QSize(24, 24), disabled, QIcon.State.Off, 1.0)
    engine.scaledPixmap(QSize(24, 24), disabled, QIcon.State.Off, 1.0)
    assert len(drawn) == 2
    manager = theme_manager()
    manager.apply("dark" if manager.theme.name != "dark" else "light")
    try:
        other = engine.scaledPixmap(QSize(24, 24), normal, QIcon.State.Off, 1.0)
        assert len(drawn) == 3 and other.toImage() != first.toImage()
    finally:
        manager.apply("light")
