"""The status bar's totals: parameters, mult-adds and problems of the whole graph."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from dlbuilder.core.changes import Change
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.text import totals_problems


def short_count(n: int) -> str:
    """1,234 -> 1.2 K; 3,400,000 -> 3.4 M: for mult-adds in the status bar."""
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)


class StatusWidget(QWidget):
    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.params_label = QLabel()
        self.params_label.setToolTip("Trainable parameters of the whole graph")
        self.macs_label = QLabel()
        self.macs_label.setToolTip("Multiply-adds for one sample (as torchinfo counts them)")
        self.problems_label = QLabel()
        self.problems_label.setToolTip("Errors and warnings; see the Problems tab")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(18)
        for label in (self.params_label, self.macs_label, self.problems_label):
            layout.addWidget(label)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        doc.changed.connect(self._on_doc_changed)
        theme_manager().changed.connect(self.refresh)
        self.refresh()

    def _on_doc_changed(self, change: Change) -> None:
        if change.inferred:
            self._timer.start()

    def refresh(self, *_args: object) -> None:
        totals = self.doc.engine.totals()
        self.params_label.setText(f"{totals.params:,} params")
        self.macs_label.setText(f"{short_count(totals.macs)} mult-adds")
        text, color = totals_problems(not len(self.doc.graph), totals.errors, totals.warnings,
                                      current())
        self.problems_label.setText(text)
        style = f"color: {color}; font-weight: 600;"
        if self.problems_label.styleSheet() != style:  # a new style sheet re-polishes: slow
            self.problems_label.setStyleSheet(style)
