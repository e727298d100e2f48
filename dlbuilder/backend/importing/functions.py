"""What forward calls (fx's call_function and call_method nodes) -> our layer types.

Each node becomes one of: `Layers` (one layer, or a short chain such as `x.mean((2, 3))` ->
AdaptiveAvgPool2d(1), Flatten), `Alias` (the value is another one: `.contiguous()`, an item of
`torch.chunk`'s result), `SHAPE` (a size read, `x.size(0)` and arithmetic on it, which only a
view may use) or `Shuffle` (a step of ShuffleNet's channel shuffle: view to groups, transpose,
view back). Views and reshapes are judged by the shapes they give on the traced batch (and
their arguments): one that keeps the batch and flattens the rest is a Flatten. Inplace forms
(`F.relu(x, inplace=True)`, `out += identity`) are the same layers: the graph has no inplace.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from dlbuilder.backend.importing.modules_map import ModuleRefused, stored_params
from dlbuilder.layers import REGISTRY


class Refused(ValueError):
    """The operation cannot be a layer; `operation` names it, the message says why."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(reason)
        self.operation = operation


@dataclass(frozen=True)
class Layers:
    steps: tuple[tuple[str, dict[str, Any]], ...]  # (type, stored params), first to last
    sources: tuple[fx.Node, ...]                   # the first layer's inputs, in port order


@dataclass(frozen=True)
class Alias:
    source: fx.Node
    port: int | None = None  # which item of a node with several outputs


@dataclass(frozen=True)
class Shuffle:
    source: fx.Node   # the tensor being shuffled
    groups: int
    stage: str        # "grouped" (viewed as N, g, C/g, H, W) or "swapped" (transposed)


SHAPE = "shape"
Mapped = Layers | Alias | Shuffle | str
Kinds = Mapping[fx.Node, Mapped]


def operation_name(node: fx.Node) -> str:
    """How a person would write the call: `torch.sort`, `F.interpolate`, `Tensor.roll`."""
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    return f"torch.{name}" if module.startswith("torch") or not module else f"{module}.{name}"


def arg(node: fx.Node, index: int, name: str, default: Any = None) -> Any:
    if index < len(node.args):
        return node.args[index]
    return node.kwargs.get(name, default)


def shape_of(node: Any) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _layer(type_name: str, sources: tuple[fx.Node, ...], **raw: Any) -> Layers:
    try:
        params = stored_params(REGISTRY.get(type_name), raw)
    except ModuleRefused as err:
        raise Refused(type_name, str(err)) from None
    return Layers(((type_name, params),), sources)


def _unary(type_name: str, **names: tuple[int, Any]) -> Callable[[fx.Node, Kinds], Layers]:
    """A one-input layer whose parameters are the call's arguments at (position, default)."""
    def mapping(node: fx.Node, kinds: Kinds) -> Layers:
        raw = {name: arg(node, index, name, default) for name, (index, default) in
               names.items()}
        return _layer(type_name, (node.args[0],), **raw)
    return mapping


def _merge(type_name: str) -> Callable[[fx.Node, Kinds], Layers]:
    def mapping(node: fx.Node, kinds: Kinds) -> Layers:
        a, b = node.args[0], node.args[1]
        if not isinstance(a, fx.Node) or not isinstance(b, fx.Node) or node.kwargs.get(
                "alpha", 1) != 1:
            raise Refused(operation_name(node), "combines a tensor with a constant; the "
                          "graph's layers combine tensors only")
        return Layers(((type_name, {}),), (a, b))
    return mapping


def _dropout(type_name: str) -> Callable[[fx.Node, Kinds], Layers]:
    def mapping(node: fx.Node, kinds: Kinds) -> Layers:
        return _layer(type_name, (node.args[0],), p=arg(node, 1, "p", 0.5))
    return mapping


def _max_pool(node: fx.Node, kinds: Kinds) -> Layers:
    if arg(node, 6, "return_indices", False):
        raise Refused("F.max_pool2d", "return_indices=True: the graph has no indices")
    kernel = arg(node, 1, "kernel_size")
    stride = arg(node, 2, "stride")
    return _layer("MaxPool2d", (node.args[0],), kernel_size=kernel,
                  stride=None if stride in (None, [], ()) or stride == kernel else stride,
                  padding=arg(node, 3, "padding", 0), dilation=arg(node, 4, "dilation", 1),
                  ceil_mode=arg(node, 5, "ceil_mode", False))


def _avg_pool(node: fx.Node, kinds: Kinds) -> Layers:
    if arg(node, 6, "divisor_override") is not None:
        raise Refused("F.avg_pool2d", "divisor_override is not supported")
    kernel = arg(node, 1, "kernel_size")
    stride = arg(node, 2, "stride")
    return _layer("AvgPool2d", (node.args[0],), kernel_size=kernel,
                  stride=None if stride in (None, [], ()) or stride == kernel else stride,
                  padding=arg(node, 3, "padding", 0), ceil_mode=arg(node, 4, "ceil_mode", False),
                  count_include_pad=arg(node, 5, "count_include_pad", True))


