"""Normalization and regularization: BatchNorm1d/2d, Dropout, Dropout2d."""

from __future__ import annotations

from typing import Any

from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape
from dlbuilder.layers.common import IMG, bool_param, float_param, need_rank

BN_PARAMS = (
    float_param("eps", 1e-5, "added to the variance to avoid dividing by zero", minimum=0.0),
    float_param("momentum", 0.1, "weight of the newest batch in the running statistics",
                minimum=0.0, maximum=1.0, nullable=True),
    bool_param("affine", True, "learn a scale (gamma) and shift (beta) per channel"),
    bool_param("track_running_stats", True, "keep running mean and variance for evaluation"),
)


def _bn1d_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (1, 2), "BatchNorm1d", "use BatchNorm2d for images", flatten_fix=True)
    return ins[0]


def _bn2d_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (3,), "BatchNorm2d", "use BatchNorm1d after Flatten or Linear")
    return ins[0]


def _bn_counts(ins: list[Shape], p: Params) -> tuple[int, int]:
    c = ins[0][0]
    return (2 * c if p["affine"] else 0), (2 * c + 1 if p["track_running_stats"] else 0)


def _bn_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    c = ins[0][0]
    params, buffers = _bn_counts(ins, p)
    lines = [f"output = input = {format_shape(out)}, normalized per channel (C = {c})"]
    if p["affine"]:
        lines.append(f"params = 2*C = 2*{c} = {params} (scale gamma and shift beta)")
    else:
        lines.append("params = 0 (affine is off)")
    if p["track_running_stats"]:
        lines.append(f"buffers = 2*C + 1 = {buffers} (running mean and variance, batch count; "
                     "not trained)")
    return lines


def _num_features(ins: list[Shape], p: Params) -> dict[str, int]:
    return {"num_features": ins[0][0]}


def _dropout2d_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (3,), "Dropout2d", "use Dropout for vectors")
    return ins[0]


def _dropout_explain(unit: str) -> Any:
    def explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
        keep = 1 - p["p"]
        scale = f"{1 / keep:.3g}" if keep > 0 else "inf"
        return [f"output = input = {format_shape(out)}",
                (f"in training, zeroes {unit} with probability p = {p['p']:g} and scales the "
                f"rest by 1/(1 - p) = {scale}; does nothing in evaluation"),
                "params = 0"]
    return explain


_P = (float_param("p", 0.5, "probability of zeroing", minimum=0.0, maximum=1.0),)


def _identity(ins: list[Shape], p: Params) -> Shape:
    return ins[0]


SPECS = (
    LayerSpec("BatchNorm1d", "normalization",
              "normalizes each feature over the batch (after Linear or Flatten)",
              BN_PARAMS, _bn1d_shape, count=_bn_counts, explain=_bn_explain,
              torch_class="torch.nn.BatchNorm1d", inferred=_num_features,
              examples=(([(20,)], {}), ([(4, 9)], {"affine": False, "momentum": None}))),
    LayerSpec("BatchNorm2d", "normalization", "normalizes each channel over the batch",
              BN_PARAMS, _bn2d_shape, count=_bn_counts, explain=_bn_explain,
              torch_class="torch.nn.BatchNorm2d", inferred=_num_features,
              examples=(([IMG], {}), ([IMG], {"track_running_stats": False, "eps": 1e-3}))),
    LayerSpec("Dropout", "normalization", "randomly zeroes values while training",
              _P, _identity, explain=_dropout_explain("values"), torch_class="torch.nn.Dropout",
              key_params=lambda p: f"p={p['p']:g}",
              examples=(([(20,)], {"p": 0.3}), ([IMG], {}))),
    LayerSpec("Dropout2d", "normalization", "randomly zeroes whole channels while training",
              _P, _dropout2d_shape, explain=_dropout_explain("whole channels"),
              torch_class="torch.nn.Dropout2d", key_params=lambda p: f"p={p['p']:g}",
              examples=(([IMG], {"p": 0.1}),)),
)
