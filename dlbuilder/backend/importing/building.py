"""A traced model -> one draft graph per module call: the top level and every block instance.

Each fx node belongs to the innermost module call it was made in (its nn_module_stack). A
call becomes a draft: its own Graph, whose BlockInput nodes are forward's arguments (`x`) and
whose BlockOutput nodes (`y`, `y_1`...) are what it returns; in its parent's draft it is one
instance node named after its attribute. A value made in one draft and used in another goes
out through the BlockOutputs of the calls it leaves and in through the BlockInputs of the
calls it enters. A call that computes nothing (torchvision's StochasticDepth in eval mode,
which returns its input) leaves no trace but a note.

DenseNet's layers take a list of tensors and concatenate it first: there the concatenation
is moved out to the caller, so the block takes one tensor (and every layer shares a type).
"""

from __future__ import annotations

import ast
import contextlib
import operator
from dataclasses import dataclass, field
from typing import Any

from torch import fx, nn

from dlbuilder.backend.importing.functions import (
    SHAPE,
    Alias,
    Layers,
    Mapped,
    Refused,
    Shuffle,
    map_node,
    operation_name,
    shape_of,
)
from dlbuilder.backend.importing.modules_map import ModuleRefused, module_layer, stored_params
from dlbuilder.backend.importing.report import Unmapped
from dlbuilder.backend.importing.tracing import Call, Traced, line_at
from dlbuilder.backend.importing.written import written_args
from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY

Value = tuple[fx.Node, int]  # a node's output `port`
ROOT = ""


@dataclass
class Draft:
    """One module call's graph while it is being built."""

    call: Call | None                      # None for the model itself
    graph: Graph
    inputs: dict[Value, str] = field(default_factory=dict)     # value -> BlockInput id
    local: dict[fx.Node, str] = field(default_factory=dict)    # node -> the id it made
    modules: dict[str, nn.Module] = field(default_factory=dict)  # layer id -> its module
    children: dict[str, list[Draft]] = field(default_factory=dict)  # instance id -> runs
    instance: str = ""                      # its id in the parent's graph
    in_channels: int | None = None          # the channels coming into its first input
    block: str = ""                         # its block type, once grouped
    args: dict[str, Any] = field(default_factory=dict)  # its instance's arguments
    runs: list[Draft] | None = None         # set when it stands for instances (collapsed)

    @property
    def key(self) -> str:
        return self.call.key if self.call is not None else ROOT


