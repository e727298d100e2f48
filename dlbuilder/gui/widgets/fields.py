"""Editors for one layer parameter, built from its ParamSpec (the declaration drives the form).

Every field speaks the file's language: `value_changed` carries the raw JSON value (an int, a
float, a string, `[a, b]` or a single number for a square pair, `[1, 28, 28]` for a shape, None
for "not set": torch's default), and `set_value(raw)` shows a value without emitting, so the
inspector can follow undo without echoing it back. A value that cannot be used is shown under
the field in red, never in a popup.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QLocale, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlbuilder.core.params import ParamError, ParamSpec
from dlbuilder.core.shape_text import ShapeTextError, ShapeWords, read_shape
from dlbuilder.gui.look.icons import icon
from dlbuilder.gui.look.theme import Theme, current, theme_manager
from dlbuilder.gui.widgets.field_spins import float_spin, int_spin, number_or, set_spin
from dlbuilder.gui.widgets.refusal import RefusalMemory, not_taken

TINY = 1e-3                    # defaults below this (eps) are typed, not spun
SHAPE_PAUSE_MS = 300  # a typed shape applies once typing pauses this long (or on Enter)
NUMBER_MODE = "number"
DEFAULT_MODE = "default"


def tooltip_text(spec: ParamSpec) -> str:
    """The declaration's words for a field: what it does, what it accepts, its default."""
    lines = [f"<b>{spec.name}</b>: {spec.doc}" if spec.doc else f"<b>{spec.name}</b>",
             f"Accepts {spec.describe()}."]
    if spec.required:
        lines.append("Required.")
    elif spec.default is None:
        lines.append("Default: not set.")
    else:
        lines.append(f"Default: {_show(spec.default)}.")
    return "<br>".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class FieldWidget(QWidget):
    """Base of the parameter editors: the editor row, and an inline error line under it."""

    value_changed = Signal(object)  # the raw JSON value the file should hold (None: unset)

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self._quiet = False
        self._raw: Any = None
        self._marked: str | None = None
        self.frame = QFrame(self)
        self.frame.setObjectName("fieldFrame")
        self.row = QHBoxLayout(self.frame)
        self.row.setContentsMargins(1, 1, 1, 1)
        self.row.setSpacing(4)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.frame)
        layout.addWidget(self.error_label)
        self.setToolTip(tooltip_text(spec))
        theme_manager().changed.connect(self._on_theme_changed)

    # -- public ---------------------------------------------------------------------------------
    def value(self) -> Any:
        """The raw value last shown or chosen."""
        return self._raw

    def set_value(self, raw: Any) -> None:
        """Show `raw` (None: not set, so the default) without emitting `value_changed`."""
        self._raw = raw
        self._quiet = True
        try:
            self._show_value(self._display_value(raw))
        finally:
            self._quiet = False
        self.show_error(self._problem_with(raw))

    def error(self) -> str | None:
        """The message shown under the field, if any."""
        return self.error_label.text() if not self.error_label.isHidden() else None

    def show_error(self, message: str | None) -> None:
        """Show (or with None, clear) an inline problem: a red border and a line of text."""
        self.error_label.setText(message or "")
        self.error_label.setVisible(bool(message))
        self._restyle(current())

    # -- for subclasses -------------------------------------------------------------------------
    def _show_value(self, raw: Any) -> None:
        raise NotImplementedError

    def _emit(self, raw: Any) -> None:
        """A value the user chose: remember it, clear the error, tell the inspector."""
        if self._quiet:
            return
        self._raw = raw
        self.show_error(None)
        self.value_changed.emit(raw)

    def _display_value(self, raw: Any) -> Any:
        if raw is not None:
            return raw
        if self.spec.required:
            return self.spec.start_value
        return self.spec.default

    def _problem_with(self, raw: Any) -> str | None:
        if raw is None:
            if self.spec.required:
                return f"{self.spec.name} needs a value: {self.spec.describe()}"
            return None
        try:
            self.spec.check(raw)
        except ParamError as err:
            return err.message
        return None

    def _add(self, widget: QWidget, stretch: int = 0) -> QWidget:
        widget.setToolTip(self.toolTip())
        self.row.addWidget(widget, stretch)
        if isinstance(widget, RefusalMemory):
            widget.editingFinished.connect(lambda: self._on_spin_editing_finished(widget))
        return widget

    def _on_spin_editing_finished(self, spin: RefusalMemory) -> None:
        """Say what the spin box did not take (it put its last value back without a word)."""
        refused = spin.take_refusal()
        if refused is not None:
            self.show_error(not_taken(refused, self.spec.name, self.spec.describe()))

    def _on_theme_changed(self, theme: Theme) -> None:
        self._restyle(theme)

    def mark_problem(self, severity: str | None) -> None:
        """Outline the field that a problem of the graph names (its message is shown in the
        inspector's Problems section), apart from the field's own typing errors."""
        self._marked = severity
        self._restyle(current())

    def _restyle(self, theme: Theme) -> None:
        invalid = not self.error_label.isHidden()
        marked = self._marked
        color = theme.error if invalid or marked == "error" else theme.warning if marked else None
        border = f"1px solid {color}" if color else "1px solid transparent"
        self.frame.setStyleSheet(f"QFrame#fieldFrame {{ border: {border}; border-radius: 4px; }}")
        self.error_label.setStyleSheet(f"color: {theme.error};")


