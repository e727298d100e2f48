"""The inspector's "Solve for a size" box: type the output size wanted (14x14, or 14), see
the settings that give it as buttons (one click, one undo step), or why none does and the
nearest sizes. The card's right-click menu ("Solve for Size...") brings the user here."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from dlbuilder.core.changes import Change
from dlbuilder.core.registry import format_shape
from dlbuilder.core.solve import (
    Proposal,
    Solution,
    SolveError,
    can_solve,
    parse_size,
    proposal_command,
    solve_size,
    spatial_axes,
)
from dlbuilder.core.solve_check import WholeFileCheck
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.icons import icon
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.widgets.labels import section_label, wrapped_label
from dlbuilder.gui.widgets.wrap_button import WrapButton

TITLE = "Solve for a size"
FIELD_TIP = ("The output size you want, like 14x14 (height x width) or 14 for both: the "
             "settings of this layer, or of a layer before it, that give it are listed")


class SolveBox(QWidget):
    """Solves for the output size of one node of the graph the canvas shows."""

    answered = Signal()  # an answer is shown (the inspector scrolls it into view)

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.node: str | None = None
        self.solution: Solution | None = None
        self._buttons: list[WrapButton] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(section_label(TITLE))
        row = QHBoxLayout()
        self.size_edit = QLineEdit()
        self.size_edit.setPlaceholderText("want size, e.g. 14x14")
        self.size_edit.setToolTip(FIELD_TIP)
        self.size_edit.setClearButtonEnabled(True)
        self.size_edit.returnPressed.connect(self._on_size_edit_return_pressed)
        self.solve_button = QPushButton("Solve")
        self.solve_button.setToolTip(FIELD_TIP)
        self.solve_button.clicked.connect(self._on_solve_button_clicked)
        row.addWidget(self.size_edit, 1)
        row.addWidget(self.solve_button)
        layout.addLayout(row)
        self.message_label = wrapped_label()
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message_label)
        self.buttons_layout = QVBoxLayout()
        self.buttons_layout.setSpacing(4)
        layout.addLayout(self.buttons_layout)
        self._restyle(current())
        doc.changed.connect(self._on_doc_changed)
        theme_manager().changed.connect(self._restyle)
        self.setVisible(False)

    def show_node(self, node: str | None) -> None:
        """Solve for `node` (hidden when it has no image output); what was typed stays."""
        if node != self.node:
            self.solution = None
            self.size_edit.clear()
        self.node = node
        self.setVisible(node is not None and can_solve(self.doc.scope.engine, node))
        self._show()

    def ask(self) -> None:
        """Put the cursor in the size field (the card menu's "Solve for Size...")."""
        self.size_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.size_edit.selectAll()

    def solve(self, text: str) -> Solution | None:
        """Solve for the size `text` and show the answer (a bad text is said inline)."""
        self.size_edit.setText(text)
        self.solution = None
        node = self.node
        if node is None or not text.strip():
            self._show()
            return None
        engine = self.doc.scope.engine
        try:
            target = parse_size(text, spatial_axes(engine, node))
            check = WholeFileCheck(self.doc.graph, self.doc.registry, self.doc.scope.block)
            self.solution = solve_size(engine, node, target, check=check)
        except SolveError as err:
            self._show(str(err))
            return None
        self._show()
        self.answered.emit()
        return self.solution

    def proposal_buttons(self) -> list[WrapButton]:
        return list(self._buttons)

    # -- showing -----------------------------------------------------------------------------
    def _show(self, problem: str = "") -> None:
        for button in self._buttons:
            self.buttons_layout.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        solution = self.solution
        self.message_label.setText(problem or self._words(solution))
        self.message_label.setVisible(bool(self.message_label.text()))
        if solution is None:
            return
        for proposal in solution.proposals or solution.nearest:
            self._add_button(proposal)

    def _words(self, solution: Solution | None) -> str:
        if solution is None:
            return ""
        want = "x".join(str(v) for v in solution.target)
        if solution.already:
            return f"It gives {want} already."
        left_out = (f" ({len(solution.broken)} other settings give it but break the graph "
                    "elsewhere.)" if solution.broken else "")
        if solution.proposals:
            return f"For {want}, fewest changes first:{left_out}"
        nearest = " The nearest sizes:" if solution.nearest else ""
        reason = solution.reason
        if reason.split(" ", 1)[0] not in self.doc.scope.graph:  # a node id keeps its case
            reason = reason[:1].upper() + reason[1:]
        return reason + nearest

    def _add_button(self, proposal: Proposal) -> None:
        text = f"{proposal.label} \u2192 {format_shape(proposal.shape)}"
        button = WrapButton(icon("fix"), text)
        button.setToolTip(f"Apply: {proposal.label} (one undo step)")
        button.setEnabled(not self.doc.read_only_reason)
        button.clicked.connect(partial(self._on_proposal_clicked, proposal))
        self.buttons_layout.addWidget(button)
        self._buttons.append(button)

    # -- handlers ------------------------------------------------------------------------------
    def _on_size_edit_return_pressed(self) -> None:
        self.solve(self.size_edit.text())

    def _on_solve_button_clicked(self) -> None:
        self.solve(self.size_edit.text())

    def _on_proposal_clicked(self, proposal: Proposal) -> None:
        self.doc.push(proposal_command(proposal))

    def _on_doc_changed(self, change: Change) -> None:
        """The answer follows the graph: solved again after any edit that re-inferred."""
        if self.node is None or not self.isVisible() and not change.replaced:
            return
        if change.replaced or self.node not in self.doc.scope.graph:
            self.show_node(None)
        elif change.inferred and self.solution is not None:
            self.solve(self.size_edit.text())

    def _restyle(self, theme: Theme) -> None:
        self.message_label.setStyleSheet(f"color: {theme.muted};")
