"""The training settings as a form: the graph file's `training` section, grouped, explained.

The form speaks the file's language: `changed` carries {key: value} for what the user edited,
with None for a value equal to the default (the key is removed, so files stay minimal), and
`set_training` shows a section without emitting. A value the file holds that cannot be used
("fast" for the learning rate, -3 epochs) is shown under its field in the error colour, from
resolve_settings, never as a crash; `problems()` lets the dock refuse to start.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.backend.settings import (
    DEVICES,
    MONITORS,
    OPTIMIZERS,
    SCHEDULES,
    SettingsError,
    TrainSettings,
    resolve_settings,
)
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.training.number_box import CountSpinBox, NumberSpinBox, format_number
from dlbuilder.gui.widgets.refusal import not_taken

DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TrainSettings)}
_WHERE = re.compile(r"^(?:training\.)?([a-z_]+):")

# key: (label, tooltip); the tooltips say what each setting does, in the user's terms
LABELS: dict[str, tuple[str, str]] = {
    "epochs": ("Epochs", "How many times training goes through all the training data."),
    "batch_size": ("Batch size", ("Samples per step: the gradient is averaged over a batch of "
                                  "this many samples before the weights change.")),
    "optimizer": ("Optimizer", ("How the weights follow the gradient: SGD (plain, with momentum "
                                "and Nesterov), Adam, AdamW (Adam with decoupled weight decay) or "
                                "RMSprop.")),
    "lr": ("Learning rate", ("The step size of each update; typical values are 0.001 for Adam and "
                             "0.01 to 0.1 for SGD. Type 1e-3 or 0.001; the arrows step 1, 2, 5, "
                             "10…")),
    "momentum": ("Momentum", ("SGD and RMSprop only: the fraction of the last step carried into "
                              "the next, smoothing the path (0.9 is usual; 0 turns it off).")),
    "nesterov": ("Nesterov", ("SGD with momentum only: look ahead along the momentum before "
                              "taking the gradient.")),
    "weight_decay": ("Weight decay", ("L2 penalty on the weights, pulling them towards 0 against "
                                      "overfitting (decoupled for AdamW); 0 turns it off, 1e-4 to "
                                      "5e-4 is common.")),
    "augment_shift": ("Random shift", ("Shift each training image by up to this many pixels in a "
                                       "random direction, so the network learns position does not "
                                       "matter.")),
    "augment_flip": ("Random flip", ("Flip training images left-right at random (good for photos, "
                                     "wrong for digits and text).")),
    "schedule": ("Schedule", ("How the learning rate changes over the run: none; step (times "
                              "gamma every step-size epochs); cosine (down to 0 along a half "
                              "cosine); plateau (times gamma after 2 epochs without improvement "
                              "of the monitored value).")),
    "step_size": ("Step size", ("Step schedule: epochs between drops of the learning rate; by "
                                "default a third of the epochs.")),
    "gamma": ("Gamma", ("Step and plateau schedules: the factor the learning rate is multiplied "
                        "by at each drop (0.1 divides it by ten).")),
    "patience": ("Early stopping", ("Stop after this many epochs without improvement of the "
                                    "monitored value; off trains every epoch. The best epoch's "
                                    "weights are kept either way.")),
    "monitor": ("Monitor", ("The value that decides the best epoch, early stopping and the "
                            "plateau schedule; auto is val_loss with a validation split, else "
                            "train_loss.")),
    "val_split": ("Validation split", ("The share of the training data held back to measure "
                                       "generalisation each epoch (seeded and stratified); 0 for "
                                       "none.")),
    "seed": ("Seed", ("Seeds the split, the initial weights and the shuffling: the same seed "
                      "gives the same numbers on the CPU.")),
    "device": ("Device", "Where training runs: auto picks CUDA, then MPS (Apple), then the CPU."),
    "normalize": ("Normalize", ("Scale inputs to [0, 1], then subtract the training data's mean "
                                "and divide by its std per channel. Auto does this for "
                                "classifiers and only scales for an autoencoder.")),
    "compile": ("Compile", ("torch.compile the model: faster batches after a long first one "
                            "(worth it for long runs).")),
}
GROUPS = (
    ("Basics", ("epochs", "batch_size", "optimizer", "lr", "momentum", "nesterov")),
    ("Regularization", ("weight_decay", "augment_shift", "augment_flip")),
    ("Schedule and stopping", ("schedule", "step_size", "gamma", "patience", "monitor")),
    ("Data and device", ("val_split", "seed", "device", "normalize", "compile")),
)
CHECK_TEXTS = {"nesterov": "look ahead", "augment_flip": "flip images left-right",
               "compile": "torch.compile the model"}
FIELD_WIDTH = 260  # editors grow with the dock up to this; wider only spreads the numbers
CHOICES: dict[str, list[tuple[str, Any]]] = {
    "optimizer": [("SGD", "sgd"), ("Adam", "adam"), ("AdamW", "adamw"), ("RMSprop", "rmsprop")],
    "schedule": [("none", "none"), ("step", "step"), ("cosine", "cosine"),
                 ("plateau", "plateau")],
    "monitor": [("auto", None)] + [(m, m) for m in MONITORS],
    "device": [(d, d) for d in DEVICES],
    "normalize": [("auto (for classifiers)", None), ("on", True), ("off", False)],
}
assert [v for _, v in CHOICES["optimizer"]] == list(OPTIMIZERS)
assert [v for _, v in CHOICES["schedule"]] == list(SCHEDULES)
assert {k for _, keys in GROUPS for k in keys} == set(DEFAULTS) - {"dataset", "data_dir",
                                                                     "init_weights"}


def same_value(a: Any, b: Any) -> bool:
    """Equal as the file would hold them: True is not 1, and floats agree to 12 digits."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return type(a) is type(b) and a == b


