"""The icon set: every SVG is valid and drawn on the 24-unit grid; every name the code asks
for exists; unknown names fail loudly with the list of known ones."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtSvg import QSvgRenderer

import dlbuilder
from dlbuilder.core.registry import CATEGORIES
from dlbuilder.gui.look.icons import category_icon, icon, icon_names, icons_dir
from dlbuilder.gui.widgets import fields

PACKAGE = Path(dlbuilder.__file__).resolve().parent  # every module that may ask for an icon
CALL = re.compile(r"\b(?:icon|_try_icon|_icon|severity_icon)\(\s*[\"']([\w-]+)[\"']")
ACTION_ICONS = ("new", "open", "save", "save-as", "undo", "redo", "cut", "copy", "paste",
                "duplicate", "delete", "zoom-in", "zoom-out", "fit", "layout", "rename",
                "search", "theme", "fix", "error", "warning", "info", "code", "export",
                "summary", "problems", "palette", "inspector", "train", "example")


def names_used_in_code() -> set[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        names.update(CALL.findall(path.read_text(encoding="utf-8")))
    names.update(fields.LOCK_ICONS)
    try:
        from dlbuilder.gui.window.actions import SPECS
    except ImportError:  # the actions module is optional for this check
        SPECS = ()
    names.update(spec.icon for spec in SPECS if getattr(spec, "icon", None))
    return names


@pytest.mark.parametrize("path", sorted(icons_dir().glob("*.svg")), ids=lambda p: p.stem)
def test_every_svg_parses(path: Path) -> None:
    assert QSvgRenderer(str(path)).isValid()
    root = ET.parse(path).getroot()
    if path.stem != "dlbuilder":  # the app icon has its own 64-unit canvas
        assert root.get("viewBox") == "0 0 24 24"


def test_the_set_is_complete() -> None:
    missing = set(ACTION_ICONS) - set(icon_names())
    assert not missing
    for category in CATEGORIES:
        assert not category_icon(category).isNull()


def test_every_name_the_code_uses_exists() -> None:
    used = names_used_in_code()
    assert {"link", "fix", "search"} <= used
    assert not used - set(icon_names())


def test_icons_are_cached_and_unknown_names_raise() -> None:
    assert icon("save") is icon("save")
    with pytest.raises(KeyError, match="known icons: .*save"):
        icon("no-such-icon")
