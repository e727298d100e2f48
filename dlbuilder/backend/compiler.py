"""Graph -> torch.nn.Module, by running the model plan (backend/plan.py).

The submodules are the plan's layers under the plan's attribute names, so the compiled model's
`state_dict` has exactly the keys of the exported code's; `forward` executes the plan's
statements in order. A block instance is built from its class plan as the exported class is:
the same submodules with the same constructor arguments (its Params evaluated with the
instance's values, never eval'd), an nn.Sequential for a sequential class or a repeat. Nothing
from the graph file is ever evaluated as code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from dlbuilder.backend.block_plan import evaluate
from dlbuilder.backend.module_names import NodePath, module_names
from dlbuilder.backend.modules import instantiate, op_runner
from dlbuilder.backend.plan import UNUSED, ClassPlan, Layer, ModelPlan, Op, build_plan
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.registry import Registry


def _same(value: Any) -> Any:
    return value


Tap = Callable[[str, Any], None]


class _Program:
    """A module's forward as steps over numbered slots: (submodule name or None, else the
    function of the inputs, inputs, target, for an operation with several outputs the slot
    of each port (-1 for unread ones), and the node computed or None for a copy).

    `tap`, when set (`tap_nodes`), is given each node's value as it is computed: how inline
    operations, which have no module to hook, are read. Unset, it costs one test per step."""

    tap: Tap | None = None

    def __init__(self, ops: tuple[Op, ...], inputs: tuple[str, ...], results: tuple[str, ...],
                 env: dict[str, Any]) -> None:
        slots: dict[str, int] = {var: i for i, var in enumerate(inputs)}

        def slot(var: str) -> int:
            return slots.setdefault(var, len(slots))

        steps: list[tuple[str | None, Any, tuple[int, ...], int, tuple[int, ...], str | None]] \
            = []
        for op in ops:
            sources = tuple(slot(v) for v in op.sources)
            ports = tuple(-1 if v == UNUSED else slot(v) for v in op.unpack)
            if op.kind == "call":
                steps.append((op.attr, None, sources, slot(op.target), ports, op.node))
                continue
            function = _same if op.kind == "copy" else op_runner(op.kind,
                                                                 evaluate(op.args, env))
            steps.append((None, function, sources, slot(op.target), ports, op.node))
        self.steps = steps
        self.inputs = len(inputs)
        self.results = tuple(slot(var) for var in results)
        self.size = len(slots)

    def run(self, modules: dict[str, nn.Module], inputs: tuple[Any, ...]) -> list[Any]:
        env: list[Any] = [None] * self.size
        env[:self.inputs] = inputs
        tap = self.tap
        for attr, function, sources, target, ports, node in self.steps:
            values = [env[s] for s in sources]
            value = modules[attr](*values) if attr is not None else function(*values)
            if tap is not None and node is not None:
                tap(node, value)
            if ports:
                for port, part in zip(ports, value, strict=True):
                    if port >= 0:
                        env[port] = part
            else:
                env[target] = value
        return [env[s] for s in self.results]


def _check_attr(layer: Layer) -> None:
    if hasattr(nn.Module, layer.attr):  # a name newer torch added to nn.Module
        raise RuntimeError(f"node {layer.node!r}: the attribute name {layer.attr!r} is taken "
                           "by torch.nn.Module in this torch version; rename the node")


class CompiledBlock(nn.Module):
    """One instance of a block class (not a sequential one), for its constructor values."""

    def __init__(self, cls: ClassPlan, env: dict[str, Any], classes: dict[str, ClassPlan]
                 ) -> None:
        super().__init__()
        for layer in cls.layers:
            _check_attr(layer)
            self.add_module(layer.attr, build_layer(layer, env, classes))
        self._program = _Program(cls.ops, cls.inputs, cls.results, env)

    def forward(self, *inputs: torch.Tensor) -> Any:
        results = self._program.run(self._modules, inputs)  # type: ignore[arg-type]
        return results[0] if len(results) == 1 else tuple(results)


def build_layer(layer: Layer, env: dict[str, Any], classes: dict[str, ClassPlan]) -> nn.Module:
    """A plan layer's module, its arguments evaluated with `env` (a block's values)."""
    if not layer.calls:
        return instantiate(layer.torch_class, evaluate(layer.args, env))
    modules = _call_modules(layer, env, classes)
    return nn.Sequential(*modules) if layer.sequence else modules[0]


def _call_modules(layer: Layer, env: dict[str, Any], classes: dict[str, ClassPlan]
                  ) -> list[nn.Module]:
    modules = []
    for call in layer.calls:
        cls = classes[call.cls]
        values = {name: evaluate(value, env) for name, value in call.args}
        for _ in range(evaluate(call.times, env)):
            modules.append(build_block(cls, values, classes))
    return modules


def build_block(cls: ClassPlan, env: dict[str, Any], classes: dict[str, ClassPlan]
                ) -> nn.Module:
    """One instance of a block class: an nn.Sequential of its items for a sequential class
    (a repeated instance spliced in), else a CompiledBlock."""
    env = {**{name: default for name, default in cls.signature if default is not None}, **env}
    if not cls.sequential:
        return CompiledBlock(cls, env, classes)
    items: list[nn.Module] = []
    for layer in cls.layers:
        if layer.calls and layer.sequence:
            items += _call_modules(layer, env, classes)
        else:
            items.append(build_layer(layer, env, classes))
    return nn.Sequential(*items)


class CompiledModel(nn.Module):
    """The network a graph describes; `plan` says how it was built."""

    def __init__(self, plan: ModelPlan) -> None:
        super().__init__()
        self.plan = plan
        classes = {cls.name: cls for cls in plan.classes}
        for layer in plan.layers:
            _check_attr(layer)
            self.add_module(layer.attr, build_layer(layer, {}, classes))
        self._program = _Program(plan.ops, (plan.input_var,), (plan.result,), {})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._program.run(self._modules, (x,))[0]  # type: ignore[arg-type]


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



def node_modules(model: CompiledModel) -> dict[NodePath, nn.Module]:
    """The module computing each layer node, by path: node ids from the top, each block
    instance's id followed by its run (0 for an instance that is not repeated), so
    `("layer1", 1, "conv1")` is the first convolution of layer1's second BasicBlock. Block
    instance runs are keyed too (`("layer1", 1)`: a path ending in its run); inline
    operations have no module."""
    return {path: model.get_submodule(name) for path, name in module_names(model.plan).items()}


@contextmanager
def tap_nodes(model: CompiledModel, record: Callable[[NodePath, Any], None]) -> Iterator[None]:
    """While inside, each forward hands `record(path, value)` every node's value as it is
    computed, keyed as `node_modules` keys them: submodules (forward hooks) and inline
    operations (the programs' taps), at the top and inside every block instance; a block
    instance's own path (`("layer1",)`) gets the instance's output. A node with several
    outputs gives a tuple. Outside, forward runs as before, with nothing attached."""
    modules = node_modules(model)
    programs = [((), model._program)] + [
        (path, module._program) for path, module in modules.items()
        if isinstance(module, CompiledBlock)]
    hooks = [module.register_forward_hook(_hook(record, path))
             for path, module in modules.items()]
    for prefix, program in programs:
        program.tap = _prefixed(record, prefix)
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()
        for _, program in programs:
            program.tap = None


def _hook(record: Callable[[NodePath, Any], None], path: NodePath) -> Callable[..., None]:
    def hook(module: nn.Module, inputs: Any, output: Any) -> None:
        record(path, output)
    return hook


def _prefixed(record: Callable[[NodePath, Any], None], prefix: NodePath) -> Tap:
    def tap(node: str, value: Any) -> None:
        record(prefix + (node,), value)
    return tap
