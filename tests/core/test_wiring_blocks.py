"""Which wires may be drawn to and from the nodes of blocks: an instance takes one input per
BlockInput of its definition and gives one output per BlockOutput; inside a definition a
BlockInput takes no input and a BlockOutput takes one and feeds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import engine_for

from dlbuilder.core.blocks import BLOCK, BlockDef
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.wiring import (
    connect_problem,
    displaced_source,
    feed_problem,
    input_limit,
    output_count,
)
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parent / "data" / "blocks_tiny.json"


@pytest.fixture
def tiny() -> Graph:
    return load_graph(TINY, REGISTRY)


def two_port_graph() -> Graph:
    """A block Pair with two inputs (added, then split by Chunk into two outputs) placed as
    `pair` after `in`, and a spare ReLU `free`."""
    inner = Graph("Pair")
    inner.add_node("a", "BlockInput")
    inner.add_node("b", "BlockInput")
    inner.add_node("sum", "Add")
    inner.add_node("split", "Chunk", {"chunks": 2})
    inner.add_node("left", "BlockOutput")
    inner.add_node("right", "BlockOutput")
    inner.add_edge("a", "sum")
    inner.add_edge("b", "sum")
    inner.add_edge("sum", "split")
    inner.add_edge("split", "left", from_port=0)
    inner.add_edge("split", "right", from_port=1)
    graph = Graph("pairs")
    graph.add_block(BlockDef("Pair", (), inner))
    graph.add_node("in", "Input", {"shape": [4, 8, 8]})
    graph.add_node("relu", "ReLU")
    graph.add_node("pair", BLOCK, {"block": "Pair"})
    graph.add_node("free", "ReLU")
    graph.add_edge("in", "relu")
    graph.add_edge("in", "pair")
    return graph


def test_an_instance_takes_as_many_inputs_as_its_block_has_ports() -> None:
    graph = two_port_graph()
    engine = engine_for(graph)
    assert input_limit(engine, BLOCK, {"block": "Pair"}) == (2, "block Pair")
    assert output_count(engine, "pair") == 2
    assert connect_problem(engine, "relu", "pair") is None  # the second input is free
    graph.add_edge("relu", "pair")
    refused = connect_problem(engine_for(graph), "free", "pair")
    assert refused == ("pair (block Pair) takes 2 inputs and already has 2 (in, relu); "
                       "delete one of those wires first")


def test_an_instance_gives_one_output_per_block_output() -> None:
    graph = two_port_graph()
    engine = engine_for(graph)
    assert connect_problem(engine, "pair", "free", from_port=1) is None
    assert connect_problem(engine, "pair", "free", from_port=2) == \
        "pair has 2 outputs (0 to 1), not 2"


def test_a_full_single_input_instance_is_refused_or_replaced(tiny: Graph) -> None:
    engine = engine_for(tiny)
    assert input_limit(engine, BLOCK, {"block": "Basic"}) == (1, "block Basic")
    assert connect_problem(engine, "in", "layer2") == \
        ("layer2 (block Stage) takes 1 input and already has one (layer1); delete that wire "
         "first, or join them with Add or Concat")
    assert displaced_source(engine, "in", "layer2") == "layer1"
    assert connect_problem(engine, "in", "layer2", replace=True) is None


def test_ports_inside_a_definition(tiny: Graph) -> None:
    inner = tiny.block("Basic").graph
    inner.add_node("extra", "ReLU")
    engine = engine_for(tiny)
    run = engine.runs("layer1")[0]
    assert connect_problem(run, "extra", "x") == \
        "x is a BlockInput: nothing can flow into it; the instance's wire feeds it"
    assert connect_problem(run, "y", "extra") == \
        "y is a BlockOutput: it ends the block and feeds nothing"
    assert connect_problem(run, "extra", "y").startswith("y (BlockOutput) takes 1 input")
    assert displaced_source(run, "extra", "y") == "relu2"
    assert connect_problem(run, "extra", "y", replace=True) is None
    assert feed_problem(run, "y", "ReLU", {}) == \
        "y is a BlockOutput: it ends the block and feeds nothing"
    assert feed_problem(run, "relu", "BlockInput", {}) == "a BlockInput takes no input"


def test_feeding_a_new_instance(tiny: Graph) -> None:
    engine = engine_for(tiny)
    assert feed_problem(engine, "conv1", BLOCK, {"block": "Basic"}) is None
    assert feed_problem(engine, "out", BLOCK, {"block": "Basic"}) == \
        "out is an Output: it ends the network and feeds nothing"
    assert feed_problem(engine, "conv1", BLOCK, {"block": "NotYetCopied"}) is None


def test_a_block_without_ports() -> None:
    inner = Graph("Sink")
    inner.add_node("r", "ReLU")
    graph = Graph("g")
    graph.add_block(BlockDef("Sink", (), inner))
    graph.add_node("in", "Input", {"shape": [4]})
    graph.add_node("sink", BLOCK, {"block": "Sink"})
    graph.add_node("relu", "ReLU")
    engine = engine_for(graph)
    assert connect_problem(engine, "in", "sink") == \
        "sink is an instance of block Sink, which has no BlockInput: nothing can flow into it"
    assert connect_problem(engine, "sink", "relu") == \
        "sink places a block without a BlockOutput: nothing leaves it"
    assert feed_problem(engine, "in", BLOCK, {"block": "Sink"}) == \
        "block Sink has no BlockInput: it takes no input"