class Builder:
    def __init__(self, traced: Traced, name: str, input_shape: tuple[int, ...]) -> None:
        self.traced = traced
        self.calls = traced.calls
        self.problems: list[Unmapped] = list(traced.problems)
        self.notes: list[str] = []
        self.kinds: dict[fx.Node, Mapped] = {}
        self.layers: dict[fx.Node, tuple[str, dict]] = {}  # leaf module call -> its layer
        self.canon: dict[fx.Node, Value] = {}
        self.owner: dict[fx.Node, str] = {}
        self.hoisted: dict[str, dict[str, fx.Node]] = {}  # call key -> arg name -> cat node
        self.root = Draft(None, Graph(name))
        self.drafts: dict[str, Draft] = {ROOT: self.root}
        self.callers: dict[str, int] = {}  # leaf module path -> calls so far
        self.input_shape = input_shape

    # -- where each node belongs ---------------------------------------------------------------
    def _owner_of(self, node: fx.Node) -> str:
        stack = list(node.meta.get("nn_module_stack", {}))
        if node.op == "call_module":
            stack = stack[:-1]  # its own entry: a leaf is a layer, not a scope
        return next((key for key in reversed(stack) if key in self.calls), ROOT)

    def _hoist_lists(self, nodes: list[fx.Node]) -> None:
        """A call given a list of tensors that it concatenates: the concatenation becomes
        its caller's, the call's argument that concatenation."""
        for call in self.calls.values():
            for name, value in call.args:
                if not isinstance(value, list | tuple) or not value:
                    continue
                items = [getattr(v, "node", None) for v in value]
                cat = next((n for n in nodes if self.owner.get(n) == call.key
                            and n.op == "call_function" and n.args
                            and isinstance(n.args[0], list | tuple)
                            and list(n.args[0]) == items), None)
                if cat is None:
                    self._refuse(call.path, "a list of tensors as an argument",
                                 "a block takes tensors, not lists of them")
                    continue
                self.owner[cat] = call.parent.key if call.parent is not None else ROOT
                self.hoisted.setdefault(call.key, {})[name] = cat

    # -- the walk ------------------------------------------------------------------------------
    def build(self) -> Draft:
        nodes = list(self.traced.module.graph.nodes)
        for node in nodes:
            self.owner[node] = self._owner_of(node)
        self._hoist_lists(nodes)
        refused: set[fx.Node] = set()
        for node in nodes:
            if node.target is operator.getitem and node.args[0] in refused:
                refused.add(node)  # unpacking what a refused call returned
                continue
            try:
                if self.problems:  # nothing will be built: only look for more problems
                    self._check(node)
                else:
                    self._visit(node)
            except Refused as err:
                refused.add(node)
                self._refuse(self._place(node), err.operation, str(err),
                             line_at(node.meta.get("user_at")))
        if not self.problems:
            for draft in list(self.drafts.values())[1:]:
                self._add_outputs(draft)
            self._note_empty_calls()
        return self.root

    def _check(self, node: fx.Node) -> None:
        """What `_visit` refuses about a node, without building anything."""
        if node.op == "get_attr":
            raise Refused(f"self.{node.target}", "a parameter or buffer used directly in "
                          "forward; the graph's weights live in its layers")
        if node.op == "call_module":
            self._module_layer(node)
        elif node.op in ("call_function", "call_method"):
            self.kinds[node] = map_node(node, self.kinds)

    def _visit(self, node: fx.Node) -> None:
        if node.op == "placeholder":
            self._add_input(node)
        elif node.op == "output":
            self._add_output(node)
        elif node.op == "call_module":
            self._check(node)
            self._add_module(node)
        elif node.op == "get_attr":
            self._check(node)
        else:
            self._check(node)
            mapped = self.kinds[node]
            if isinstance(mapped, Layers):
                self._add_layers(node, mapped)
            elif isinstance(mapped, Alias) and isinstance(self.kinds.get(mapped.source),
                                                          Shuffle):
                self.kinds[node] = self.kinds[mapped.source]  # `.contiguous()` mid-shuffle
            elif isinstance(mapped, Alias):
                source, port = self.canon[mapped.source]
                self.canon[node] = (source, port if mapped.port is None else mapped.port)

    def _add_input(self, node: fx.Node) -> None:
        if "input" in self.root.graph:
            raise Refused(f"forward's argument {node.target!r}", "a second input; the graph "
                          "has exactly one Input")
        self.root.graph.add_node("input", "Input", {"shape": list(self.input_shape)})
        self.root.local[node] = "input"
        self.canon[node] = (node, 0)

    def _add_output(self, node: fx.Node) -> None:
        result = node.args[0]
        if not isinstance(result, fx.Node):
            raise Refused("forward's result", "forward returns several values; the graph "
                          "has one Output")
        self.root.graph.add_node("output", "Output", self._loss_for(shape_of(result)))
        self._wire(self.root, [result], "output")

    def _loss_for(self, shape: tuple[int, ...] | None) -> dict[str, str]:
        """The Output's defaults (cross-entropy on labels) for scores per class; for any
        other result, which the code does not say how to train, a mean squared error, against
        the input itself where the result has its shape (an autoencoder)."""
        if shape is None or len(shape) == 2:
            return {}
        target = {"target": "input"} if tuple(shape[1:]) == self.input_shape else {}
        return {"loss": "MSELoss", **target}

    def _module_layer(self, node: fx.Node) -> tuple[str, dict]:
        """The layer a leaf module call is; Refused for a module we lack or cannot hold, or
        one with weights called a second time."""
        module = self.traced.module.get_submodule(node.target)
        count = self.callers.get(node.target, 0)
        self.callers[node.target] = count + 1
        if count and (any(True for _ in module.parameters()) or any(
                True for _ in module.buffers())):
            raise Refused(f"{type(module).__name__} called again", "a module with weights "
                          "called twice (shared weights); the graph gives each layer its own")
        try:
            layer = module_layer(module, len(shape_of(node.args[0]) or ()) if node.args
                                 and isinstance(node.args[0], fx.Node) else 0)
        except ModuleRefused as err:
            raise Refused(f"nn.{type(module).__name__}", str(err)) from None
        if layer is None:
            raise Refused(_class_name(module), "a module we do not have (no layer type "
                          "computes it)")
        self.layers[node] = layer
        return layer

    def _add_module(self, node: fx.Node) -> None:
        layer = self.layers[node]
        module = self.traced.module.get_submodule(node.target)
        draft = self._draft(self.owner[node])
        node_id = _fresh(draft.graph, _relative(node.target, draft.call))
        owner = type(draft.call.module) if draft.call is not None else self.traced.model_class
        layer = _as_written(layer, module, written_args(owner).get(node_id, {}))
        draft.graph.add_node(node_id, *layer)
        draft.modules[node_id] = module
        self._wire(draft, [a for a in node.args if isinstance(a, fx.Node)], node_id)
        self._finish(node, draft, node_id)

    def _add_layers(self, node: fx.Node, mapped: Layers) -> None:
        draft = self._draft(self.owner[node])
        node_id = ""
        for step, (type_name, params) in enumerate(mapped.steps):
            previous, node_id = node_id, draft.graph.unique_id(type_name)
            draft.graph.add_node(node_id, type_name, params)
            if step == 0:
                self._wire(draft, list(mapped.sources), node_id)
            else:
                draft.graph.add_edge(previous, node_id)
        self._finish(node, draft, node_id)

    def _finish(self, node: fx.Node, draft: Draft, node_id: str) -> None:
        draft.local[node] = node_id
        self.canon[node] = (node, 0)

    def _wire(self, draft: Draft, sources: list[fx.Node], target: str) -> None:
        for port, source in enumerate(sources):
            if self.kinds.get(source) == SHAPE or isinstance(self.kinds.get(source), Shuffle):
                raise Refused(operation_name(source), "a size or a half-done reshape used "
                              "as a tensor")
            src, from_port = self._resolve(draft, self.canon[source])
            draft.graph.add_edge(src, target, port, from_port)

    # -- values across block borders -----------------------------------------------------------
    def _resolve(self, draft: Draft, value: Value) -> tuple[str, int]:
        """(node id, output port) that carries `value` inside `draft`."""
        owner = self.owner[value[0]]
        if owner == draft.key:
            return draft.local[value[0]], value[1]
        chain = self._chain(owner)
        if draft.key in chain:  # made inside one of the draft's instances: it comes out
            child = self.drafts[chain[chain.index(draft.key) + 1]]
            return child.instance, self._output_index(child, value)
        if value in draft.inputs:
            return draft.inputs[value], 0
        raise Refused(f"a value of {self._path(owner) or 'forward'}", f"used inside "
                      f"{self._path(draft.key)} without being passed to it as an argument")

    def _chain(self, key: str) -> list[str]:
        """The keys from the top (ROOT) down to call `key`."""
        chain = []
        call = self.calls.get(key)
        while call is not None:
            chain.append(call.key)
            call = call.parent
        return [ROOT, *reversed(chain)]

    def _output_index(self, child: Draft, value: Value) -> int:
        results = self._results(child.call)
        if value not in results:
            raise Refused(f"a value made in {child.call.path}", "used after the call without "
                          "being returned by it")
        return results.index(value)

    def _results(self, call: Call) -> list[Value]:
        result = call.result
        items = result if isinstance(result, list | tuple) else [result]
        if not all(isinstance(item, fx.Proxy) for item in items):
            raise Refused(call.path, "returns something other than tensors")
        return [self.canon[item.node] for item in items]

    def _draft(self, key: str) -> Draft:
        """The draft of call `key`, made (with its instance in its parent) on first use."""
        if key in self.drafts:
            return self.drafts[key]
        call = self.calls[key]
        parent = self._draft(call.parent.key if call.parent is not None else ROOT)
        draft = Draft(call, Graph(call.path))
        self.drafts[key] = draft
        sources = []
        hoisted = self.hoisted.get(key, {})
        for name, value in call.args:
            node = hoisted.get(name) or getattr(value, "node", None)
            if node is None or self.kinds.get(node) == SHAPE:
                continue
            value_id = draft.graph.unique_id(_port_name(call.module, name))
            draft.graph.add_node(value_id, BLOCK_INPUT)
            draft.inputs[self.canon[node]] = value_id
            sources.append(node)
        first = shape_of(sources[0]) if sources else None
        draft.in_channels = first[1] if first is not None and len(first) == 4 else None
        draft.instance = _fresh(parent.graph, _relative(call.path, parent.call))
        parent.graph.add_node(draft.instance, BLOCK, {})
        parent.children[draft.instance] = [draft]
        self._wire(parent, sources, draft.instance)
        return draft

    def _add_outputs(self, draft: Draft) -> None:
        try:
            for value in self._results(draft.call):
                out = draft.graph.unique_id("y")
                draft.graph.add_node(out, BLOCK_OUTPUT)
                src, port = self._resolve(draft, value)
                draft.graph.add_edge(src, out, 0, port)
        except Refused as err:
            self._refuse(draft.call.path, err.operation, str(err))

    def _note_empty_calls(self) -> None:
        """One note per module class whose calls computed nothing (returned their input)."""
        empty: dict[str, list[str]] = {}
        for call in self.calls.values():
            if call.key not in self.drafts and (call.parent is None
                                                or call.parent.key in self.drafts):
                empty.setdefault(_class_name(call.module), []).append(call.path)
        for name, paths in empty.items():
            where = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3
                                            else "")
            self.notes.append(f"{name} ({where}) computes nothing in eval mode (it returns "
                              "its input) and was left out")

    # -- problems ------------------------------------------------------------------------------
    def _place(self, node: fx.Node) -> str:
        if node.op == "call_module":
            return str(node.target)
        return self._path(self.owner.get(node, ROOT))

    def _path(self, key: str) -> str:
        call = self.calls.get(key)
        return call.path if call is not None else ""

    def _refuse(self, place: str, operation: str, reason: str, line: str | None = None
                ) -> None:
        self.problems.append(Unmapped(place, operation, reason, line))


