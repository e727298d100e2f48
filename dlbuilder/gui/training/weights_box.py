"""The Training tab's weights: the line that says what the next run starts from, and the
Load weights… / Start fresh / Save weights… / Export code with weights… buttons.

Starting weights chosen for a graph that has a file are the graph's: they go into its
`training.init_weights` as one undo step (the file becomes modified, and reopening it, or
`dlbuilder train` on it, starts from them again). A graph without a file keeps the choice
for this session, as a run's weights picked in the Runs tab do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from dlbuilder.backend.settings import weights_reference
from dlbuilder.core.commands import SetTraining
from dlbuilder.core.tuning import frozen_layers
from dlbuilder.gui.look.theme import current
from dlbuilder.gui.training.weights_files import WeightsChoice

if TYPE_CHECKING:
    from dlbuilder.gui.training.panel import TrainingPanel

INIT_WEIGHTS = "init_weights"


class WeightsBox(QObject):
    """Works on the panel's weights widgets and its document; says what happened through
    the panel's message line."""

    def __init__(self, panel: TrainingPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.doc = panel.doc
        self.choice = WeightsChoice()
        panel.load_weights_button.clicked.connect(self._on_load_clicked)
        panel.clear_weights_button.clicked.connect(self._on_clear_clicked)
        panel.save_weights_button.clicked.connect(self._on_save_clicked)
        panel.export_button.clicked.connect(self._on_export_clicked)

    def reset(self) -> None:
        """Another graph: nothing of the last one's weights holds."""
        self.choice = WeightsChoice()
        self.follow()

    def follow(self) -> None:
        """Read the graph's own starting weights (after an edit, an undo, a save elsewhere)."""
        self.choice.follow(self.doc.graph.training, self.doc.path)

    def show(self, running: bool) -> None:
        """The buttons as `running` allows, and the line under them."""
        panel, choice = self.panel, self.choice
        choice.forget_missing()
        panel.load_weights_button.setEnabled(not running)
        panel.save_weights_button.setEnabled(choice.trained is not None and not running)
        panel.export_button.setEnabled(choice.trained is not None and not running)
        panel.clear_weights_button.setEnabled(
            not running and (choice.start is not None or choice.named is not None))
        text, warns = choice.describe(frozen_layers(self.doc.engine))
        panel.weights_label.setText(text)
        theme = current()
        panel.weights_label.setStyleSheet(f"color: {theme.warning};" if warns else "")

    def use(self, path: Path, label: str, graph: dict[str, Any] | None = None) -> None:
        """Start the next run from `path` for this session (named `label` to the user)."""
        self.choice.use(path, label, graph)
        self.panel.refresh_weights()

    def name_for_graph(self, path: Path | None) -> None:
        name_starting_weights(self.doc, path, self.doc.path)

    def _on_load_clicked(self) -> None:
        from dlbuilder.gui.training.weights_files import ask_weights_file

        path = ask_weights_file(self.panel, self.doc.path)
        if path is None:
            return
        if self.doc.path is None:  # no file to keep the choice in: this session's
            self.use(path, path.name)
            return
        self.choice.trained, self.choice.trained_from = path, path.name  # on offer, as ever
        self.choice.trained_graph = None
        self.name_for_graph(path)
        self.panel.refresh_weights()

    def _on_clear_clicked(self) -> None:
        self.choice.initial, self.choice.initial_from = None, ""
        self.name_for_graph(None)
        self.panel.refresh_weights()

    def _on_save_clicked(self) -> None:
        from dlbuilder.gui.training.weights_files import save_weights_dialog

        text = save_weights_dialog(self.panel, self.choice, self.doc, self.panel.settings)
        if text:
            self.panel.say(text)

    def _on_export_clicked(self) -> None:
        from dlbuilder.gui.training.weights_files import export_with_weights_dialog

        text = export_with_weights_dialog(self.panel, self.choice, self.doc,
                                          self.panel.settings)
        if text:
            self.panel.say(text)


def name_starting_weights(doc: Any, weights: Path | None, graph_file: Path) -> None:
    """Make `weights` the graph's starting weights, named from `graph_file`'s folder (None:
    new random weights), as one undo step that marks the file modified. The Training tab's
    Load weights… / Start fresh and the save of an imported graph both name them so."""
    training = dict(doc.graph.training)
    if weights is None:
        training.pop(INIT_WEIGHTS, None)
        text = "Start from new random weights"
    else:
        training[INIT_WEIGHTS] = weights_reference(weights, graph_file)
        text = f"Start from the weights of {weights.name}"
    if training != doc.graph.training:
        doc.push(SetTraining(training, text))
