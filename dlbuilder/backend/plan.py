"""The model plan: what the compiler builds and the code generator writes, decided once.

`build_plan` takes an error-free inference engine and fixes:
- which nodes become submodules, under which attribute names (the node ids, made legal and
  unique by a `Namespace`), with which constructor arguments (the declaration's `torch_args`);
- the order `forward` runs them: at a fork the longer path first, so a residual block reads
  main path, then shortcut, then `x = x + shortcut`;
- which local variable holds each value: `x` along the main path, `shortcut` or `branch` for
  the copies a fork needs; a layer with several outputs (Chunk) unpacks into one variable per
  output port (`branch, x = torch.chunk(x, 2, dim=1)`), the main path's port keeping `x`.
The compiler executes the plan and codegen prints it, so the model that runs and the code that
is exported cannot differ. No torch here: the editor shows the code before torch is loaded.

A block instance is a submodule too: its `calls` say which block class it builds with which
constructor arguments (a repeat is an nn.Sequential of them); each block type used becomes one
`ClassPlan` (backend/block_plan.py), planned from the definition's graph the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from dlbuilder.backend.names import (
    ATTRIBUTE_RESERVED,
    LOCAL_RESERVED,
    Namespace,
    is_plain_identifier,
)
from dlbuilder.core.blocks import BLOCK, BLOCK_OUTPUT, is_block_type
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.expr import Expr
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.ops import inline_op
from dlbuilder.core.registry import Shape

INPUT_VAR = "x"
UNUSED = "_"  # unpacked into, for an output port nothing reads


class CompileError(ValueError):
    """The graph has errors; `diagnostics` lists them (node, field, message, fix)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        count = len(self.diagnostics)
        lines = "\n".join(f"  {d}" for d in self.diagnostics)
        super().__init__(f"the graph has {count} error{'s' if count != 1 else ''}; fix "
                         f"{'them' if count != 1 else 'it'} before compiling or exporting:\n"
                         f"{lines}")


@dataclass(frozen=True)
class Param:
    """A constructor argument computed from the enclosing block class's own parameters
    (`channels * 4`): printed as its text, evaluated (never eval'd) by the compiler."""

    expr: Expr

    @property
    def text(self) -> str:
        return self.expr.text


@dataclass(frozen=True)
class Call:
    """`cls(args)`, `times` times in a row (an int, or a Param inside a block class)."""

    cls: str
    args: tuple[tuple[str, Any], ...]
    times: Any = 1


@dataclass(frozen=True)
class Layer:
    """A submodule: `self.<attr> = <torch_class>(**args)`; for a block instance `calls` says
    which block classes it builds (`torch_class` is then the class name), wrapped in an
    nn.Sequential when `sequence` (a repeat)."""

    node: str
    type: str
    attr: str
    torch_class: str
    args: dict[str, Any] = field(hash=False)
    in_shape: Shape
    out_shape: Shape
    params: int
    buffers: int
    used: bool = True
    calls: tuple[Call, ...] = ()
    sequence: bool = False


@dataclass(frozen=True)
class Op:
    """One statement of forward: `target = kind(sources)`.

    kind is "call" (the submodule `attr`, given every source: a block may take several), the
    name of an inline operation in core/ops.py's table (written inline, with `args` from the
    declaration), or "copy" (keep a value a fork needs twice). An operation with several
    outputs unpacks into `unpack`, one variable per output port ("_" where nothing reads it;
    `target` is the main path's), of `out_shapes`.
    """

    kind: str
    target: str
    sources: tuple[str, ...]
    node: str | None = None
    attr: str | None = None
    args: dict[str, Any] = field(default_factory=dict, hash=False)
    out_shape: Shape | None = None
    unpack: tuple[str, ...] = ()
    out_shapes: tuple[Shape, ...] = ()


@dataclass(frozen=True)
class ClassPlan:
    """One block type as a class: `signature` holds (name, default or None) of its
    constructor; its layers' and ops' arguments may be Params of those names. A `sequential`
    class (its layers' ids are 0, 1, ... along one chain) is an nn.Sequential of its layers,
    a repeated instance among them spliced in, so the keys count on as torchvision's do."""

    name: str
    block: str
    doc: str
    signature: tuple[tuple[str, int | None], ...]
    layers: tuple[Layer, ...]
    ops: tuple[Op, ...]
    inputs: tuple[str, ...]
    results: tuple[str, ...]
    sequential: bool


@dataclass(frozen=True)
class ModelPlan:
    name: str
    input_shape: Shape
    output_shape: Shape
    layers: tuple[Layer, ...]
    ops: tuple[Op, ...]
    result: str
    loss: str | None
    target: str | None
    params: int
    buffers: int
    classes: tuple[ClassPlan, ...] = ()  # every block type used, inner ones first

    @property
    def input_var(self) -> str:
        return INPUT_VAR


def loss_and_target(plan: ModelPlan) -> tuple[str, str]:
    """The Output node's loss and target; a graph without Output classifies (the defaults)."""
    return plan.loss or "CrossEntropyLoss", plan.target or "label"


