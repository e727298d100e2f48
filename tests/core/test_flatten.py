"""Ungrouping an instance and flattening a graph: the layers come back in the instance's place,
every repeat chained, references evaluated; the network's numbers never change."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from big_graphs import resnet50_blocks_graph, resnet50_graph
from block_graphs import depthwise_graph
from block_strategies import nested_graphs as block_graphs
from conftest import examples
from graph_strategies import valid_graphs
from helpers import engine_for, example_graph, problems
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from test_block_commands import _residual, snapshot, tiny

from dlbuilder.core.block_commands import DeclareBlock, InBlock
from dlbuilder.core.blocks import BLOCK, BlockParam, ref
from dlbuilder.core.commands import History, SetParams
from dlbuilder.core.flatten import flatten, ungroup
from dlbuilder.core.graph import Graph, GraphError
from dlbuilder.core.grouping import group_nodes
from dlbuilder.core.layout import NODE_SIZE
from dlbuilder.core.placement import ui_position
from dlbuilder.layers import REGISTRY


def figures(graph: Graph) -> tuple:
    """Totals, the shapes at the network's ends, and which kinds of problem it has."""
    engine = engine_for(graph)
    t = engine.totals()
    ends = sorted(str(engine.info(n).output_shape) for n in graph.nodes()
                  if not graph.outputs(n))
    codes = Counter(d.code for d in problems(engine))
    engine.close()
    return (t.params, t.buffers, t.macs, t.activations, ends), set(codes)


def assert_same_network(flat: Graph, nested: Graph) -> None:
    (numbers, codes), (flat_numbers, flat_codes) = figures(nested), figures(flat)
    assert flat_numbers == numbers
    assert flat_codes <= codes, "flattening brought new problems"
    assert not flat.blocks
    assert all(flat.type_of(n) != BLOCK for n in flat.nodes())


# -- flatten ------------------------------------------------------------------------------------
def test_flatten_tiny_keeps_every_number_and_leaves_the_graph_alone() -> None:
    graph = tiny()
    before = snapshot(graph)
    flat = flatten(graph, REGISTRY)
    assert snapshot(graph) == before
    assert_same_network(flat, graph)
    assert figures(flat)[1] == set()
    assert flat.nodes()[:4] == ["in", "conv1", "layer1_0_conv1", "layer1_0_bn1"]
    assert "layer2_0_1_relu2" in flat
    assert flat.inputs("pool") == ["layer2_0_1_relu2"]
    assert flat.inputs("layer1_1_add") == ["layer1_1_bn2", "layer1_0_relu2"]


def test_flatten_resnet50_from_blocks_gives_the_hand_wired_resnet50() -> None:
    flat = flatten(resnet50_blocks_graph(), REGISTRY)
    assert len(flat) == len(resnet50_graph()) == 177
    assert figures(flat) == figures(resnet50_graph())


# -- ungroup ------------------------------------------------------------------------------------
def test_ungroup_puts_every_repeat_back_chained_and_undo_restores_exactly() -> None:
    graph = tiny()
    before, numbers = snapshot(graph), figures(graph)
    history = History(graph)
    history.push(ungroup(graph, "layer1"))
    assert graph.nodes()[2:5] == ["layer1_0_conv1", "layer1_0_bn1", "layer1_0_relu"]
    assert graph.inputs("layer1_0_conv1") == ["conv1"]
    assert graph.inputs("layer1_2_conv1") == ["layer1_1_relu2"]
    assert graph.inputs("layer2") == ["layer1_2_relu2"]
    assert graph.params("layer1_1_conv2")["out_channels"] == 16  # {"expr": "channels"}
    assert list(graph.blocks) == ["Basic", "Stage"]  # Stage/0 still uses Basic
    assert figures(graph) == numbers
    history.undo()
    assert snapshot(graph) == before


