"""Small builders for graphs in tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names, find_graph_file

# An example with more mult-adds per sample than this (MobileNetV2 at 224x224: 301 million)
# takes seconds in each torch run, so its torch runs belong to the slow tier.
HEAVY_MACS = 100_000_000


def chain(*layers: tuple[str, dict[str, Any]], shape: list[int] | None = None,
          output: bool = True) -> Graph:
    """Input(shape) -> layers... -> Output, with ids n1, n2, ... for the layers."""
    graph = Graph("test")
    graph.add_node("in", "Input", {"shape": shape or [1, 28, 28]})
    prev = "in"
    for i, (type_name, params) in enumerate(layers, start=1):
        graph.add_node(f"n{i}", type_name, params)
        graph.add_edge(prev, f"n{i}")
        prev = f"n{i}"
    if output:
        graph.add_node("out", "Output", {})
        graph.add_edge(prev, "out")
    return graph


def engine_for(graph: Graph) -> InferenceEngine:
    return InferenceEngine(graph, REGISTRY)


def problems(engine: InferenceEngine) -> list:
    """The engine's diagnostics less its hints: the errors and warnings (hints are advice,
    and depend on where block boundaries lie)."""
    return [d for d in engine.diagnostics() if d.severity != "hint"]


def codes(engine: InferenceEngine, node: str | None = ...) -> list[str]:  # type: ignore[assignment]
    """Diagnostic codes, of one node when `node` is given."""
    return [d.code for d in engine.diagnostics() if node is ... or d.node == node]


def example_graph(name: str) -> Graph:
    """A shipped example, by name (examples/NAME.json)."""
    return load_graph(find_graph_file(name), REGISTRY)


def frozen_digits() -> Graph:
    """digits_cnn with everything before its head frozen (4 layers: conv1, bn1, conv2, fc1)."""
    from dlbuilder.core.tuning import set_train, upstream_with_weights

    graph = example_graph("digits_cnn")
    engine = engine_for(graph)
    head = [n for n in graph.nodes() if graph.type_of(n) == "Linear"][-1]
    set_train(upstream_with_weights(graph, head, lambda n: engine.info(n).params > 0),
              {"frozen": True}).apply(graph)
    return graph


def flat_resnet_cifar() -> Graph:
    """resnet_cifar as it shipped before blocks: every layer a card of its own, wired by hand
    (block1_conv1 ... block2_proj, block2_add), for tests about flat residual graphs."""
    return load_graph(Path(__file__).parent / "graphs" / "resnet_cifar_flat.json", REGISTRY)


@cache
def is_heavy(name: str) -> bool:
    """Whether the shipped example costs more than HEAVY_MACS mult-adds per sample."""
    return engine_for(example_graph(name)).totals().macs > HEAVY_MACS


def example_cases() -> list[Any]:
    """The shipped examples for tests that run them through torch: heavy ones marked slow."""
    return [pytest.param(name, marks=pytest.mark.slow) if is_heavy(name) else name
            for name in example_names()]


def image_folder(root: Path, classes: int = 10, per_class: int = 2, size: int = 32) -> Path:
    """`classes` folders of random RGB pictures, a dataset of images as a user keeps them."""
    image = pytest.importorskip("PIL.Image", reason="Pillow writes the test images")
    rng = np.random.default_rng(0)
    for c in range(classes):
        for i in range(per_class):
            folder = root / f"class{c}"
            folder.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            image.fromarray(pixels).save(folder / f"{i}.png")
    return root