def build_plan(engine: InferenceEngine) -> ModelPlan:
    """The plan for the engine's graph; raises CompileError if the graph has errors."""
    errors = [d for d in engine.diagnostics() if d.severity == "error"]
    if errors:
        raise CompileError(errors)
    from dlbuilder.backend.block_plan import BlockClasses  # it builds on this module

    blocks = BlockClasses(engine)
    planner = Planner(engine, blocks.instance_layer)
    body = planner.body()
    output = planner.infos[planner.ends[0]]
    is_output = engine.registry.role_of(output.type) == "output"
    out_params = engine.checked_params(output.node) if is_output else None
    layers = body.layers
    return ModelPlan(
        name=engine.graph.name, input_shape=planner.infos[planner.starts[0]].output_shape,
        output_shape=output.output_shape, layers=layers, ops=body.ops,
        result=body.results[0],
        loss=out_params["loss"] if out_params else None,
        target=out_params["target"] if out_params else None,
        params=sum(layer.params for layer in layers),
        buffers=sum(layer.buffers for layer in layers),
        classes=blocks.classes())


@dataclass(frozen=True)
class Body:
    """What a graph's module holds and runs: the top-level model's, or a block class's."""

    layers: tuple[Layer, ...]
    ops: tuple[Op, ...]
    inputs: tuple[str, ...]
    results: tuple[str, ...]


ArgsOf = Callable[[str], dict[str, Any]]
InstanceLayer = Callable[[EngineBase, str, str, bool], Layer]


