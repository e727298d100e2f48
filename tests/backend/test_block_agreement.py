"""Graphs with blocks: what inference says equals what torch measures on the compiled module
(output shape, parameters, buffers, mult-adds as torchinfo counts them), for random nested
graphs (blocks inside blocks, repeats, parameter expressions) and the shipped examples."""

from __future__ import annotations

import pytest
import torch
from block_strategies import nested_graphs
from helpers import problems
from hypothesis import HealthCheck, given, settings

from dlbuilder.backend.compiler import compile_graph
from dlbuilder.backend.modules import torch_reference
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

torchinfo = pytest.importorskip("torchinfo")


def assert_numbers_match_torch(graph: Graph) -> None:
    engine = InferenceEngine(graph, REGISTRY)
    assert problems(engine) == []
    totals = engine.totals()
    model = compile_graph(engine).eval()
    shape = model.plan.input_shape
    with torch.no_grad():
        out = model(torch.randn(2, *shape))
    assert tuple(out.shape[1:]) == model.plan.output_shape == engine.infos()[-1].output_shape
    assert totals.params == sum(p.numel() for p in model.parameters())
    assert totals.buffers == sum(b.numel() for b in model.buffers())
    stats = torchinfo.summary(model, input_size=(1, *shape), verbose=0, mode="eval")
    assert totals.macs == stats.total_mult_adds
    with torch.no_grad():  # node by node, each instance through its runs
        real = torch_reference(engine)
    for info in engine.infos():
        assert (info.output_shape, info.params, info.buffers) == (
            real[info.node].shape, real[info.node].params, real[info.node].buffers)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested_graphs())
def test_random_nested_graphs_agree_with_torch(graph: Graph) -> None:
    assert_numbers_match_torch(graph)
