"""ONNX operators as our layers: one converter per operator, from the node's attributes, its
constant inputs (weights, folded shapes) and its inputs' sizes to the layer(s) it becomes.

A converter returns the layers in order (a Conv with uneven padding becomes a ZeroPad2d and
then the Conv2d); the first takes the node's non-constant inputs, each later one the one
before. What cannot be a layer raises CannotMap with the reason, and the importer gathers
every such node into one report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dlbuilder.backend.importing.onnx_fold import BATCH, Dims
from dlbuilder.layers.split import chunk_sizes


class CannotMap(Exception):
    """This node cannot be a layer of the graph; the message says why."""


@dataclass
class Node:
    """An ONNX node as the importer reads it; `op` may be one of the fused patterns
    (`SiLU`, `Mish`) the importer recognises across several ONNX nodes."""

    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]


@dataclass
class Layer:
    """One graph node a converter makes: its type, parameters and tensors (torch's names)."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class Context(Protocol):
    opset: int

    def const(self, name: str) -> np.ndarray | None: ...

    def dims(self, name: str) -> Dims | None: ...


Converter = Callable[[Node, Context], list[Layer]]


def number(value: float) -> float:
    """An attribute's float32 as the decimal it was written as (0.1, not 0.10000000149)."""
    return float(f"{float(value):.7g}")


def pair(values: Any) -> int | list[int]:
    values = [int(v) for v in values]
    return values[0] if len(values) == 2 and values[0] == values[1] else values


def flowing(node: Node, ctx: Context) -> list[str]:
    """The node's inputs that are tensors computed by the network (not constants)."""
    return [name for name in node.inputs if name and ctx.const(name) is None]


def sample(ctx: Context, name: str) -> tuple[int, ...]:
    """One sample's shape of a tensor (the batch dimension left out)."""
    dims = ctx.dims(name)
    if dims is None or not dims or any(not isinstance(d, int) for d in dims[1:]):
        raise CannotMap(f"the size of its input {name!r} is not known")
    return tuple(dims[1:])


def weight(node: Node, ctx: Context, index: int, what: str = "weights") -> np.ndarray:
    value = ctx.const(node.inputs[index]) if len(node.inputs) > index else None
    if value is None:
        raise CannotMap(f"its {what} are computed by the network, not stored in the file")
    return np.asarray(value, dtype=np.float32)


def optional(node: Node, ctx: Context, index: int) -> np.ndarray | None:
    if len(node.inputs) <= index or not node.inputs[index]:
        return None
    return weight(node, ctx, index, "extra inputs")


def _input_or_attr(node: Node, ctx: Context, index: int, attr: str) -> np.ndarray | None:
    """A value older opsets keep as an attribute and newer ones as a constant input."""
    if attr in node.attrs:
        return np.asarray(node.attrs[attr])
    if len(node.inputs) > index and node.inputs[index]:
        value = ctx.const(node.inputs[index])
        if value is None:
            raise CannotMap(f"its {attr} is computed by the network, not stored in the file")
        return np.asarray(value)
    return None


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
    axes = _input_or_attr(node, ctx, 1, "axes")
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


# -- activations ---------------------------------------------------------------------------------
_PLAIN = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Mish": "Mish",
          "HardSwish": "Hardswish", "Identity": "Identity", "SiLU": "SiLU"}


def plain(node: Node, ctx: Context) -> list[Layer]:
    return [Layer(_PLAIN[node.op])]


def leaky_relu(node: Node, ctx: Context) -> list[Layer]:
    return [Layer("LeakyReLU", {"negative_slope": number(node.attrs.get("alpha", 0.01))})]


def elu(node: Node, ctx: Context) -> list[Layer]:
    return [Layer("ELU", {"alpha": number(node.attrs.get("alpha", 1.0))})]


def gelu(node: Node, ctx: Context) -> list[Layer]:
    return [Layer("GELU", {"approximate": node.attrs.get("approximate", "none")})]


def hard_sigmoid(node: Node, ctx: Context) -> list[Layer]:
    alpha, beta = node.attrs.get("alpha", 0.2), node.attrs.get("beta", 0.5)
    if abs(alpha - 1 / 6) > 1e-6 or abs(beta - 0.5) > 1e-6:
        raise CannotMap(f"alpha {number(alpha)} and beta {number(beta)}; Hardsigmoid is "
                        "x/6 + 1/2 (alpha 1/6, beta 0.5)")
    return [Layer("Hardsigmoid")]


