"""The per-node half of inference, shared by the live engine and by block evaluation.

`EngineBase` holds what inference knows about one graph (a NodeInfo per node, the checked
parameters, the graph-wide diagnostics) and computes a node from its inputs: the declaration's
shape rule, warnings and counts, every problem turned into a `Diagnostic` on the node. The live
engine (inference.py) adds listening to the graph and incremental updates; a block's evaluation
(block_eval.py) adds the instance's input shapes and argument values. Nodes that belong to
blocks (instances and ports) are computed by the `blocks` evaluator both share.

A layer with several outputs (Chunk) has one shape per output port; a wire's consumer gets the
shape of the port the wire leaves from (`from_port`), and a wire from a port the layer does not
have (after lowering `chunks`) is an error on that layer, with a fix.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import networkx as nx

from dlbuilder.core.blocks import BLOCK, BLOCK_TYPES, is_block_type, resolve
from dlbuilder.core.diagnostics import Bypass, ChangeParams, Diagnostic, Disconnect, ShapeProblem
from dlbuilder.core.expr import ExprError
from dlbuilder.core.fixes import make_fix, same_padding_fix
from dlbuilder.core.graph import Graph
from dlbuilder.core.hints import hints
from dlbuilder.core.params import ParamError
from dlbuilder.core.receptive import Receptive, identity, node_receptive
from dlbuilder.core.registry import Params, Registry, Shape, format_shape, prod


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What inference knows about one node. `output_shape` is None when it cannot be inferred;
    for a layer with several outputs it is the first one's, and `port_shapes` holds them all."""

    node: str
    type: str
    output_shape: Shape | None
    params: int = 0
    buffers: int = 0
    macs: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()
    port_shapes: tuple[Shape, ...] = ()
    # a block instance's: elements in all its inner layers' outputs (None for a layer)
    inner_activations: int | None = None
    # the input region one output value sees (core/receptive.py); None: not spatial/unknown
    receptive: Receptive | None = None

    @property
    def output_shapes(self) -> tuple[Shape, ...]:
        """The shape of each output port (one for most layers; none when unknown)."""
        if self.port_shapes:
            return self.port_shapes
        return (self.output_shape,) if self.output_shape is not None else ()

    def port_shape(self, from_port: int) -> Shape | None:
        """The shape leaving output `from_port`, or None when unknown or there is no such port."""
        shapes = self.output_shapes
        return shapes[from_port] if 0 <= from_port < len(shapes) else None

    @property
    def activations(self) -> int:
        """Elements in the outputs per sample (a block instance: in all its layers')."""
        if self.inner_activations is not None:
            return self.inner_activations
        return sum(prod(shape) for shape in self.output_shapes)


@dataclass(frozen=True)
class Totals:
    params: int
    buffers: int
    macs: int
    activations: int
    errors: int
    warnings: int
    hints: int = 0



MERGE_MISMATCHES = ("add_shape_mismatch", "concat_shape_mismatch")

class BlockNodes(Protocol):
    """Computes the nodes that belong to blocks (core/block_eval.BlockEvaluator)."""

    def infer_node(self, engine: EngineBase, node: str) -> NodeInfo: ...

    def explain(self, engine: EngineBase, node: str) -> list[str]: ...


