"""The Training tab's widgets and their layout: the data and settings column with Start, Pause,
Stop and the weights buttons; the progress header over the Curves, Health, Results and Runs
tabs."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.gui.training.data_panel import DataPanel
from dlbuilder.gui.training.health_view import HealthWidget
from dlbuilder.gui.training.plots import COMPARE_HINT, CurvesWidget
from dlbuilder.gui.training.progress import ProgressHeaderWidget
from dlbuilder.gui.training.results import ResultsPanel
from dlbuilder.gui.training.runs_panel import RunsPanel
from dlbuilder.gui.training.settings_form import SettingsForm


class RunsSplitWidget(QSplitter):
    """The runs table beside the compared curves where both fit side by side, above them
    where not: squeezed side by side, the table hid its accuracy columns and the curves'
    controls were cut ("Smoothin", "Log lo")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setChildrenCollapsible(False)

    def side_by_side_width(self) -> int:
        """The least width that shows both whole, side by side."""
        widgets = [self.widget(i) for i in range(self.count())]
        return sum(w.minimumSizeHint().width() for w in widgets) + self.handleWidth()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        wide = event.size().width() >= self.side_by_side_width()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if orientation != self.orientation():
            self.setOrientation(orientation)
            length = event.size().width() if wide else event.size().height()
            self.setSizes([length * 2 // 5, length - length * 2 // 5])
        super().resizeEvent(event)


def setup_ui(panel: Any) -> None:
    """Make the panel's widgets as attributes of `panel` and lay them out (in the manner
    of Qt Designer's setupUi), so that the panel's own module holds only what they do."""
    panel.data_panel = DataPanel(folders=panel.data_folders)
    panel.form = SettingsForm()
    panel.start_button = QPushButton("Start")
    panel.pause_button = QPushButton("Pause")
    panel.stop_button = QPushButton("Stop")
    panel.start_button.setToolTip("Train the graph on the chosen data with these settings")
    panel.pause_button.setToolTip("Pause after this batch; press again to resume")
    panel.stop_button.setToolTip("Stop after this batch; the best weights so far are kept")
    panel.params_label = QLabel()
    panel.params_label.setWordWrap(True)
    panel.params_label.setToolTip("The parameters the next run trains; frozen layers (a lock "
                                  "on their card) keep theirs")
    panel.problems_label = QLabel()
    panel.problems_label.setWordWrap(True)
    panel.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    panel.message_label = QLabel()
    panel.message_label.setWordWrap(True)
    panel.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    for label in (panel.problems_label, panel.message_label):
        label.hide()  # shown while they have something to say
    panel.weights_label = QLabel()
    panel.weights_label.setWordWrap(True)
    panel.load_weights_button = QPushButton("Load weights…")
    panel.save_weights_button = QPushButton("Save weights…")
    panel.export_button = QPushButton("Export code with weights…")
    panel.clear_weights_button = QPushButton("Start fresh")
    panel.load_weights_button.setToolTip(
        "Start the next run from weights saved earlier (a .pt state_dict)")
    panel.save_weights_button.setToolTip(
        "Save the last run's best weights as a .pt file (and its preprocessing as .pt.json)")
    panel.export_button.setToolTip(
        "Write the graph as a PyTorch class (.py) with the trained weights beside it (.pt)")
    panel.clear_weights_button.setToolTip("The next run starts from new random weights")

    left = QWidget()
    column = QVBoxLayout(left)
    column.setContentsMargins(4, 4, 4, 4)
    column.addWidget(panel.data_panel)
    column.addWidget(panel.form)
    column.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(left)
    scroll.setMinimumWidth(280)

    buttons = QHBoxLayout()
    for button in (panel.start_button, panel.pause_button, panel.stop_button):
        buttons.addWidget(button)
    weights = QGridLayout()  # two by two: the column stays narrow beside the curves
    for index, button in enumerate((panel.load_weights_button, panel.clear_weights_button,
                                    panel.save_weights_button, panel.export_button)):
        weights.addWidget(button, index // 2, index % 2)
    controls = QWidget()
    controls_layout = QVBoxLayout(controls)
    controls_layout.setContentsMargins(4, 0, 4, 4)
    controls_layout.addLayout(buttons)
    controls_layout.addWidget(panel.params_label)
    controls_layout.addWidget(panel.problems_label)
    controls_layout.addWidget(panel.message_label)
    controls_layout.addWidget(panel.weights_label)
    controls_layout.addLayout(weights)
    left_side = QWidget()
    left_layout = QVBoxLayout(left_side)
    left_layout.setContentsMargins(0, 0, 0, 0)
    left_layout.addWidget(scroll, 1)
    left_layout.addWidget(controls)

    panel.header = ProgressHeaderWidget()
    panel.curves = CurvesWidget()
    panel.health = HealthWidget()
    panel.results = ResultsPanel()
    panel.runs = RunsPanel()
    panel.compare = CurvesWidget(hint=COMPARE_HINT)
    runs_split = RunsSplitWidget()
    runs_split.addWidget(panel.runs)
    runs_split.addWidget(panel.compare)
    runs_split.setSizes([500, 500])
    panel.runs_split = runs_split
    panel.tabs = QTabWidget()
    tabs = ((panel.curves, "Curves", "Loss, accuracy and learning rate as the run goes on"),
            (panel.health, "Health", "Each layer's gradient, update size, dead ReLUs and "
             "activations, epoch by epoch; the runs selected in Runs compared by depth"),
            (panel.results, "Results", "Accuracy, confusion matrix and sample predictions"),
            (runs_split, "Runs", "Every run of this graph; select several to compare them"))
    for widget, title, tip in tabs:
        panel.tabs.setTabToolTip(panel.tabs.addTab(widget, title), tip)
    right = QWidget()
    right_layout = QVBoxLayout(right)
    right_layout.setContentsMargins(0, 0, 0, 0)
    right_layout.addWidget(panel.header)
    right_layout.addWidget(panel.tabs, 1)

    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(left_side)
    split.addWidget(right)
    split.setStretchFactor(1, 1)
    split.setSizes([380, 1000])
    # explicit minimums: the columns' own size hints (every button side by side) made the
    # dock so wide that the main window squeezed the Layers and Inspector docks
    left_side.setMinimumWidth(280)
    right.setMinimumWidth(360)
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(split)
