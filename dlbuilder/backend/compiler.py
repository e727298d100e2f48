"""Graph -> torch.nn.Module, by running the model plan (backend/plan.py).

The submodules are the plan's layers under the plan's attribute names, so the compiled model's
`state_dict` has exactly the keys of the exported code's; `forward` executes the plan's
statements in order. Nothing from the graph file is ever evaluated as code.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dlbuilder.backend.modules import instantiate, op_runner
from dlbuilder.backend.plan import UNUSED, ModelPlan, build_plan
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.registry import Registry


def _same(value: Any) -> Any:
    return value


class CompiledModel(nn.Module):
    """The network a graph describes; `plan` says how it was built."""

    def __init__(self, plan: ModelPlan) -> None:
        super().__init__()
        self.plan = plan
        for layer in plan.layers:
            if hasattr(nn.Module, layer.attr):  # a name newer torch added to nn.Module
                raise RuntimeError(f"node {layer.node!r}: the attribute name {layer.attr!r} "
                                   "is taken by torch.nn.Module in this torch version; "
                                   "rename the node")
            self.add_module(layer.attr, instantiate(layer.torch_class, layer.args))
        slots: dict[str, int] = {plan.input_var: 0}

        def slot(var: str) -> int:
            return slots.setdefault(var, len(slots))

        # each step: (submodule name or None, else the function of the inputs, inputs, target,
        # and for an operation with several outputs the slot of each port, -1 for unread ones)
        program: list[tuple[str | None, Any, tuple[int, ...], int, tuple[int, ...]]] = []
        for op in plan.ops:
            sources = tuple(slot(v) for v in op.sources)
            if op.kind == "call":
                program.append((op.attr, None, sources, slot(op.target), ()))
                continue
            function = _same if op.kind == "copy" else op_runner(op.kind, op.args)
            ports = tuple(-1 if v == UNUSED else slot(v) for v in op.unpack)
            program.append((None, function, sources, slot(op.target), ports))
        self._program = program
        self._slots = len(slots)
        self._result = slot(plan.result)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env: list[Any] = [None] * self._slots
        env[0] = x
        modules = self._modules
        for attr, function, sources, target, ports in self._program:
            if attr is not None:
                env[target] = modules[attr](env[sources[0]])
            elif ports:
                for port, value in zip(ports, function(*[env[s] for s in sources]), strict=True):
                    if port >= 0:
                        env[port] = value
            else:
                env[target] = function(*[env[s] for s in sources])
        return env[self._result]


def compile_graph(source: Graph | InferenceEngine, registry: Registry | None = None
                  ) -> CompiledModel:
    """Build the module for a graph (or an engine already following one).

    Raises CompileError, listing the graph's errors, when it has any.
    """
    if isinstance(source, Graph):
        if registry is None:
            from dlbuilder.layers import REGISTRY
            registry = REGISTRY
        source = InferenceEngine(source, registry)
    return CompiledModel(build_plan(source))
