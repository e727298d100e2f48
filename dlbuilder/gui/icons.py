"""The application's icons: one family of SVGs in resources/icons, loaded once and cached.

Asking for a name that does not exist is a programming error, so it raises KeyError listing the
known names (a test walks the code for every name used), rather than showing a blank button.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

from dlbuilder.resources import resources_dir

APP_ICON = "dlbuilder"


def icons_dir() -> Path:
    return resources_dir() / "icons"


@cache
def icon_names() -> tuple[str, ...]:
    """Every icon shipped, by file stem ("save", "category-convolution", ...)."""
    return tuple(sorted(p.stem for p in icons_dir().glob("*.svg")))


@cache
def icon(name: str) -> QIcon:
    """The icon `name` (a file stem in resources/icons); KeyError for an unknown name."""
    path = icons_dir() / f"{name}.svg"
    if name not in icon_names() or not path.is_file():
        raise KeyError(f"no icon {name!r}; known icons: {', '.join(icon_names())}")
    return QIcon(str(path))


def category_icon(category: str) -> QIcon:
    """The coloured square of a layer category (registry.CATEGORIES)."""
    return icon(f"category-{category}")


def app_icon() -> QIcon:
    return icon(APP_ICON)
