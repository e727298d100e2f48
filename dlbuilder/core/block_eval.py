"""Inference inside blocks: a definition evaluated for an instance's input shapes and arguments.

An instance runs its definition once per repeat, chained output to input. Each run is a
`BlockEngine`: the definition's graph with its BlockInputs given the run's input shapes and its
references evaluated with the instance's arguments; it answers the same questions as the live
engine (info, checked_params, input_shapes, runs...), so views show a block's inside for the
instance they came from. Runs are cached by (block, input shapes, arguments): the 16 bottlenecks
of a ResNet-50 are 8 evaluations. The cache is dropped whenever any definition changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    INPUT_CHANNELS,
    BlockDef,
    contains_words,
    cycle_through,
    instance_arguments,
    placed_definition,
    ref,
)
from dlbuilder.core.checks import block_checks
from dlbuilder.core.diagnostics import Diagnostic, Disconnect, InsertBefore, Remedy
from dlbuilder.core.engine_base import EngineBase, NodeInfo
from dlbuilder.core.fixes import make_fix
from dlbuilder.core.receptive import Receptive, compose_block, identity, merged
from dlbuilder.core.registry import Registry, Shape, format_shape


class BlockEngine(EngineBase):
    """One run of a block definition: what inference knows about its graph for given input
    shapes and argument values. Built whole and never changed afterwards."""

    def __init__(self, defn: BlockDef, registry: Registry, evaluator: BlockEvaluator,
                 in_shapes: tuple[Shape, ...], env: Mapping[str, int]) -> None:
        super().__init__(defn.graph, registry, evaluator)
        self.defn = defn
        self.in_shapes = in_shapes
        self.env = dict(env)
        self.infer_all()

    def _graph_checks(self) -> list[Diagnostic]:
        return block_checks(self.graph, self.registry)

    @property
    def names(self) -> dict[str, int]:
        """The block's arguments, and `in_channels`: the size of its first input's first
        dimension (channels, or features for a vector), unless a parameter has that name."""
        implicit = {INPUT_CHANNELS: self.in_shapes[0][0]} if self.in_shapes else {}
        return {**implicit, **self.env}

    def layer_activations(self) -> int:
        """Elements in every inner layer's outputs per sample (the ports add none)."""
        return sum(i.activations for i in self._info.values()
                   if i.type not in (BLOCK_INPUT, BLOCK_OUTPUT))

    def output_receptive(self) -> Receptive | None:
        """The block's own field at its outputs (their hull), from BlockInputs that start at
        the identity."""
        return merged([self._info[node].receptive for node in self.defn.ports()[1]])

    @property
    def output_shapes(self) -> tuple[Shape | None, ...]:
        """The shape leaving each of the block's outputs (None where it is unknown)."""
        outs = self.defn.ports()[1]
        return tuple(self._info[node].output_shape for node in outs)


