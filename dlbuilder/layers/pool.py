"""Pooling: MaxPool2d, AvgPool2d (W2 = (W1 - F + 2P)/S + 1, no weights) and the adaptive
AdaptiveAvgPool2d and AdaptiveMaxPool2d (a fixed output size)."""

from __future__ import annotations

from typing import Any

from dlbuilder.core.diagnostics import ChangeParams, ShapeProblem
from dlbuilder.core.params import REQUIRED
from dlbuilder.core.registry import LayerSpec, Params, Shape, format_shape
from dlbuilder.layers import receptive_maps as maps
from dlbuilder.layers.common import (
    IMG,
    bool_param,
    need_rank,
    one_text,
    pair_param,
    pair_text,
)
from dlbuilder.layers.conv import AXIS_WORDS, axis_line

_KERNEL = pair_param("kernel_size", REQUIRED, "window size F", initial=2)
_STRIDE = pair_param("stride", None, "step S between windows (empty: the kernel size)",
                     nullable=True)
_PADDING = pair_param("padding", 0, "implicit padding on each side (at most half the kernel)",
                      minimum=0)
_CEIL = bool_param("ceil_mode", False, "round the output size up instead of down")

MAX_PARAMS = (_KERNEL, _STRIDE, _PADDING,
              pair_param("dilation", 1, "spacing between window taps"), _CEIL)
AVG_PARAMS = (_KERNEL, _STRIDE, _PADDING, _CEIL,
              bool_param("count_include_pad", True, "count padded zeros in the average"))


def _geometry(p: Params) -> tuple[Any, Any, Any, Any]:
    kernel = p["kernel_size"]
    stride = p["stride"] if p["stride"] is not None else kernel
    return kernel, stride, p["padding"], p.get("dilation", (1, 1))


def pool_size(size: int, f: int, s: int, pad: int, d: int, ceil: bool) -> int:
    """torch's pooling output size, including ceil mode's 'last window starts inside' rule."""
    out = (size + 2 * pad - d * (f - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= size + pad:
        out -= 1
    return out


def pool_shape(ins: list[Shape], p: Params, type_name: str) -> Shape:
    need_rank(ins[0], (3,), type_name, "pooling works on images")
    c, h, w = ins[0]
    kernel, stride, pad, dil = _geometry(p)
    for i in range(2):
        if pad[i] > kernel[i] // 2:
            limit = [k // 2 for k in kernel]
            raise ShapeProblem(
                "param_range",
                f"padding {pad[i]} is more than half of kernel_size {kernel[i]}; pooling "
                f"allows at most {kernel[i] // 2}", "padding", ChangeParams({"padding": limit}))
    out = []
    for i, size in enumerate((h, w)):
        value = pool_size(size, kernel[i], stride[i], pad[i], dil[i], p["ceil_mode"])
        if value < 1:
            span = dil[i] * (kernel[i] - 1) + 1
            raise ShapeProblem(
                "kernel_too_large",
                f"kernel {kernel[i]}{f' (spanning {span})' if span != kernel[i] else ''} is "
                f"larger than the padded input {size + 2 * pad[i]} ({size} + 2*{pad[i]}) in "
                f"{AXIS_WORDS[i]}; lower kernel_size or remove this pooling", "kernel_size")
        out.append(value)
    return (c, out[0], out[1])


def pool_explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
    kernel, stride, pad, dil = _geometry(p)
    lines = [f"input D1 x H1 x W1 = {format_shape(ins[0])}"]
    for i, size in enumerate(ins[0][1:]):
        lines.append(axis_line(i, size, kernel[i], stride[i], pad[i], dil[i], out[i + 1],
                               p["ceil_mode"]))
    lines.append(f"D2 = D1 = {out[0]} (pooling keeps the channels)")
    lines.append("params = 0 (pooling has no weights)")
    return lines


def pool_key(p: Params) -> str:
    kernel, stride, pad, _ = _geometry(p)
    text = f"{pair_text(kernel)} s{one_text(stride)}"
    if pad != (0, 0):
        text += f" p{one_text(pad)}"
    return text


def _adaptive_shape(type_name: str) -> Any:
    def shape(ins: list[Shape], p: Params) -> Shape:
        need_rank(ins[0], (3,), type_name, "pooling works on images")
        oh, ow = p["output_size"]
        return (ins[0][0], oh, ow)
    return shape


def _adaptive_explain(verb: str) -> Any:
    def explain(ins: list[Shape], p: Params, out: Shape) -> list[str]:
        window = f"{-(-ins[0][1] // out[1])}x{-(-ins[0][2] // out[2])}"
        return [f"input D1 x H1 x W1 = {format_shape(ins[0])}",
                (f"output_size fixes H x W = {pair_text(p['output_size'])} whatever the input "
                 f"size; each output {verb} a window of about {window}"),
                f"D2 = D1 = {out[0]}", "params = 0"]
    return explain


_OUTPUT_SIZE = pair_param("output_size", REQUIRED, "output height and width", initial=1)


SPECS = (
    LayerSpec("MaxPool2d", "pooling", "keeps the largest value of each F x F window",
              MAX_PARAMS, lambda ins, p: pool_shape(ins, p, "MaxPool2d"),
              explain=pool_explain, torch_class="torch.nn.MaxPool2d", key_params=pool_key,
              resizes=("padding", "stride", "kernel_size", "ceil_mode", "dilation"),
              receptive=maps.pool,
              examples=(
                  ([IMG], {"kernel_size": 2}),
                  ([IMG], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
                  ([(2, 9, 9)], {"kernel_size": 2, "stride": 2, "ceil_mode": True}),
                  ([IMG], {"kernel_size": [2, 3], "dilation": 2, "stride": 1}),
              )),
    LayerSpec("AvgPool2d", "pooling", "averages each F x F window",
              AVG_PARAMS, lambda ins, p: pool_shape(ins, p, "AvgPool2d"),
              explain=pool_explain, torch_class="torch.nn.AvgPool2d", key_params=pool_key,
              resizes=("padding", "stride", "kernel_size", "ceil_mode"),
              receptive=maps.pool,
              examples=(
                  ([IMG], {"kernel_size": 2}),
                  ([(2, 5, 5)], {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True,
                                 "count_include_pad": False}),
              )),
    LayerSpec("AdaptiveAvgPool2d", "pooling",
              "averages down to a fixed output size (1x1: global average pooling)",
              (_OUTPUT_SIZE,), _adaptive_shape("AdaptiveAvgPool2d"),
              explain=_adaptive_explain("averages"), torch_class="torch.nn.AdaptiveAvgPool2d",
              key_params=lambda p: f"-> {pair_text(p['output_size'])}", resizes=("output_size",),
              receptive=maps.adaptive,
              examples=(([IMG], {"output_size": 1}), ([IMG], {"output_size": [4, 2]}))),
    LayerSpec("AdaptiveMaxPool2d", "pooling",
              "keeps the largest value down to a fixed output size (1x1: global max pooling)",
              (_OUTPUT_SIZE,), _adaptive_shape("AdaptiveMaxPool2d"),
              explain=_adaptive_explain("keeps the largest value of"),
              receptive=maps.adaptive,
              torch_class="torch.nn.AdaptiveMaxPool2d",
              key_params=lambda p: f"-> {pair_text(p['output_size'])}", resizes=("output_size",),
              examples=(([IMG], {"output_size": 1}), ([IMG], {"output_size": [5, 3]}))),
)
