"""Hypothesis strategy: random graphs with blocks inside blocks, repeats and parameter
expressions, always valid. Shared by the core's tests (flattening keeps every number) and the
backend's (inferred numbers equal torch's on the compiled module; exported code runs the same).

Two definitions are drawn each time. `Inner(w, k)`: a convolution to `w` channels (kernel from
`k`), optional BatchNorm, an activation, an optional second convolution whose width is an
expression of `w`, and optionally the input concatenated back (a dense-layer shortcut, so a
repeat grows the channels). `Outer(a, b)`: an instance of Inner with arguments that are
expressions of `a` and `b` and a repeat that may be one too, then an optional pooling. The top
level chains layers and instances of both, then flattens into a Linear and an Output.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dlbuilder.core.blocks import BLOCK, BLOCK_INPUT, BLOCK_OUTPUT, BlockDef, BlockParam, ref
from dlbuilder.core.graph import Graph

ACTIVATIONS = ("ReLU", "Tanh", "Hardswish", "SiLU")
WIDTHS = ("w", "w * 2", "w + 1", "(w + 3) // 2", "w % 3 + 1")


def _chain(graph: Graph, layers: list[tuple[str, str, dict]], start: str) -> str:
    last = start
    for node, type_name, params in layers:
        graph.add_node(node, type_name, params)
        graph.add_edge(last, node)
        last = node
    return last


def _inner(draw: Any) -> BlockDef:
    g = Graph("Inner")
    g.add_node("x", BLOCK_INPUT)
    layers = [("conv", "Conv2d", {"out_channels": ref("w"), "kernel_size": ref("2 * k + 1"),
                                  "padding": ref("k"), "bias": draw(st.booleans())})]
    if draw(st.booleans()):
        layers.append(("bn", "BatchNorm2d", {}))
    layers.append(("act", draw(st.sampled_from(ACTIVATIONS)), {}))
    if draw(st.booleans()):
        layers.append(("conv2", "Conv2d", {"out_channels": ref(draw(st.sampled_from(WIDTHS))),
                                           "kernel_size": 1}))
    last = _chain(g, layers, "x")
    if draw(st.booleans()):
        g.add_node("cat", "Concat")
        g.add_edge(last, "cat")
        g.add_edge("x", "cat")
        last = "cat"
    g.add_node("y", BLOCK_OUTPUT)
    g.add_edge(last, "y")
    return BlockDef("Inner", (BlockParam("w", 4, 1, 16), BlockParam("k", 1, 0, 2)), g)


def _outer(draw: Any) -> BlockDef:
    g = Graph("Outer")
    g.add_node("x", BLOCK_INPUT)
    width = draw(st.sampled_from(["a", "a + b", "b * 2", "a // 2 + 1"]))
    repeat = draw(st.sampled_from([1, 2, ref("b"), ref("a % 2 + 1")]))
    args = {"block": "Inner", "w": ref(width), "k": ref("b % 2"), "repeat": repeat}
    layers = [("inner", BLOCK, args)]
    if draw(st.booleans()):
        layers.append(("pool", "MaxPool2d", {"kernel_size": 2, "ceil_mode": True}))
    g.add_node("y", BLOCK_OUTPUT)
    g.add_edge(_chain(g, layers, "x"), "y")
    return BlockDef("Outer", (BlockParam("a", 3, 1, 8), BlockParam("b", 1, 1, 2)), g)


@st.composite
def nested_graphs(draw: Any) -> Graph:
    """A valid graph whose top level places Inner and Outer instances (see the module's
    docstring), with random arguments and repeats."""
    graph = Graph("nested")
    graph.add_block(_inner(draw))
    graph.add_block(_outer(draw))
    shape = [draw(st.integers(1, 3)), draw(st.integers(4, 10)), draw(st.integers(4, 10))]
    graph.add_node("in", "Input", {"shape": shape})
    layers: list[tuple[str, str, dict]] = []
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["Inner", "Outer", "Outer", "layer"]))
        if kind == "Inner":
            params = {"block": "Inner", "w": draw(st.integers(1, 6)), "k": draw(st.integers(0, 1)),
                      "repeat": draw(st.integers(1, 3))}
        elif kind == "Outer":
            params = {"block": "Outer", "a": draw(st.integers(1, 5)), "b": draw(st.integers(1, 2)),
                      "repeat": draw(st.integers(1, 2))}
        else:
            layers.append((f"conv{i}", "Conv2d", {"out_channels": draw(st.integers(1, 6)),
                                                  "kernel_size": 1}))
            continue
        layers.append((f"block{i}", BLOCK, params))
    layers += [("pool", "AdaptiveAvgPool2d", {"output_size": 2}), ("flat", "Flatten", {}),
               ("fc", "Linear", {"out_features": draw(st.integers(2, 5))}), ("out", "Output", {})]
    _chain(graph, layers, "in")
    return graph
