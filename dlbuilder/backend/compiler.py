"""Graph -> torch.nn.Module, by running the model plan (backend/plan.py).

The submodules are the plan's layers under the plan's attribute names, so the compiled model's
`state_dict` has exactly the keys of the exported code's; `forward` executes the plan's
statements in order. Nothing from the graph file is ever evaluated as code.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dlbuilder.backend.modules import instantiate
from dlbuilder.backend.plan import ModelPlan, build_plan
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.registry import Registry

_CALL, _ADD, _CAT, _FLATTEN, _COPY = range(5)
_KINDS = {"call": _CALL, "add": _ADD, "cat": _CAT, "flatten": _FLATTEN, "copy": _COPY}


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

        program: list[tuple[int, Any, tuple[int, ...], int]] = []
        for op in plan.ops:
            sources = tuple(slot(v) for v in op.sources)
            kind = _KINDS[op.kind]
            extra: Any = op.attr
            if kind == _CAT:
                extra = op.args["dim"]
            elif kind == _FLATTEN:
                extra = (op.args["start_dim"], op.args["end_dim"])
            program.append((kind, extra, sources, slot(op.target)))
        self._program = program
        self._slots = len(slots)
        self._result = slot(plan.result)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env: list[Any] = [None] * self._slots
        env[0] = x
        modules = self._modules
        for kind, extra, sources, target in self._program:
            if kind == _CALL:
                env[target] = modules[extra](env[sources[0]])
            elif kind == _ADD:
                value = env[sources[0]]
                for source in sources[1:]:
                    value = value + env[source]
                env[target] = value
            elif kind == _CAT:
                env[target] = torch.cat([env[s] for s in sources], dim=extra)
            elif kind == _FLATTEN:
                env[target] = torch.flatten(env[sources[0]], *extra)
            else:
                env[target] = env[sources[0]]
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