class IntFieldWidget(FieldWidget):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.spin = self._add(int_spin(spec), 1)
        self.spin.valueChanged.connect(self._on_spin_value_changed)

    def _show_value(self, raw: Any) -> None:
        set_spin(self.spin, number_or(raw, self.spin.minimum()))

    def _on_spin_value_changed(self, value: int) -> None:
        self._emit(int(value))


class FloatFieldWidget(FieldWidget):
    """A spin box for ordinary numbers; for tiny ones like eps = 1e-5 a text field, checked as
    it is typed and applied on Enter or leaving it."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        default = spec.default if not spec.required else spec.initial
        self.typed = isinstance(default, float) and 0 < abs(default) < TINY
        if self.typed:
            self.line = self._add(QLineEdit(), 1)
            self.line.setPlaceholderText(_show(default))
            self.line.textEdited.connect(self._on_line_text_edited)
            self.line.editingFinished.connect(self._on_line_editing_finished)
        else:
            self.spin = self._add(float_spin(spec, default), 1)
            self.spin.valueChanged.connect(self._on_spin_value_changed)

    def _show_value(self, raw: Any) -> None:
        if self.typed:
            self.line.setText(_show(raw) if raw is not None else "")
        else:
            set_spin(self.spin, number_or(raw, 0.0))

    def _on_spin_value_changed(self, value: float) -> None:
        self._emit(float(value))

    def _on_line_text_edited(self, text: str) -> None:
        if text.strip() or self.spec.required:
            self._parse(text)
        else:
            self.show_error(None)

    def _on_line_editing_finished(self) -> None:
        if not self.line.text().strip() and not self.spec.required:  # empty: the default
            if self._raw is not None:
                self._emit(None)
            return
        value = self._parse(self.line.text())
        if value is not None and value != self._raw:
            self._emit(value)

    def _parse(self, text: str) -> float | None:
        """The typed number if it can be used, else None with the reason shown inline."""
        text = text.strip()
        value, ok = QLocale().toDouble(text)
        if not ok:
            try:
                value, ok = float(text), True
            except ValueError:
                ok = False
        if not ok:
            self.show_error(f"{text!r} is not a number; type one like 1e-5")
            return None
        try:
            self.spec.check(value)
        except ParamError as err:
            self.show_error(err.message)
            return None
        self.show_error(None)
        return float(value)


class BoolFieldWidget(FieldWidget):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.check = self._add(QCheckBox(), 1)
        self.check.toggled.connect(self._on_check_toggled)

    def _show_value(self, raw: Any) -> None:
        self.check.setChecked(bool(raw) if isinstance(raw, bool) else False)

    def _on_check_toggled(self, checked: bool) -> None:
        self._emit(bool(checked))


class ChoiceFieldWidget(FieldWidget):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.combo = self._add(QComboBox(), 1)
        self.combo.addItems(list(spec.choices))
        self.combo.currentTextChanged.connect(self._on_combo_text_changed)

    def _show_value(self, raw: Any) -> None:
        if isinstance(raw, str) and raw in self.spec.choices:
            self.combo.setCurrentText(raw)

    def _on_combo_text_changed(self, text: str) -> None:
        self._emit(text)


class ShapeFieldWidget(FieldWidget):
    """A per-sample shape typed as `1, 28, 28` (or `1x28x28`), applied as it is typed (once
    typing pauses) whenever the text is a shape; text that is not, or not yet ("3, 32,"),
    says why under the field and is not applied. Leaving the field or Enter puts the shape the
    graph holds back in the line, still saying what was not taken."""

    PLACEHOLDER = "C, H, W  or  F"
    EXAMPLE = "1, 28, 28 (C, H, W) or 784 (F)"
    WANTED = "1 to 3 positive whole numbers"
    WHAT = "a shape"
    EMPTY = "an empty shape"

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.line = self._add(QLineEdit(), 1)
        self.line.setPlaceholderText(self.PLACEHOLDER)
        self.line.textEdited.connect(self._on_line_text_edited)
        self.line.editingFinished.connect(self._on_line_editing_finished)
        # a shape typed "3, 32, 32" passes through [3] and [3, 3]: each would re-infer the
        # whole graph and flash it red, so a shape applies once typing pauses
        self._pending: Any = None
        self._pause = QTimer(self)
        self._pause.setSingleShot(True)
        self._pause.setInterval(SHAPE_PAUSE_MS)
        self._pause.timeout.connect(self._apply_pending)

    def _show_value(self, raw: Any) -> None:
        self._pending = None
        self._pause.stop()
        self.line.setText(_shape_text(raw))

    def _on_line_text_edited(self, text: str) -> None:
        self._pending = self._parse(text)
        self._pause.start()

    def _apply_pending(self) -> None:
        values, self._pending = self._pending, None
        self._pause.stop()
        if values is not None and values != self._raw:
            self._emit(values)

    def _on_line_editing_finished(self) -> None:
        self._apply_pending()
        text = self.line.text().strip()
        if text == _shape_text(self._raw):  # not edited: set_value says what is wrong, if any
            return
        values = self._parse(text)
        if values is not None:
            if values != self._raw:  # text set without typing: applied now
                self._emit(values)
        else:
            self.set_value(self._raw)
            self.show_error(not_taken(repr(text) if text else self.EMPTY,
                                      self.spec.name, self.spec.describe()))

    def _value(self, numbers: list[int]) -> Any:
        """The raw value the typed numbers stand for."""
        return numbers

    def _checked(self, numbers: list[int]) -> Any:
        values = self._value(numbers)
        self.spec.check(values)
        return values

    def _parse(self, text: str) -> Any:
        """The typed value if it can be used, else None with the reason shown inline."""
        words = ShapeWords(self.EXAMPLE, self.WANTED, self.WHAT, self.EMPTY)
        try:
            values = read_shape(text, self._checked, words)
        except ShapeTextError as err:
            self.show_error(str(err))
            return None
        self.show_error(None)
        return values


class SidesFieldWidget(ShapeFieldWidget):
    """Padding on each side, typed as one number for all four or `left, right, top, bottom`."""

    PLACEHOLDER = "all  or  left, right, top, bottom"
    EXAMPLE = "1 (every side) or 0, 1, 0, 1 (left, right, top, bottom)"
    WANTED = "one whole number, or four"
    WHAT = "a padding"
    EMPTY = "an empty padding"

    def _value(self, numbers: list[int]) -> Any:
        return numbers[0] if len(numbers) == 1 else numbers


def _shape_text(raw: Any) -> str:
    if isinstance(raw, (list, tuple)):
        return ", ".join(str(v) for v in raw)
    return "" if raw is None else str(raw)


class PairFieldWidget(FieldWidget):
    """Two linked numbers (height, width) with a lock for square values; where the declaration
    allows strings ("same", "valid") or "not set", a combo chooses between those and numbers."""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        modes = [NUMBER_MODE, *spec.strings]
        if spec.nullable and spec.default is None:
            modes.append(DEFAULT_MODE)
        self.mode = None
        if len(modes) > 1:
            self.mode = self._add(QComboBox())
            self.mode.addItems(modes)
            # the words keep their width; the numbers give way (a narrow dock cut "number")
            self.mode.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            self.mode.currentTextChanged.connect(self._on_mode_text_changed)
        floats = spec.element == "float"
        default = spec.default if not spec.required else spec.initial
        self.first = self._add(float_spin(spec, default) if floats else int_spin(spec), 1)
        self.lock = self._add(QToolButton())
        self.second = self._add(float_spin(spec, default) if floats else int_spin(spec), 1)
        for spin in (self.first, self.second):
            spin.setMinimumWidth(spin.fontMetrics().horizontalAdvance("0000") + 28)
        self.first.setToolTip(f"{spec.name}: height\n{spec.describe()}")
        self.second.setToolTip(f"{spec.name}: width\n{spec.describe()}")
        self.lock.setCheckable(True)
        self.lock.setChecked(True)
        self.lock.setAutoRaise(True)
        self._update_lock_look()
        self.first.valueChanged.connect(self._on_first_value_changed)
        self.second.valueChanged.connect(self._on_second_value_changed)
        self.lock.toggled.connect(self._on_lock_toggled)

    # -- state ----------------------------------------------------------------------------------
    def locked(self) -> bool:
        return self.lock.isChecked()

    def pair_value(self) -> Any:
        """The numbers as the file writes them: one number when square, else [a, b]."""
        a, b = self._element(self.first.value()), self._element(self.second.value())
        return a if a == b else [a, b]

    def _element(self, value: float) -> int | float:
        return float(value) if self.spec.element == "float" else int(value)

    def _show_value(self, raw: Any) -> None:
        mode = NUMBER_MODE
        if raw is None and self.mode is not None and self.mode.findText(DEFAULT_MODE) >= 0:
            mode = DEFAULT_MODE
        elif isinstance(raw, str) and raw in self.spec.strings:
            mode = raw
        if self.mode is not None:
            self.mode.setCurrentText(mode)
        if mode == NUMBER_MODE:
            values = list(raw) if isinstance(raw, (list, tuple)) and len(raw) == 2 else [raw, raw]
            fallback = self.first.minimum() if self.first.minimum() > 0 else 1
            set_spin(self.first, number_or(values[0], fallback))
            set_spin(self.second, number_or(values[1], fallback))
            self.lock.setChecked(self.first.value() == self.second.value())
        self._enable_numbers(mode == NUMBER_MODE)

    def _enable_numbers(self, enabled: bool) -> None:
        """Numbers only where a number is chosen: "same" or "default" has none to show."""
        for widget in (self.first, self.lock, self.second):
            widget.setVisible(enabled)
        if self.mode is not None:
            self.row.setStretchFactor(self.mode, 0 if enabled else 1)

    def _update_lock_look(self) -> None:
        locked = self.locked()
        self.lock.setIcon(_lock_icon(locked))
        self.lock.setToolTip("Square: editing one number sets both (click to unlink)" if locked
                             else "Height and width separately (click to keep them equal)")

    # -- handlers -------------------------------------------------------------------------------
    def _on_first_value_changed(self, value: float) -> None:
        self._follow(self.first, self.second, value)

    def _on_second_value_changed(self, value: float) -> None:
        self._follow(self.second, self.first, value)

    def _follow(self, source: QAbstractSpinBox, other: QAbstractSpinBox, value: float) -> None:
        if self._quiet:
            return
        if self.locked() and other.value() != value:
            other.blockSignals(True)
            other.setValue(value)
            other.blockSignals(False)
        self._emit(self.pair_value())

    def _on_lock_toggled(self, checked: bool) -> None:
        self._update_lock_look()
        if checked and not self._quiet and self.first.value() != self.second.value():
            self.second.blockSignals(True)
            self.second.setValue(self.first.value())
            self.second.blockSignals(False)
            self._emit(self.pair_value())

    def _on_mode_text_changed(self, mode: str) -> None:
        self._enable_numbers(mode == NUMBER_MODE)
        if mode == NUMBER_MODE:
            self._emit(self.pair_value())
        else:
            self._emit(None if mode == DEFAULT_MODE else mode)


LOCK_ICONS = ("link", "unlink")  # square (linked) and separate height and width


def _lock_icon(locked: bool) -> QIcon:
    return icon(LOCK_ICONS[0] if locked else LOCK_ICONS[1])


FIELD_CLASSES: dict[str, type[FieldWidget]] = {
    "int": IntFieldWidget, "float": FloatFieldWidget, "bool": BoolFieldWidget,
    "choice": ChoiceFieldWidget, "pair": PairFieldWidget, "shape": ShapeFieldWidget,
    "sides": SidesFieldWidget,
}


def make_field(spec: ParamSpec, parent: QWidget | None = None) -> FieldWidget:
    """The editor for one parameter, chosen by its kind."""
    return FIELD_CLASSES[spec.kind](spec, parent)
