"""Picking a sample of the training data: a split and an index with Previous and Next, and a
strip of the neighbouring samples to click. A list of samples (a confusion-matrix cell's, the
predictions grid's) can take the split's place: then Previous and Next walk through it.

The splits are the run's (backend.inside.samples.data_splits): test where the dataset has
one, the validation split the run holds out (its val_split and seed), and the rest of the
training data; `val[5]` is the sample `dlbuilder inspect --split val --sample 5` looks at."""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.backend.inside.samples import SplitRows, data_splits
from dlbuilder.gui.look.theme import current, theme_manager
from dlbuilder.gui.training.samples_view import thumbnail, to_qimage
from dlbuilder.gui.widgets.labels import wrapped_label

SPLITS = (("test", "Test"), ("val", "Validation"), ("train", "Training"))
STRIP = 9  # samples in the strip
THUMB = 32
NO_DATA = ("No training data is loaded: choose it in the Training tab, or draw a sample, "
           "or drop an image file on the window")


class SampleStripWidget(QWidget):
    """A row of sample thumbnails, the current one framed; a click picks one."""

    clicked = Signal(int)  # the position in the row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: list[QImage] = []
        self.current = -1
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Neighbouring samples: click one to look at it")
        theme_manager().changed.connect(self._on_theme_changed)

    def set_images(self, images: list[QImage], current: int) -> None:
        self.images, self.current = images, current
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(STRIP * (THUMB + 4), THUMB + 6)

    def minimumSizeHint(self) -> QSize:
        return QSize(3 * (THUMB + 4), THUMB + 6)

    def cell(self, i: int) -> QRect:
        pitch = max(THUMB + 2, self.width() // max(len(self.images), 1))
        return QRect(i * pitch + (pitch - THUMB) // 2, 3, THUMB, THUMB)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        point = QPoint(int(event.position().x()), int(event.position().y()))
        for i in range(len(self.images)):
            if self.cell(i).adjusted(-2, -2, 2, 2).contains(point):
                self.clicked.emit(i)
                return

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        theme = current()
        for i, image in enumerate(self.images):
            box = self.cell(i)
            if box.right() > self.width():
                break
            painter.fillRect(box, theme.color("alt_base"))
            painter.drawImage(box.x() + (THUMB - image.width()) // 2,
                              box.y() + (THUMB - image.height()) // 2, image)
            if i == self.current:
                painter.setPen(QPen(theme.color("highlight"), 2))
                painter.drawRect(box.adjusted(-2, -2, 1, 1))
        painter.end()

    def _on_theme_changed(self, _theme: object) -> None:
        self.update()


class SamplePickerWidget(QWidget):
    """`set_dataset(dataset)`, `show_list(title, split, indices)`, `pick(split, index)`;
    `picked(split, index)` when the user (or `pick`) chooses one."""

    picked = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset: Any = None
        self.splits: dict[str, SplitRows] = {}
        self.split = "train"
        self.index = 0
        self.listed: tuple[str, np.ndarray] | None = None  # (title, indices) walked instead
        self.file_name: str | None = None  # an image file looked at instead of a sample
        self.file_notes: list[str] = []  # what was done to it: "resized from 100x100 ..."
        self._strip_indices: list[int] = []
        self._build()
        self.set_dataset(None)

    def _build(self) -> None:
        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Which part of the data to pick from")
        self.index_spin = QSpinBox()
        self.index_spin.setToolTip("The sample's number in its split")
        self.index_spin.setAccelerated(True)
        self.prev_button = QToolButton()
        self.prev_button.setText("◀")
        self.prev_button.setToolTip("The sample before (in the list, when one is shown)")
        self.next_button = QToolButton()
        self.next_button.setText("▶")
        self.next_button.setToolTip("The sample after")
        self.list_label = wrapped_label()
        self.all_button = QPushButton("Back to all")
        self.all_button.setToolTip("Walk through the whole split again")
        self.strip = SampleStripWidget()
        self.truth_label = QLabel()
        self.truth_label.setWordWrap(True)
        self.note_label = wrapped_label(NO_DATA)
        row = QHBoxLayout()
        row.setSpacing(4)
        self.split_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.split_combo.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        row.addWidget(self.prev_button)
        row.addWidget(self.index_spin, 1)
        row.addWidget(self.next_button)
        listed = QHBoxLayout()
        listed.addWidget(self.list_label, 1)
        listed.addWidget(self.all_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.split_combo, 0, Qt.AlignmentFlag.AlignLeft)  # all its text
        layout.addLayout(row)
        layout.addLayout(listed)
        layout.addWidget(self.strip)
        layout.addWidget(self.truth_label)
        layout.addWidget(self.note_label)
        layout.addStretch(1)
        self.split_combo.activated.connect(self._on_split_combo_activated)
        self.index_spin.valueChanged.connect(self._on_index_spin_value_changed)
        self.prev_button.clicked.connect(self._on_prev_button_clicked)
        self.next_button.clicked.connect(self._on_next_button_clicked)
        self.all_button.clicked.connect(self._on_all_button_clicked)
        self.strip.clicked.connect(self._on_strip_clicked)
        theme_manager().changed.connect(self._on_theme_changed)
        self._on_theme_changed(current())

    # -- public --------------------------------------------------------------------------
    def set_dataset(self, dataset: Any, val_split: float = 0.0, seed: int = 0) -> None:
        """The data to pick from (a backend Dataset of images or features, or None), split as
        a run with `val_split` and `seed` splits it; the first split (test, else val) shown."""
        self.dataset = dataset
        self.splits = data_splits(dataset, val_split, seed) if dataset is not None else {}
        self.listed = None
        self.split_combo.clear()
        for key, text in SPLITS:
            if self._split(key) is not None:
                self.split_combo.addItem(f"{text} ({len(self._split(key)):,})", key)
        has = dataset is not None
        for widget in (self.split_combo, self.index_spin, self.prev_button, self.next_button,
                       self.strip):
            widget.setVisible(has)  # without data, room for the note saying how to get it
        self.note_label.setVisible(not has)
        self.split, self.index = next(iter(self.splits), "train"), 0
        self._show()

    def sample(self) -> tuple[np.ndarray, int] | None:
        """The current sample's raw values and true class, or None without data."""
        split = self._split(self.split)
        if split is None or not 0 <= self.index < len(split):
            return None
        return split.sample(self.index)

    def name(self) -> str:
        """The current sample as `dlbuilder inspect` names it: "val[5]"."""
        return f"{self.split}[{self.index}]"

    def pick(self, split: str, index: int) -> bool:
        """Show sample `index` of `split` ("test", "val" or "train") and say it was
        picked."""
        data = self._split(split)
        if data is None or not 0 <= index < len(data):
            return False
        if self.listed is not None and index not in self.listed[1]:
            self.listed = None
        self.file_name = None
        self.split, self.index = split, int(index)
        self._show()
        self.picked.emit(self.split, self.index)
        return True

    def show_list(self, title: str, split: str, indices: np.ndarray) -> bool:
        """Walk through `indices` of `split` (a confusion cell's samples), from the first."""
        if self._split(split) is None or not len(indices):
            return False
        self.listed = (title, np.asarray(indices, dtype=np.int64))
        self.split = split
        return self.pick(split, int(indices[0]))

    def show_file(self, name: str | None, notes: list[str] | None = None) -> None:
        """Say an image file is what is looked at, and what was done to it (None: the picked
        sample again)."""
        self.file_name = name
        self.file_notes = list(notes or [])
        self._show()

    def step(self, delta: int) -> None:
        if self.listed is not None:
            order = self.listed[1]
            where = int(np.flatnonzero(order == self.index)[0]) if self.index in order else 0
            self.pick(self.split, int(order[(where + delta) % len(order)]))
            return
        data = self._split(self.split)
        if data is not None and len(data):
            self.pick(self.split, (self.index + delta) % len(data))

    # -- showing -------------------------------------------------------------------------
    def _split(self, key: str) -> SplitRows | None:
        return self.splits.get(key)

    def _show(self) -> None:
        data = self._split(self.split)
        at = self.split_combo.findData(self.split)
        if at >= 0:
            self.split_combo.setCurrentIndex(at)
        self.index_spin.blockSignals(True)
        self.index_spin.setRange(0, max(len(data) - 1, 0) if data is not None else 0)
        self.index_spin.setValue(self.index)
        self.index_spin.blockSignals(False)
        listed = self.listed
        self.list_label.setVisible(listed is not None and self.file_name is None)
        self.all_button.setVisible(listed is not None and self.file_name is None)
        if listed is not None:
            where = int(np.flatnonzero(listed[1] == self.index)[0]) + 1
            self.list_label.setText(f"{listed[0]}: {where} of {len(listed[1]):,}")
        sample = self.sample()
        if sample is None:
            self.truth_label.setText("")
            self.strip.set_images([], -1)
        else:
            classes = self.dataset.classes
            name = classes[sample[1]] if sample[1] < len(classes) else "?"
            self.truth_label.setText(f"True class: <b>{name}</b>")
            self._show_strip(data)
        if self.file_name is not None:  # the split stays to go back to; nothing of it marked
            notes = "".join(f"<br>{escape(note)}" for note in self.file_notes)
            self.truth_label.setText(f"Looking at the image file <b>{escape(self.file_name)}"
                                     f"</b>: no true class{notes}")
            self.strip.set_images(self.strip.images, -1)

    def _show_strip(self, data: Any) -> None:
        order = self.listed[1] if self.listed is not None else None
        count = len(order) if order is not None else len(data)
        position = int(np.flatnonzero(order == self.index)[0]) if order is not None \
            else self.index
        first = max(0, min(position - STRIP // 2, count - STRIP))
        positions = range(first, min(first + STRIP, count))
        self._strip_indices = [int(order[p]) if order is not None else p for p in positions]
        images = []
        if self.dataset.kind == "image":
            images = [thumbnail(to_qimage(data.sample(i)[0], self.dataset.scale))
                      for i in self._strip_indices]
        self.strip.setVisible(bool(images))
        self.strip.set_images(images, position - first)

    # -- handlers ------------------------------------------------------------------------
    def _on_split_combo_activated(self, index: int) -> None:
        self.listed = None
        self.pick(str(self.split_combo.itemData(index)), 0)

    def _on_index_spin_value_changed(self, _value: int) -> None:
        if self.index_spin.value() != self.index:
            self.pick(self.split, self.index_spin.value())

    def _on_prev_button_clicked(self) -> None:
        self.step(-1)

    def _on_next_button_clicked(self) -> None:
        self.step(1)

    def _on_all_button_clicked(self) -> None:
        self.listed = None
        self._show()

    def _on_strip_clicked(self, position: int) -> None:
        if 0 <= position < len(self._strip_indices):
            self.pick(self.split, self._strip_indices[position])

    def _on_theme_changed(self, theme: Any) -> None:
        self.note_label.setStyleSheet(f"color: {theme.muted};")
        self.list_label.setStyleSheet(f"color: {theme.muted};")