class _Section(QWidget):
    """A titled group of rows that folds away; the title says how many values are set."""

    def __init__(self, title: str, expanded: bool) -> None:
        super().__init__()
        self.title = title
        self.header = QToolButton()
        self.header.setAutoRaise(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.header.clicked.connect(lambda: self.set_expanded(not self.body.isVisibleTo(self)))
        self.body = QWidget()
        self.form = QFormLayout(self.body)
        self.form.setContentsMargins(18, 2, 0, 6)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.set_count(0)
        self.set_expanded(expanded)

    def set_count(self, count: int) -> None:
        self.header.setText(self.title + (f"  ·  {count} set" if count else ""))
        self.header.setToolTip(f"Show or hide the {self.title.lower()} settings"
                               + (f"; {count} differ from the defaults" if count else ""))

    def set_expanded(self, expanded: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)

    def expanded(self) -> bool:
        return self.body.isVisibleTo(self)


class SettingsForm(QWidget):
    """The `training` section (all but dataset and data_dir) as a grouped form."""

    changed = Signal(dict)  # {key: value}, value None = back to the default (remove the key)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._training: dict[str, Any] = {}
        self._unshown: set[str] = set()  # keys whose file value the editor cannot show
        self._refused: dict[str, str] = {}  # key -> what its field did not take, and why
        self._pushing = False
        self._locked = False
        self._not_mapping = ""  # the problem when the section is not an object at all
        self._marked: set[str] = set()  # keys whose field is outlined in the error colour
        self.editors: dict[str, QWidget] = {}
        self.frames: dict[str, QFrame] = {}
        self.errors: dict[str, QLabel] = {}
        self.labels: dict[str, QWidget] = {}
        self.sections: dict[str, _Section] = {}
        self._build()
        theme_manager().changed.connect(self._on_theme_changed)
        self.set_training({})

    # -- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.message_label = _message_label()
        self.message_label.setToolTip("Problems of the file's training section that no field "
                                      "below shows")
        layout.addWidget(self.message_label)
        for i, (title, keys) in enumerate(GROUPS):
            section = _Section(title, expanded=i == 0)
            for key in keys:
                self._add_row(section.form, key)
            self.sections[title] = section
            layout.addWidget(section)
        layout.addStretch(1)
        widest = max(label.sizeHint().width() for label in self.labels.values())
        for label in self.labels.values():
            label.setMinimumWidth(widest)  # one label column across the sections

    def _add_row(self, form: QFormLayout, key: str) -> None:
        label, tip = LABELS[key]
        editor = self._make_editor(key)
        tooltip = f"{tip}\n\nDefault: {_default_text(key)}."
        editor.setToolTip(tooltip)
        frame = QFrame()
        frame.setObjectName("settingFrame")
        frame.setMaximumWidth(FIELD_WIDTH)
        inner = QVBoxLayout(frame)
        inner.setContentsMargins(1, 1, 1, 1)
        inner.addWidget(editor)
        error = _message_label()
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(frame)
        column.addWidget(error)
        form.addRow(label, box)
        self.labels[key] = form.labelForField(box)
        self.labels[key].setToolTip(tooltip)
        self.editors[key], self.frames[key], self.errors[key] = editor, frame, error

    def _make_editor(self, key: str) -> QWidget:
        def edited(*_: object) -> None:
            self._on_field_edited(key)

        if key in CHOICES:
            combo = QComboBox()
            for text, _ in CHOICES[key]:
                combo.addItem(text)
            combo.activated.connect(edited)
            return combo
        if key in CHECK_TEXTS:
            check = QCheckBox(CHECK_TEXTS[key])
            check.clicked.connect(edited)
            return check
        spin = _int_spin(key) if key in _INT_SPINS else _number_spin(key)
        spin.valueChanged.connect(edited)
        spin.editingFinished.connect(lambda: self._on_field_finished(key))
        return spin

    # -- public --------------------------------------------------------------------------------
    def set_training(self, training: Any) -> None:
        """Show a `training` section (missing keys: the defaults) without emitting; values
        that cannot be used are shown as problems under their fields."""
        is_mapping = isinstance(training, dict)
        self._not_mapping = "" if is_mapping or training is None else (
            f"training: must be an object of settings, not {type(training).__name__}")
        self._training = dict(training) if is_mapping else {}
        self._unshown = set()
        self._refused = {}
        self._pushing = True
        try:
            for key in self.editors:
                if not self._write(key, self._training.get(key, DEFAULTS[key])):
                    self._write(key, DEFAULTS[key])
                    self._unshown.add(key)
        finally:
            self._pushing = False
        self._refresh(expand_problems=True)

    def training(self) -> dict[str, Any]:
        """The section as the form holds it now (the file's keys with the user's edits)."""
        return dict(self._training)

    def problems(self) -> list[str]:
        """What resolve_settings refuses in the section as it stands (empty: Start may go)."""
        if self._not_mapping:
            return [self._not_mapping]
        try:
            resolve_settings(self._training)
        except SettingsError as error:
            return list(error.problems)
        return []

    def set_locked(self, locked: bool) -> None:
        """Read-only while a run trains with these settings."""
        self._locked = locked
        self._refresh()

    # -- editing -------------------------------------------------------------------------------
    def _on_field_edited(self, key: str) -> None:
        if self._pushing:
            return
        value = self._read(key)
        if key not in self._unshown and same_value(value, self._training.get(key, DEFAULTS[key])):
            return  # re-chosen, or the spin box settled on what it showed
        update = {key: None if same_value(value, DEFAULTS[key]) else value}
        if key == "optimizer" and value != "sgd" and self._training.get("nesterov") is True:
            update["nesterov"] = None  # Nesterov is SGD's alone: turned off with it
            self._pushing = True
            self._write("nesterov", False)
            self._pushing = False
        for name, new in update.items():
            if new is None:
                self._training.pop(name, None)
            else:
                self._training[name] = new
            self._unshown.discard(name)
        self._refresh()
        self.changed.emit(update)

    def _on_field_finished(self, key: str) -> None:
        """Say what the field did not take (the spin box put its last value back); leaving a
        field whose file value could not be shown puts the shown value there."""
        editor = self.editors[key]
        assert isinstance(editor, (NumberSpinBox, CountSpinBox))
        refused = editor.take_refusal()
        if refused is not None:
            self._refused[key] = not_taken(refused, "this field", editor.allowed())
        if key in self._unshown:
            self._on_field_edited(key)
        if refused is not None or self._refused.pop(key, None) is not None:
            self._refresh()

    def _read(self, key: str) -> Any:
        editor = self.editors[key]
        if isinstance(editor, QComboBox):
            return CHOICES[key][editor.currentIndex()][1]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, NumberSpinBox):
            return editor.number()
        assert isinstance(editor, CountSpinBox)
        value = editor.value()
        return None if key in _OPTIONAL_INTS and value == 0 else value

    def _write(self, key: str, value: Any) -> bool:
        """Show `value` in the key's editor; False (and nothing shown) if it cannot."""
        editor = self.editors[key]
        if isinstance(editor, QComboBox):
            index = next((i for i, (_, v) in enumerate(CHOICES[key]) if same_value(v, value)),
                         -1)
            if index >= 0:
                editor.setCurrentIndex(index)
            return index >= 0
        if isinstance(editor, QCheckBox):
            if isinstance(value, bool):
                editor.setChecked(value)
            return isinstance(value, bool)
        if value is None and key in _OPTIONAL_INTS:
            value = 0
        if isinstance(editor, NumberSpinBox):
            return editor.set_number(value)
        assert isinstance(editor, CountSpinBox)
        return editor.set_count(value)

    # -- showing -------------------------------------------------------------------------------
    def _refresh(self, expand_problems: bool = False) -> None:
        """Which fields apply, the problems under their fields, the sections' counts."""
        self._update_applicable()
        per_key: dict[str, list[str]] = {}
        general: list[str] = []
        for problem in self.problems():
            match = _WHERE.match(problem)
            key = match.group(1) if match else None
            if key in self.editors:
                per_key.setdefault(key, []).append(problem[match.end():].strip())
            else:
                general.append(problem)
        for key in self._unshown - per_key.keys():  # usable, but beyond what the field shows
            per_key[key] = [f"the file holds {self._training[key]!r}, which this field cannot show"]
        for key, refusal in self._refused.items():
            per_key.setdefault(key, []).append(refusal)
        for key, label in self.errors.items():
            label.setText("\n".join(per_key.get(key, [])))
            label.setVisible(key in per_key)
        self.message_label.setText("\n".join(f"• {p}" for p in general))
        self.message_label.setVisible(bool(general))
        for title, keys in GROUPS:
            section = self.sections[title]
            section.set_count(sum(key in self._training for key in keys))
            if expand_problems and any(key in per_key for key in keys):
                section.set_expanded(True)
        self._marked = set(per_key)
        self._restyle(current())

    def _update_applicable(self) -> None:
        optimizer = self._training.get("optimizer", DEFAULTS["optimizer"])
        schedule = self._training.get("schedule", DEFAULTS["schedule"])
        applies = {"momentum": optimizer in ("sgd", "rmsprop"),
                   "nesterov": optimizer == "sgd" or self._training.get("nesterov") is True,
                   "step_size": schedule == "step", "gamma": schedule in ("step", "plateau")}
        for key, editor in self.editors.items():
            editor.setEnabled(not self._locked and applies.get(key, True))
        epochs = self._training.get("epochs", DEFAULTS["epochs"])
        third = max(1, epochs // 3) if isinstance(epochs, int) and epochs > 0 else None
        step = self.editors["step_size"]
        assert isinstance(step, CountSpinBox)
        step.setSpecialValueText(f"default ({third})" if third else "default")
        val_split = self._training.get("val_split", DEFAULTS["val_split"])
        auto = "train_loss" if isinstance(val_split, (int, float)) and val_split == 0 \
            else "val_loss"
        monitor = self.editors["monitor"]
        assert isinstance(monitor, QComboBox)
        monitor.setItemText(0, f"auto ({auto})")

    def _restyle(self, theme: Theme) -> None:
        for key, frame in self.frames.items():
            color = theme.error if key in self._marked else "transparent"
            frame.setStyleSheet(f"QFrame#settingFrame {{ border: 1px solid {color}; "
                                "border-radius: 3px; }")
        for label in self.errors.values():
            label.setStyleSheet(f"color: {theme.error};")
        self.message_label.setStyleSheet(f"color: {theme.error};")

    def _on_theme_changed(self, theme: Theme) -> None:
        self._restyle(theme)


_OPTIONAL_INTS = ("step_size", "patience")  # 0 in the spin box means None: default / off
_INT_SPINS = {  # key: (minimum, suffix, text shown at the minimum)
    "epochs": (1, "", ""), "batch_size": (1, "", ""), "seed": (0, "", ""),
    "augment_shift": (0, " px", "off"), "step_size": (0, " epochs", "default"),
    "patience": (0, " epochs", "off"),
}
_NUMBER_SPINS = {  # key: (low, high, keyword arguments)
    "lr": (1e-12, 1e6, {"ladder": True}),
    "weight_decay": (0.0, 1e6, {"ladder": True}),
    "momentum": (0.0, 0.999999, {"step": 0.05}),
    "gamma": (1e-12, 0.999999, {"step": 0.05}),
    "val_split": (0.0, 0.999999, {"step": 0.05, "factor": 100.0, "suffix": " %"}),
}


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _int_spin(key: str) -> CountSpinBox:
    minimum, suffix, special = _INT_SPINS[key]
    return CountSpinBox(minimum, suffix=suffix, special=special, separators=key == "batch_size")


def _number_spin(key: str) -> NumberSpinBox:
    low, high, options = _NUMBER_SPINS[key]
    return NumberSpinBox(low, high, **options)


def _default_text(key: str) -> str:
    special = {"step_size": "a third of the epochs", "patience": "off", "monitor": "auto",
               "normalize": "auto", "augment_shift": "off", "val_split": "10 %"}
    if key in special:
        return special[key]
    value = DEFAULTS[key]
    if isinstance(value, bool):
        return "on" if value else "off"
    return format_number(value) if isinstance(value, float) else str(value)
