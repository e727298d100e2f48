"""Helpers shared by the layer declarations: rank checks, pair formatting, parameter kinds."""

from __future__ import annotations

from typing import Any

from dlbuilder.core.diagnostics import ChangeParams, InsertBefore, ShapeProblem
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


def per_sample_axis(shape: Shape, dim: int, verb: str, what: str = "input") -> int:
    """The 0-based per-sample position of `dim`, which counts the batch as dimension 0.

    Raises `bad_dim` (with a fix that resets the field) for the batch dimension or one outside
    the shape; `verb` says what the layer does along it ("split", "join").
    """
    rank = len(shape)
    axis = dim + rank + 1 if dim < 0 else dim
    if axis == 0:
        raise ShapeProblem("bad_dim", f"dim {dim} is the batch dimension; use 1 to {verb} "
                           "channels", "dim", ChangeParams({"dim": None}))
    if not 1 <= axis <= rank:
        raise ShapeProblem("bad_dim", f"dim {dim} is outside the {what} {format_shape(shape)} "
                           f"(per-sample dimensions 1 to {rank})", "dim",
                           ChangeParams({"dim": None}))
    return axis - 1


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


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def nearest_divisor(n: int, want: int) -> int:
    """The divisor of `n` closest to `want` (the smaller on a tie): a fix that changes least."""
    return min(divisors(n), key=lambda d: (abs(d - want), d))


def need_divisor(value: int, count: int, field: str, what: str) -> None:
    """Raise `channels_groups` unless `value` (the field) divides `count` (the input's `what`),
    with a fix to the nearest divisor."""
    if count % value == 0:
        return
    fix = nearest_divisor(count, value)
    listed = divisors(count)
    choices = ", ".join(str(d) for d in listed[:8]) + (", ..." if len(listed) > 8 else "")
    raise ShapeProblem(
        "channels_groups",
        f"{field} {value} must divide the input's {count} {what} ({count}/{value} is not "
        f"whole); set {field} to a divisor of {count}: {choices}",
        field, ChangeParams({field: fix}), f"Set {field} to {fix}")