def clip(node: Node, ctx: Context) -> list[Layer]:
    low = _input_or_attr(node, ctx, 1, "min")
    high = _input_or_attr(node, ctx, 2, "max")
    low_v = None if low is None else float(low)
    high_v = None if high is None or math.isinf(float(high)) else float(high)
    if low_v == 0 and high_v == 6:
        return [Layer("ReLU6")]
    if low_v == 0 and high_v is None:
        return [Layer("ReLU")]
    raise CannotMap(f"it clips to [{low_v}, {high_v}]; only [0, 6] (ReLU6) and [0, inf) "
                    "(ReLU) are layers")


def softmax(node: Node, ctx: Context) -> list[Layer]:
    rank = len(sample(ctx, node.inputs[0])) + 1
    axis = node.attrs.get("axis", 1 if ctx.opset < 13 else -1) % rank
    if axis == 0 or (ctx.opset < 13 and axis != rank - 1):
        raise CannotMap(f"softmax over axis {axis} of a {rank}-D tensor mixes samples")
    return [Layer("Softmax", {"dim": axis})]


def prelu(node: Node, ctx: Context) -> list[Layer]:
    slope = weight(node, ctx, 1, "slopes").reshape(-1)
    channels = sample(ctx, node.inputs[0])[0]
    if slope.size not in (1, channels):
        raise CannotMap(f"{slope.size} slopes for {channels} channels; PReLU has 1 or one "
                        "per channel")
    return [Layer("PReLU", {"num_parameters": int(slope.size)}, {"weight": slope})]


# -- merges, splits and reshapes ---------------------------------------------------------------
def _no_constants(node: Node, ctx: Context, verb: str) -> None:
    constants = [n for n in node.inputs if n and ctx.const(n) is not None]
    if constants:
        raise CannotMap(f"it {verb} a constant tensor ({constants[0]!r}); the graph has no "
                        "constant layer")


def _merge(type_name: str, verb: str) -> Converter:
    def convert(node: Node, ctx: Context) -> list[Layer]:
        _no_constants(node, ctx, verb)
        return [Layer(type_name if len(node.inputs) > 1 else "Identity")]
    return convert


def concat(node: Node, ctx: Context) -> list[Layer]:
    _no_constants(node, ctx, "joins")
    rank = len(sample(ctx, node.inputs[0])) + 1
    axis = int(node.attrs.get("axis", 1)) % rank
    if axis == 0:
        raise CannotMap("it joins along the batch dimension")
    return [Layer("Concat" if len(node.inputs) > 1 else "Identity",
                  {"dim": axis} if len(node.inputs) > 1 else {})]


def flatten(node: Node, ctx: Context) -> list[Layer]:
    rank = len(sample(ctx, node.inputs[0])) + 1
    if int(node.attrs.get("axis", 1)) % rank != 1:
        raise CannotMap("it flattens across the batch dimension")
    return [Layer("Flatten")]


def reshape(node: Node, ctx: Context) -> list[Layer]:
    """A reshape that keeps the batch and turns each sample into one vector: a Flatten."""
    size = math.prod(sample(ctx, node.inputs[0]))
    target = ctx.const(node.inputs[1])
    if target is not None:
        target = list(np.asarray(target).reshape(-1))
        first_kept = bool(target) and (target[0] is BATCH or target[0] in (0, -1)
                                       or target[-1] == size)
        if len(target) == 2 and first_kept and target[1] in (-1, size):
            return [Layer("Flatten")]
        raise CannotMap(f"it reshapes to {[str(t) for t in target]}; the graph reshapes "
                        "only to one vector per sample (Flatten)")
    out = ctx.dims(node.outputs[0])
    if out is not None and len(out) == 2 and out[1] == size:
        return [Layer("Flatten")]
    raise CannotMap("its new shape is computed by the network and cannot be read")


def squeeze(node: Node, ctx: Context) -> list[Layer]:
    """Dropping the 1 x 1 of a pooled image (C x 1 x 1 -> C): a Flatten."""
    shape = sample(ctx, node.inputs[0])
    out = ctx.dims(node.outputs[0])
    if len(shape) > 1 and out is not None and len(out) == 2 and out[1] == math.prod(shape):
        return [Layer("Flatten")]
    raise CannotMap("it squeezes to something else than one vector per sample")