def test_ungroup_keeps_inner_instances_with_their_arguments_evaluated() -> None:
    graph = tiny()
    before = snapshot(graph)
    command = ungroup(graph, "layer2")
    command.apply(graph)
    assert graph.params("0") == {"block": "Basic", "channels": 16, "repeat": 2}  # Stage's id
    assert list(graph.blocks) == ["Basic"]  # nothing uses Stage any more
    assert figures(graph) == figures(tiny())
    command.revert(graph)
    assert snapshot(graph) == before


def test_ungroup_inside_a_definition_keeps_references_in_the_outer_names() -> None:
    graph = tiny()
    before, numbers = snapshot(graph), figures(graph)
    inner = graph.block("Basic").graph
    history = History(graph)
    history.push(InBlock("Basic", group_nodes(inner, ["conv1", "bn1"], "ConvBn", "cb")))
    history.push(InBlock("Basic", ungroup(inner, "cb")))
    assert inner.params("conv1")["out_channels"] == ref("channels")  # its name back
    assert list(graph.blocks) == ["Basic", "Stage"]
    assert figures(graph) == numbers
    history.undo()
    history.undo()
    assert snapshot(graph) == before


def test_ungroup_lays_the_layers_out_where_the_card_was_without_overlap() -> None:
    graph = _residual()
    group_nodes(graph, ["a", "b", "add"], "Res", "layer1").apply(graph)
    graph.set_params("layer1", {"block": "Res", "repeat": 3})
    numbers = figures(graph)
    ungroup(graph, "layer1").apply(graph)
    assert "Res" not in graph.blocks
    assert graph.inputs("layer1_2_add") == ["layer1_2_b", "layer1_1_add"]
    assert figures(graph) == numbers
    spots = [ui_position(graph.ui(n)) for n in graph.nodes()]
    assert None not in spots
    w, h = NODE_SIZE
    for i, (x1, y1) in enumerate(spots):
        for x2, y2 in spots[i + 1:]:
            assert abs(x1 - x2) >= w or abs(y1 - y2) >= h, "two cards overlap"
    new = [ui_position(graph.ui(n))[0] for n in graph.nodes() if n.startswith("layer1_")]
    assert min(new) == 780  # where the card was
    after = [ui_position(graph.ui(n))[0] for n in ("flat", "fc", "out")]
    assert after == sorted(after) and after[0] >= max(new) + w  # moved right, in order


@pytest.mark.parametrize(("change", "words"), [
    ({"block": "Basic", "channels": 0}, "channels = 0 is below its minimum 1"),
    ({"block": "Basic", "width": 3}, "Basic has no parameter 'width'"),
    ({"block": "Nope"}, "which this file does not define"),
])
def test_ungroup_refuses_an_instance_with_problems(change: dict[str, Any], words: str) -> None:
    graph = tiny()
    graph.set_params("layer1", change)
    with pytest.raises(GraphError, match=words):
        ungroup(graph, "layer1")


def test_ungroup_refuses_what_it_cannot_put_back() -> None:
    graph = tiny()
    with pytest.raises(GraphError, match="conv1 is a Conv2d, not a block"):
        ungroup(graph, "conv1")
    with pytest.raises(GraphError, match="repeat count of 0 refers to 'n'"):
        ungroup(graph.block("Stage").graph, "0")


# -- grouping and ungrouping the shipped flat examples ------------------------------------------
@st.composite
def _runs(draw: Any, graph: Graph) -> list[str]:
    """A connected run of layers: a start and a few steps along the wires."""
    layers = [n for n in graph.nodes() if graph.type_of(n) not in ("Input", "Output")]
    if not layers:
        return []
    chosen = [draw(st.sampled_from(layers))]
    for _ in range(draw(st.integers(0, 6))):
        node = draw(st.sampled_from(chosen))
        nexts = [n for n in graph.outputs(node) + graph.inputs(node)
                 if n in layers and n not in chosen]
        if nexts:
            chosen.append(draw(st.sampled_from(nexts)))
    return chosen


FLAT = {name: flatten(example_graph(name), REGISTRY) for name in ("resnet_cifar", "lenet5",
                                                        "mobilenet_v2")}


