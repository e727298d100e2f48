"""Labels the panels share: text that wraps to the panel's width, a section's title, and a
line read out many times a second."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent, QStaticText
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from dlbuilder.gui.look.theme import Theme, current


def wrapped_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    policy.setHeightForWidth(True)  # as tall as its lines at the width it gets, no taller
    label.setSizePolicy(policy)
    return label


def section_style(theme: Theme) -> str:
    return f"color: {theme.muted}; font-weight: 600;"


def section_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setContentsMargins(0, 6, 0, 0)
    label.setObjectName("sectionLabel")
    label.setStyleSheet(section_style(current()))
    return label


class ReadoutLabel(QWidget):
    """One line of text that changes often (a value read out as it changes, many times a
    second): unlike a QLabel, a new text never asks the layout for room (which would lay out
    every panel up to the window), it only repaints the line; longer text is cut at the
    edge. Rich text (<b>) as a QLabel takes it."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._static = QStaticText()
        self._static.setTextFormat(Qt.TextFormat.AutoText)
        self._static.setTextWidth(100_000)  # one line: rich text would wrap at a page width
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:  # QLabel's name, for its callers
        if text != self._static.text():
            self._static.setText(text)
            self.update()

    def text(self) -> str:
        return self._static.text()

    def sizeHint(self) -> QSize:
        return QSize(120, QFontMetrics(self.font()).height() + 2)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.setClipRect(self.rect())
        painter.drawStaticText(0, 1, self._static)
        painter.end()
