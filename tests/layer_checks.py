"""The shared checks every layer declaration passes (DESIGN.md habit 8), for any spec in any
registry: tests/layers/test_layer_specs.py runs them on every registered example, and
tests/layers/test_adding_a_layer.py on a type added the way a contributor adds one."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from dlbuilder.backend.modules import apply_node, build_module
from dlbuilder.core.fileformat import dumps_graph, loads_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.registry import LayerSpec, Registry, format_shape


def checked_params(spec: LayerSpec, params: dict[str, Any]) -> dict[str, Any]:
    checked = dict(spec.defaults)
    checked.update({k: spec.param_index[k].check(v) for k, v in params.items()})
    return checked


def check_shape_and_counts(spec: LayerSpec, ins: list, params: dict) -> None:
    p = checked_params(spec, params)
    out = spec.shape(ins, p)
    n_params, n_buffers = spec.count(ins, p)
    module = build_module(spec, p, ins)
    if spec.role == "input":
        assert out == tuple(params["shape"])
        return
    torch.manual_seed(0)
    tensors = [torch.randn(2, *shape) for shape in ins]
    y = apply_node(spec, p, module, tensors)
    if spec.multi_output:  # one tensor per output port, each the shape inferred for it
        assert tuple(tuple(t.shape[1:]) for t in y) == out
    else:
        assert tuple(y.shape[1:]) == out
    params_torch = sum(t.numel() for t in module.parameters()) if module is not None else 0
    buffers_torch = sum(t.numel() for t in module.buffers()) if module is not None else 0
    assert (n_params, n_buffers) == (params_torch, buffers_torch)


def check_mult_adds(spec: LayerSpec, ins: list, params: dict) -> None:
    torchinfo = pytest.importorskip("torchinfo")
    p = checked_params(spec, params)
    out = spec.shape(ins, p)
    module = build_module(spec, p, ins)
    stats = torchinfo.summary(module, input_size=(1, *ins[0]), verbose=0, mode="eval")
    assert spec.macs(spec.count(ins, p)[0], out) == stats.total_mult_adds


def check_explanation(spec: LayerSpec, ins: list, params: dict) -> None:
    p = checked_params(spec, params)
    out = spec.shape(ins, p)
    lines = spec.explain(ins, p, out)
    text = "\n".join(lines)
    assert lines and all(isinstance(line, str) and line for line in lines)
    n_params = spec.count(ins, p)[0]
    if n_params:
        assert f"{n_params:,}" in text or str(n_params) in text
    if spec.multi_output:  # every output port's shape
        assert all(format_shape(port) in text for port in out)
    elif len(out) == 3 and spec.role not in ("input", "output"):
        assert str(out[1]) in text and str(out[2]) in text
    else:
        assert format_shape(out) in text or str(out[0]) in text


def graph_with(registry: Registry, spec: LayerSpec, ins: list, params: dict) -> Graph:
    """A small graph holding one node `x` of the spec, fed inputs of the shapes `ins`."""
    graph = Graph("roundtrip")
    input_type = next(iter(registry.types_with_role("input")))
    if spec.role == "input":
        graph.add_node("x", spec.type, params)
        return graph
    graph.add_node("in", input_type, {"shape": list(ins[0])})
    sources = ["in"]
    if len(ins) > 1:
        sources = []
        for port, shape in enumerate(ins):
            graph.add_node(f"b{port}", "Upsample", {"size": list(shape[1:])})
            graph.add_edge("in", f"b{port}")
            sources.append(f"b{port}")
    graph.add_node("x", spec.type, params)
    for src in sources:
        graph.add_edge(src, "x")
    return graph


def check_file_round_trip(registry: Registry, spec: LayerSpec, ins: list,
                          params: dict) -> None:
    graph = graph_with(registry, spec, ins, params)
    text = dumps_graph(graph)
    again = loads_graph(text, registry)
    assert dumps_graph(again) == text
    first, second = InferenceEngine(graph, registry), InferenceEngine(again, registry)
    assert first.infos() == second.infos()
    if len(ins) <= 1:
        assert second.info("x").output_shape is not None
