"""Block types as classes: one `ClassPlan` per definition, whatever instance runs it.

A class must hold for every instance (every run in `engine.runs`), so its constructor takes
the block's parameters, and the input's channel count (`in_channels`, `in_channels_1`... for
more inputs; `in_features` for a vector): the definition is traced with those as `Sym`s
(backend/symbolic.py), so `out_channels=channels * 4` and `num_features=channels` come out as
expressions. Every printed value is then checked against every run of the definition: an
expression that does not give a run's actual value (one lost through `int()`, or a size that
follows from the image size) falls back to the value itself when all runs agree, else to an
extra constructor argument that each instance passes (`fc_in_features`). So the class is always
right, and only the arguments it uses appear in its signature.

Each instance's constructor call gets the same treatment one level up; a repeat is a list of
calls (`BasicBlock(64, 64), BasicBlock(64, 64)`), or inside a class with a repeat count that
varies, the first call and `*[Block(...) for _ in range(n - 1)]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dlbuilder.backend.names import LOCAL_RESERVED, MODEL_CLASS, Namespace
from dlbuilder.backend.plan import Call, ClassPlan, CompileError, Layer, Param, Planner
from dlbuilder.backend.symbolic import Sym, expression_text, simplified, tree_of
from dlbuilder.core.block_eval import BlockEngine
from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    INPUT_CHANNELS,
    BlockDef,
    is_ref,
    resolve,
)
from dlbuilder.core.diagnostics import Diagnostic
from dlbuilder.core.engine_base import EngineBase
from dlbuilder.core.expr import BinOp, ExprError, Name, Num
from dlbuilder.core.expr import Expr as ExprTree

MAX_LISTED = 2  # repeats of the same call written out one by one; more become a loop


@dataclass
class _Entry:
    """A constructor parameter of a class: where each instance's value comes from."""

    name: str
    kind: str  # "input" (channels of input `key`), "param" (block param `key`), "extra"
    key: Any
    default: int | None = None


def printable(value: Any) -> Any:
    """A traced value as the plan holds it: a Param for an expression, else the value."""
    if isinstance(value, Sym):
        if value.loose or isinstance(value.tree, Num):
            return int(value)
        return Param(ExprTree(expression_text(value.tree), value.tree))
    if isinstance(value, (tuple, list)):
        return type(value)(printable(v) for v in value)
    return value


