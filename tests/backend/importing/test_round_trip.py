"""`import(export(G))` gives back G: every shipped example and random graphs, flat and with
blocks, exported as `dlbuilder export` writes them and imported with `import_module`.

"The same" (round_trip.canonical) means:
- the same node ids and types, and the same parameters as the graph stores them, with the
  registry's defaults filled in (a default left out equals it written out; a square pair
  equals its one number);
- the same edges with their ports (`to_port`, `from_port`);
- the same block types: names, parameters (names, defaults, in order), inner graphs compared
  the same way; references compared as parsed expressions (spacing and redundant
  parentheses aside: `2*k+1` is `2 * k + 1`), never only by value;
- the same instance arguments (a block parameter's default filled in) and repeat counts
  (1 filled in), references included.

Not compared, because the model code does not hold them:
- `ui` positions, the graph's name, the `training` section, block parameters' ranges
  (min/max) and docs; the Output's loss and target (the import picks cross-entropy on labels
  for scores per class, a mean squared error otherwise, against the input where the result
  has its shape);
- the Input node's id (forward's argument is `x`): compared as `input`, the import's id; and
  a graph without an Output (its single sink is the result) is compared as if an Output
  `output` followed that sink, as the import adds one;
- the ids of inline operations (Add, Concat, Mul, Flatten, Chunk...): forward writes them as
  expressions (`x = x + shortcut`), so they are compared by what they are: their type, their
  parameters and where their inputs come from; for a symmetric one (Add, Mul) the input order
  too is left to the code (`x = x + shortcut` for a sum whose shortcut was port 0);
- BlockOutput ids (forward returns variables): compared by position, as `y`, `y_1`...; and
  the BlockInput id of a block exported as an nn.Sequential subclass (its forward is
  nn.Sequential's own): compared as `x`, the id the import gives;
- a block parameter nothing inside the block uses, and a block type no instance places: the
  exported code only has the constructor arguments a class uses and the classes placed.
Also the import of the exported code with the imported weights computes what the compiled G
computes, bit for bit (eval mode, CPU).

What codegen writes that the import reads back from the class's source (written.py), rather
than guessing from the numbers: references (`(w + 3) // 2`) and repeat counts of a first call
and `*[Block(...) for _ in range(n - 1)]` (`n`), each checked against every instance's values;
a pooling's stride equal to its kernel (torch keeps None as the kernel) and PReLU's `init`
(torch keeps only the weight it started).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from block_strategies import nested_graphs
from conftest import examples
from graph_strategies import valid_graphs
from hypothesis import HealthCheck, given, settings
from round_trip import assert_same_outputs, canonical, round_trip

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT, BlockDef, BlockParam, ref
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names, examples_dir


def _settings(full: int) -> settings:
    return settings(max_examples=examples(full), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def assert_round_trip(graph: Graph, folder: Path) -> None:
    imported, code = round_trip(graph, folder)
    assert canonical(imported.graph) == canonical(graph)
    assert_same_outputs(graph, imported, code)


HEAVY = {"resnet18", "mobilenet_v2"}  # 224x224 inputs: 2-5 s each, left to the full run


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n
                                  for n in example_names()])
def test_every_example_comes_back(name: str, tmp_path: Path) -> None:
    assert_round_trip(load_graph(examples_dir() / f"{name}.json", REGISTRY), tmp_path)


@_settings(60)
@given(graph=valid_graphs())
def test_random_flat_graphs_come_back(graph: Graph, tmp_path_factory: pytest.TempPathFactory
                                      ) -> None:
    if InferenceEngine(graph, REGISTRY).has_errors():
        return  # valid_graphs may end in a graph whose loss does not fit: nothing to export
    assert_round_trip(graph, tmp_path_factory.mktemp("flat"))


@_settings(60)
@given(graph=nested_graphs())
def test_random_graphs_with_blocks_come_back(graph: Graph,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    assert_round_trip(graph, tmp_path_factory.mktemp("nested"))


def test_a_graph_whose_references_the_numbers_cannot_tell_comes_back(tmp_path: Path) -> None:
    """Two Inner instances whose widths `(w + 3) // 2`, `2 * k + 1` and repeat `a % 2 + 1`
    the values alone would read as other expressions or as numbers: the code says them."""
    assert_round_trip(_fixed_nested(), tmp_path)


def _fixed_nested() -> Graph:
    inner = Graph("Inner")
    inner.add_node("x", BLOCK_INPUT)
    inner.add_node("conv", "Conv2d", {"out_channels": ref("w"), "kernel_size": ref("2 * k + 1"),
                                      "padding": ref("k")})
    inner.add_node("act", "ReLU")
    inner.add_node("conv2", "Conv2d", {"out_channels": ref("(w + 3) // 2"), "kernel_size": 1})
    inner.add_node("cat", "Concat")
    inner.add_node("y", BLOCK_OUTPUT)
    for a, b in [("x", "conv"), ("conv", "act"), ("act", "conv2"), ("conv2", "cat"),
                 ("x", "cat"), ("cat", "y")]:
        inner.add_edge(a, b)
    outer = Graph("Outer")
    outer.add_node("x", BLOCK_INPUT)
    outer.add_node("inner", BLOCK, {"block": "Inner", "w": ref("a + b"), "k": ref("b % 2"),
                                    "repeat": ref("a % 2 + 1")})
    outer.add_node("y", BLOCK_OUTPUT)
    outer.add_edge("x", "inner")
    outer.add_edge("inner", "y")
    graph = Graph("fixed")
    graph.add_block(BlockDef("Inner", (BlockParam("w", 4, 1, 16), BlockParam("k", 1, 0, 2)),
                             inner))
    graph.add_block(BlockDef("Outer", (BlockParam("a", 3, 1, 8), BlockParam("b", 1, 1, 2)),
                             outer))
    graph.add_node("input", "Input", {"shape": [2, 6, 6]})
    graph.add_node("one", BLOCK, {"block": "Outer", "a": 3, "b": 1})
    graph.add_node("two", BLOCK, {"block": "Outer", "a": 2, "b": 2, "repeat": 2})
    graph.add_node("pool", "AdaptiveAvgPool2d", {"output_size": 1})
    graph.add_node("flatten", "Flatten")
    graph.add_node("fc", "Linear", {"out_features": 3})
    graph.add_node("output", "Output")
    for a, b in [("input", "one"), ("one", "two"), ("two", "pool"), ("pool", "flatten"),
                 ("flatten", "fc"), ("fc", "output")]:
        graph.add_edge(a, b)
    return graph