def _relative(path: str, call: Call | None) -> str:
    """A module path relative to the call it is used in, as a node id (`downsample`,
    `layers_0` for a module inside an uncalled ModuleList)."""
    if call is not None and path.startswith(call.path + ".") and call.path:
        path = path[len(call.path) + 1:]
    return path.replace(".", "_")


def _as_written(layer: tuple[str, dict], module: nn.Module, written: dict[str, str]
                ) -> tuple[str, dict]:
    """What the module cannot say, as the code wrote it: torch keeps a pooling's stride
    left out (None) as the kernel size, so a stride equal to the kernel reads as left out,
    unless the code wrote it; PReLU keeps no `init` (its weight starts there)."""
    type_name, params = layer
    if type_name == "PReLU" and "init" in written:
        with contextlib.suppress(ValueError, SyntaxError, ModuleRefused):
            init = ast.literal_eval(written["init"])
            params = {**params, **stored_params(REGISTRY.get("PReLU"), {"init": init})}
    if type_name in ("MaxPool2d", "AvgPool2d") and "stride" not in params \
            and written.get("stride", "None") != "None":
        stride = module.stride
        square = isinstance(stride, tuple | list) and len(set(stride)) == 1
        params = {**params, "stride": stride[0] if square else (
            list(stride) if isinstance(stride, tuple | list) else stride)}
    return type_name, params


def _port_name(module: nn.Module, name: str) -> str:
    """A BlockInput's id: forward's argument name, except nn.Sequential's own `input`, which
    is `x` as in the blocks one draws (and as nothing in exported code says otherwise)."""
    sequential = getattr(type(module), "forward", None) is nn.Sequential.forward
    return "x" if sequential and name == "input" else name


def _fresh(graph: Graph, base: str) -> str:
    """`base` as it is (an attribute name keeps its case) unless taken, then `base_1`..."""
    return base if base not in graph else graph.unique_id(base)


def _class_name(module: nn.Module) -> str:
    cls = type(module)
    prefix = "nn." if cls.__module__.startswith("torch.nn") else ""
    return prefix + cls.__name__
