"""Normalization and regularization: BatchNorm1d/2d, GroupNorm, InstanceNorm2d, LayerNorm,
Dropout, Dropout2d."""

from __future__ import annotations

from typing import Any

from dlbuilder.core.diagnostics import ChangeParams, ShapeProblem
from dlbuilder.core.params import REQUIRED, ParamSpec
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape, prod
from dlbuilder.layers.common import (
    IMG,
    bool_param,
    divisors,
    float_param,
    int_param,
    need_divisor,
    need_rank,
)

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
    return [f"output = input = {format_shape(out)}, normalized per channel (C = {c})",
            *_stats_lines(ins, p)]


def _stats_lines(ins: list[Shape], p: Params) -> list[str]:
    """The parameter and buffer lines of BatchNorm and InstanceNorm: per channel."""
    c = ins[0][0]
    params, buffers = _bn_counts(ins, p)
    lines = []
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


_EPS = float_param("eps", 1e-5, "added to the variance to avoid dividing by zero", minimum=0.0)
_AFFINE = bool_param("affine", True, "learn a scale (gamma) and shift (beta) per channel")

GROUP_PARAMS = (
    int_param("num_groups", REQUIRED, "groups of channels normalized together (divides C)",
              initial=1),
    _EPS, _AFFINE,
)
INSTANCE_PARAMS = (
    _EPS, BN_PARAMS[1],
    bool_param("affine", False, "learn a scale (gamma) and shift (beta) per channel"),
    bool_param("track_running_stats", False,
               "keep running mean and variance for evaluation (off: use each sample's own)"),
)
LAYER_PARAMS = (
    ParamSpec("normalized_shape", "shape", REQUIRED,
              "the input's trailing dimensions to normalize over: [F] after Linear(F), "
              "[C, H, W] for a whole image", initial=[10]),
    _EPS,
    bool_param("elementwise_affine", True, "learn a scale (and shift) per normalized value"),
    bool_param("bias", True, "learn the shift too (needs elementwise_affine)"),
)


def _per_sample_text(shape: Shape) -> str:
    """`4 channels x 8x8 = 256 values` for a group of channels of an image."""
    if len(shape) == 1:
        return f"{shape[0]} value{'s' if shape[0] != 1 else ''}"
    return f"{shape[0]} channels x {format_shape(shape[1:])} = {prod(shape)} values"


def _group_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (1, 2, 3), "GroupNorm")
    c, g = ins[0][0], p["num_groups"]
    need_divisor(g, c, "num_groups", "channels")
    if c // g * prod(ins[0][1:]) == 1:
        fewer = max((d for d in divisors(c) if d < g), default=None)
        raise ShapeProblem(
            "too_few_values",
            f"GroupNorm with {g} groups of the {c} channels of {format_shape(ins[0])} normalizes "
            "each group over 1 value, so every output would be 0 (torch refuses it for a "
            "single sample); " + (f"use fewer groups, such as {fewer}" if fewer else
                                  "remove it, or normalize a larger tensor"),
            "num_groups", ChangeParams({"num_groups": fewer}) if fewer else None,
            f"Set num_groups to {fewer}" if fewer else None)
    return ins[0]


def _group_counts(ins: list[Shape], p: Params) -> tuple[int, int]:
    return (2 * ins[0][0] if p["affine"] else 0), 0


def _group_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    c, g = ins[0][0], p["num_groups"]
    group = (c // g, *ins[0][1:])
    lines = [f"output = input = {format_shape(out)}",
             (f"C = {c} channels in G = {g} groups of C/G = {c // g}; each sample's group is "
              f"normalized over its {_per_sample_text(group)} (no batch statistics)")]
    if p["affine"]:
        lines.append(f"params = 2*C = 2*{c} = {2 * c} (scale gamma and shift beta per channel)")
    else:
        lines.append("params = 0 (affine is off)")
    return lines


def _instance_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (3,), "InstanceNorm2d", "use LayerNorm or BatchNorm1d for vectors")
    h, w = ins[0][1:]
    if h * w == 1:
        raise ShapeProblem(
            "too_few_values",
            f"InstanceNorm2d normalizes each channel over its H x W = {h}x{w} = 1 value, so "
            "every output would be 0 (torch refuses it in training); move it before the layer "
            "that shrinks the image to 1x1, or remove it")
    return ins[0]


def _instance_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    c, h, w = ins[0]
    return [f"output = input = {format_shape(out)}",
            (f"each sample's channels (C = {c}) normalized one by one over their H x W = "
             f"{h}*{w} = {h * w} values"), *_stats_lines(ins, p)]


