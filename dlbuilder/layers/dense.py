"""Flatten and Linear (a dense layer: params = D1*K + K)."""

from __future__ import annotations

from dlbuilder.core.diagnostics import ChangeParams, ShapeProblem
from dlbuilder.core.params import REQUIRED
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape, prod
from dlbuilder.layers import receptive_maps as maps
from dlbuilder.layers.common import IMG, bool_param, int_param, need_rank

FLATTEN_PARAMS = (
    int_param("start_dim", 1, "first dimension to flatten (0 is the batch)", minimum=None),
    int_param("end_dim", -1, "last dimension to flatten (-1: the last)", minimum=None),
)


def _flatten_range(shape: Shape, p: Params) -> tuple[int, int]:
    """Per-sample indices [first, last] that Flatten merges; torch counts the batch as 0."""
    full = len(shape) + 1
    start, end = p["start_dim"], p["end_dim"]
    start_n = start + full if start < 0 else start
    end_n = end + full if end < 0 else end
    for name, value, norm in (("start_dim", start, start_n), ("end_dim", end, end_n)):
        if not 0 <= norm < full:
            raise ShapeProblem("bad_dim", f"{name} {value} is outside the input "
                               f"{format_shape(shape)} with its batch dimension "
                               f"(dimensions 0 to {full - 1})", name, ChangeParams({name: None}))
    if start_n == 0 or end_n == 0:
        field = "start_dim" if start_n == 0 else "end_dim"
        raise ShapeProblem("bad_dim", f"{field} {p[field]} would merge the batch dimension "
                           "into the features; use 1 (the first per-sample dimension)", field,
                           ChangeParams({field: None}))
    if start_n > end_n:
        raise ShapeProblem("bad_dim", f"start_dim {start} comes after end_dim {end}",
                           "start_dim", ChangeParams({"start_dim": None, "end_dim": None}))
    return start_n - 1, end_n - 1


def flatten_shape(ins: list[Shape], p: Params) -> Shape:
    shape = ins[0]
    first, last = _flatten_range(shape, p)
    return (*shape[:first], prod(shape[first:last + 1]), *shape[last + 1:])


def flatten_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    first, last = _flatten_range(ins[0], p)
    merged = "*".join(str(d) for d in ins[0][first:last + 1])
    return [(f"input {format_shape(ins[0])} -> {format_shape(out)}: "
            f"{merged} = {prod(ins[0][first:last + 1])} values in a row"), "params = 0"]


def linear_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (1,), "Linear", "a dense layer takes a vector", flatten_fix=True)
    return (p["out_features"],)


def _linear_counts(ins: list[Shape], p: Params) -> tuple[int, int]:
    d1, k = ins[0][0], p["out_features"]
    return d1 * k + (k if p["bias"] else 0), 0


def linear_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    d1, k = ins[0][0], p["out_features"]
    total = _linear_counts(ins, p)[0]
    bias = (" + K", f" + {k}") if p["bias"] else ("", "")
    return [f"input D1 = {d1} values, output K = {k} (out_features)",
            f"params = D1*K{bias[0]} = {d1}*{k}{bias[1]} = {total:,}"]


def _in_features(ins: list[Shape], p: Params) -> dict[str, int]:
    return {"in_features": ins[0][0]}


SPECS = (
    LayerSpec("Flatten", "dense", "turns a C x H x W tensor into a vector for dense layers",
              FLATTEN_PARAMS, flatten_shape, explain=flatten_explain,
              torch_class="torch.nn.Flatten", op="flatten", receptive=maps.same_positions,
              traits=frozenset({"flatten"}),
              examples=(([IMG], {}), ([IMG], {"start_dim": 2}),
                        ([IMG], {"start_dim": -2, "end_dim": -1}))),
    LayerSpec("Linear", "dense", "fully connected: every output sees every input",
              (int_param("out_features", REQUIRED, "number of outputs K", initial=10),
               bool_param("bias", True, "add a learned bias per output")),
              linear_shape, count=_linear_counts, explain=linear_explain,
              torch_class="torch.nn.Linear", inferred=_in_features, receptive=maps.dense,
              key_params=lambda p: f"-> {p['out_features']}", traits=frozenset({"dense"}),
              examples=(([(120,)], {"out_features": 84}),
                        ([(7,)], {"out_features": 3, "bias": False}))),
)
