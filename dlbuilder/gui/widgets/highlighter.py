"""Python syntax colouring for the code panel, in the active theme's colours.

Generated code is short and regular (imports, one class, comments, calls with keyword
arguments), so a handful of regular expressions and one block state for triple-quoted strings
cover it; the colours follow the light or dark theme and change with it.
"""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from dlbuilder.gui.look.theme import Theme, current, theme_manager


@dataclass(frozen=True)
class SyntaxColors:
    keyword: str
    name: str        # the name after def / class
    builtin: str     # builtins, self, nn, torch
    string: str
    number: str
    comment: str
    decorator: str


# Chosen to keep at least 4.5:1 contrast on the theme's base colour (see theme.py).
SYNTAX = {
    "light": SyntaxColors(keyword="#a626a4", name="#2f5fb8", builtin="#986801",
                          string="#2e7d32", number="#b4541a", comment="#6a737d",
                          decorator="#7c4dbd"),
    "dark": SyntaxColors(keyword="#d291e4", name="#7fb4ff", builtin="#e5c07b",
                         string="#98c379", number="#f0a36b", comment="#8b949e",
                         decorator="#c8a2f0"),
}

_KEYWORDS = r"\b(?:" + "|".join(keyword.kwlist) + r")\b"
_BUILTINS = r"\b(?:" + "|".join(
    sorted(name for name in dir(builtins) if not name.startswith("_"))
    + ["self", "nn", "torch", "F"]) + r")\b"
_RULES: tuple[tuple[str, str], ...] = (
    ("keyword", _KEYWORDS),
    ("builtin", _BUILTINS),
    ("number", r"\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?)\b"),
    ("decorator", r"^\s*@[\w.]+"),
    ("name", r"(?<=\bdef\s)\w+|(?<=\bclass\s)\w+"),
)
# Strings and comments come last and win over everything inside them.
_STRING_OR_COMMENT = re.compile(
    r"""(?P<string>[rRbBfFuU]{0,2}(?:'(?:[^'\\\n]|\\.)*'?|"(?:[^"\\\n]|\\.)*"?))"""
    r"""|(?P<comment>\#.*)""")
_TRIPLE = ('"""', "'''")
_OUTSIDE, _IN_DOUBLE, _IN_SINGLE = 0, 1, 2


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, names, builtins, numbers, strings (including triple-quoted docstrings) and
    comments, recoloured when the theme changes."""

    def __init__(self, document: QTextDocument, parent: QObject | None = None) -> None:
        super().__init__(parent or document)
        self.setDocument(document)
        self._compiled = [(kind, re.compile(pattern)) for kind, pattern in _RULES]
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_theme(current())
        theme_manager().changed.connect(self._on_theme_changed)

    def set_theme(self, theme: Theme) -> None:
        """Build the character formats for `theme` (and redraw the text with them)."""
        colors = SYNTAX.get(theme.name, SYNTAX["light"])
        formats = {}
        for kind in ("keyword", "name", "builtin", "string", "number", "comment", "decorator"):
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(getattr(colors, kind)))
            if kind in ("keyword", "name"):
                fmt.setFontWeight(QFont.Weight.Bold)
            if kind == "comment":
                fmt.setFontItalic(True)
            formats[kind] = fmt
        self._formats = formats
        self.rehighlight()

    def _on_theme_changed(self, theme: Theme) -> None:
        self.set_theme(theme)

    def format_for(self, kind: str) -> QTextCharFormat:
        """The format used for `kind` ("keyword", "string", ...): tests and previews read it."""
        return self._formats[kind]

    def highlightBlock(self, text: str) -> None:  # Qt override
        start = self._continue_triple(text)
        if start < 0:
            return
        for kind, pattern in self._compiled:
            for match in pattern.finditer(text, start):
                self.setFormat(match.start(), match.end() - match.start(), self._formats[kind])
        self._strings_and_comments(text, start)

    def _continue_triple(self, text: str) -> int:
        """Colour the rest of a docstring begun on an earlier line; where normal text resumes,
        or -1 when the whole line is inside it."""
        state = self.previousBlockState()
        if state not in (_IN_DOUBLE, _IN_SINGLE):
            self.setCurrentBlockState(_OUTSIDE)
            return 0
        quote = _TRIPLE[state - 1]
        end = text.find(quote)
        if end < 0:
            self.setFormat(0, len(text), self._formats["string"])
            self.setCurrentBlockState(state)
            return -1
        self.setFormat(0, end + 3, self._formats["string"])
        self.setCurrentBlockState(_OUTSIDE)
        return end + 3

    def _strings_and_comments(self, text: str, start: int) -> None:
        pos = start
        while pos < len(text):
            triple = min(((text.find(q, pos), q) for q in _TRIPLE if text.find(q, pos) >= 0),
                         default=None)
            match = _STRING_OR_COMMENT.search(text, pos)
            if triple is not None and (match is None or triple[0] <= match.start()):
                begin, quote = triple
                end = text.find(quote, begin + 3)
                if end < 0:  # the string goes on to the next lines
                    self.setFormat(begin, len(text) - begin, self._formats["string"])
                    self.setCurrentBlockState(_IN_DOUBLE if quote == '"""' else _IN_SINGLE)
                    return
                self.setFormat(begin, end + 3 - begin, self._formats["string"])
                pos = end + 3
                continue
            if match is None:
                return
            kind = "string" if match.group("string") else "comment"
            self.setFormat(match.start(), match.end() - match.start(), self._formats[kind])
            pos = match.end()
