"""Declaration -> torch: build one layer's module, and run a whole graph node by node.

`instantiate` is the one place a declaration becomes a torch object; the compiler uses it too.
`torch_reference` runs a graph through real torch (on any device, "meta" included) and reports
each node's output shape and parameter count: the ground truth the inference engine is tested
against, and the baseline its benchmark is measured against.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.ops import inline_op
from dlbuilder.core.registry import LayerSpec, Params, Shape


def resolve(dotted: str) -> Any:
    """`"torch.nn.Conv2d"` -> the class (`"torch.cat"` -> the function); declarations and the
    inline-operation table name torch objects as strings."""
    module_name, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def op_runner(op_name: str, args: dict[str, Any]) -> Callable[..., Any]:
    """The inline operation `op_name` (core/ops.py) as a function of its input tensors, with
    its arguments bound: what the compiler runs and the reference modules run alike. It
    returns one tensor, or a tuple for an operation with several outputs."""
    op = inline_op(op_name)
    function = resolve(op.function)
    if op.takes == "fold":
        if args:
            raise ValueError(f"inline operation {op_name!r} takes no arguments, got {args}")

        def fold(*inputs: Any) -> Any:
            value = inputs[0]
            for other in inputs[1:]:
                value = function(value, other)
            return value
        return fold
    if op.takes == "list":
        return lambda *inputs: function(list(inputs), **args)
    return lambda first: function(first, **args)


def instantiate(dotted: str, args: dict[str, Any]) -> torch.nn.Module:
    """`torch.nn.Conv2d(**args)`: the one place a declaration's class and arguments meet."""
    return resolve(dotted)(**args)


def build_module(spec: LayerSpec, params: Params, in_shapes: list[Shape]) -> torch.nn.Module | None:
    """The layer's torch module, or None for a functional op (Add, Concat) or Input/Output."""
    if spec.torch_class is None:
        return None
    return instantiate(spec.torch_class, spec.torch_args(in_shapes, params))


def apply_node(spec: LayerSpec, params: Params, module: torch.nn.Module | None,
               inputs: list[torch.Tensor]) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """One node's forward step on batched tensors: a tensor, or one per output port for a
    layer with several (Chunk)."""
    if module is not None:
        return module(inputs[0])
    if spec.op is not None:
        args = spec.torch_args([tuple(t.shape[1:]) for t in inputs], params)
        return op_runner(spec.op, args)(*inputs)
    return inputs[0]


@dataclass(frozen=True)
class TorchNode:
    """What torch gave for one node: `shape` is the (first) output's, `shapes` every port's."""

    shape: Shape
    params: int
    buffers: int
    shapes: tuple[Shape, ...] = ()


def torch_reference(engine: InferenceEngine, device: str = "cpu", batch: int = 2,
                    train: bool = False) -> dict[str, TorchNode]:
    """Run the engine's graph through torch; raise whatever torch raises."""
    graph: Graph = engine.graph
    registry = engine.registry
    outputs: dict[str, torch.Tensor] = {}
    result: dict[str, TorchNode] = {}
    for info in engine.infos():
        node = info.node
        spec = registry.get(info.type)
        params = engine.checked_params(node)
        if params is None:
            raise ValueError(f"{node} has invalid parameters")
        inputs = [_port(outputs[src], port) for src, port in graph.input_sources(node)]
        if spec.role == "input":
            x: Any = torch.randn(batch, *params["shape"], device=device)
            module = None
        else:
            shapes = [tuple(t.shape[1:]) for t in inputs]
            with torch.device(device):
                module = build_module(spec, params, shapes)
            if module is not None:
                module.train(train)
            x = apply_node(spec, params, module, inputs)
        outputs[node] = x
        n_params = sum(p.numel() for p in module.parameters()) if module is not None else 0
        n_buffers = sum(b.numel() for b in module.buffers()) if module is not None else 0
        shapes = tuple(tuple(t.shape[1:]) for t in (x if isinstance(x, tuple) else (x,)))
        result[node] = TorchNode(shapes[0], n_params, n_buffers, shapes)
    return result


def _port(value: Any, port: int) -> torch.Tensor:
    """Output `port` of a node's value (a tuple for a layer with several outputs)."""
    return value[port] if isinstance(value, tuple) else value
