"""Declaration -> torch: build one layer's module, and run a whole graph node by node.

`instantiate` is the one place a declaration becomes a torch object; the compiler uses it too.
`torch_reference` runs a graph through real torch (on any device, "meta" included) and reports
each node's output shape and parameter count: the ground truth the inference engine is tested
against, and the baseline its benchmark is measured against.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import torch

from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.registry import LayerSpec, Params, Shape


def torch_class(dotted: str) -> type:
    """`"torch.nn.Conv2d"` -> the class; declarations name torch classes as strings."""
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def instantiate(dotted: str, args: dict[str, Any]) -> torch.nn.Module:
    """`torch.nn.Conv2d(**args)`: the one place a declaration's class and arguments meet."""
    return torch_class(dotted)(**args)


def build_module(spec: LayerSpec, params: Params, in_shapes: list[Shape]) -> torch.nn.Module | None:
    """The layer's torch module, or None for a functional op (Add, Concat) or Input/Output."""
    if spec.torch_class is None:
        return None
    return instantiate(spec.torch_class, spec.torch_args(in_shapes, params))


def apply_node(spec: LayerSpec, params: Params, module: torch.nn.Module | None,
               inputs: list[torch.Tensor]) -> torch.Tensor:
    """One node's forward step on batched tensors."""
    if module is not None:
        return module(inputs[0])
    if spec.op == "add":
        result = inputs[0]
        for other in inputs[1:]:
            result = result + other
        return result
    if spec.op == "cat":
        return torch.cat(inputs, dim=params["dim"])
    return inputs[0]


@dataclass(frozen=True)
class TorchNode:
    shape: Shape
    params: int
    buffers: int


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
        inputs = [outputs[src] for src in graph.inputs(node)]
        if spec.type == "Input":
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
        result[node] = TorchNode(tuple(x.shape[1:]), n_params, n_buffers)
    return result