class Planner:
    """Plans the module of one graph: the top level (from its Input to its Output) or a block
    definition evaluated for one instance (from its BlockInputs to its BlockOutputs).

    `args_of(node)` gives a layer's (or inline op's) constructor arguments: by default the
    declaration's `torch_args` for the engine's shapes; a block class passes the traced ones.
    `instance_layer` makes the Layer of a block instance."""

    def __init__(self, engine: EngineBase, instance_layer: InstanceLayer,
                 args_of: ArgsOf | None = None) -> None:
        self.engine = engine
        self.instance_layer = instance_layer
        self.args_of = args_of or self._torch_args
        self.graph: Graph = engine.graph
        self.infos = {info.node: info for info in engine.infos()}
        self.position = {node: i for i, node in enumerate(self.graph.nodes())}
        types = self.types = {node: info.type for node, info in self.infos.items()}
        defn = getattr(engine, "defn", None)
        if defn is not None:
            self.starts, self.ends = (list(ids) for ids in defn.ports())
        else:
            role = engine.registry.role_of
            outputs = [n for n, t in types.items() if role(t) == "output"]
            self.starts = [next(n for n, t in types.items() if role(t) == "input")]
            self.ends = [outputs[0] if outputs else next(
                n for n in self.infos if not self.graph.outputs(n))]
        self.live = set(self.ends).union(*(nx.ancestors(self.graph.nx, e) for e in self.ends))
        self.order = self._emission_order()
        self.rank = {node: i for i, node in enumerate(self.order)}
        self.locals = Namespace(LOCAL_RESERVED)
        self.edge_var: dict[tuple[str, str], str] = {}
        self.ops: list[Op] = []

    def _torch_args(self, node: str) -> dict[str, Any]:
        spec = self.engine.registry.get(self.types[node])
        return spec.torch_args(self.engine.input_shapes(node), self.engine.checked_params(node))

    # -- order -----------------------------------------------------------------------------
    def _emission_order(self) -> list[str]:
        """Depth first from the inputs, taking at each fork the longest way to the end first."""
        graph, live = self.graph, self.live
        height: dict[str, int] = {}
        for node in reversed(list(nx.topological_sort(graph.nx.subgraph(live)))):
            height[node] = 1 + max((height[s] for s in graph.outputs(node) if s in live),
                                   default=-1)
        waiting = {node: len(graph.inputs(node)) for node in live}
        order: list[str] = []
        stack = [s for s in reversed(self.starts) if s in live]
        while stack:
            node = stack.pop()
            order.append(node)
            ready = []
            for succ in graph.outputs(node):
                if succ in live:
                    waiting[succ] -= 1
                    if waiting[succ] == 0:
                        ready.append(succ)
            ready.sort(key=lambda s: (height[s], -self.position[s]))
            stack.extend(ready)
        return order

    # -- names -------------------------------------------------------------------------------
    def attributes(self, nodes: list[str]) -> dict[str, str]:
        """Attribute names: ids that are already fine keep their name before others pick."""
        space = Namespace(ATTRIBUTE_RESERVED)
        names: dict[str, str] = {}
        for node in nodes:
            if is_plain_identifier(node) and space.is_free(node):
                names[node] = space.claim(node)
        for node in nodes:
            if node not in names:
                names[node] = space.claim(node, self.types[node].lower())
        return names

    # -- building ----------------------------------------------------------------------------
    def body(self) -> Body:
        module_nodes = [n for n in self.order if self.is_module(n)]
        dead = [n for n in self.graph.nodes() if n not in self.live and self.is_module(n)]
        attrs = self.attributes(module_nodes + dead)
        layers = [self._layer(n, attrs[n], n in self.live) for n in module_nodes + dead]
        inputs = []
        results: dict[str, str] = {}
        for i, start in enumerate(self.starts):
            var = self.locals.claim(INPUT_VAR if i == 0 else start, INPUT_VAR)
            inputs.append(var)
            if start in self.ends:
                results[start] = var
            if start in self.live:
                self._bind(start, var)
        for node in self.order:
            if node not in self.starts:
                self._emit(node, attrs, results)
        return Body(tuple(layers), tuple(self.ops), tuple(inputs),
                    tuple(results[end] for end in self.ends))

    def _emit(self, node: str, attrs: dict[str, str], results: dict[str, str]) -> None:
        """The statement computing `node` (nothing for an output: it records the result)."""
        sources = [self.edge_var[(src, node)] for src in self.graph.inputs(node)]
        type_name = self.types[node]
        if type_name == BLOCK_OUTPUT or self.engine.registry.role_of(type_name) == "output":
            results[node] = sources[0]
            return
        target = INPUT_VAR if INPUT_VAR in sources else sources[0]
        for var in sources:
            if var != target:
                self.locals.release(var)
        info = self.infos[node]
        if type_name == BLOCK:
            op, args, multi = None, {}, len(info.port_shapes) > 1
        else:
            spec = self.engine.registry.get(type_name)
            op, multi = spec.op, spec.multi_output
            if op and inline_op(op).symmetric:  # running value first: `x = x + s`
                sources = [target] + [v for v in sources if v != target]
            # a submodule's constructor arguments live on its Layer; an inline op keeps its own
            args = self.args_of(node) if op else {}
        unpack = self._port_vars(node, target) if multi else ()
        self.ops.append(Op(op or "call", target, tuple(sources), node, attrs.get(node), args,
                           info.output_shape, unpack, info.port_shapes))
        for port, var in enumerate(unpack or (target,)):
            if var != UNUSED:
                self._bind(node, var, port)
        if node in self.ends:  # a graph without an Output ends in its last layer
            results[node] = target

    def is_module(self, node: str) -> bool:
        type_name = self.types[node]
        if is_block_type(type_name):
            return type_name == BLOCK
        spec = self.engine.registry.get(type_name)
        return spec.torch_class is not None and spec.op is None

    def _layer(self, node: str, attr: str, used: bool) -> Layer:
        if self.types[node] == BLOCK:
            return self.instance_layer(self.engine, node, attr, used)
        spec = self.engine.registry.get(self.types[node])
        info = self.infos[node]
        ins = self.engine.input_shapes(node)
        assert spec.torch_class is not None and info.output_shape is not None
        return Layer(node, info.type, attr, spec.torch_class, self.args_of(node), ins[0],
                     info.output_shape, info.params, info.buffers, used)

    def _port_vars(self, node: str, target: str) -> tuple[str, ...]:
        """The variable each output port of `node` unpacks into: the port forward reads first
        continues in `target`; the others get names for where they go; "_" where nothing
        reads a port (the graph's last node gives its first)."""
        first: dict[int, int] = {}
        for consumer in self._consumers(node):
            first.setdefault(self.graph.from_port(node, consumer), self.rank[consumer])
        if node in self.ends:
            first.setdefault(0, len(self.order))
        main = min(first, key=first.__getitem__)
        names = []
        for port in range(len(self.infos[node].port_shapes)):
            if port == main:
                names.append(target)
            elif port in first:
                reader = self._consumers(node, port)[0]
                names.append(self.locals.claim(self._copy_name(reader)))
            else:
                names.append(UNUSED)
        return tuple(names)

    def _bind(self, node: str, var: str, port: int = 0) -> None:
        """`var` holds the node's value (its output `port`): the first consumer reads it, the
        others get copies."""
        consumers = self._consumers(node, port)
        if not consumers:
            return
        self.edge_var[(node, consumers[0])] = var
        for consumer in consumers[1:]:
            copy = self.locals.claim(self._copy_name(consumer))
            self.ops.append(Op("copy", copy, (var,)))
            self.edge_var[(node, consumer)] = copy

    def _consumers(self, node: str, port: int | None = None) -> list[str]:
        """The live nodes that read this node's value (its output `port`, or any), in the
        order forward runs them."""
        graph = self.graph
        return sorted((c for c in graph.outputs(node) if c in self.live
                       and (port is None or graph.from_port(node, c) == port)),
                      key=self.rank.__getitem__)

    def _copy_name(self, node: str) -> str:
        """Named for the inline operation the copy ends in (`shortcut` for an Add: a skip
        connection), else `branch`."""
        registry = self.engine.registry
        for _ in range(len(self.order)):
            type_name = self.types[node]
            op = None if is_block_type(type_name) else registry.get(type_name).op
            name = inline_op(op).fork_name if op else None
            if name:
                return name
            nexts = self._consumers(node)
            if not nexts:
                break
            node = nexts[0]
        return "branch"
