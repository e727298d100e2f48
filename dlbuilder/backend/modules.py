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

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT
from dlbuilder.core.engine_base import EngineBase
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
    """Run the engine's graph through torch node by node (each block instance through its
    runs, each layer inside built on its own); raise whatever torch raises."""
    return _reference(engine, (), (device, batch, train))[0]


def _reference(engine: EngineBase, given: tuple[torch.Tensor, ...], how: tuple[str, int, bool]
               ) -> tuple[dict[str, TorchNode], dict[str, Any]]:
    """Each node's TorchNode and value; `given` feeds a block's BlockInputs in order."""
    graph: Graph = engine.graph
    outputs: dict[str, Any] = {}
    result: dict[str, TorchNode] = {}
    for info in engine.infos():
        node = info.node
        inputs = [_port(outputs[src], port) for src, port in graph.input_sources(node)]
        if info.type == BLOCK:
            x, n_params, n_buffers = _instance(engine, node, inputs, how)
        elif info.type in (BLOCK_INPUT, BLOCK_OUTPUT):
            x = given[engine.defn.ports()[0].index(node)] if info.type == BLOCK_INPUT \
                else inputs[0]
            n_params = n_buffers = 0
        else:
            x, n_params, n_buffers = _layer(engine, node, inputs, how)
        outputs[node] = x
        shapes = tuple(tuple(t.shape[1:]) for t in (x if isinstance(x, tuple) else (x,)))
        result[node] = TorchNode(shapes[0], n_params, n_buffers, shapes)
    return result, outputs


def _instance(engine: EngineBase, node: str, inputs: list[torch.Tensor],
              how: tuple[str, int, bool]) -> tuple[Any, int, int]:
    """A block instance: each repeat's run in turn, its outputs feeding the next."""
    values: tuple[torch.Tensor, ...] = tuple(inputs)
    n_params = n_buffers = 0
    for run in engine.runs(node):
        inner, outputs = _reference(run, values, how)
        values = tuple(outputs[out] for out in run.defn.ports()[1])
        n_params += sum(t.params for t in inner.values())
        n_buffers += sum(t.buffers for t in inner.values())
    return (values[0] if len(values) == 1 else values), n_params, n_buffers


def _layer(engine: EngineBase, node: str, inputs: list[torch.Tensor],
           how: tuple[str, int, bool]) -> tuple[Any, int, int]:
    device, batch, train = how
    spec = engine.registry.get(engine.info(node).type)
    params = engine.checked_params(node)
    if params is None:
        raise ValueError(f"{node} has invalid parameters")
    if spec.role == "input":
        return torch.randn(batch, *params["shape"], device=device), 0, 0
    shapes = [tuple(t.shape[1:]) for t in inputs]
    with torch.device(device):
        module = build_module(spec, params, shapes)
    if module is None:
        return apply_node(spec, params, None, inputs), 0, 0
    module.train(train)
    return (apply_node(spec, params, module, inputs),
            sum(p.numel() for p in module.parameters()),
            sum(b.numel() for b in module.buffers()))


def _port(value: Any, port: int) -> torch.Tensor:
    """Output `port` of a node's value (a tuple for a layer with several outputs)."""
    return value[port] if isinstance(value, tuple) else value
