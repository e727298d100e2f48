"""A spin box for numbers that span orders of magnitude (learning rates, weight decay): typed
as 0.001 or 1e-3, shown short, stepped along 1, 2, 5, 10 rather than by a fixed amount.

The inspector's FloatSpinBox (dlbuilder.gui.widgets.fields) neither reads exponents nor steps
along a ladder: it edits ordinary numbers, and its tiny ones get a text field instead.
"""

from __future__ import annotations

import math
import re

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from dlbuilder.gui.widgets.refusal import RefusalMemory, let_out_of_range_be_typed

INT_MAX = 2**31 - 1  # what a QSpinBox holds


def format_number(value: float) -> str:
    """0.001 -> "0.001", 1e-06 -> "1e-6": short, exact to 10 digits."""
    text = f"{value:.10g}"
    return text.replace("e-0", "e-").replace("e+0", "e+")


def ladder_step(value: float, direction: int) -> float:
    """The next value along 1, 2, 5, 10, 20, … up (direction 1) or down (-1): a learning
    rate's natural scale. Up from 0 is 1e-6; down from 1e-6 or less is 0."""
    if value <= 0 or (direction < 0 and value <= 1e-6 * (1 + 1e-9)):
        return 1e-6 if direction > 0 else 0.0
    exponent = math.floor(math.log10(value) + 1e-9)
    ladder = [m * 10.0**e for e in range(exponent - 1, exponent + 2) for m in (1, 2, 5)]
    if direction > 0:
        found = min(c for c in ladder if c > value * (1 + 1e-9))
    else:
        found = max(c for c in ladder if c < value * (1 - 1e-9))
    return float(f"{found:.12g}")


class NumberSpinBox(RefusalMemory, QDoubleSpinBox):
    """A spin box for numbers over many orders of magnitude: typed as 0.001 or 1e-3, shown
    short; `ladder` steps along 1, 2, 5, 10 instead of adding a fixed step. `factor` shows a
    fraction as a percentage (0.1 -> "10 %")."""

    def __init__(self, low: float, high: float, *, ladder: bool = False, step: float = 0.1,
                 factor: float = 1.0, suffix: str = "") -> None:
        super().__init__()
        self.ladder = ladder
        self.factor = factor
        self.setDecimals(12)
        self.setRange(low * factor, high * factor)
        self.setSingleStep(step * factor)
        self.setSuffix(suffix)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def number(self) -> float:
        return float(f"{self.value() / self.factor:.12g}")

    def allowed(self) -> str:
        """What the field takes, in its own units: "1e-12 to 1000000", "0 % to 99.9999 %"."""
        low, high = (self.textFromValue(v) + self.suffix() for v in (self.minimum(),
                                                                     self.maximum()))
        return f"{low} to {high}"

    def set_number(self, value: object) -> bool:
        """Show `value` if it is a number within range; False (and nothing shown) if not."""
        if not _is_number(value):
            return False
        scaled = float(value) * self.factor  # type: ignore[arg-type]
        if not self.minimum() <= scaled <= self.maximum():
            return False
        self.setValue(scaled)
        return True

    def textFromValue(self, value: float) -> str:
        return format_number(value)

    def valueFromText(self, text: str) -> float:
        try:
            return float(self._bare(text))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        bare = self._bare(text)
        try:
            value = float(bare)
        except ValueError:
            partial = re.fullmatch(r"[+-]?(\d*\.?\d*)?([eE][+-]?\d*)?", bare) is not None
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, pos
        inside = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if inside else QValidator.State.Intermediate,
                text, pos)

    def stepBy(self, steps: int) -> None:
        if not self.ladder:
            super().stepBy(steps)
            return
        value = self.value()
        for _ in range(abs(steps)):
            value = ladder_step(value, 1 if steps > 0 else -1)
        self.setValue(min(max(value, self.minimum()), self.maximum()))
        self.selectAll()

    def _bare(self, text: str) -> str:
        return text.removesuffix(self.suffix()).strip().replace(",", ".")


class CountSpinBox(RefusalMemory, QSpinBox):
    """A whole number from `minimum` up to what a QSpinBox holds; `special` names the
    minimum ("off", "default"), `separators` shows 1,024 rather than 1024."""

    def __init__(self, minimum: int, *, suffix: str = "", special: str = "",
                 separators: bool = False) -> None:
        super().__init__()
        self.setRange(minimum, INT_MAX)
        self.setSuffix(suffix)
        self.setSpecialValueText(special)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.setGroupSeparatorShown(separators)

    def allowed(self) -> str:
        """What the field takes: "a whole number, 1 or more", "…, 0 (off) or more"."""
        special = f" ({self.specialValueText()})" if self.specialValueText() else ""
        return f"a whole number, {self.minimum()}{special} or more"

    def validate(self, text: str, pos: int) -> object:
        return let_out_of_range_be_typed(self, super().validate(text, pos))

    def set_count(self, value: object) -> bool:
        """Show `value` if it is a whole number within range; False (and nothing shown) if
        not (True is not 1, 3.0 is not 3: the file must hold an integer)."""
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        if not self.minimum() <= value <= self.maximum():
            return False
        self.setValue(value)
        return True


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)
