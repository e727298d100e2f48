"""ONNX operators with weights or windows as our layers: convolutions, pooling, Gemm/MatMul
and BatchNormalization; and `CONVERTERS`, every operator's converter (activations in
onnx_activations.py, merges and reshapes in onnx_reshapes.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbuilder.backend.importing.onnx_activations import ACTIVATIONS
from dlbuilder.backend.importing.onnx_nodes import (
    CannotMap,
    Context,
    Converter,
    Layer,
    Node,
    input_or_attr,
    number,
    optional,
    pair,
    sample,
    weight,
)
from dlbuilder.backend.importing.onnx_reshapes import RESHAPES


# -- convolution and pooling -------------------------------------------------------------------
def _window(node: Node, ctx: Context, kernel: list[int]) -> tuple[list[int], list[int]]:
    """The (begin, end) padding of each spatial side: `pads`, or what auto_pad asks for."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID"):
        pads = [int(p) for p in node.attrs.get("pads", [0] * 4)] if auto == "NOTSET" else [0] * 4
        return pads[:2], pads[2:]
    size = sample(ctx, node.inputs[0])[1:]
    strides = node.attrs.get("strides", [1, 1])
    dilations = node.attrs.get("dilations", [1, 1])
    begin, end = [], []
    for n, k, s, d in zip(size, kernel, strides, dilations, strict=True):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        small = total // 2
        begin.append(small if auto == "SAME_UPPER" else total - small)
        end.append(total - begin[-1])
    return begin, end


def _kernel(node: Node, fallback: Any) -> list[int]:
    kernel = [int(k) for k in node.attrs.get("kernel_shape", fallback)]
    if len(kernel) != 2:
        raise CannotMap(f"a {len(kernel)}-D window; the graph's layers are 2-D")
    return kernel


def conv(node: Node, ctx: Context) -> list[Layer]:
    w = weight(node, ctx, 1)
    kernel = _kernel(node, w.shape[2:])
    begin, end = _window(node, ctx, kernel)
    bias = optional(node, ctx, 2)
    params = {"out_channels": int(w.shape[0]), "kernel_size": pair(kernel),
              "stride": pair(node.attrs.get("strides", [1, 1])),
              "dilation": pair(node.attrs.get("dilations", [1, 1])),
              "groups": int(node.attrs.get("group", 1)), "bias": bias is not None}
    tensors = {"weight": w} | ({"bias": bias} if bias is not None else {})
    if begin == end:
        return [Layer("Conv2d", params | {"padding": pair(begin)}, tensors)]
    pad = Layer("ZeroPad2d", {"padding": [begin[1], end[1], begin[0], end[0]]})
    return [pad, Layer("Conv2d", params, tensors)]


def conv_transpose(node: Node, ctx: Context) -> list[Layer]:
    w = weight(node, ctx, 1)
    kernel = _kernel(node, w.shape[2:])
    if "output_shape" in node.attrs or node.attrs.get("auto_pad", "NOTSET") != "NOTSET":
        raise CannotMap("its output size is set by output_shape or auto_pad; the graph's "
                        "ConvTranspose2d takes padding and output_padding")
    begin, end = _window(node, ctx, kernel)
    if begin != end:
        raise CannotMap(f"uneven padding {begin + end}; ConvTranspose2d pads evenly")
    group = int(node.attrs.get("group", 1))
    bias = optional(node, ctx, 2)
    params = {"out_channels": int(w.shape[1]) * group, "kernel_size": pair(kernel),
              "stride": pair(node.attrs.get("strides", [1, 1])), "padding": pair(begin),
              "output_padding": pair(node.attrs.get("output_padding", [0, 0])),
              "dilation": pair(node.attrs.get("dilations", [1, 1])), "groups": group,
              "bias": bias is not None}
    return [Layer("ConvTranspose2d", params,
                  {"weight": w} | ({"bias": bias} if bias is not None else {}))]


def _pool(node: Node, ctx: Context, type_name: str, extra: dict[str, Any]) -> list[Layer]:
    if len(node.outputs) > 1 and node.outputs[1]:
        raise CannotMap("it returns the indices of the maxima too")
    kernel = _kernel(node, [])
    begin, end = _window(node, ctx, kernel)
    if begin != end:
        raise CannotMap(f"uneven padding {begin + end}; pooling pads evenly")
    params = {"kernel_size": pair(kernel), "stride": pair(node.attrs.get("strides", [1, 1])),
              "padding": pair(begin), "ceil_mode": bool(node.attrs.get("ceil_mode", 0))}
    return [Layer(type_name, params | extra)]


