"""What drove the decision, over the sample: Grad-CAM on a chosen convolution (where in the
picture that layer found evidence for the class) beside the plain input gradient (which pixels
would change the class's score most), each a heat map laid over the input with an opacity."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.backend.module_names import NodePath
from dlbuilder.gui.inside.picture import PictureWidget
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.labels import wrapped_label

PREDICTED = -1  # the class combo's first entry: whichever class the network predicts
NOT_IMAGES = "Saliency maps need image samples and a classifier"


class SaliencyWidget(QWidget):
    """`set_choices(classes, layers, texts, default)`, `show_saliency(saliency, picture,
    predicted)`; `changed` asks for another class or layer."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class whose score is explained (the predicted one "
                                    "unless you choose another)")
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("The layer Grad-CAM looks at: the last convolution sees "
                                    "the largest parts, the first ones edges")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(55)
        self.opacity.setToolTip("How strongly the heat map covers the sample")
        self.cam_picture = PictureWidget("Grad-CAM")
        self.cam_picture.setToolTip("Grad-CAM: the chosen layer's maps weighted by how much "
                                    "each raises the class's score; bright is where it found "
                                    "evidence for the class")
        self.gradient_picture = PictureWidget("Input gradient")
        self.gradient_picture.setToolTip("|d score / d input|: the pixels whose change would "
                                         "change the class's score most")
        self.note_label = wrapped_label()
        self.hint_label = wrapped_label(NOT_IMAGES)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint_label)
        self.stack.addWidget(self._pictures_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._controls())
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.note_label)
        self._saliency: Any = None
        self.layers: list[NodePath] = []  # Grad-CAM's choices, in the combo's order
        self._picture: np.ndarray | None = None
        self.class_combo.activated.connect(self._on_choice_activated)
        self.layer_combo.activated.connect(self._on_choice_activated)
        self.opacity.valueChanged.connect(self._on_opacity_value_changed)
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())

    def _controls(self) -> QGridLayout:
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Class"), 0, 0)
        grid.addWidget(self.class_combo, 0, 1)
        grid.addWidget(QLabel("Grad-CAM on"), 0, 2)
        grid.addWidget(self.layer_combo, 0, 3)
        grid.addWidget(QLabel("Opacity"), 0, 4)
        grid.addWidget(self.opacity, 0, 5)
        grid.setColumnStretch(5, 1)
        return grid

    def _pictures_page(self) -> QWidget:
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.cam_picture)
        row.addWidget(self.gradient_picture)
        return page

    # -- choices -------------------------------------------------------------------------
    def set_choices(self, classes: tuple[str, ...], layers: tuple[NodePath, ...],
                    texts: dict[NodePath, str], default: NodePath | None) -> None:
        self.class_combo.clear()
        self.class_combo.addItem("the predicted class", PREDICTED)
        for i, name in enumerate(classes):
            self.class_combo.addItem(name, i)
        self.layers = list(layers)
        self.layer_combo.clear()
        for path in layers:
            self.layer_combo.addItem(texts.get(path, str(path)))
        if default in self.layers:
            self.layer_combo.setCurrentIndex(self.layers.index(default))
        self.layer_combo.setEnabled(bool(layers))
        self._saliency = None
        self.stack.setCurrentIndex(0)

    def wanted(self) -> tuple[int | None, NodePath | None]:
        """(class index or None for the predicted one, Grad-CAM layer or None)."""
        chosen = self.class_combo.currentData()
        index = self.layer_combo.currentIndex()
        return (None if chosen in (None, PREDICTED) else int(chosen),
                self.layers[index] if 0 <= index < len(self.layers) else None)

    # -- showing -------------------------------------------------------------------------
    def show_hint(self, text: str = NOT_IMAGES) -> None:
        self._saliency = None
        self.hint_label.setText(text)
        self.note_label.setText("")
        self.stack.setCurrentIndex(0)

    def show_saliency(self, saliency: Any, picture: np.ndarray | None, classes: tuple[str, ...],
                      layer_text: str) -> None:
        """`saliency` a backend Saliency; `picture` the sample's uint8 picture."""
        self._saliency, self._picture = saliency, picture
        name = classes[saliency.class_index] if saliency.class_index < len(classes) \
            else str(saliency.class_index)
        self.note_label.setText(f"Explaining class {name}" + (
            f"; Grad-CAM on {layer_text}" if saliency.cam is not None else
            "; no layer with a picture-shaped output for Grad-CAM"))
        self._draw()
        self.stack.setCurrentIndex(1)

    def overlays(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(Grad-CAM, gradient) as drawn: uint8 (H, W, 3) heat over the picture."""
        from dlbuilder.backend.inside.tiles import heat, overlay

        s = self._saliency
        if s is None:
            return None, None
        alpha = self.opacity.value() / 100

        def laid(values: np.ndarray | None) -> np.ndarray | None:
            if values is None:
                return None
            if self._picture is not None and self._picture.shape[:2] == values.shape:
                return overlay(self._picture, values, alpha)
            return heat(values)
        return laid(s.cam), laid(s.gradient)

    def _draw(self) -> None:
        cam, gradient = self.overlays()
        self.cam_picture.set_picture(cam)
        self.gradient_picture.set_picture(gradient)

    def _on_choice_activated(self, _index: int) -> None:
        self.changed.emit()

    def _on_opacity_value_changed(self, _value: int) -> None:
        self._draw()

    def _on_theme_changed(self, theme: Any) -> None:
        self.note_label.setStyleSheet(f"color: {theme.muted};")
        self.hint_label.setStyleSheet(f"color: {theme.muted};")
