"""The inspector's fine-tuning fields for the selected layers or block instances: "Frozen"
and "Learning-rate ×". With several selected they apply to all of them, as one undo step;
a mixed selection shows a partly checked box and the first one's factor."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.blocks import BLOCK
from dlbuilder.core.changes import Change
from dlbuilder.core.tuning import node_options, set_train
from dlbuilder.gui.canvas.tuning_edits import freeze_command, tunable
from dlbuilder.gui.document import Document
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.widgets.labels import section_label, wrapped_label

TITLE = "Fine-tuning"
FROZEN_TIP = ("A frozen layer keeps its weights while the rest trains: no gradient, left out "
              "of the optimizer, and its BatchNorm keeps its running statistics")
RATE_TIP = ("This layer learns at the run's learning rate times this factor (1: the run's "
            "own rate); inside a block, the instance's factor multiplies its layers'")
MIN_SCALE, MAX_SCALE = 0.0001, 1000.0


class TuningBox(QWidget):
    """Frozen and the learning-rate factor of `nodes`, in the graph the canvas shows."""

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.nodes: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(section_label(TITLE))
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.frozen_check = QCheckBox("Frozen")
        self.frozen_check.setToolTip(FROZEN_TIP)
        self.frozen_check.clicked.connect(self._on_frozen_check_clicked)
        form.addRow(self.frozen_check)
        self.rate_spin = QDoubleSpinBox()
        self.rate_spin.setRange(MIN_SCALE, MAX_SCALE)
        self.rate_spin.setDecimals(4)
        self.rate_spin.setSingleStep(0.1)
        self.rate_spin.setKeyboardTracking(False)
        self.rate_spin.setToolTip(RATE_TIP)
        self.rate_spin.valueChanged.connect(self._on_rate_spin_value_changed)
        rate_label = QLabel("Learning-rate \u00d7")
        rate_label.setToolTip(RATE_TIP)
        rate_label.setBuddy(self.rate_spin)
        form.addRow(rate_label, self.rate_spin)
        layout.addLayout(form)
        self.note_label = wrapped_label()
        layout.addWidget(self.note_label)
        self._restyle(current())
        doc.changed.connect(self._on_doc_changed)
        theme_manager().changed.connect(self._restyle)
        self.setVisible(False)

    def show_nodes(self, nodes: tuple[str, ...] | list[str]) -> None:
        """Show the options of those of `nodes` that can train (hidden when none can)."""
        self.nodes = tunable(self.doc, nodes)
        self.setVisible(bool(self.nodes))
        self.refresh()

    def refresh(self) -> None:
        graph = self.doc.scope.graph
        self.nodes = [n for n in self.nodes if n in graph]
        if not self.nodes:
            self.setVisible(False)
            return
        options = [node_options(graph, n) for n in self.nodes]
        frozen = {o.frozen for o in options}
        self.frozen_check.blockSignals(True)
        self.rate_spin.blockSignals(True)
        try:
            if len(frozen) > 1:
                self.frozen_check.setCheckState(Qt.CheckState.PartiallyChecked)
            else:
                self.frozen_check.setTristate(False)
                self.frozen_check.setChecked(frozen.pop())
            self.rate_spin.setValue(options[0].lr_scale)
            self.rate_spin.setEnabled(not all(o.frozen for o in options))
        finally:
            self.frozen_check.blockSignals(False)
            self.rate_spin.blockSignals(False)
        self.note_label.setText(self._note())
        self.setEnabled(not self.doc.read_only_reason)

    def _note(self) -> str:
        """What these options mean here: in a block definition, for every instance; on an
        instance, for everything inside it."""
        graph, block = self.doc.scope.graph, self.doc.scope.block
        words = []
        if len(self.nodes) > 1:
            words.append(f"Applies to the {len(self.nodes)} selected layers with weights.")
        if block is not None:
            words.append(f"Set inside block {block}: it holds in every instance of {block}.")
        if any(graph.type_of(n) == BLOCK for n in self.nodes):
            words.append("Freezing a block instance freezes every layer inside it; its "
                         "factor multiplies those of its layers.")
        return " ".join(words)

    # -- handlers ------------------------------------------------------------------------------
    def _on_frozen_check_clicked(self, checked: bool) -> None:
        command = freeze_command(self.doc, self.nodes, checked)
        if command is None or not self.doc.push(command):
            self.refresh()

    def _on_rate_spin_value_changed(self, value: float) -> None:
        if not self.nodes:
            return
        scale = round(value, 4)
        changes: dict[str, Any] = {"lr_scale": None if scale == 1.0 else scale}
        graph = self.doc.scope.graph
        if all(graph.train(n).get("lr_scale", 1.0) == scale for n in self.nodes):
            return
        if not self.doc.push(set_train(self.nodes, changes)):
            self.refresh()

    def _on_doc_changed(self, change: Change) -> None:
        if change.replaced or set(self.nodes) & (change.tuned | set(change.nodes_removed)):
            self.refresh()

    def _restyle(self, theme: Theme) -> None:
        self.note_label.setStyleSheet(f"color: {theme.muted};")