def max_pool(node: Node, ctx: Context) -> list[Layer]:
    return _pool(node, ctx, "MaxPool2d", {"dilation": pair(node.attrs.get("dilations", [1, 1]))})


def average_pool(node: Node, ctx: Context) -> list[Layer]:
    include = bool(node.attrs.get("count_include_pad", 0))
    return _pool(node, ctx, "AvgPool2d", {"count_include_pad": include})


def _image(node: Node, ctx: Context) -> None:
    if len(sample(ctx, node.inputs[0])) != 3:
        raise CannotMap("it pools a tensor that is not an image (C x H x W)")


def global_average(node: Node, ctx: Context) -> list[Layer]:
    _image(node, ctx)
    return [Layer("AdaptiveAvgPool2d", {"output_size": 1})]


def global_max(node: Node, ctx: Context) -> list[Layer]:
    _image(node, ctx)
    return [Layer("AdaptiveMaxPool2d", {"output_size": 1})]


def reduce_mean(node: Node, ctx: Context) -> list[Layer]:
    """`x.mean((2, 3))` and torch's adaptive average pool to 1: a global average pool."""
    rank = len(sample(ctx, node.inputs[0])) + 1
    axes = input_or_attr(node, ctx, 1, "axes")
    if rank != 4 or axes is None or sorted(int(a) % rank for a in axes.reshape(-1)) != [2, 3]:
        raise CannotMap("it averages over other dimensions than an image's height and width")
    pool = Layer("AdaptiveAvgPool2d", {"output_size": 1})
    return [pool] if node.attrs.get("keepdims", 1) else [pool, Layer("Flatten")]


# -- dense and normalization -------------------------------------------------------------------
def _vector_input(node: Node, ctx: Context) -> None:
    if len(sample(ctx, node.inputs[0])) != 1:
        raise CannotMap("it multiplies a tensor that is not a batch of vectors; Linear takes "
                        "one vector per sample")


def gemm(node: Node, ctx: Context) -> list[Layer]:
    """Gemm (and MatMul followed by the Add of a bias) as Linear: y = x W^T + b."""
    if node.attrs.get("transA", 0):
        raise CannotMap("it transposes its input (transA)")
    _vector_input(node, ctx)
    w = weight(node, ctx, 1)
    w = (w if node.attrs.get("transB", 0) else w.T) * np.float32(node.attrs.get("alpha", 1.0))
    bias = optional(node, ctx, 2)
    tensors = {"weight": np.ascontiguousarray(w)}
    if bias is not None:
        bias = np.broadcast_to(bias * np.float32(node.attrs.get("beta", 1.0)),
                               (1, w.shape[0])).reshape(-1)
        tensors["bias"] = np.ascontiguousarray(bias)
    return [Layer("Linear", {"out_features": int(w.shape[0]), "bias": bias is not None},
                  tensors)]


def matmul(node: Node, ctx: Context) -> list[Layer]:
    return gemm(Node(node.name, "Gemm", node.inputs[:2], node.outputs, {}), ctx)


def batch_norm(node: Node, ctx: Context) -> list[Layer]:
    if node.attrs.get("training_mode", 0) or any(node.outputs[1:]):
        raise CannotMap("it runs in training mode (batch statistics)")
    rank = len(sample(ctx, node.inputs[0]))
    if rank not in (1, 2, 3):
        raise CannotMap(f"it normalizes a {rank}-D sample; BatchNorm takes vectors or images")
    names = ("weight", "bias", "running_mean", "running_var")
    tensors: dict[str, np.ndarray] = {n: weight(node, ctx, i + 1, n.replace("_", " "))
                                      for i, n in enumerate(names)}
    tensors["num_batches_tracked"] = np.array(0, dtype=np.int64)
    params = {"eps": number(node.attrs.get("epsilon", 1e-5)),
              "momentum": number(1 - node.attrs.get("momentum", 0.9))}
    return [Layer("BatchNorm2d" if rank == 3 else "BatchNorm1d", params, tensors)]


CONVERTERS: dict[str, Converter] = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": max_pool,
    "AveragePool": average_pool, "GlobalAveragePool": global_average,
    "GlobalMaxPool": global_max, "ReduceMean": reduce_mean, "Gemm": gemm, "MatMul": matmul,
    "BatchNormalization": batch_norm, **ACTIVATIONS, **RESHAPES,
}
