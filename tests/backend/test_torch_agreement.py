"""Inference agrees with real torch: on thousands of random valid graphs exactly, and on random
broken graphs it answers with diagnostics, never exceptions, refusing what torch refuses."""

from __future__ import annotations

import pytest
import torch
from conftest import examples
from graph_strategies import any_graphs, valid_graphs
from hypothesis import HealthCheck, given, settings

from dlbuilder.backend.modules import apply_node, build_module, torch_reference
from dlbuilder.core.fixes import fix_commands
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

VALID_EXAMPLES = 2000
# Problems found by shape rules that torch itself refuses for the same numbers.
TORCH_REFUSES = {"kernel_too_large", "output_too_small", "channels_groups",
                 "concat_shape_mismatch"}
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


@settings(max_examples=examples(VALID_EXAMPLES), deadline=None, suppress_health_check=SLOW)
@given(valid_graphs())
def test_valid_graphs_match_torch_exactly(graph: Graph) -> None:
    engine = InferenceEngine(graph, REGISTRY)
    errors = [str(d) for d in engine.diagnostics() if d.severity == "error"]
    assert not errors
    with torch.no_grad():
        real = torch_reference(engine)
    for info in engine.infos():
        assert info.output_shape == real[info.node].shape, info.node
        assert info.output_shapes == real[info.node].shapes, info.node
        assert info.params == real[info.node].params, info.node
        assert info.buffers == real[info.node].buffers, info.node
    totals = engine.totals()
    assert totals.params == sum(r.params for r in real.values())


@settings(max_examples=examples(600), deadline=None, suppress_health_check=SLOW)
@given(any_graphs())
def test_broken_graphs_give_diagnostics_not_exceptions(graph: Graph) -> None:
    engine = InferenceEngine(graph, REGISTRY)
    diags = engine.diagnostics()
    for d in diags:
        assert d.code != "internal_error", d.message
        assert d.severity in ("error", "warning")
        assert d.code and d.message
        assert d.node is None or d.node in graph
    if not any(d.severity == "error" for d in diags):
        with torch.no_grad():
            real = torch_reference(engine)
        for info in engine.infos():
            assert info.output_shape == real[info.node].shape
            assert info.params == real[info.node].params
        return
    for d in diags:
        if d.code in TORCH_REFUSES:
            _assert_torch_refuses(engine, d.node)


def _assert_torch_refuses(engine: InferenceEngine, node: str) -> None:
    """Build the node's module from the same numbers and run it: torch must fail too."""
    shapes = engine.input_shapes(node)
    spec = REGISTRY.get(engine.graph.type_of(node))
    params = engine.checked_params(node)
    assert params is not None and all(s is not None for s in shapes)
    inputs = [torch.randn(2, *shape) for shape in shapes]
    with pytest.raises((RuntimeError, ValueError)), torch.no_grad():
        module = build_module(spec, params, shapes)
        apply_node(spec, params, module, inputs)


def test_fix_for_kernel_too_large_satisfies_torch() -> None:
    graph = Graph("g")
    graph.add_node("in", "Input", {"shape": [1, 4, 4]})
    graph.add_node("c", "Conv2d", {"out_channels": 2, "kernel_size": 7})
    graph.add_edge("in", "c")
    engine = InferenceEngine(graph, REGISTRY)
    (problem,) = [d for d in engine.diagnostics() if d.code == "kernel_too_large"]
    assert "kernel 7 is larger than the padded input 4 (4 + 2*0)" in problem.message
    assert problem.fix is not None
    for command in fix_commands(problem.fix, graph):
        command.apply(graph)
    assert not engine.has_errors()  # padding 2: (4 - 7 + 2*2)/1 + 1 = 2
    assert engine.info("c").output_shape == (2, 2, 2)
    assert torch_reference(engine)["c"].shape == (2, 2, 2)