class BlockEvaluator:
    """Computes the nodes that belong to blocks, for the live engine and every run."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._cache: dict[tuple, BlockEngine | None] = {}
        self._open: list[str] = []  # the blocks being evaluated, outermost first

    def forget(self) -> None:
        """Drop every cached run (a definition changed)."""
        self._cache.clear()

    def run(self, defn: BlockDef, in_shapes: tuple[Shape, ...], env: Mapping[str, int]
            ) -> BlockEngine | None:
        """The definition evaluated for these inputs and arguments; None if it is already
        being evaluated (a block that contains itself)."""
        if defn.name in self._open:
            return None
        key = (defn.name, id(defn), in_shapes, tuple(sorted(env.items())))
        if key not in self._cache:
            self._open.append(defn.name)
            try:
                self._cache[key] = BlockEngine(defn, self.registry, self, in_shapes, env)
            finally:
                self._open.pop()
        return self._cache[key]

    def infer_node(self, engine: EngineBase, node: str) -> NodeInfo:
        type_name = engine.graph.type_of(node)
        if type_name == BLOCK:
            return _Instance(self, engine, node).infer()
        if not isinstance(engine, BlockEngine):
            return _error(node, type_name, "port_outside_block",
                          f"{type_name} is a port of a block and belongs inside one; here, "
                          f"use {'Input' if type_name == BLOCK_INPUT else 'Output'} or delete it")
        wires = engine.graph.input_sources(node)
        if type_name == BLOCK_INPUT:
            if wires:
                return _error(node, type_name, "too_many_inputs",
                              "a BlockInput takes no inputs: the instance's wire feeds it; "
                              "remove the wires into it")
            index = engine.defn.ports()[0].index(node)
            shape = engine.in_shapes[index] if index < len(engine.in_shapes) else None
            field = identity(len(shape)) if shape is not None else None
            return NodeInfo(node, type_name, shape, receptive=field)
        if len(wires) != 1:
            return _error(node, type_name, "no_input" if not wires else "too_many_inputs",
                          f"a BlockOutput takes exactly one input, the block's result, but has "
                          f"{len(wires)}")
        src = engine._info.get(wires[0][0])
        return NodeInfo(node, type_name, engine.source_shape(*wires[0]),
                        receptive=src.receptive if src is not None else None)

    def explain(self, engine: EngineBase, node: str) -> list[str]:
        info = engine.info(node)
        runs = engine.runs(node)
        if not runs:
            return [f"output = input = {format_shape(info.output_shape)}"]
        defn = runs[0].defn
        lines = [f"{node} runs block {defn.name} {len(runs)} time{'s' * (len(runs) > 1)}"
                 + (", each repeat's output feeding the next" if len(runs) > 1 else "")]
        for i, run in enumerate(runs):
            ins = ", ".join(format_shape(s) for s in run.in_shapes)
            outs = ", ".join(format_shape(s) for s in run.output_shapes)
            lines.append(f"repeat {i}: {ins} -> {outs}, {run.totals().params:,} parameters")
        lines.append(f"parameters = {' + '.join(f'{r.totals().params:,}' for r in runs)} = "
                     f"{info.params:,}")
        return lines


def _error(node: str, type_name: str, code: str, message: str) -> NodeInfo:
    return NodeInfo(node, type_name, None,
                    diagnostics=(Diagnostic(node, None, "error", code, message),))


class _Instance:
    """Inference of one instance node: its arguments, its runs, its lifted problems."""

    def __init__(self, evaluator: BlockEvaluator, engine: EngineBase, node: str) -> None:
        self.evaluator = evaluator
        self.engine = engine
        self.node = node
        self.diags: list[Diagnostic] = []

    def fail(self, code: str, message: str, field: str | None = None, fix=None) -> NodeInfo:
        self.diags.append(Diagnostic(self.node, field, "error", code, message, fix))
        return self.result(None)

    def result(self, out: tuple[Shape, ...] | None, runs: list[BlockEngine] = ()) -> NodeInfo:
        if out is None:
            return NodeInfo(self.node, BLOCK, None, diagnostics=tuple(self.diags))
        totals = [run.totals() for run in runs]
        inner = sum(run.layer_activations() for run in runs)
        return NodeInfo(self.node, BLOCK, out[0], sum(t.params for t in totals),
                        sum(t.buffers for t in totals), sum(t.macs for t in totals),
                        tuple(self.diags), out if len(out) > 1 else (), inner,
                        self._receptive(runs))

    def _receptive(self, runs: list[BlockEngine]) -> Receptive | None:
        """The instance's field: its input's, then each repeat's own map in turn."""
        engine = self.engine
        field = merged([engine.info(src).receptive
                        for src, _ in engine.graph.input_sources(self.node)])
        for run in runs:
            field = compose_block(field, run.output_receptive())
        return field

    def infer(self) -> NodeInfo:
        engine, node = self.engine, self.node
        engine._runs.pop(node, None)  # the runs of the last inference no longer hold
        graph = engine.graph
        raw = graph.raw_params(node)
        name = raw.get("block")
        defn = placed_definition(graph.blocks, raw)
        if defn is None:
            known = ", ".join(graph.blocks) or "none"
            return self.fail("unknown_block", f"{node} places block {name!r}, which this file "
                             f"does not define (its blocks: {known})", "block")
        loop = cycle_through(graph.blocks, defn.name)
        if loop:
            return self.fail("block_contains_itself", contains_words(loop))
        args, repeat, problems = instance_arguments(defn, raw, engine.names)
        for field, message in problems:
            self.diags.append(Diagnostic(node, field, "error", "block_arguments", message))
        engine._checked[node] = None if problems else {"block": name, "repeat": repeat, **args}
        ins = self._input_shapes(defn)
        if problems or ins is None:
            return self.result(None)
        outs = len(defn.ports()[1])  # none is reported inside the block
        if repeat > 1 and outs and (len(ins) != 1 or outs != 1):
            return self.fail("block_repeat", f"{defn.name} has {len(ins)} inputs and "
                             f"{outs} outputs; only a block with one of each "
                             "can repeat, its output feeding the next repeat", "repeat")
        return self._run(defn, ins, args, repeat)

    def _input_shapes(self, defn: BlockDef) -> tuple[Shape, ...] | None:
        engine, node = self.engine, self.node
        wires = engine.graph.input_sources(node)
        wanted = len(defn.ports()[0])
        if len(wires) != wanted:
            code = "no_input" if not wires else "block_ports"
            self.fail(code, f"{defn.name} takes {wanted} input{'s' * (wanted != 1)} but "
                      f"{node} has {len(wires)} wired; "
                      + ("wire a layer's output into it" if not wires
                         else "wire one into each of its inputs"))
            return None
        shapes = tuple(engine.source_shape(src, port) for src, port in wires)
        return None if any(s is None for s in shapes) else shapes  # type: ignore[return-value]

    def _run(self, defn: BlockDef, ins: tuple[Shape, ...], args: dict[str, int],
             repeat: int) -> NodeInfo:
        runs: list[BlockEngine] = []
        shapes: tuple[Shape | None, ...] = ins
        seen: set[tuple] = set()
        for i in range(repeat):
            run = self.evaluator.run(defn, shapes, args)  # type: ignore[arg-type]
            if run is None:
                return self.fail("block_contains_itself", contains_words(
                    [*self.evaluator._open, defn.name]))
            runs.append(run)
            self._lift(run, f"{self.node}.{i}" if repeat > 1 else self.node, seen)
            shapes = run.output_shapes
            if not shapes or any(s is None for s in shapes):
                break
        self.engine._runs[self.node] = runs
        if not shapes or any(s is None for s in shapes) or len(runs) < repeat:
            return self.result(None)  # no BlockOutput (reported inside) or a shape unknown
        self._check_wires(defn, len(shapes))
        return self.result(shapes, runs)  # type: ignore[arg-type]

    def _lift(self, run: BlockEngine, prefix: str, seen: set[tuple]) -> None:
        """The run's problems on the instance, named by where they are (`layer2.0/conv1`),
        each once however many repeats share it; fixes apply to the definition."""
        for d in run.diagnostics():
            inner = d.inside or ((d.node,) if d.node is not None else ())
            key = (inner, d.code, d.field)
            if key in seen:
                continue
            seen.add(key)
            if d.inside:
                text = f"{prefix}.{d.message}"
            elif d.node is not None:
                text = f"{prefix}/{d.node}: {d.message}"
            else:
                text = f"{prefix} ({run.defn.name}): {d.message}"
            fix = d.fix
            if fix is not None and not fix.block:
                fix = replace(fix, block=run.defn.name, remedy=_in_block_terms(fix.remedy, run))
            self.diags.append(Diagnostic(self.node, None, d.severity, d.code, text, fix,
                                         (self.node, *inner)))

    def _check_wires(self, defn: BlockDef, outputs: int) -> None:
        graph = self.engine.graph
        for dst, port in graph.output_ports(self.node):
            if port >= outputs:
                self.diags.append(Diagnostic(
                    self.node, None, "error", "block_ports",
                    f"{defn.name} has {outputs} output{'s' * (outputs != 1)}, but the wire to "
                    f"{dst} leaves output {port}; move or delete the wire", make_fix(
                        self.node, Disconnect(dst))))



def _in_block_terms(remedy: Remedy, run: BlockEngine) -> Remedy:
    """A fix for the definition, not for one instance: the sizes of the layers an insertion
    adds (a projection's out_channels) become references where exactly one of the block's
    names has that value in this run, so the fix holds for the other instances too."""
    if not isinstance(remedy, InsertBefore):
        return remedy
    names = run.names

    def term(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return value
        matches = [name for name, known in names.items() if known == value]
        return ref(matches[0]) if len(matches) == 1 else value

    def terms(params: dict[str, Any]) -> dict[str, Any]:
        return {key: term(value) for key, value in params.items()}

    return replace(remedy, params=terms(remedy.params),
                   then=tuple((kind, terms(params)) for kind, params in remedy.then))
