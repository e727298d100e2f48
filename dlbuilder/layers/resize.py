"""Resizing an image without weights: Upsample (a scale factor or a fixed size), ZeroPad2d
(zeros around the border) and PixelShuffle (channels traded for resolution)."""

from __future__ import annotations

import math
from typing import Any

from dlbuilder.core.diagnostics import ChangeParams, ShapeProblem
from dlbuilder.core.params import REQUIRED, ParamSpec
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape, torch_value
from dlbuilder.layers import receptive_maps as maps
from dlbuilder.layers.common import IMG, int_param, need_rank, one_text, pair_text

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


def zero_pad_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (3,), "ZeroPad2d", "it pads images")
    c, h, w = ins[0]
    left, right, top, bottom = p["padding"]
    return (c, h + top + bottom, w + left + right)


def zero_pad_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    c, h, w = ins[0]
    left, right, top, bottom = p["padding"]
    return [f"input {format_shape(ins[0])}",
            f"H = {h} + {top} (top) + {bottom} (bottom) = {out[1]}",
            f"W = {w} + {left} (left) + {right} (right) = {out[2]}",
            f"D2 = D1 = {c}", "params = 0"]


def _zero_pad_key(p: Params) -> str:
    left, right, top, bottom = p["padding"]
    if left == right == top == bottom:
        return f"p{left}"
    return f"l{left} r{right} t{top} b{bottom}"


def _zero_pad_args(ins: list[Shape], p: Params) -> dict[str, Any]:
    sides = p["padding"]
    return {"padding": sides[0] if len(set(sides)) == 1 else sides}


def pixel_shuffle_shape(ins: list[Shape], p: Params) -> Shape:
    need_rank(ins[0], (3,), "PixelShuffle", "it rearranges images")
    c, h, w = ins[0]
    r = p["upscale_factor"]
    if c % (r * r):
        raise ShapeProblem(
            "channels_upscale",
            f"PixelShuffle with upscale_factor {r} turns each r*r = {r * r} channels into one "
            f"channel {r} times larger, but the input has {c} channels ({c}/{r * r} is not "
            f"whole); give the layer before it a multiple of {r * r} channels",
            "upscale_factor")
    return (c // (r * r), h * r, w * r)


def pixel_shuffle_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    c, h, w = ins[0]
    r = p["upscale_factor"]
    return [f"input D1 x H1 x W1 = {format_shape(ins[0])}, upscale factor r = {r}",
            f"D2 = D1/(r*r) = {c}/{r * r} = {out[0]}",
            f"H = H1*r = {h}*{r} = {out[1]}, W = W1*r = {w}*{r} = {out[2]}",
            "params = 0 (each r x r block of the output comes from r*r input channels)"]


SPECS = (
    LayerSpec("Upsample", "pooling", "enlarges the image by a factor (nearest or interpolated)",
              UPSAMPLE_PARAMS, upsample_shape, explain=upsample_explain,
              torch_class="torch.nn.Upsample", torch_args=_upsample_args,
              key_params=_upsample_key, resizes=("scale_factor", "size"),
              receptive=maps.upsample,
              examples=(
                  ([IMG], {"scale_factor": 2}),
                  ([IMG], {"scale_factor": [1.5, 0.7], "mode": "bilinear"}),
                  ([IMG], {"size": [16, 20], "mode": "nearest-exact"}),
              )),
    LayerSpec("ZeroPad2d", "pooling", "adds rows and columns of zeros around the image",
              (ParamSpec("padding", "sides", REQUIRED, "zeros added: one number for every side, "
                         "or [left, right, top, bottom]", minimum=0, initial=1),),
              zero_pad_shape, explain=zero_pad_explain, torch_class="torch.nn.ZeroPad2d",
              torch_args=_zero_pad_args, key_params=_zero_pad_key, receptive=maps.zero_pad,
              examples=(([IMG], {"padding": 2}), ([IMG], {"padding": [0, 1, 2, 3]}))),
    LayerSpec("PixelShuffle", "pooling",
              "trades channels for resolution: C*r*r x H x W becomes C x H*r x W*r",
              (int_param("upscale_factor", REQUIRED, "factor r for height and width",
                         initial=2),),
              pixel_shuffle_shape, explain=pixel_shuffle_explain,
              torch_class="torch.nn.PixelShuffle", key_params=lambda p: f"x{p['upscale_factor']}",
              receptive=maps.pixel_shuffle,
              examples=(([(8, 5, 3)], {"upscale_factor": 2}),
                        ([(9, 2, 2)], {"upscale_factor": 3}))),
)