def _softmax(node: fx.Node, kinds: Kinds) -> Layers:
    dim = arg(node, 1, "dim")
    if dim is None:
        ndim = len(shape_of(node.args[0]) or ())
        dim = 0 if ndim in (0, 1, 3) else 1
    return _layer("Softmax", (node.args[0],), dim=dim)


def _cat(node: fx.Node, kinds: Kinds) -> Mapped:
    tensors = arg(node, 0, "tensors")
    if not all(isinstance(t, fx.Node) for t in tensors):
        raise Refused("torch.cat", "joins something that is not a traced tensor")
    if len(tensors) == 1:
        return Alias(tensors[0])  # DenseNet's first layer joins a list of one
    return _layer("Concat", tuple(tensors), dim=arg(node, 1, "dim", 0))


def _chunk(node: fx.Node, kinds: Kinds) -> Layers:
    return _layer("Chunk", (node.args[0],), chunks=arg(node, 1, "chunks"),
                  dim=arg(node, 2, "dim", 0))


def _flatten(node: fx.Node, kinds: Kinds) -> Mapped:
    start, end = arg(node, 1, "start_dim", 0), arg(node, 2, "end_dim", -1)
    source = node.args[0]
    if isinstance(source, fx.Node) and isinstance(kinds.get(source), Shuffle):
        return _shuffled(node, kinds[source])
    if start == 0:
        raise Refused(operation_name(node), "flattens the batch dimension too; write "
                      "torch.flatten(x, 1) to keep one row per sample")
    return _layer("Flatten", (source,), start_dim=start, end_dim=end)


def _mean(node: fx.Node, kinds: Kinds) -> Layers:
    dims = arg(node, 1, "dim")
    shape = shape_of(node.args[0]) or ()
    dims = tuple(dims) if isinstance(dims, list | tuple) else (dims,)
    if len(shape) != 4 or sorted(d % 4 for d in dims if isinstance(d, int)) != [2, 3] \
            or len(dims) != 2 or arg(node, 3, "dtype") is not None:
        raise Refused(operation_name(node), "only the mean over height and width of an "
                      "image (x.mean((2, 3))) is a layer: AdaptiveAvgPool2d(1)")
    pool = ("AdaptiveAvgPool2d", {"output_size": 1})
    steps = (pool,) if arg(node, 2, "keepdim", False) else (pool, ("Flatten", {}))
    return Layers(steps, (node.args[0],))


def _view(node: fx.Node, kinds: Kinds) -> Mapped:
    source = node.args[0]
    dims = node.args[1:] if node.target != torch.reshape else node.args[1]
    if len(dims) == 1 and isinstance(dims[0], list | tuple):
        dims = tuple(dims[0])
    before, after = shape_of(source), shape_of(node)
    kind = kinds.get(source)
    if isinstance(kind, Shuffle):
        return _shuffled(node, kind)
    if before is None or after is None:
        raise Refused(operation_name(node), "reshapes a value whose shape is unknown")
    if len(after) == 2 and after[0] == before[0] and _rows(dims, after[1]):
        return Layers((("Flatten", {}),), (source,))
    if len(before) == 4 and len(after) == 5 and after[0] == before[0] \
            and after[3:] == before[2:] and after[1] * after[2] == before[1]:
        return Shuffle(source, after[1], "grouped")
    if after == before:
        return Alias(source)
    raise Refused(operation_name(node), f"reshapes {_shape(before)} to {_shape(after)}; "
                  "only flattening each sample to a vector (x.view(x.size(0), -1)) maps to "
                  "a layer (Flatten)")


def _rows(dims: tuple[Any, ...], features: int) -> bool:
    """Whether view/reshape's sizes say "one row per sample": (-1 or x.size(0), -1 or the
    features or a size read)."""
    if len(dims) != 2:
        return False
    first, second = dims
    return (isinstance(first, fx.Node) or first == -1) and (
        isinstance(second, fx.Node) or second in (-1, features))


def _transpose(node: fx.Node, kinds: Kinds) -> Shuffle:
    kind = kinds.get(node.args[0])
    dims = sorted(d % 5 for d in node.args[1:3])
    if isinstance(kind, Shuffle) and kind.stage == "grouped" and dims == [1, 2]:
        return Shuffle(kind.source, kind.groups, "swapped")
    raise Refused(operation_name(node), "swaps dimensions; the graph keeps channels first "
                  "(only ShuffleNet's channel shuffle, view-transpose-view, is a layer)")


def _shuffled(node: fx.Node, kind: Shuffle) -> Layers:
    if kind.stage != "swapped" or shape_of(node) != shape_of(kind.source):
        raise Refused(operation_name(node), "part of a channel shuffle that does not end "
                      "with the input's shape")
    return _layer("ChannelShuffle", (kind.source,), groups=kind.groups)


