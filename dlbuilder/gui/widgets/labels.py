"""Labels the panels share: text that wraps to the panel's width, and a section's title."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

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
