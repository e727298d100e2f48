"""Light and dark palettes of our own on Qt's Fusion style, and the canvas colours of each.

`THEMES` holds both; `theme_manager` knows which one is active and tells views when it changes
(items read `current()` when they paint, so a switch is one repaint).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEME_NAMES = ("system", "light", "dark")
ICON_INK = "#6b7280"        # the neutral line colour every SVG in resources/icons is drawn in
DISABLED_ICON_OPACITY = 0.35  # a disabled icon: the theme's icon colour, this faint


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str           # secondary text: ids, parameter counts, hints
    button: str
    highlight: str
    canvas: str
    grid_minor: str
    grid_major: str
    card: str            # node body
    card_border: str
    wire: str
    wire_label_bg: str
    selection: str
    error: str
    warning: str
    refused: str         # a wire being dragged to a port that would refuse it
    categories: dict[str, str]  # header colour per registry category
    header_text: str = "#ffffff"
    success: str = "#2e7d32"  # good news (data fits the graph): calm, not alarming
    icon: str = "#6b7280"     # the line colour of the icons (drawn in ICON_INK in the SVGs)
    disabled: str = "#a3a9b3"  # text of disabled controls; disabled icons fade to match
    hint: str = "#1f7f8f"      # advice (a design hint): calm, apart from warning and error

    def color(self, name: str) -> QColor:
        return QColor(getattr(self, name))


LIGHT = Theme(
    name="light", window="#f3f4f6", base="#ffffff", alt_base="#f6f7f9", text="#1f2328",
    muted="#5c6370", button="#eceef1", highlight="#2f6fde",
    canvas="#fafbfc", grid_minor="#eceef2", grid_major="#dcdfe5",
    card="#ffffff", card_border="#c4c9d2", wire="#7b8494", wire_label_bg="#fafbfc",
    selection="#2f6fde", error="#d1242f", warning="#c77700", refused="#d1242f",
    success="#2e7d32", icon="#5c6370", disabled="#a3a9b3", hint="#1f7f8f",
    categories={
        "io": "#4b5563", "convolution": "#2563b0", "pooling": "#0f8a8a",
        "normalization": "#7c4dbd", "dense": "#b4541a", "activation": "#2e7d32",
        "merge": "#b02a6b", "block": "#8a6714",
    },
)

DARK = Theme(
    name="dark", window="#1e2127", base="#16181d", alt_base="#22262d", text="#e6e8eb",
    muted="#9aa3af", button="#2a2f37", highlight="#4c8dff",
    canvas="#191b20", grid_minor="#22252b", grid_major="#2c3038",
    card="#262a31", card_border="#3c424c", wire="#8c96a5", wire_label_bg="#191b20",
    selection="#4c8dff", error="#ff5c5c", warning="#f0a020", refused="#ff5c5c",
    success="#6cc070", icon="#b4bcc8", disabled="#5d6470", hint="#5cb8c8",
    categories={
        "io": "#5b6573", "convolution": "#2f6fc4", "pooling": "#13898a",
        "normalization": "#8257c4", "dense": "#b85c20", "activation": "#2f8a3a",
        "merge": "#b83a78", "block": "#a07a1c",
    },
)

THEMES = {"light": LIGHT, "dark": DARK}


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)  # Qt >= 6.5
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def make_palette(theme: Theme) -> QPalette:
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window, QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base, QPalette.ColorRole.AlternateBase: theme.alt_base,
        QPalette.ColorRole.Text: theme.text, QPalette.ColorRole.Button: theme.button,
        QPalette.ColorRole.ButtonText: theme.text, QPalette.ColorRole.ToolTipBase: theme.base,
        QPalette.ColorRole.ToolTipText: theme.text, QPalette.ColorRole.Highlight: theme.highlight,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: theme.muted, QPalette.ColorRole.Link: theme.highlight,
        QPalette.ColorRole.BrightText: theme.error,
    }
    for role, value in roles.items():
        pal.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Light, QPalette.ColorRole.Midlight):
        pal.setColor(role, QColor(theme.card_border).lighter(130))
    pal.setColor(QPalette.ColorRole.Mid, QColor(theme.card_border))
    pal.setColor(QPalette.ColorRole.Dark, QColor(theme.card_border).darker(130))
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText, QPalette.ColorRole.PlaceholderText):
        pal.setColor(disabled, role, QColor(theme.disabled))
    pal.setColor(disabled, QPalette.ColorRole.Light, QColor(theme.window))  # no etched shadow
    return pal


class ThemeManager(QObject):
    """The active theme; `changed` tells every view to repaint with it."""

    changed = Signal(object)  # the new Theme

    def __init__(self) -> None:
        super().__init__()
        self.choice = "system"
        self.theme = LIGHT

    def apply(self, choice: str = "system") -> Theme:
        """Set the app's style and palette: "light", "dark" or "system" (the OS preference)."""
        if choice not in THEME_NAMES:
            raise ValueError(f"unknown theme {choice!r}; use one of {', '.join(THEME_NAMES)}")
        self.choice = choice
        if choice == "system":
            choice = "dark" if system_prefers_dark() else "light"
        self.theme = THEMES[choice]
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setStyle("Fusion")
            app.setPalette(make_palette(self.theme))
        self.changed.emit(self.theme)
        return self.theme


_manager: ThemeManager | None = None


def theme_manager() -> ThemeManager:
    global _manager
    if _manager is None:
        _manager = ThemeManager()
    return _manager


def current() -> Theme:
    return theme_manager().theme