def _getitem(node: fx.Node, kinds: Kinds) -> Mapped:
    source, index = node.args
    kind = kinds.get(source)
    if kind == SHAPE:
        return SHAPE
    if isinstance(kind, Layers) and kind.steps[-1][0] == "Chunk" and isinstance(index, int):
        return Alias(source, index)
    raise Refused("indexing a tensor (x[...])", "the graph takes whole tensors; slicing is "
                  "not a layer (torch.chunk is)")


def _shape_read(node: fx.Node, kinds: Kinds) -> str:
    return SHAPE


def _shape_math(node: fx.Node, kinds: Kinds) -> str:
    if any(isinstance(a, fx.Node) and kinds.get(a) != SHAPE for a in node.args):
        raise Refused(operation_name(node), "mixes a shape with a tensor")
    return SHAPE


def _same(node: fx.Node, kinds: Kinds) -> Alias:
    return Alias(node.args[0])



_ACT = {"ReLU": (F.relu, torch.relu, torch.relu_, F.relu_), "ReLU6": (F.relu6,),
        "SiLU": (F.silu,), "Hardswish": (F.hardswish,), "Hardsigmoid": (F.hardsigmoid,),
        "Mish": (F.mish,), "Sigmoid": (torch.sigmoid, F.sigmoid),
        "Tanh": (torch.tanh, F.tanh)}
FUNCTIONS: dict[Any, Callable[[fx.Node, Kinds], Mapped]] = {
    **{f: _unary(t) for t, fs in _ACT.items() for f in fs},
    F.gelu: _unary("GELU", approximate=(1, "none")),
    F.leaky_relu: _unary("LeakyReLU", negative_slope=(1, 0.01)),
    F.elu: _unary("ELU", alpha=(1, 1.0)),
    F.softmax: _softmax, torch.softmax: _softmax,
    F.dropout: _dropout("Dropout"), F.dropout2d: _dropout("Dropout2d"),
    F.max_pool2d: _max_pool, F.avg_pool2d: _avg_pool,
    F.adaptive_avg_pool2d: _unary("AdaptiveAvgPool2d", output_size=(1, None)),
    F.adaptive_max_pool2d: _unary("AdaptiveMaxPool2d", output_size=(1, None)),
    operator.add: _merge("Add"), operator.iadd: _merge("Add"), torch.add: _merge("Add"),
    operator.mul: _merge("Mul"), operator.imul: _merge("Mul"), torch.mul: _merge("Mul"),
    torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat,
    torch.flatten: _flatten, torch.chunk: _chunk, torch.reshape: _view,
    torch.transpose: _transpose, torch.mean: _mean, operator.getitem: _getitem,
    getattr: _shape_read, operator.floordiv: _shape_math, operator.sub: _shape_math,
    operator.truediv: _shape_math,
}
METHODS: dict[str, Callable[[fx.Node, Kinds], Mapped]] = {
    "relu": _unary("ReLU"), "relu_": _unary("ReLU"), "sigmoid": _unary("Sigmoid"),
    "sigmoid_": _unary("Sigmoid"), "tanh": _unary("Tanh"), "softmax": _softmax,
    "add": _merge("Add"), "add_": _merge("Add"), "mul": _merge("Mul"), "mul_": _merge("Mul"),
    "flatten": _flatten, "chunk": _chunk, "view": _view, "reshape": _view,
    "transpose": _transpose, "mean": _mean, "contiguous": _same, "size": _shape_read,
    "dim": _shape_read,
}
_SHAPE_MATH_TOO = {operator.add, operator.mul, operator.floordiv}


def map_node(node: fx.Node, kinds: Mapping[fx.Node, Mapped]) -> Mapped:
    """What a call_function / call_method node is; Refused when it is no layer. `kinds`
    holds what the earlier nodes were (a shape read, a chunk, a step of a shuffle)."""
    if node.target in _SHAPE_MATH_TOO and all(
            not isinstance(a, fx.Node) or kinds.get(a) == SHAPE for a in node.args):
        return SHAPE
    if _eval_identity(node):
        return Alias(node.args[0])
    if not _known(node.op, node.target):
        raise Refused(operation_name(node), "no layer type computes it")
    table = METHODS if node.op == "call_method" else FUNCTIONS
    return table[node.target](node, kinds)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) + f" (batch of {shape[0]})" if shape else "a scalar"



def _eval_identity(node: fx.Node) -> bool:
    """torchvision's stochastic depth (a function fx keeps whole) outside training: it
    returns its input."""
    target = node.target
    return (getattr(target, "__name__", "") == "stochastic_depth"
            and getattr(target, "__module__", "").startswith("torchvision.")
            and arg(node, 3, "training", True) is False)


def _known(kind: str, target: Any) -> bool:
    table = METHODS if kind == "call_method" else FUNCTIONS
    try:
        return target in table or getattr(target, "__name__", "") == "stochastic_depth"
    except TypeError:
        return False