def evaluate(value: Any, env: dict[str, Any]) -> Any:
    """A plan value for given constructor parameters (Params evaluated, never eval'd)."""
    if isinstance(value, Param):
        return value.expr.evaluate(env)
    if isinstance(value, dict):
        return {key: evaluate(v, env) for key, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(evaluate(v, env) for v in value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value


def _substitute(checked: Any, sym: Any) -> Any:
    """A checked parameter with the traced value put back where the check made it plain."""
    if not isinstance(sym, Sym):
        return checked
    if isinstance(checked, tuple):
        return tuple(_substitute(c, sym) for c in checked)
    if isinstance(checked, int) and not isinstance(checked, bool) and checked == sym:
        return sym
    return checked


@dataclass
class _Trace:
    args: dict[str, dict[str, Any]]
    repeats: dict[str, tuple[Any, list[tuple[tuple, dict[str, Any]]]]]
    outputs: tuple


def trace(defn: BlockDef, run: BlockEngine, ins: tuple, env: dict[str, Any]) -> _Trace:
    """The definition's layers' constructor arguments and its output shapes for traced
    inputs and arguments; `run` (the same definition, evaluated) gives the checked values."""
    graph, registry = defn.graph, run.registry
    if ins and INPUT_CHANNELS not in env:  # what a reference's `in_channels` means here
        env = {**env, INPUT_CHANNELS: ins[0][0]}
    shapes: dict[str, tuple] = {}
    result = _Trace({}, {}, ())
    inputs = defn.ports()[0]
    for info in run.infos():
        node = info.node
        wired = [shapes[src][port] for src, port in graph.input_sources(node)]
        if info.type == BLOCK_INPUT:
            shapes[node] = (ins[inputs.index(node)],)
        elif info.type == BLOCK_OUTPUT:
            shapes[node] = (wired[0],)
        elif info.type == BLOCK:
            shapes[node] = _trace_instance(graph, run, node, tuple(wired), env, result)
        else:
            spec = registry.get(info.type)
            p = dict(run.checked_params(node))
            for key, raw in graph.raw_params(node).items():
                if is_ref(raw):
                    p[key] = _substitute(p[key], resolve(raw, env))
            try:
                args = spec.torch_args(wired, p)
                out = spec.shape(wired, p)
                shapes[node] = tuple(out) if spec.multi_output else (out,)
            except Exception:  # noqa: BLE001 - a rule that cannot trace: keep the values
                args = spec.torch_args(run.input_shapes(node), run.checked_params(node))
                shapes[node] = info.output_shapes
            result.args[node] = args
    result.outputs = tuple(shapes[node][0] for node in defn.ports()[1])
    return result


def _trace_instance(graph, run: BlockEngine, node: str, ins: tuple, env: dict[str, Any],
                    result: _Trace) -> tuple:
    inner_runs = run.runs(node)
    inner = inner_runs[0].defn
    raw = graph.raw_params(node)
    args = {p.name: resolve(raw.get(p.name, p.default), env) for p in inner.params}
    repeat = resolve(raw.get("repeat", 1), env)
    count = len(inner_runs)
    traced = count + (count == 1 and isinstance(repeat, Sym))  # the shape of a later repeat
    per_repeat: list[tuple[tuple, dict[str, Any]]] = []
    outputs = ins
    for i in range(traced):
        per_repeat.append((outputs, args))
        done = trace(inner, inner_runs[min(i, count - 1)], outputs, args).outputs
        if i < count:
            outputs = done
    result.repeats[node] = (repeat, per_repeat)
    return outputs


def _run_tree(engine: EngineBase, out: dict[int, list[BlockEngine]], seen: set[int]) -> None:
    for node in engine.graph.nodes():
        for run in engine.runs(node):
            if id(run) not in seen:
                seen.add(id(run))
                out.setdefault(id(run.defn), []).append(run)
                _run_tree(run, out, seen)


class BlockClasses:
    """The classes of the block types an engine's graph uses, built on demand."""

    def __init__(self, engine: EngineBase) -> None:
        self.engine = engine
        self._runs: dict[int, list[BlockEngine]] = {}
        _run_tree(engine, self._runs, set())
        self._names = Namespace(LOCAL_RESERVED | {MODEL_CLASS})  # a block named Net: Net_
        self._classes: dict[str, ClassPlan] = {}  # by block name, in the order finished
        self._entries: dict[str, list[_Entry]] = {}
        self._extras: dict[str, dict[str, Callable[[BlockEngine], Any]]] = {}

    def classes(self) -> tuple[ClassPlan, ...]:
        return tuple(self._classes.values())

    def class_for(self, defn: BlockDef) -> ClassPlan:
        if defn.name not in self._classes:
            self._classes[defn.name] = _ClassBuilder(self, defn, self._runs[id(defn)]).build()
        return self._classes[defn.name]

    def value_in(self, defn: BlockDef, entry: _Entry, run: BlockEngine) -> Any:
        """What an instance's run passes for one constructor parameter of the class."""
        if entry.kind == "input":
            return run.in_shapes[entry.key][0]
        if entry.kind == "param":
            return run.env[entry.key]
        return self._extras[defn.name][entry.name](run)

    def instance_layer(self, engine: EngineBase, node: str, attr: str, used: bool) -> Layer:
        """A top-level instance: its calls with the values of each repeat's run."""
        runs = engine.runs(node)
        defn = runs[0].defn
        cls = self.class_for(defn)
        entries = self._entries[defn.name]
        calls = [Call(cls.name, tuple((e.name, _plain(self.value_in(defn, e, run)))
                                      for e in entries)) for run in runs]
        return instance_layer(engine, node, attr, used, cls.name, group_calls(calls),
                              len(runs) > 1)


def instance_layer(engine: EngineBase, node: str, attr: str, used: bool, cls: str,
                   calls: list[Call], sequence: bool) -> Layer:
    info = engine.info(node)
    assert info.output_shape is not None
    return Layer(node, BLOCK, attr, cls, {}, engine.input_shapes(node)[0], info.output_shape,
                 info.params, info.buffers, used, tuple(calls), sequence)


def group_calls(calls: list[Call]) -> list[Call]:
    """Consecutive equal calls as one with `times` (more than MAX_LISTED of them)."""
    grouped: list[Call] = []
    for call in calls:
        if grouped and grouped[-1].args == call.args and isinstance(grouped[-1].times, int):
            last = grouped.pop()
            grouped.append(Call(last.cls, last.args, last.times + 1))
        else:
            grouped.append(call)
    out: list[Call] = []
    for call in grouped:
        small = isinstance(call.times, int) and call.times <= MAX_LISTED
        out.extend([Call(call.cls, call.args)] * call.times if small else [call])
    return out


class _ClassBuilder:
    """One definition's class, checked against every run of the definition."""

    def __init__(self, classes: BlockClasses, defn: BlockDef, runs: list[BlockEngine]) -> None:
        self.classes = classes
        self.defn = defn
        self.runs = runs
        self.space = Namespace(LOCAL_RESERVED | {"x"})
        self.entries: list[_Entry] = []
        self.extras: dict[str, Callable[[BlockEngine], Any]] = {}
        ref = runs[0]
        for p in defn.params:
            self.entries.append(_Entry(self.space.claim(p.name, "param"), "param", p.name,
                                       p.default))
        inputs: list[_Entry] = []
        for k, shape in enumerate(ref.in_shapes):
            base = "in_features" if len(shape) == 1 else "in_channels"
            inputs.append(_Entry(self.space.claim(base if k == 0 else f"{base}_{k}"),
                                 "input", k))
        self.entries[:0] = inputs
        self.envs = {id(run): {e.name: classes.value_in(defn, e, run) for e in self.entries}
                     for run in runs}
        env = {e.key: Sym(ref.env[e.key], Name(e.name)) for e in self.entries
               if e.kind == "param"}
        ins = tuple((Sym(shape[0], Name(e.name)),
                     *(Sym(d, Num(d), loose=True) for d in shape[1:]))
                    for e, shape in zip(inputs, ref.in_shapes, strict=True))
        self.trace = trace(defn, ref, ins, env)
        self._actual: dict[tuple[int, str], dict[str, Any]] = {}

    # -- values that hold in every run ----------------------------------------------------
    def fit(self, value: Any, pairs: list[tuple[BlockEngine, Any]], hint: str) -> Any:
        """`value` as printed, if it gives each run's actual value; else the plain value if
        all runs agree; else a new constructor parameter each instance passes."""
        for candidate in (printable(value), _plain(value)):
            if all(self._gives(candidate, run, actual) for run, actual in pairs):
                return candidate
        by_run: dict[int, Any] = {}
        for run, actual in pairs:
            if by_run.setdefault(id(run), actual) != actual:
                raise CompileError([Diagnostic(None, None, "error", "internal_error", (
                    f"block {self.defn.name}: {hint} differs between the repeats of one "
                    "instance, which the exported code cannot write; give the repeat a fixed "
                    "count, or place the repeats one by one"))])
        name = self.space.claim(hint, "arg")
        self.entries.append(_Entry(name, "extra", None))
        self.extras[name] = lambda run: by_run[id(run)]
        for run in self.runs:
            self.envs[id(run)][name] = by_run.get(id(run))
        return Param(ExprTree(name, Name(name)))

    def _gives(self, candidate: Any, run: BlockEngine, actual: Any) -> bool:
        try:
            return evaluate(candidate, self.envs[id(run)]) == actual
        except (ExprError, TypeError):
            return False

    def _actual_args(self, run: BlockEngine, node: str) -> dict[str, Any]:
        key = (id(run), node)
        if key not in self._actual:
            spec = run.registry.get(run.graph.type_of(node))
            self._actual[key] = spec.torch_args(run.input_shapes(node), run.checked_params(node))
        return self._actual[key]

    def args_of(self, node: str, attr: str | None = None) -> dict[str, Any]:
        traced = self.trace.args[node]
        return {key: self.fit(value, [(run, self._actual_args(run, node)[key])
                                      for run in self.runs], f"{attr or node}_{key}")
                for key, value in traced.items()}

    # -- the class ---------------------------------------------------------------------------
    def build(self) -> ClassPlan:
        planner = Planner(self.runs[0], self.instance_layer, self.args_of)
        body = planner.body()
        used: set[str] = set()
        for layer in body.layers:
            _collect_names(layer.args, used)
            for call in layer.calls:
                _collect_names([v for _, v in call.args] + [call.times], used)
        for op in body.ops:
            _collect_names(op.args, used)
        order = ([e for e in self.entries if e.kind == "input"]
                 + [e for e in self.entries if e.kind == "extra"]
                 + [e for e in self.entries if e.kind == "param"])
        entries = [e for e in order if e.name in used]
        self.classes._entries[self.defn.name] = entries
        self.classes._extras[self.defn.name] = self.extras
        name = self.classes._names.claim(self.defn.name, "Block")
        return ClassPlan(name, self.defn.name, self.defn.doc,
                         tuple((e.name, e.default) for e in entries), body.layers, body.ops,
                         body.inputs, body.results, self._is_sequential(planner, body.layers))

    def _is_sequential(self, planner: Planner, layers: tuple[Layer, ...]) -> bool:
        """Whether the definition is a chain of modules with ids 0, 1, 2... in order."""
        graph = self.defn.graph
        ins, outs = self.defn.ports()
        inner = [n for n in graph.nodes() if n not in ins and n not in outs]
        if len(ins) != 1 or len(outs) != 1 or not inner \
                or inner != [str(i) for i in range(len(inner))] \
                or len(layers) != len(inner) or not all(layer.used for layer in layers):
            return False
        chain = [ins[0], *inner, outs[0]]
        return all(graph.outputs(a) == [b] and graph.inputs(b) == [a]
                   and (b == outs[0] or planner.is_module(b))
                   for a, b in zip(chain, chain[1:], strict=False))

    def instance_layer(self, engine: EngineBase, node: str, attr: str, used: bool) -> Layer:
        inner_defn = engine.runs(node)[0].defn
        cls = self.classes.class_for(inner_defn)
        entries = self.classes._entries[inner_defn.name]
        repeat, per_repeat = self.trace.repeats[node]
        counts = [len(run.runs(node)) for run in self.runs]
        ref_runs = engine.runs(node)

        def traced(i: int, entry: _Entry) -> Any:
            if entry.kind == "input":
                return per_repeat[i][0][entry.key][0]
            if entry.kind == "param":
                return per_repeat[i][1][entry.key]
            return self.classes.value_in(inner_defn, entry, ref_runs[min(i, len(ref_runs) - 1)])

        def call(i: int, pairs_of: Callable[[BlockEngine], list[BlockEngine]]) -> Call:
            return Call(cls.name, tuple(
                (e.name, self.fit(traced(i, e), [
                    (run, self.classes.value_in(inner_defn, e, inner))
                    for run in self.runs for inner in pairs_of(run)], f"{attr}_{e.name}"))
                for e in entries))

        by_name = isinstance(repeat, Sym) and not repeat.loose and not isinstance(
            repeat.tree, Num)  # a repeat written as a reference keeps its name
        if len(set(counts)) == 1 and not by_name:  # a fixed count: the calls one by one
            calls = [call(i, lambda run, i=i: run.runs(node)[i:i + 1])
                     for i in range(counts[0])]
            return instance_layer(engine, node, attr, used, cls.name, group_calls(calls),
                                  counts[0] > 1)
        times = self.fit(repeat, [(run, n) for run, n in zip(self.runs, counts, strict=True)],
                         f"{attr}_repeat")
        first = call(0, lambda run: run.runs(node)[:1])
        rest = call(1, lambda run: run.runs(node)[1:])
        if rest.args == first.args:
            return instance_layer(engine, node, attr, used, cls.name,
                                  [Call(cls.name, first.args, times)], True)
        tree = simplified(BinOp("-", tree_of_param(times), Num(1)))
        less = Param(ExprTree(expression_text(tree), tree))
        return instance_layer(engine, node, attr, used, cls.name,
                              [first, Call(cls.name, rest.args, less)], True)


def tree_of_param(value: Any):
    return value.expr.tree if isinstance(value, Param) else tree_of(value)


def _collect_names(value: Any, out: set[str]) -> None:
    if isinstance(value, Param):
        out.update(value.expr.names)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_names(v, out)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _collect_names(v, out)
