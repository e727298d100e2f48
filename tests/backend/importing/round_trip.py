"""`import(export(G))`: a graph exported as code, imported back, and both put in one form
that holds exactly what the round trip promises to keep (see test_round_trip.py's docstring
for what that is and why the rest is left out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from import_checks import exported_net

from dlbuilder.backend.codegen import export_code
from dlbuilder.backend.compiler import compile_graph
from dlbuilder.backend.importing.result import Imported
from dlbuilder.backend.importing.torch_import import import_module
from dlbuilder.backend.plan import build_plan
from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT, is_ref
from dlbuilder.core.expr import parse_expr
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.ops import inline_op
from dlbuilder.layers import REGISTRY

Canon = dict[str, Any]


def input_shape(graph: Graph) -> tuple[int, ...]:
    node = next(n for n in graph.nodes() if REGISTRY.get(graph.type_of(n)).role == "input")
    return tuple(graph.params(node)["shape"])


def round_trip(graph: Graph, folder: Path, seed: int = 0) -> tuple[Imported, str]:
    """G's exported code written to `folder`, imported back with `import_module` (the
    model built under torch seed `seed`); returns the import and the code."""
    code = export_code(InferenceEngine(graph, REGISTRY))
    path = folder / "exported_net.py"
    path.write_text(code)
    torch.manual_seed(seed)
    return import_module(f"{path}:Net", input_shape(graph)), code


def assert_same_outputs(graph: Graph, imported: Imported, code: str, seed: int = 0) -> None:
    """The imported graph's exported class with the imported weights computes what the
    compiled G computes with the weights the imported model was built with (eval mode)."""
    namespace: dict[str, Any] = {}
    exec(compile(code, "<G's exported code>", "exec"), namespace)
    torch.manual_seed(seed)  # the same draws as the model import_module built
    original = namespace["Net"]()
    compiled = compile_graph(graph, REGISTRY).eval()
    compiled.load_state_dict(original.state_dict(), strict=True)
    net, _ = exported_net(imported)
    x = torch.randn(2, *input_shape(graph), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        want, got = compiled(x), net(x)
    assert torch.equal(got, want), (got - want).abs().max()


def canonical(graph: Graph) -> Canon:
    """The graph in the form the round trip compares (see test_round_trip.py)."""
    engine = InferenceEngine(graph, REGISTRY)
    sequential = {cls.block for cls in build_plan(engine).classes if cls.sequential}
    placed = _placed(graph, graph)
    blocks = {}
    for name in placed:
        defn = graph.block(name)
        used = _used(defn.graph)
        blocks[name] = {"params": [(p.name, p.default) for p in defn.params if p.name in used],
                        "graph": _level(defn.graph, graph, name in sequential)}
    return {"top": _level(graph, graph, False), "blocks": blocks}


def _used(level: Graph) -> set[str]:
    """The names the references in a block's graph use: a parameter nothing uses is not in
    the exported class's signature."""
    return {name for node in level.nodes() for value in level.raw_params(node).values()
            if is_ref(value) for name in parse_expr(value["expr"]).names}


def _placed(level: Graph, graph: Graph, found: list[str] | None = None) -> list[str]:
    """The block types an instance places, from `level` down: only those are in the code."""
    found = [] if found is None else found
    for node in level.nodes():
        if level.type_of(node) == BLOCK:
            name = level.raw_params(node)["block"]
            if name not in found:
                found.append(name)
                _placed(graph.block(name).graph, graph, found)
    return found


def _level(level: Graph, graph: Graph, sequential: bool) -> Canon:
    names = _names(level, sequential)
    nodes = {names[n]: (level.type_of(n), _params(level, graph, n)) for n in level.nodes()}
    edges = {(names[s], names[d], None if _symmetric(level, d) else port, level.from_port(s, d))
             for s, d, port in level.edges()}
    roles = {n: REGISTRY.get(t).role for n, t in (
        (n, level.type_of(n)) for n in level.nodes()) if t in REGISTRY}
    if "input" in roles.values() and "output" not in roles.values():
        # a graph without Output gives its single sink as the result: the import adds one
        sink = next(n for n in level.nodes() if not level.outputs(n))
        nodes["output"] = ("Output", {})
        edges.add((names[sink], "output", 0, 0))
    return {"nodes": nodes, "edges": edges}


def _names(level: Graph, sequential: bool) -> dict[str, str]:
    """Node id -> the id compared: the code's names are kept; what the code does not hold
    is named by what it is (see test_round_trip.py)."""
    names: dict[str, str] = {}
    outs = [n for n in level.nodes() if level.type_of(n) == BLOCK_OUTPUT]
    for i, node in enumerate(outs):
        names[node] = "y" if i == 0 else f"y_{i}"
    for node in _topological(level):
        kind = level.type_of(node)
        spec = REGISTRY.get(kind) if kind in REGISTRY else None
        if spec is not None and spec.role in ("input", "output"):
            names[node] = spec.role
        elif kind == BLOCK_INPUT and sequential:
            names[node] = "x"
        elif spec is not None and spec.op is not None:  # an inline operation
            sources = [f"{names[s]}:{p}" for s, p in level.input_sources(node)]
            sources = ",".join(sorted(sources) if _symmetric(level, node) else sources)
            base = f"{kind}({sources})"
            taken = sum(1 for v in names.values() if v.split("#")[0] == base)
            names[node] = base if not taken else f"{base}#{taken}"
        elif node not in names:
            names[node] = node
    return names


def _symmetric(level: Graph, node: str) -> bool:
    """An operation whose inputs the code may write in any order (`x = x + shortcut`)."""
    kind = level.type_of(node)
    op = REGISTRY.get(kind).op if kind in REGISTRY else None
    return op is not None and inline_op(op).symmetric


def _topological(level: Graph) -> list[str]:
    order, seen = [], set()

    def visit(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for src in level.inputs(node):
            visit(src)
        order.append(node)

    for node in level.nodes():
        visit(node)
    return order


def _params(level: Graph, graph: Graph, node: str) -> dict[str, Any]:
    kind, raw = level.type_of(node), level.raw_params(node)
    if kind == BLOCK:
        defn = graph.block(raw["block"])
        used = _used(defn.graph)
        filled = {"repeat": 1, **{p.name: p.default for p in defn.params}, **raw}
        filled = {k: v for k, v in filled.items() if k in ("block", "repeat") or k in used}
        return {k: _value(v, False) for k, v in filled.items()}
    if kind not in REGISTRY:
        return dict(raw)
    spec = REGISTRY.get(kind)
    if spec.role == "output":
        return {}  # the loss and its target: training settings, not model code
    pairs = {p.name for p in spec.params if p.kind == "pair"}
    filled = {**spec.defaults, **raw}
    return {k: _value(v, k in pairs) for k, v in filled.items()}


def _value(value: Any, pair: bool) -> Any:
    """A value in one spelling: a square pair as one number, lists as tuples, a reference
    as its parsed expression (spacing and redundant parentheses aside)."""
    if is_ref(value):
        return ("expr", parse_expr(value["expr"]).tree)
    if isinstance(value, list | tuple):
        items = tuple(_value(v, False) for v in value)
        return items[0] if pair and len(items) == 2 and items[0] == items[1] else items
    return value