class EngineBase(ABC):
    """What inference knows about one graph, and how one node is computed."""

    # the argument values of the block whose graph this is (None: the top-level graph)
    env: Mapping[str, int] | None = None

    @property
    def names(self) -> Mapping[str, int] | None:
        """What a reference may name here (None: references are not allowed)."""
        return self.env

    def __init__(self, graph: Graph, registry: Registry, blocks: BlockNodes) -> None:
        self.graph = graph
        self.registry = registry
        self.blocks = blocks
        self._info: dict[str, NodeInfo] = {}
        self._checked: dict[str, Params | None] = {}
        self._runs: dict[str, list[Any]] = {}
        self._order: dict[str, int] = {}
        self._next_order = 0
        self._graph_diags: list[Diagnostic] = []
        self._diagnostics: tuple[Diagnostic, ...] | None = None  # gathered once per change
        self.last_inferred: list[str] = []

    # -- public queries ----------------------------------------------------------------------
    def info(self, node: str) -> NodeInfo:
        return self._info[node]

    def infos(self) -> list[NodeInfo]:
        """NodeInfo for every node, in topological order."""
        return sorted(self._info.values(), key=lambda i: self._order[i.node])

    def checked_params(self, node: str) -> Params | None:
        """The node's parameters with defaults filled in and values normalized, if valid."""
        return self._checked.get(node)

    def diagnostics(self) -> list[Diagnostic]:
        """Every problem: the graph-wide ones, then each node's in topological order.

        Gathered once after each change and kept until the next, so the views that read them
        after an edit share one computation.
        """
        if self._diagnostics is None:
            self._diagnostics = self._gather_diagnostics()
        return list(self._diagnostics)

    def _gather_diagnostics(self) -> tuple[Diagnostic, ...]:
        result = list(self._graph_diags)
        for info in self.infos():
            result.extend(info.diagnostics)
        result += hints(self)
        return tuple(result)

    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics())

    def totals(self) -> Totals:
        infos = self._info.values()
        diags = self.diagnostics()
        errors = sum(d.severity == "error" for d in diags)
        advice = sum(d.severity == "hint" for d in diags)
        return Totals(
            params=sum(i.params for i in infos), buffers=sum(i.buffers for i in infos),
            macs=sum(i.macs for i in infos), activations=sum(i.activations for i in infos),
            errors=errors, warnings=len(diags) - errors - advice, hints=advice,
        )

    def input_shapes(self, node: str) -> list[Shape | None]:
        return [self.source_shape(src, port) for src, port in self.graph.input_sources(node)]

    def source_shape(self, src: str, from_port: int = 0) -> Shape | None:
        """The shape a wire from `src`'s output `from_port` carries (None when unknown)."""
        info = self._info.get(src)
        return info.port_shape(from_port) if info is not None else None

    def explain(self, node: str) -> list[str]:
        """How the node's numbers come about: formulas with the user's values filled in."""
        info = self._info[node]
        p = self._checked.get(node)
        if info.output_shape is None:
            return ["the output cannot be computed until the problems above are fixed"]
        if is_block_type(info.type):
            return self.blocks.explain(self, node)
        if p is None:
            return ["the output cannot be computed until the problems above are fixed"]
        spec = self.registry.get(info.type)
        ins = [s for s in self.input_shapes(node) if s is not None]
        return spec.explain(ins, p, info.port_shapes if spec.multi_output else info.output_shape)

    def runs(self, node: str) -> list[Any]:
        """For a block instance: the evaluation of its definition for each repeat (a
        BlockEngine, with this same read API); [] for any other node."""
        return list(self._runs.get(node, ()))

    # -- inference ---------------------------------------------------------------------------
    def infer_all(self) -> None:
        graph = self.graph
        order = list(nx.topological_sort(graph.nx))
        self._set_order(order)
        self._info.clear()
        self._checked.clear()
        self._runs.clear()
        self._diagnostics = None
        for node in order:
            self._info[node] = self._infer(node)
        self._graph_diags = self._graph_checks()
        self.last_inferred = order

    @abstractmethod
    def _graph_checks(self) -> list[Diagnostic]:
        """The checks that depend only on the wiring: the top level's (one Input, one end)
        or a block definition's (its ports)."""

    def _set_order(self, order) -> None:
        """Topological positions; kept valid by new nodes going last and wires that agree."""
        self._order = {n: i for i, n in enumerate(order)}
        self._next_order = len(self._order)

    def _shape_of(self, node: str) -> Shape | None:
        info = self._info.get(node)
        return info.output_shape if info is not None else None

    def _is_multi_output(self, node: str) -> bool:
        type_name = self.graph.type_of(node)
        if type_name == BLOCK:  # as many outputs as its definition has: it checks its wires
            return True
        return type_name in self.registry and self.registry.get(type_name).multi_output

    def _output_nodes(self) -> list[str]:
        """Output nodes: their checks also depend on which Input the graph has."""
        outputs = self.registry.types_with_role("output")
        return [n for n, t in self.graph.nx.nodes(data="type") if t in outputs]

    def _infer(self, node: str) -> NodeInfo:
        graph = self.graph
        type_name = graph.type_of(node)
        if type_name in BLOCK_TYPES:
            self._checked[node] = None
            return self.blocks.infer_node(self, node)
        if type_name not in self.registry:
            self._checked[node] = None
            known = ", ".join(sorted(self.registry.types()))
            return NodeInfo(node, type_name, None, diagnostics=(Diagnostic(
                node, None, "error", "unknown_type",
                f"unknown layer type {type_name!r}; known types: {known}"),))
        spec = self.registry.get(type_name)
        diags: list[Diagnostic] = []
        raw = graph.raw_params(node)
        for value in raw.values():  # a loop, not any(): this runs for every node
            if isinstance(value, dict):
                p = self._check_references(node, spec, raw, diags)
                break
        else:
            p = self._check_params(node, spec, raw, diags)
        self._checked[node] = p
        wires = graph.input_sources(node)
        sources = [src for src, _ in wires]
        if not self._input_count_ok(node, spec, len(sources), diags) or p is None:
            return NodeInfo(node, type_name, None, diagnostics=tuple(diags))
        ins = []
        for src, from_port in wires:
            shape = self.source_shape(src, from_port)
            if shape is None:  # blocked by a problem upstream (or a missing port), reported there
                return NodeInfo(node, type_name, None, diagnostics=tuple(diags))
            ins.append(shape)
        try:
            return self._apply_rules(node, spec, ins, p, sources, diags)
        except Exception as err:  # noqa: BLE001 - a buggy rule must not take the editor down
            diags.append(Diagnostic(node, None, "error", "internal_error",
                                    f"dlbuilder could not compute this {type_name} "
                                    f"({type(err).__name__}: {err}); please report it"))
            return NodeInfo(node, type_name, None, diagnostics=tuple(diags))

    def _refield(self, info: NodeInfo) -> NodeInfo:
        """`info` with its receptive field recomputed from its inputs' (their shapes, and so
        its own numbers and problems, unchanged); a block instance is inferred again."""
        node = info.node
        params = self._checked.get(node)
        if info.output_shape is None or info.type not in self.registry or params is None:
            return self._infer(node)
        spec = self.registry.get(info.type)
        wires = self.graph.input_sources(node)
        ins = [self._info[src].port_shape(port) for src, port in wires]
        field = node_receptive(spec.receptive, ins, params, info.output_shape,  # type: ignore
                               [self._info[src].receptive for src, _ in wires])
        return replace(info, receptive=field)

    def _check_references(self, node: str, spec, raw: dict, diags: list[Diagnostic]
                          ) -> Params | None:
        """`_check_params` for parameters that refer to block parameters: each reference
        evaluated in this graph's names first; one that cannot be is an error on its field
        (said once: not also as a missing parameter)."""
        p = self._check_params(node, spec, self._resolved(node, raw, diags), diags)
        failed = {d.field for d in diags if d.code == "bad_reference"}
        if not failed:
            return p
        diags[:] = [d for d in diags if d.code != "param_missing" or d.field not in failed]
        return None

    def _resolved(self, node: str, raw: dict, diags: list[Diagnostic]) -> dict:
        """The raw parameters with references to block parameters evaluated in this graph's
        names; a reference that cannot be evaluated is an error on its field."""
        resolved = {}
        for key, value in raw.items():
            try:
                resolved[key] = resolve(value, self.names)
            except ExprError as err:
                diags.append(Diagnostic(node, key, "error", "bad_reference", f"{key}: {err}"))
        return resolved

    def _apply_rules(self, node: str, spec, ins: list[Shape], p: Params, sources: list[str],
                     diags: list[Diagnostic]) -> NodeInfo:
        """The declaration's shape rule, warnings and counts for one node's input shapes."""
        try:
            out = spec.shape(ins, p)
        except ShapeProblem as problem:
            fix = make_fix(node, problem.remedy, problem.fix_label) if problem.remedy else None
            if fix is None and problem.code in MERGE_MISMATCHES:
                fix = same_padding_fix(self.graph, self.registry, self._shape_of,
                                       self._checked.get, sources)
            message = problem.message
            if len(sources) > 1:  # rules speak of ports; say which node each one is
                ports = ", ".join(f"input {i} = {src}" for i, src in enumerate(sources))
                message += f" ({ports})"
            diags.append(Diagnostic(node, problem.field, "error", problem.code, message, fix))
            return NodeInfo(node, spec.type, None, diagnostics=tuple(diags))
        for warning in spec.warnings(ins, p):
            fix = make_fix(node, warning.remedy, warning.fix_label) if warning.remedy else None
            diags.append(Diagnostic(node, warning.field, "warning", warning.code,
                                    warning.message, fix))
        if spec.role == "output":
            self._check_output(node, p, out, sources, diags)
        n_params, n_buffers = spec.count(ins, p)
        self._check_ports(node, spec, ins, p, out if spec.multi_output else (out,), diags)
        first = out[0] if spec.multi_output else out
        if sources:
            field = node_receptive(spec.receptive, ins, p, first,
                                   [self._info[src].receptive for src in sources])
        else:
            field = identity(len(first)) if spec.role == "input" else None
        if spec.multi_output:
            return NodeInfo(node, spec.type, first, n_params, n_buffers,
                            spec.macs(n_params, first), tuple(diags), tuple(out),
                            receptive=field)
        return NodeInfo(node, spec.type, out, n_params, n_buffers, spec.macs(n_params, out),
                        tuple(diags), receptive=field)

    def _check_params(self, node: str, spec, raw: dict, diags: list[Diagnostic]) -> Params | None:
        index = spec.param_index
        p = dict(spec.defaults)
        ok = True
        for key, value in raw.items():
            pspec = index.get(key)
            if pspec is None:
                names = ", ".join(index) or "none"
                diags.append(Diagnostic(
                    node, key, "error", "param_unknown",
                    f"{spec.type} has no parameter {key!r} (its parameters: {names})",
                    make_fix(node, ChangeParams({key: None}), f"Remove {key}")))
                continue
            try:
                p[key] = pspec.check(value)
            except ParamError as err:
                ok = False
                fix = None
                if err.fix_value is not None:
                    fix = make_fix(node, ChangeParams({key: err.fix_value}))
                diags.append(Diagnostic(node, key, "error", err.code, err.message, fix))
        for pspec in spec.params:
            if pspec.required and pspec.name not in raw:
                ok = False
                diags.append(Diagnostic(
                    node, pspec.name, "error", "param_missing",
                    f"{spec.type} needs {pspec.name}: {pspec.describe()}"))
        return p if ok else None

    def _check_ports(self, node: str, spec, ins: list[Shape], p: Params,
                     outs: tuple[Shape, ...], diags: list[Diagnostic]) -> None:
        """An error for each wire that leaves an output the layer does not have (wired when
        `chunks` was higher, or written so in a file), with a fix: the lowest setting that
        gives that output back, or, when none can, removing the wire."""
        graph = self.graph
        for dst, port in graph.output_ports(node):
            if port < len(outs):
                continue
            name = spec.outputs_param
            value = self._setting_for_port(spec, ins, p, port) if name else None
            count = f"{len(outs)} outputs (0 to {len(outs) - 1})" if len(outs) > 1 \
                else "one output (0)"
            if name and len(outs) < p[name]:
                count += f": torch splits {format_shape(ins[0])} into {len(outs)} pieces, "\
                         f"not {p[name]}"
            message = f"{spec.type} {node} gives {count}, but the wire to {dst} leaves output " \
                      f"{port}; "
            if value is not None:
                message += f"set {name} = {value} or move that wire to an existing output"
                fix = make_fix(node, ChangeParams({name: value}))
            else:
                nothing = f"no setting of {name} gives that output" if name \
                    else "it has no such output"
                message += f"{nothing}; move or delete the wire"
                fix = make_fix(node, Disconnect(dst))
            diags.append(Diagnostic(node, name, "error", "missing_output", message, fix))

    @staticmethod
    def _setting_for_port(spec, ins: list[Shape], p: Params, port: int) -> int | None:
        """The smallest value of the spec's outputs parameter that gives output `port`."""
        name = spec.outputs_param
        for value in range(p[name] + 1, p[name] + 1 + 1024):
            try:
                if len(spec.shape(ins, {**p, name: value})) > port:
                    return value
            except ShapeProblem:
                return None
        return None

    @staticmethod
    def _input_count_ok(node: str, spec, count: int, diags: list[Diagnostic]) -> bool:
        low, high = spec.min_inputs, spec.max_inputs
        if count == 0 and low > 0:
            diags.append(Diagnostic(node, None, "error", "no_input",
                                    f"nothing is connected to this {spec.type}; wire a layer's "
                                    "output into it or delete it"))
            return False
        if count < low:
            diags.append(Diagnostic(node, None, "error", "too_few_inputs",
                                    f"{spec.type} needs at least {low} inputs but has {count}; "
                                    "connect another branch into it"))
            return False
        if high is not None and count > high:
            what = "no inputs" if high == 0 else f"{high} input" + ("s" if high > 1 else "")
            diags.append(Diagnostic(node, None, "error", "too_many_inputs",
                                    f"{spec.type} takes {what} but has {count}; "
                                    "remove the extra wires"))
            return False
        return True

    def _check_output(self, node: str, p: Params, out: Shape, sources: list[str],
                      diags: list[Diagnostic]) -> None:
        """Checks that need more than the Output's own input: the Input, the layer before."""
        if p["target"] == "input":
            roles = self.registry.types_with_role("input")
            inputs = [n for n, t in self.graph.nx.nodes(data="type") if t in roles]
            expected = None
            if len(inputs) == 1:  # a lone Input may come later in topological order
                expected = (self._info.get(inputs[0]) or self._infer(inputs[0])).output_shape
            if expected is not None and expected != out:
                diags.append(Diagnostic(
                    node, "target", "error", "target_shape",
                    f"with target 'input' the network must give back the Input's shape "
                    f"{format_shape(expected)}, but it gives {format_shape(out)}"))
        if p["loss"] != "CrossEntropyLoss":
            return
        prev, inside, block = self._last_layer(sources[0])
        if self.registry.role_of(prev[1].graph.type_of(prev[0])) == "probabilities":
            layer = prev[0]
            name = "/".join(inside) if inside else layer
            fix = replace(make_fix(layer, Bypass(layer), f"Remove {name}"), block=block)
            diags.append(Diagnostic(
                sources[0], None, "warning", "softmax_before_cross_entropy",
                f"{name} applies Softmax right before a CrossEntropyLoss Output, which applies "
                "log-softmax itself: the scores get squashed twice and training slows. "
                f"Remove {name} (keep it only for prediction)", fix, tuple(inside)))

    def _last_layer(self, node: str) -> tuple[tuple[str, EngineBase], list[str], str | None]:
        """The layer whose output `node` gives: (layer, its engine), and for a block
        instance the ids down to it and the definition it is in (the last repeat's)."""
        engine: EngineBase = self
        inside: list[str] = []
        block, port = None, 0
        while engine.graph.type_of(node) == BLOCK and engine.runs(node):
            run = engine.runs(node)[-1]
            inside.append(node)
            node, port = run.graph.input_sources(run.defn.ports()[1][port])[0]
            engine, block = run, run.defn.name
        if inside:
            inside.append(node)
        return (node, engine), inside, block
