"""How counts, problems and numbers read, said once for every room that shows them: the
problems tab, the summary's totals and the status bar count problems alike; the summary and
the runs table set their numbers in the same font; the canvas and the training tab write
"1 layer", "12 images" with the same function."""

from __future__ import annotations

from PySide6.QtGui import QFont, QGuiApplication

from dlbuilder.gui.look.theme import Theme

NO_PROBLEMS = "No problems: every layer fits."
EMPTY_GRAPH = "empty graph: add an Input (Tab or the Layers palette)"


def plural(count: int, noun: str) -> str:
    """"1 image", "12 images", "1,024 layers" (noun given in the plural)."""
    return f"{count:,} {noun[:-1] if count == 1 and noun.endswith('s') else noun}"


def problems_text(errors: int, warnings: int, none: str = NO_PROBLEMS) -> str:
    """"2 errors, 1 warning"; `none` (the friendly line) when there are none."""
    if not errors and not warnings:
        return none
    parts = []
    if errors:
        parts.append(plural(errors, "errors"))
    if warnings:
        parts.append(plural(warnings, "warnings"))
    return ", ".join(parts)


def totals_problems(empty: bool, errors: int, warnings: int, theme: Theme) -> tuple[str, str]:
    """The problem count of the status bar and the totals line, and its colour. An empty graph
    gets a calm hint instead: its "no Input" error (which still blocks training) is no mistake
    of the user's yet."""
    if empty:
        return EMPTY_GRAPH, theme.muted
    color = theme.error if errors else theme.warning if warnings else theme.muted
    return problems_text(errors, warnings, none="no problems"), color


def number_font() -> QFont:
    """The UI font with tabular (equal-width) digits, so numbers line up in columns."""
    font = QFont(QGuiApplication.font())
    font.setFeature(QFont.Tag.fromString("tnum"), 1)
    return font
