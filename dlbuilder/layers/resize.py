"""Upsample: enlarge an image by a scale factor or to a fixed size (no weights)."""

from __future__ import annotations

import math
from typing import Any

from dlbuilder.core.diagnostics import ChangeParams, ShapeProblem
from dlbuilder.core.params import ParamSpec
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape, torch_value
from dlbuilder.layers.common import IMG, need_rank, one_text, pair_text

MODES = ("nearest", "bilinear", "bicubic", "nearest-exact")

UPSAMPLE_PARAMS = (
    ParamSpec("size", "pair", None, "output height and width (instead of scale_factor)",
              minimum=1, nullable=True),
    ParamSpec("scale_factor", "pair", None, "multiplier for height and width, e.g. 2",
              minimum=0, element="float", nullable=True, initial=2.0),
    ParamSpec("mode", "choice", "nearest", "how new pixels are filled in", choices=MODES),
)


def upsample_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (3,), "Upsample", "it resizes images")
    c, h, w = ins[0]
    size, scale = p["size"], p["scale_factor"]
    if size is not None and scale is not None:
        raise ShapeProblem("param_conflict", "set either size or scale_factor, not both",
                           "size", ChangeParams({"size": None}), "Clear size")
    if size is None and scale is None:
        raise ShapeProblem("param_missing", "Upsample needs scale_factor (e.g. 2) or size "
                           "(e.g. [32, 32])", "scale_factor", ChangeParams({"scale_factor": 2}))
    if size is not None:
        return (c, size[0], size[1])
    out = (math.floor(float(h) * scale[0]), math.floor(float(w) * scale[1]))
    if min(out) < 1:
        raise ShapeProblem("output_too_small", f"scale_factor {one_text(scale)} turns "
                           f"{h}x{w} into {pair_text(out)}; use a larger scale_factor",
                           "scale_factor")
    return (c, *out)


def upsample_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    c, h, w = ins[0]
    if p["size"] is not None:
        how = f"size fixes H x W = {pair_text(p['size'])}"
    else:
        sh, sw = p["scale_factor"]
        how = f"H = floor({h}*{sh:g}) = {out[1]}, W = floor({w}*{sw:g}) = {out[2]}"
    return [f"input {format_shape(ins[0])}", how, f"D2 = D1 = {c}", "params = 0"]


def _upsample_args(ins: list[Shape], p: Params) -> dict[str, Any]:
    """size or scale_factor, whichever is set (torch refuses both), then the mode."""
    args: dict[str, Any] = {}
    if p["size"] is not None:
        args["size"] = torch_value(p["size"])
    else:
        args["scale_factor"] = torch_value(p["scale_factor"])
    args["mode"] = p["mode"]
    return args


def _upsample_key(p: Params) -> str:
    if p["size"] is not None:
        return f"-> {pair_text(p['size'])} {p['mode']}"
    if p["scale_factor"] is None:
        return p["mode"]
    sh, sw = p["scale_factor"]
    return f"x{sh:g} {p['mode']}" if sh == sw else f"x{sh:g}x{sw:g} {p['mode']}"


SPECS = (
    LayerSpec("Upsample", "pooling", "enlarges the image by a factor (nearest or interpolated)",
              UPSAMPLE_PARAMS, upsample_shape, explain=upsample_explain,
              torch_class="torch.nn.Upsample", torch_args=_upsample_args,
              key_params=_upsample_key,
              examples=(
                  ([IMG], {"scale_factor": 2}),
                  ([IMG], {"scale_factor": [1.5, 0.7], "mode": "bilinear"}),
                  ([IMG], {"size": [16, 20], "mode": "nearest-exact"}),
              )),
)
