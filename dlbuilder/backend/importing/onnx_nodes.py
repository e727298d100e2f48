"""What the ONNX converters share: the node as the importer reads it, the layers a converter
makes, the context it reads constants and sizes from, and the helpers that read them.

A converter (`Converter`) takes a node and the context and returns the layers in order (a Conv
with uneven padding becomes a ZeroPad2d and then the Conv2d); the first takes the node's
non-constant inputs, each later one the one before. What cannot be a layer raises CannotMap
with the reason, and the importer gathers every such node into one report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dlbuilder.backend.importing.onnx_fold import Dims


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


def input_or_attr(node: Node, ctx: Context, index: int, attr: str) -> np.ndarray | None:
    """A value older opsets keep as an attribute and newer ones as a constant input."""
    if attr in node.attrs:
        return np.asarray(node.attrs[attr])
    if len(node.inputs) > index and node.inputs[index]:
        value = ctx.const(node.inputs[index])
        if value is None:
            raise CannotMap(f"its {attr} is computed by the network, not stored in the file")
        return np.asarray(value)
    return None
