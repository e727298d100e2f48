"""The network's answer for the picked sample: the sample as the network sees it, the class
probabilities as labelled bars (the true class, when known, outlined), or for an autoencoder
its reconstruction beside the input; other outputs as bars of their values."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from dlbuilder.gui.inside.bars import BarsWidget
from dlbuilder.gui.inside.picture import PictureWidget
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.widgets.labels import ReadoutLabel

WAITING = "Pick a sample or draw one"


class PredictionWidget(QWidget):
    """`show_look(look, true_class)`, `clear(text)`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = ReadoutLabel(WAITING)
        self.input_picture = PictureWidget("as the network sees it", minimum=56)
        self.input_picture.setToolTip("The sample as it goes into the network, at the "
                                      "network's size (a drawing after it was made to look "
                                      "like the training data)")
        self.reconstruction = PictureWidget("reconstruction", minimum=56)
        self.reconstruction.setToolTip("The autoencoder's output for this sample")
        self.bars = BarsWidget()
        self.bars.setToolTip("The probability of each class; the true class, when known, is "
                             "outlined")
        self.truth = ReadoutLabel()
        self.truth.setToolTip("Whether the network is right about this sample")
        self._truth_colour = ""
        self.note_label = ReadoutLabel()
        pictures = QHBoxLayout()
        pictures.setContentsMargins(0, 0, 0, 0)
        pictures.addWidget(self.input_picture)
        pictures.addWidget(self.reconstruction)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.headline)
        layout.addWidget(self.truth)
        layout.addLayout(pictures, 2)
        layout.addWidget(self.bars, 3)
        layout.addWidget(self.note_label)
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())
        self.clear()

    def clear(self, text: str = WAITING) -> None:
        self.headline.setText(text)
        self.headline.setToolTip(text)  # a long one is cut at the edge
        self.truth.setText("")
        self.input_picture.set_picture(None)
        self.reconstruction.setVisible(False)
        self.bars.set_values(None)
        self.note_label.setText("")

    def show_look(self, look: Any, true_class: int | None = None, words: str = "") -> None:
        """`look` a backend Look; `true_class` the sample's label, when it has one; `words`
        what the sample is ("train sample 1,729")."""
        self.input_picture.set_picture(look.picture)
        self.input_picture.setVisible(look.picture is not None)
        self.reconstruction.setVisible(look.reconstruction is not None)
        self.truth.setText("")
        self.note_label.setText(words)
        self.note_label.setToolTip(words)  # a long one is cut at the edge
        if look.reconstruction is not None:
            self.reconstruction.set_picture(look.reconstruction)
            error = float(np.mean((look.reconstruction.astype(np.float64)
                                   - look.picture.astype(np.float64)) ** 2)) / 255 ** 2 \
                if look.picture is not None else None
            self.headline.setText("<b>Reconstruction</b>")
            self.truth.setText(f"mean squared error {error:.4f}" if error is not None else "")
            self.bars.set_values(None)
            self.bars.setVisible(False)
            return
        self.bars.setVisible(True)
        if look.probabilities is not None:
            probs = look.probabilities
            best = int(np.argmax(probs))
            self.headline.setText(f"<b>{look.classes[best]}</b> · {100 * float(probs[best]):.1f}%")
            if true_class is not None and true_class < len(look.classes):
                verdict = "right" if true_class == best else "wrong"
                self.truth.setText(f"{verdict}: the true class is {look.classes[true_class]}")
                self.truth.setToolTip(self.truth.text())
                self._verdict_colour(verdict == "right")
            self.bars.set_values(probs, look.classes, percent=True, highlight=best,
                                 marked=true_class)
            return
        values = np.asarray(look.outputs[look.result], dtype=np.float32).reshape(-1)
        self.headline.setText(f"<b>Output</b> · {len(values)} values")
        self.bars.set_values(values)

    def _verdict_colour(self, right: bool) -> None:
        theme = current()
        colour = theme.success if right else theme.error
        if self._truth_colour != colour:
            self._truth_colour = colour
            self.truth.setStyleSheet(f"color: {colour};")

    def _on_theme_changed(self, theme: Any) -> None:
        self.note_label.setStyleSheet(f"color: {theme.muted};")
        self._truth_colour = ""
