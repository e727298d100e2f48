"""The spin boxes of the inspector's fields: ranges from the declaration, narrow enough for a
~300 px dock, and able to say what they did not take (dlbuilder.gui.widgets.refusal)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSizePolicy, QSpinBox, QWidget

from dlbuilder.core.params import ParamSpec
from dlbuilder.gui.widgets.refusal import RefusalMemory, let_out_of_range_be_typed

INT_LIMIT = 2**31 - 1          # QSpinBox holds a C int
FLOAT_LIMIT = 1e9
MIN_SPIN_WIDTH = 56


class IntSpinBox(RefusalMemory, QSpinBox):
    """A QSpinBox that lets "-3" or "0" be typed where it takes 1 or more, to say so."""

    def validate(self, text: str, pos: int) -> object:
        return let_out_of_range_be_typed(self, super().validate(text, pos))


def int_spin(spec: ParamSpec) -> IntSpinBox:
    spin = IntSpinBox()
    spin.setRange(int(spec.minimum) if spec.minimum is not None else -INT_LIMIT,
                  int(spec.maximum) if spec.maximum is not None else INT_LIMIT)
    spin.setAccelerated(True)
    narrow(spin)
    return spin


def narrow(widget: QWidget) -> None:
    """Let a spin box shrink to a ~300 px dock: its hint is as wide as its widest number."""
    widget.setMinimumWidth(MIN_SPIN_WIDTH)
    widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


class FloatSpinBox(RefusalMemory, QDoubleSpinBox):
    """A QDoubleSpinBox that shows 0.5 rather than 0.500000, and lets a number out of range be
    typed, to say so."""

    def textFromValue(self, value: float) -> str:
        return self.locale().toString(value, "g", 10)

    def validate(self, text: str, pos: int) -> object:
        return let_out_of_range_be_typed(self, super().validate(text, pos))


def float_spin(spec: ParamSpec, default: Any) -> QDoubleSpinBox:
    spin = FloatSpinBox()
    spin.setDecimals(6)
    spin.setRange(spec.minimum if spec.minimum is not None else -FLOAT_LIMIT,
                  spec.maximum if spec.maximum is not None else FLOAT_LIMIT)
    small = isinstance(default, (int, float)) and 0 < abs(default) < 0.1
    spin.setSingleStep(0.01 if small else 0.05 if (spec.maximum or 2) <= 1 else 0.1)
    narrow(spin)
    return spin


def number_or(raw: Any, fallback: float) -> float:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return raw
    return fallback


def set_spin(spin: QAbstractSpinBox, value: float) -> None:
    """Show `value` clamped to the spin box's range (a file may hold 10**12 or 3.5 where the
    box takes a C int; the field's inline error says what is wrong with it)."""
    value = min(max(value, spin.minimum()), spin.maximum())
    spin.setValue(int(value) if isinstance(spin, QSpinBox) else float(value))
