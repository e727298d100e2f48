"""The bar above the canvas that says which block's inside is shown and leads back.

`resnet18 > layer1 (Stage) > 0 (BasicBlock)`: the graph, then each instance opened with the
block it places. Each crumb but the last is a button that goes back to that level; the bar
shows only while a block is open (at the top level there is nowhere to go back to).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from dlbuilder.core.changes import Change
from dlbuilder.gui.document import Document
from dlbuilder.gui.scope import Scope


class BreadcrumbWidget(QWidget):
    """The trail of opened blocks, for `doc`."""

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.setObjectName("breadcrumb")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 3, 8, 3)
        self._layout.setSpacing(2)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._shown: list[str] = []
        doc.scope_changed.connect(self._on_doc_scope_changed)
        doc.changed.connect(self._on_doc_changed)
        self.rebuild()

    def _on_doc_scope_changed(self, _scope: Scope) -> None:
        self.rebuild()

    def _on_doc_changed(self, change: Change) -> None:
        if (change.replaced or change.blocks) and self.crumbs() != self._shown:
            self.rebuild()  # another graph, or a block renamed

    def crumbs(self) -> list[str]:
        """The crumbs' texts, top level first (for tests and tools)."""
        scope = self.doc.scope
        return [self.doc.graph.name, *(f"{c.node} ({c.block})" for c in scope.trail)]

    def rebuild(self) -> None:
        while self._layout.count():
            widget = self._layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        scope = self.doc.scope
        self._shown = self.crumbs()
        self.setVisible(bool(scope.trail))
        if not scope.trail:
            return
        up = QToolButton()
        up.setText("\u2191 Up")
        up.setToolTip("Back to the graph that holds this block (Esc, Alt+Up)")
        up.setAutoRaise(True)
        up.clicked.connect(lambda: self.doc.leave())
        self._layout.addWidget(up)
        texts = self.crumbs()
        for depth, text in enumerate(texts):
            if depth:
                self._layout.addWidget(QLabel(" \u203a "))
            if depth == len(texts) - 1:  # where we are: words, not a button
                here = QLabel(f"<b>{html.escape(text)}</b>")
                here.setToolTip("The block shown, with the shapes of this instance")
                self._layout.addWidget(here)
                continue
            button = QToolButton()
            button.setObjectName(f"crumb_{depth}")
            button.setText(text)
            button.setAutoRaise(True)
            button.setToolTip(f"Back to {text}")
            button.clicked.connect(lambda _=False, d=depth: self.doc.leave(d))
            self._layout.addWidget(button)
        hint = QLabel("  shapes are this instance's; edits change every instance of the block")
        hint.setEnabled(False)
        self._layout.addWidget(hint, 1, Qt.AlignmentFlag.AlignLeft)
