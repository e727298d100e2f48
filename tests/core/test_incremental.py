"""Incremental inference equals a fresh full inference after any sequence of edits."""

from __future__ import annotations

import contextlib
from typing import Any

from conftest import examples
from graph_strategies import any_graphs, valid_graphs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlbuilder.core.graph import Graph, GraphError
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

VALUES = st.one_of(st.integers(-1, 9), st.sampled_from([None, 2.5, "same", [2, 3], True]))


def _edit(graph: Graph, draw: Any) -> None:
    nodes = graph.nodes()
    action = draw(st.sampled_from(["params", "params", "wire", "unwire", "remove", "add"]))
    if action == "add" or not nodes:
        type_name = draw(st.sampled_from(REGISTRY.types()))
        node = graph.unique_id(type_name)
        graph.add_node(node, type_name, REGISTRY.get(type_name).start_params())
        if nodes:
            graph.add_edge(draw(st.sampled_from(nodes)), node)
        return
    node = draw(st.sampled_from(nodes))
    if action == "params":
        spec = REGISTRY.get(graph.type_of(node))
        names = [p.name for p in spec.params] or ["bogus"]
        params = graph.params(node)
        params[draw(st.sampled_from(names))] = draw(VALUES)
        graph.set_params(node, params)
    elif action == "wire":
        with contextlib.suppress(GraphError):  # a cycle, a self-loop or a duplicate: refused
            graph.add_edge(draw(st.sampled_from(nodes)), node)
    elif action == "unwire" and graph.inputs(node):
        graph.remove_edge(draw(st.sampled_from(graph.inputs(node))), node)
    elif action == "remove":
        graph.remove_node(node)


def _same_as_fresh(engine: InferenceEngine) -> None:
    fresh = InferenceEngine(engine.graph, REGISTRY)
    fresh.close()
    assert {i.node: i for i in engine.infos()} == {i.node: i for i in fresh.infos()}
    assert sorted(map(str, engine.diagnostics())) == sorted(map(str, fresh.diagnostics()))


@settings(max_examples=examples(300), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(valid_graphs(), any_graphs()), st.data())
def test_edits_keep_the_engine_equal_to_a_fresh_one(graph: Graph, data: st.DataObject) -> None:
    engine = InferenceEngine(graph, REGISTRY)
    for _ in range(data.draw(st.integers(1, 12))):
        _edit(graph, data.draw)
        _same_as_fresh(engine)
