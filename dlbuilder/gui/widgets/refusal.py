"""Spin boxes that can say what they did not take.

Qt's spin boxes refuse quietly: a number out of range is replaced by the last value when editing
finishes, and a key that cannot lead to a number in range ("-" where the minimum is 0) is not
typed at all, so "-3" becomes 3. The forms (the inspector's fields, the training settings) read
the refused text as editing finishes and say under the field what it takes instead.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox

_INT_TEXT = re.compile(r"[+-]?\d+")
_FLOAT_TEXT = re.compile(r"[+-]?(\d+[.,]?\d*|[.,]\d+)")


class RefusalMemory:
    """Mixin for a QSpinBox or QDoubleSpinBox: remembers the text refused as editing finished
    (Qt hands it to fixup before putting the last value back)."""

    _refused: str | None = None

    def fixup(self, text: str) -> str:
        self._refused = text.strip()  # Qt calls this with what it will not take
        return super().fixup(text)  # type: ignore[misc]

    def take_refusal(self) -> str | None:
        """The text refused since the last call, if any."""
        refused, self._refused = self._refused, None
        return refused or None


def not_taken(refused: str, taker: str, allowed: str) -> str:
    """"0 was not taken: kernel_size takes a whole number of at least 1"."""
    return f"{refused} was not taken: {taker} takes {allowed}"


def let_out_of_range_be_typed(spin: QAbstractSpinBox, result: Any) -> Any:
    """`result` of Qt's validate, with a sign or a number out of range let through as
    Intermediate (instead of the key being dropped), so that it reaches fixup and is said."""
    state, text, pos = result
    if state != QValidator.State.Invalid:
        return result
    bare = str(text)
    for affix in (spin.prefix(), spin.suffix()):  # type: ignore[attr-defined]
        bare = bare.replace(affix, "") if affix else bare
    bare = bare.strip()
    floats = isinstance(spin, QDoubleSpinBox)
    if bare in ("-", "+") or (_FLOAT_TEXT if floats else _INT_TEXT).fullmatch(bare):
        number = float(bare.replace(",", ".")) if bare not in ("-", "+") else None
        low, high = spin.minimum(), spin.maximum()  # type: ignore[attr-defined]
        if number is None or not low <= number <= high:
            return QValidator.State.Intermediate, text, pos
    return result