def _layer_shape(ins: list[Shape], p: Params) -> Shape:
    shape, names = ins[0], p["normalized_shape"]
    n = len(names)
    if n <= len(shape) and tuple(shape[-n:]) == tuple(names):
        return shape
    fix = list(shape[-n:]) if n <= len(shape) else list(shape)
    if n > len(shape):
        why = f"names {n} dimensions but the input {format_shape(shape)} has only {len(shape)}"
    else:
        why = (f"must equal the input's last {n} dimension{'s' if n > 1 else ''}: the input is "
               f"{format_shape(shape)}, so {fix}")
    raise ShapeProblem(
        "norm_shape_mismatch",
        f"normalized_shape {list(names)} {why}; LayerNorm normalizes each sample over the "
        "trailing dimensions it names", "normalized_shape",
        ChangeParams({"normalized_shape": fix}), f"Set normalized_shape to {fix}")


def _layer_counts(ins: list[Shape], p: Params) -> tuple[int, int]:
    if not p["elementwise_affine"]:
        return 0, 0
    return prod(p["normalized_shape"]) * (2 if p["bias"] else 1), 0


def _layer_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    names = p["normalized_shape"]
    n, size = len(names), prod(names)
    lines = [f"output = input = {format_shape(out)}",
             (f"each sample normalized over its last {n} dimension{'s' if n > 1 else ''} "
              f"{format_shape(names)} = {size} values (no batch statistics)")]
    params = _layer_counts(ins, p)[0]
    if not params:
        lines.append("params = 0 (elementwise_affine is off)")
    elif p["bias"]:
        lines.append(f"params = 2*{size} = {params:,} (a scale and a shift per value)")
    else:
        lines.append(f"params = {size:,} (a scale per value; bias is off)")
    return lines


def _layer_args(ins: list[Shape], p: Params) -> dict[str, Any]:
    """Every declared field, with normalized_shape as a list: never collapsed to one number
    (LayerNorm(8) would normalize only the last dimension of an [8, 8])."""
    return {"normalized_shape": list(p["normalized_shape"]), "eps": p["eps"],
            "elementwise_affine": p["elementwise_affine"], "bias": p["bias"]}


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
              traits=frozenset({"batch_norm"}),
              examples=(([(20,)], {}), ([(4, 9)], {"affine": False, "momentum": None}))),
    LayerSpec("BatchNorm2d", "normalization", "normalizes each channel over the batch",
              BN_PARAMS, _bn2d_shape, count=_bn_counts, explain=_bn_explain,
              torch_class="torch.nn.BatchNorm2d", inferred=_num_features,
              traits=frozenset({"batch_norm"}),
              examples=(([IMG], {}), ([IMG], {"track_running_stats": False, "eps": 1e-3}))),
    LayerSpec("Dropout", "normalization", "randomly zeroes values while training",
              _P, _identity, explain=_dropout_explain("values"), torch_class="torch.nn.Dropout",
              key_params=lambda p: f"p={p['p']:g}", traits=frozenset({"dropout"}),
              examples=(([(20,)], {"p": 0.3}), ([IMG], {}))),
    LayerSpec("Dropout2d", "normalization", "randomly zeroes whole channels while training",
              _P, _dropout2d_shape, explain=_dropout_explain("whole channels"),
              torch_class="torch.nn.Dropout2d", key_params=lambda p: f"p={p['p']:g}",
              traits=frozenset({"dropout"}),
              examples=(([IMG], {"p": 0.1}),)),
    LayerSpec("GroupNorm", "normalization",
              "normalizes groups of channels within each sample: batch-size independent",
              GROUP_PARAMS, _group_shape, count=_group_counts, explain=_group_explain,
              torch_class="torch.nn.GroupNorm",
              inferred=lambda ins, p: {"num_channels": ins[0][0]},
              key_params=lambda p: f"{p['num_groups']} groups",
              examples=(([(6, 5, 4)], {"num_groups": 3}),
                        ([(4, 9)], {"num_groups": 2, "affine": False}),
                        ([(8,)], {"num_groups": 4, "eps": 1e-3}))),
    LayerSpec("InstanceNorm2d", "normalization",
              "normalizes each channel of each image on its own (style transfer)",
              INSTANCE_PARAMS, _instance_shape, count=_bn_counts, explain=_instance_explain,
              torch_class="torch.nn.InstanceNorm2d", inferred=_num_features,
              examples=(([IMG], {}), ([IMG], {"affine": True, "track_running_stats": True}))),
    LayerSpec("LayerNorm", "normalization",
              "normalizes each sample over its trailing dimensions (transformers)",
              LAYER_PARAMS, _layer_shape, count=_layer_counts, explain=_layer_explain,
              torch_class="torch.nn.LayerNorm", torch_args=_layer_args,
              key_params=lambda p: format_shape(p["normalized_shape"]),
              examples=(([(20,)], {"normalized_shape": [20]}),
                        ([IMG], {"normalized_shape": [12, 10], "bias": False}),
                        ([IMG], {"normalized_shape": [3, 12, 10],
                                 "elementwise_affine": False}))),
)
