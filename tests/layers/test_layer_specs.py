"""The shared test every layer declaration passes (DESIGN.md habit 8).

For each case: the inferred shape equals torch's real output shape, the parameter count equals
sum(numel) of the module's parameters (buffers likewise), mult-adds equal torchinfo's count, the
explanation quotes the numbers, and a graph holding the layer round-trips through the file.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from helpers import engine_for

from dlbuilder.backend.modules import apply_node, build_module
from dlbuilder.core.fileformat import dumps_graph, loads_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.ops import OPS
from dlbuilder.core.registry import format_shape
from dlbuilder.layers import REGISTRY

# every declaration's examples (LayerSpec(examples=...)): a new type brings its own cases
ALL_CASES = [(spec.type, ex.inputs, ex.params) for spec in REGISTRY for ex in spec.examples]


def test_every_registered_type_has_examples() -> None:
    missing = [spec.type for spec in REGISTRY if not spec.examples]
    assert not missing, f"give these declarations examples=: {', '.join(missing)}"


def _checked(type_name: str, params: dict[str, Any]) -> dict[str, Any]:
    spec = REGISTRY.get(type_name)
    checked = dict(spec.defaults)
    checked.update({k: spec.param_index[k].check(v) for k, v in params.items()})
    return checked


@pytest.mark.parametrize(("type_name", "ins", "params"), ALL_CASES)
def test_shape_and_counts_match_torch(type_name: str, ins: list, params: dict) -> None:
    spec = REGISTRY.get(type_name)
    p = _checked(type_name, params)
    out = spec.shape(ins, p)
    n_params, n_buffers = spec.count(ins, p)
    module = build_module(spec, p, ins)
    if spec.role == "input":
        assert out == tuple(params["shape"])
        return
    torch.manual_seed(0)
    tensors = [torch.randn(2, *shape) for shape in ins]
    y = apply_node(spec, p, module, tensors)
    assert tuple(y.shape[1:]) == out
    params_torch = sum(t.numel() for t in module.parameters()) if module is not None else 0
    buffers_torch = sum(t.numel() for t in module.buffers()) if module is not None else 0
    assert (n_params, n_buffers) == (params_torch, buffers_torch)


@pytest.mark.parametrize(("type_name", "ins", "params"),
                         [c for c in ALL_CASES if REGISTRY.get(c[0]).torch_class])
def test_mult_adds_match_torchinfo(type_name: str, ins: list, params: dict) -> None:
    torchinfo = pytest.importorskip("torchinfo")
    spec = REGISTRY.get(type_name)
    p = _checked(type_name, params)
    out = spec.shape(ins, p)
    module = build_module(spec, p, ins)
    stats = torchinfo.summary(module, input_size=(1, *ins[0]), verbose=0, mode="eval")
    assert spec.macs(spec.count(ins, p)[0], out) == stats.total_mult_adds


@pytest.mark.parametrize(("type_name", "ins", "params"), ALL_CASES)
def test_explanation_quotes_the_numbers(type_name: str, ins: list, params: dict) -> None:
    spec = REGISTRY.get(type_name)
    p = _checked(type_name, params)
    out = spec.shape(ins, p)
    lines = spec.explain(ins, p, out)
    text = "\n".join(lines)
    assert lines and all(isinstance(line, str) and line for line in lines)
    n_params = spec.count(ins, p)[0]
    if n_params:
        assert f"{n_params:,}" in text or str(n_params) in text
    if len(out) == 3 and spec.role not in ("input", "output"):
        assert str(out[1]) in text and str(out[2]) in text
    else:
        assert format_shape(out) in text or str(out[0]) in text


INPUT = next(iter(REGISTRY.types_with_role("input")))


def _graph_with(type_name: str, ins: list, params: dict) -> Graph:
    graph = Graph("roundtrip")
    if type_name == INPUT:
        graph.add_node("x", INPUT, params)
        return graph
    graph.add_node("in", INPUT, {"shape": list(ins[0])})
    sources = ["in"]
    if len(ins) > 1:
        sources = []
        for port, shape in enumerate(ins):
            graph.add_node(f"b{port}", "Upsample", {"size": list(shape[1:])})
            graph.add_edge("in", f"b{port}")
            sources.append(f"b{port}")
    graph.add_node("x", type_name, params)
    for src in sources:
        graph.add_edge(src, "x")
    return graph


@pytest.mark.parametrize(("type_name", "ins", "params"), ALL_CASES)
def test_file_round_trip(type_name: str, ins: list, params: dict) -> None:
    graph = _graph_with(type_name, ins, params)
    text = dumps_graph(graph)
    again = loads_graph(text, REGISTRY)
    assert dumps_graph(again) == text
    first, second = engine_for(graph), engine_for(again)
    assert first.infos() == second.infos()
    if len(ins) <= 1:
        assert second.info("x").output_shape is not None


def test_registry_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="already registered"):
        REGISTRY.register(REGISTRY.get("Conv2d"))


def test_declarations_name_torch_classes_as_strings() -> None:
    for spec in REGISTRY:
        assert spec.torch_class is None or spec.torch_class.startswith("torch.nn.")
        if spec.torch_class is None:
            assert spec.op in OPS or spec.role in ("input", "output")


def test_course_formula_example() -> None:
    """The numbers from the issue: a 5x5 conv with padding 1 on 28x28, 10 filters."""
    spec = REGISTRY.get("Conv2d")
    p = _checked("Conv2d", {"out_channels": 10, "kernel_size": 5, "padding": 1})
    lines = spec.explain([(1, 28, 28)], p, (10, 26, 26))
    assert any("H = (28 - 5 + 2*1)/1 + 1 = 26" in line for line in lines)
    assert any("params = (F*F*D1)*K + K = (5*5*1)*10 + 10 = 260" in line for line in lines)
    assert spec.key_params(p) == "5x5 s1 p1 -> 10"


@pytest.mark.parametrize("spec", list(REGISTRY), ids=lambda s: s.type)
def test_a_newly_placed_node_has_no_parameter_problems(spec) -> None:
    """The palette places nodes with start_params(): required fields must be filled in."""
    graph = Graph("palette")
    if spec.role != "input":
        graph.add_node("in", INPUT, {"shape": [3, 16, 16]})
    graph.add_node("x", spec.type, spec.start_params())
    if spec.role != "input":
        graph.add_edge("in", "x")
    problems = [d.code for d in engine_for(graph).diagnostics() if d.node == "x"]
    assert not [c for c in problems if c.startswith("param_")], problems