def split(node: Node, ctx: Context) -> list[Layer]:
    shape = sample(ctx, node.inputs[0])
    axis = int(node.attrs.get("axis", 0)) % (len(shape) + 1)
    if axis == 0:
        raise CannotMap("it splits the batch")
    sizes = _input_or_attr(node, ctx, 1, "split")
    count = len(node.outputs)
    if sizes is not None and [int(s) for s in sizes.reshape(-1)] != chunk_sizes(
            shape[axis - 1], count):
        raise CannotMap(f"unequal pieces {[int(s) for s in sizes.reshape(-1)]}; Chunk cuts "
                        "pieces of equal size (the last may be smaller)")
    if len(chunk_sizes(shape[axis - 1], count)) != count:
        raise CannotMap(f"{shape[axis - 1]} cannot be cut into {count} pieces by Chunk")
    return [Layer("Chunk", {"chunks": count, "dim": axis})]


def dropout(node: Node, ctx: Context) -> list[Layer]:
    if any(node.outputs[1:]):
        raise CannotMap("its mask output is used")
    ratio = _input_or_attr(node, ctx, 1, "ratio")
    return [Layer("Dropout", {"p": number(0.5 if ratio is None else float(ratio))})]


def pad(node: Node, ctx: Context) -> list[Layer]:
    if node.attrs.get("mode", "constant") != "constant":
        raise CannotMap(f"{node.attrs['mode']} padding; the graph pads with zeros only")
    value = _input_or_attr(node, ctx, 2, "value")
    if value is not None and float(np.asarray(value).reshape(-1)[0]) != 0:
        raise CannotMap("it pads with a value other than zero")
    pads = _input_or_attr(node, ctx, 1, "pads")
    rank = len(sample(ctx, node.inputs[0])) + 1
    pads = [int(p) for p in np.asarray(pads).reshape(-1)]
    axes = _input_or_attr(node, ctx, 3, "axes")
    full = [0] * (2 * rank)
    for i, axis in enumerate([int(a) % rank for a in axes] if axes is not None
                             else range(rank)):
        full[axis], full[axis + rank] = pads[i], pads[i + len(pads) // 2]
    if rank != 4 or any(full[a] or full[a + 4] for a in (0, 1)) or min(full) < 0:
        raise CannotMap(f"pads {full}; ZeroPad2d adds zeros around an image's height and width")
    sides = [full[3], full[7], full[2], full[6]]
    return [Layer("ZeroPad2d", {"padding": sides[0] if len(set(sides)) == 1 else sides})]


def resize(node: Node, ctx: Context) -> list[Layer]:
    """Nearest-neighbour Resize/Upsample as Upsample (by scale when stored, else by size)."""
    if node.attrs.get("mode", "nearest") != "nearest":
        raise CannotMap(f"{node.attrs['mode']} interpolation; only nearest maps to Upsample")
    scales_at = 1 if node.op == "Upsample" or ctx.opset < 11 else 2
    scales = _input_or_attr(node, ctx, scales_at, "scales")
    if scales is not None and scales.size == 4 and list(scales.reshape(-1)[:2]) == [1, 1]:
        factor = [number(s) for s in scales.reshape(-1)[2:]]
        mode = node.attrs.get("coordinate_transformation_mode", "asymmetric")
        if mode == "asymmetric" or all(float(f).is_integer() for f in factor):
            return [Layer("Upsample", {"scale_factor": factor[0] if factor[0] == factor[1]
                                       else factor, "mode": "nearest"})]
    out = ctx.dims(node.outputs[0])
    if out is None or len(out) != 4 or not all(isinstance(d, int) for d in out[2:]):
        raise CannotMap("its output size cannot be read")
    return [Layer("Upsample", {"size": pair(out[2:]), "mode": "nearest"})]


CONVERTERS: dict[str, Converter] = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": max_pool,
    "AveragePool": average_pool, "GlobalAveragePool": global_average,
    "GlobalMaxPool": global_max, "ReduceMean": reduce_mean, "Gemm": gemm, "MatMul": matmul,
    "BatchNormalization": batch_norm, **dict.fromkeys(_PLAIN, plain),
    "LeakyRelu": leaky_relu, "Elu": elu, "Gelu": gelu, "HardSigmoid": hard_sigmoid,
    "Clip": clip, "Softmax": softmax, "PRelu": prelu,
    "Add": _merge("Add", "adds"), "Sum": _merge("Add", "adds"), "Mul": _merge("Mul", "multiplies"),
    "Concat": concat, "Flatten": flatten, "Reshape": reshape, "Squeeze": squeeze, "Split": split,
    "Dropout": dropout, "Pad": pad, "Resize": resize, "Upsample": resize,
}
