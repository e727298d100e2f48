"""Parameter declarations: what a layer field accepts, and how a raw file value is checked.

A raw value is whatever the file (or the inspector) holds: JSON numbers, strings, lists. Checking
turns it into a normalized value (pairs become tuples) or raises `ParamError` with a message that
quotes the value and says what would be accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

KINDS = ("int", "float", "bool", "choice", "pair", "shape", "sides")


class ParamError(ValueError):
    """A raw parameter value that cannot be used; `code` is a stable diagnostic code."""

    def __init__(self, code: str, message: str, fix_value: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fix_value = fix_value


REQUIRED = object()


@dataclass(frozen=True)
class ParamSpec:
    """One constructor argument of a layer, as the inspector and the checker see it.

    kind: "int", "float", "bool", "choice" (one of `choices`), "pair" (a number or a pair of
    numbers of `element` kind, normalized to a tuple), "shape" (a list of 1 to 3 positive ints),
    "sides" (one whole number for every side, or four: left, right, top, bottom; a 4-tuple).
    `strings` are extra string values a pair field accepts (Conv2d padding "same"/"valid").
    `nullable` means None is a legal value (torch's "not set").
    """

    name: str
    kind: str
    default: Any = REQUIRED
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    element: str = "int"
    strings: tuple[str, ...] = ()
    nullable: bool = False
    initial: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def start_value(self) -> Any:
        """The raw value a newly placed node gets: `initial` where given, else the default."""
        if self.initial is not None:
            return self.initial
        return None if self.required else self.default

    def describe(self) -> str:
        """What the field accepts, in words, for messages and tooltips."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "shape":
            return "a list of 1 to 3 positive whole numbers, like [1, 28, 28]"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "sides":
            return (f"a whole number{self._range_words()} (every side), or four like "
                    "[left, right, top, bottom]")
        whole = self.kind == "int" or (self.kind == "pair" and self.element == "int")
        word = "a whole number" if whole else "a number"
        text = word + self._range_words()
        if self.kind == "pair":
            text += f", or a pair like [{_example(self)}, {_example(self)}]"
        if self.strings:
            text += ", or " + " or ".join(repr(s) for s in self.strings)
        if self.nullable:
            text += ", or null"
        return text

    def _range_words(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f" from {_num(self.minimum)} to {_num(self.maximum)}"
        if self.minimum is not None:
            return f" of at least {_num(self.minimum)}"
        if self.maximum is not None:
            return f" of at most {_num(self.maximum)}"
        return ""

    def check(self, raw: Any) -> Any:
        """The normalized value of `raw`, or ParamError saying what is wrong with it."""
        if raw is None:
            if self.nullable:
                return None
            raise self._type_error(raw)
        kind = self.kind
        if kind == "int" or kind == "float":
            return self._number(raw, kind)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            raise self._type_error(raw)
        if kind == "choice":
            if isinstance(raw, str) and raw in self.choices:
                return raw
            raise ParamError("param_choice", f"{self.name} must be {self.describe()}, got {raw!r}")
        if kind == "pair":
            return self._pair(raw)
        if kind == "sides":
            return self._sides(raw)
        return self._shape(raw)

    def _number(self, raw: Any, kind: str) -> int | float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise self._type_error(raw)
        if kind == "int":
            if isinstance(raw, float):
                if not raw.is_integer():
                    raise self._type_error(raw)
                raw = int(raw)
        else:
            raw = float(raw)
            if not math.isfinite(raw):
                raise self._type_error(raw)
        if self.minimum is not None and raw < self.minimum:
            raise ParamError(
                "param_range",
                f"{self.name} must be at least {_num(self.minimum)}, got {_num(raw)}",
                fix_value=_bound(self.minimum, kind),
            )
        if self.maximum is not None and raw > self.maximum:
            raise ParamError(
                "param_range",
                f"{self.name} must be at most {_num(self.maximum)}, got {_num(raw)}",
                fix_value=_bound(self.maximum, kind),
            )
        return raw

    def _pair(self, raw: Any) -> Any:
        if isinstance(raw, str):
            if raw in self.strings:
                return raw
            raise self._type_error(raw)
        values = list(raw) if isinstance(raw, (list, tuple)) else [raw, raw]
        if len(values) != 2:
            raise self._type_error(raw)
        out, problem = [], None  # out holds the values, clamped into range where they are not
        for value in values:
            try:
                checked = self._number(value, self.element)
            except ParamError as err:
                if err.code != "param_range":
                    raise self._type_error(raw) from None
                problem = err
                checked = err.fix_value
            out.append(checked)
        if problem is not None:
            message = problem.message.rsplit(", got", 1)[0] + f", got {_show(raw)}"
            fixed = out[0] if not isinstance(raw, (list, tuple)) else out
            raise ParamError("param_range", message, fix_value=fixed)
        return (out[0], out[1])

    def _sides(self, raw: Any) -> tuple[int, ...]:
        values = list(raw) if isinstance(raw, (list, tuple)) else [raw] * 4
        whole = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
                 and float(v).is_integer()]
        if len(values) != 4 or len(whole) != 4:
            raise self._type_error(raw)
        values = [int(v) for v in values]
        low = self.minimum
        if low is not None and min(values) < low:
            fixed = [max(v, int(low)) for v in values]
            raise ParamError(
                "param_range", f"{self.name} must be at least {_num(low)} on every side, "
                f"got {_show(raw)}",
                fix_value=fixed if isinstance(raw, (list, tuple)) else fixed[0])
        return tuple(values)

    def _shape(self, raw: Any) -> tuple[int, ...]:
        ok = (
            isinstance(raw, (list, tuple))
            and 1 <= len(raw) <= 3
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in raw)
        )
        if not ok:
            raise self._type_error(raw)
        return tuple(raw)

    def _type_error(self, raw: Any) -> ParamError:
        return ParamError("param_type", f"{self.name} must be {self.describe()}, got {_show(raw)}")


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bound(value: float, kind: str) -> int | float:
    return int(value) if kind == "int" else float(value)


def _example(spec: ParamSpec) -> str:
    return str(int(spec.minimum) if spec.minimum is not None else 1)


def _show(raw: Any) -> str:
    if isinstance(raw, tuple):
        raw = list(raw)
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, list):
        return "[" + ", ".join(_show(v) for v in raw) + "]"
    return repr(raw)
