"""The Look Inside tab's widgets and their layout: the weights and the sample on the left (the
data or the drawing pad), the network's answer in the middle, the selected layer's maps, a
convolution's filters and saliency on the right."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.gui.inside.filters_view import FiltersWidget
from dlbuilder.gui.inside.maps_view import LayerMapsWidget
from dlbuilder.gui.inside.pad import DrawingPadWidget
from dlbuilder.gui.inside.prediction_view import PredictionWidget
from dlbuilder.gui.inside.saliency_view import SaliencyWidget
from dlbuilder.gui.inside.sample_picker import SamplePickerWidget
from dlbuilder.gui.widgets.labels import wrapped_label

PAGE_DATA, PAGE_DRAW = 0, 1
TAB_LAYER, TAB_FILTERS, TAB_SALIENCY = 0, 1, 2
ERROR_HEIGHT = 100  # pixels: a refusal's message scrolls beyond this


def setup_ui(panel: Any) -> None:
    """Make the panel's widgets as attributes of `panel` and lay them out (in the manner of Qt
    Designer's setupUi), so the panel's own module holds only what they do."""
    panel.prediction = PredictionWidget()
    panel.maps = LayerMapsWidget()
    panel.filters = FiltersWidget()
    panel.saliency = SaliencyWidget()
    panel.view_tabs = QTabWidget()
    panel.view_tabs.setDocumentMode(True)
    panel.view_tabs.addTab(panel.maps, "Layer")
    panel.view_tabs.setTabToolTip(TAB_LAYER, "The selected layer's output for this sample")
    panel.view_tabs.addTab(panel.filters, "Filters")
    panel.view_tabs.setTabToolTip(TAB_FILTERS, "A convolution's learned kernels")
    panel.view_tabs.addTab(panel.saliency, "Saliency")
    panel.view_tabs.setTabToolTip(TAB_SALIENCY, "What in the sample drove the decision")
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setChildrenCollapsible(False)
    splitter.addWidget(_left_column(panel))
    splitter.addWidget(panel.prediction)
    splitter.addWidget(panel.view_tabs)
    splitter.setStretchFactor(0, 0)
    splitter.setStretchFactor(1, 1)
    splitter.setStretchFactor(2, 3)
    splitter.setSizes([290, 260, 700])
    panel.splitter = splitter
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(splitter)


def _weights_row(panel: Any) -> QWidget:
    panel.weights_label = QLabel()
    panel.weights_label.setToolTip("The weights looked into")
    panel.weights_label.setWordWrap(True)
    panel.weights_note = wrapped_label()
    panel.weights_note.hide()
    panel.weights_error = wrapped_label()
    panel.weights_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    panel.weights_error_area = QScrollArea()  # the whole message, however little room
    panel.weights_error_area.setWidget(panel.weights_error)
    panel.weights_error_area.setWidgetResizable(True)
    panel.weights_error_area.setFrameShape(QFrame.Shape.NoFrame)
    panel.weights_error_area.setMaximumHeight(ERROR_HEIGHT)
    panel.weights_error_area.hide()
    menu = QMenu(panel)
    panel.last_action = QAction("The last run's", panel)
    panel.last_action.setToolTip("The weights the last training run left (the Training tab's)")
    panel.file_action = QAction("Load weights…", panel)
    panel.file_action.setToolTip("A .pt file trained for this graph (its .pt.json beside it "
                                 "says how samples were prepared)")
    panel.untrained_action = QAction("Untrained (random) weights", panel)
    panel.untrained_action.setToolTip("New random weights: how the network looks before "
                                      "it learned anything")
    menu.addActions([panel.last_action, panel.file_action, panel.untrained_action])
    panel.weights_button = QToolButton()
    panel.weights_button.setText("Weights")
    panel.weights_button.setToolTip("Choose the weights to look into (a run's: Runs tab, "
                                    "Look Inside)")
    panel.weights_button.setMenu(menu)
    panel.weights_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    row = QHBoxLayout()
    row.addWidget(panel.weights_label, 1)
    row.addWidget(panel.weights_button, 0, Qt.AlignmentFlag.AlignTop)
    column.addLayout(row)
    column.addWidget(panel.weights_note)
    column.addWidget(panel.weights_error_area)
    return box


def _left_column(panel: Any) -> QWidget:
    panel.picker = SamplePickerWidget()
    panel.open_button = QPushButton("Open image…")
    panel.open_button.setToolTip("Look at an image file (or drop one on the window)")
    data_page = QWidget()
    data = QVBoxLayout(data_page)
    data.setContentsMargins(4, 4, 4, 4)
    data.addWidget(panel.picker, 1)
    panel.prepare_check = QCheckBox("Prepare like the training data")
    panel.prepare_check.setChecked(True)
    panel.prepare_check.setToolTip(
        "Where the training samples are ink on a plain background, an image file's ink is "
        "inverted to theirs if need be and it is centred like them; off: as it is (resized)")
    data.addWidget(panel.open_button, 0, Qt.AlignmentFlag.AlignLeft)
    data.addWidget(panel.prepare_check)
    panel.pad = DrawingPadWidget()
    panel.clear_button = QPushButton("Clear")
    panel.clear_button.setToolTip("Wipe the pad")
    panel.draw_note = wrapped_label()
    draw_page = QWidget()
    draw = QVBoxLayout(draw_page)
    draw.setContentsMargins(4, 4, 4, 4)
    draw.addWidget(panel.pad, 1)
    buttons = QHBoxLayout()
    buttons.addWidget(panel.clear_button)
    buttons.addWidget(panel.draw_note, 1)
    draw.addLayout(buttons)
    panel.source_tabs = QTabWidget()
    panel.source_tabs.setDocumentMode(True)
    panel.source_tabs.addTab(data_page, "Data")
    panel.source_tabs.setTabToolTip(PAGE_DATA, "A sample of the training or test data")
    panel.source_tabs.addTab(draw_page, "Draw")
    panel.source_tabs.setTabToolTip(PAGE_DRAW, "Draw a sample: each stroke updates the "
                                    "prediction")
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    layout.addWidget(_weights_row(panel))
    layout.addWidget(panel.source_tabs, 1)
    column.setMinimumWidth(230)
    return column
