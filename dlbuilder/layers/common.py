"""Helpers shared by the layer declarations: rank checks, pair formatting, parameter kinds."""

from __future__ import annotations

from typing import Any

from dlbuilder.core.diagnostics import InsertBefore, ShapeProblem
from dlbuilder.core.params import REQUIRED, ParamSpec
from dlbuilder.core.registry import Shape, format_shape

IMG = (3, 12, 10)  # an image for examples: odd sizes catch swapped height and width

RANK_WORDS = {1: "a vector [F]", 2: "a C x L tensor", 3: "a C x H x W image tensor"}

Pair = tuple[int, int]


def describe_shape(shape: Shape) -> str:
    """`16x8x8 (3 dimensions)`, for messages about ranks."""
    dims = len(shape)
    return f"{format_shape(shape)} ({dims} dimension{'s' if dims != 1 else ''})"


def need_rank(shape: Shape, ranks: tuple[int, ...], type_name: str, hint: str = "",
              flatten_fix: bool = False) -> None:
    """Raise `wrong_rank` unless the per-sample shape has one of `ranks` dimensions."""
    if len(shape) in ranks:
        return
    wanted = " or ".join(RANK_WORDS[r] for r in ranks)
    message = f"{type_name} needs {wanted} per sample, but its input is {describe_shape(shape)}"
    if flatten_fix:
        message += "; insert a Flatten before it"
        remedy = InsertBefore(0, "Flatten")
        label = f"Insert Flatten before this {type_name}"
        raise ShapeProblem("wrong_rank", message + (f" ({hint})" if hint else ""), None,
                           remedy, label)
    raise ShapeProblem("wrong_rank", message + (f"; {hint}" if hint else ""))


def pair_text(value: Pair) -> str:
    """`5x5` for a kernel."""
    return f"{value[0]}x{value[1]}"


def one_text(value: Pair) -> str:
    """`1` for (1, 1), `1x2` otherwise: strides and paddings on a node card."""
    return str(value[0]) if value[0] == value[1] else pair_text(value)


def floor_div_text(numerator_text: str, numerator: int, divisor: int, ceil: bool = False) -> str:
    """`(28 - 5 + 2*1)/1` when exact, else `floor((28 - 5 + 2*1)/2)` (or ceil)."""
    if divisor == 1:
        return f"({numerator_text})/1"
    if numerator % divisor == 0:
        return f"({numerator_text})/{divisor}"
    return f"{'ceil' if ceil else 'floor'}(({numerator_text})/{divisor})"


def int_param(name: str, default: Any = REQUIRED,
              doc: str = "", minimum: int | None = 1, **kw: Any) -> ParamSpec:
    return ParamSpec(name, "int", default, doc, minimum=minimum, **kw)


def pair_param(name: str, default: Any, doc: str, minimum: int = 1, **kw: Any) -> ParamSpec:
    return ParamSpec(name, "pair", default, doc, minimum=minimum, **kw)


def bool_param(name: str, default: bool, doc: str) -> ParamSpec:
    return ParamSpec(name, "bool", default, doc)


def float_param(name: str, default: Any, doc: str, minimum: float | None = None,
                maximum: float | None = None, **kw: Any) -> ParamSpec:
    return ParamSpec(name, "float", default, doc, minimum=minimum, maximum=maximum, **kw)
