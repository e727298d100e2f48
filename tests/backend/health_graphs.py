"""Graphs for the health tests: the lecture's plain deep net and its residual twin."""

from __future__ import annotations

from dlbuilder.core.graph import Graph


def deep_net(depth: int, residual: bool, width: int = 8) -> Graph:
    """Input 1x8x8 (digits) -> a stem convolution -> `depth` convolutions, each followed by
    a ReLU -> Linear(10). `residual`: every second convolution's ReLU output is added to the
    input of the pair (an identity shortcut), as in a ResNet's basic block."""
    graph = Graph("residual" if residual else "plain")
    graph.add_node("in", "Input", {"shape": [1, 8, 8]})
    conv = {"out_channels": width, "kernel_size": 3, "padding": 1}
    graph.add_node("stem", "Conv2d", conv)
    graph.add_edge("in", "stem")
    graph.add_node("stem_relu", "ReLU", {})
    graph.add_edge("stem", "stem_relu")
    prev = pair_input = "stem_relu"
    for i in range(depth):
        graph.add_node(f"conv{i}", "Conv2d", conv)
        graph.add_edge(prev, f"conv{i}")
        graph.add_node(f"relu{i}", "ReLU", {})
        graph.add_edge(f"conv{i}", f"relu{i}")
        prev = f"relu{i}"
        if residual and i % 2 == 1:
            graph.add_node(f"add{i}", "Add", {})
            graph.add_edge(prev, f"add{i}")
            graph.add_edge(pair_input, f"add{i}")
            prev = f"add{i}"
        if i % 2 == 1:
            pair_input = prev
    graph.add_node("flat", "Flatten", {})
    graph.add_edge(prev, "flat")
    graph.add_node("fc", "Linear", {"out_features": 10})
    graph.add_edge("flat", "fc")
    graph.add_node("out", "Output", {})
    graph.add_edge("fc", "out")
    return graph