@pytest.mark.parametrize("name", sorted(FLAT))
@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_grouping_and_ungrouping_an_example_keeps_its_numbers(name: str, data: Any) -> None:
    graph = _copy(FLAT[name])
    before, numbers = snapshot(graph), figures(graph)
    try:
        command = group_nodes(graph, data.draw(_runs(graph)), "Part", "part")
    except GraphError:
        reject()
    command.apply(graph)
    assert figures(graph) == numbers
    back = ungroup(graph, "part")
    back.apply(graph)
    assert figures(graph) == numbers
    back.revert(graph)
    command.revert(graph)
    assert snapshot(graph) == before


def _copy(graph: Graph) -> Graph:
    from dlbuilder.core.flatten import copy_graph

    return copy_graph(graph)


# -- random nested graphs -----------------------------------------------------------------------
@st.composite
def nested_graphs(draw: Any) -> Graph:
    """A random valid graph with random selections grouped, again and again (blocks inside
    blocks), some instances repeated, some inner sizes made references to a block parameter."""
    graph = draw(valid_graphs())
    for _ in range(draw(st.integers(1, 3))):
        if len(graph) < 3:
            break
        try:
            group_nodes(graph, draw(_runs(graph))).apply(graph)
        except GraphError:
            continue
    for node in [n for n in graph.nodes() if graph.type_of(n) == BLOCK]:
        if draw(st.booleans()):
            _try_repeat(graph, node)
    for defn in list(graph.blocks.values()):
        convs = [n for n in defn.graph.nodes() if defn.graph.type_of(n) in ("Conv2d", "Linear")]
        if convs and draw(st.booleans()):
            _make_reference(graph, defn.name, draw(st.sampled_from(convs)))
    return graph


def _try_repeat(graph: Graph, node: str) -> None:
    """Repeat an instance twice where its block chains without new problems."""
    codes = figures(graph)[1]
    old = graph.params(node)
    graph.set_params(node, {**old, "repeat": 2})
    if figures(graph)[1] != codes:
        graph.set_params(node, old)


def _make_reference(graph: Graph, block: str, layer: str) -> None:
    """The layer's size becomes `width * 2 // 2`, `width` a new parameter of its block whose
    default is the size it had."""
    inner = graph.block(block).graph
    key = "out_channels" if inner.type_of(layer) == "Conv2d" else "out_features"
    size = inner.params(layer).get(key)
    if not isinstance(size, int):
        return
    params = (*graph.block(block).params, BlockParam("width", size, 1))
    DeclareBlock(block, params).apply(graph)
    InBlock(block, SetParams(layer, {key: ref("width * 2 // 2")})).apply(graph)


@settings(max_examples=examples(100), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(nested_graphs())
def test_flattening_a_random_nested_graph_keeps_its_numbers(graph: Graph) -> None:
    before = snapshot(graph)
    assert_same_network(flatten(graph, REGISTRY), graph)
    assert snapshot(graph) == before


@settings(max_examples=examples(100), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(block_graphs())
def test_flattening_the_shared_nested_graphs_keeps_their_numbers(graph: Graph) -> None:
    assert_same_network(flatten(graph, REGISTRY), graph)
    assert figures(graph)[1] == set()


def test_ungrouping_gives_in_channels_each_repeats_value() -> None:
    graph = depthwise_graph()
    engine = engine_for(graph)
    flat = flatten(graph, REGISTRY)
    assert flat.raw_params("a_dw")["groups"] == 4 and flat.raw_params("b_dw")["groups"] == 8
    assert engine_for(flat).totals() == engine.totals()
    with pytest.raises(GraphError, match="uses in_channels, the channels of the block's input"):
        ungroup(graph, "a")  # without the engine the input's channels are not known


def test_group_then_ungroup_gives_the_layers_their_names_and_places_back() -> None:
    graph = example_graph("lenet5")
    chosen = graph.nodes()[1:4]
    places = {n: graph.ui(n) for n in chosen}
    History(graph).push(group_nodes(graph, chosen, "Front", "front"))
    ungroup(graph, "front").apply(graph)
    assert set(chosen) <= set(graph.nodes()) and "front" not in graph
    assert {n: graph.ui(n) for n in chosen} == places
