"""Receptive fields against an independent computation: the input pixels with a non-zero
gradient of one output value, on the compiled module (receptive_probe.py says how accidental
zeros are ruled out).

Exact: on each axis where the predicted region lies inside the image, the measured first and
last pixel equal the predicted ones; where padding reaches outside, the measured region stays
inside the clipped prediction (the value may then see fewer pixels, or none). A field marked
inexact (an enlarging layer after a strided one, where regions differ from output to output)
must hold every measured region. Checked on every shipped example (the 224x224 ones at 96x96:
the recursion does not depend on the input size, the test's time does) and on random graphs
of convolutions (dilation, padding, stride), pooling (max, average, ceil_mode, adaptive),
padding, nearest and bilinear upsampling, transposed convolutions and skip connections (Add,
Concat).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from conftest import examples
from hypothesis import given, note, settings
from hypothesis import strategies as st
from receptive_probe import measured_regions, monotone_model

from dlbuilder.core.fileformat import dumps_graph, load_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.receptive import Receptive
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names, examples_dir

TEST_SIDE = 96


def _positions(shape: tuple[int, ...]) -> list[tuple[int, int]]:
    rows = sorted({0, shape[1] // 2, shape[1] - 1})
    cols = sorted({0, shape[2] // 2, shape[2] - 1})
    return [(r, c) for r in rows for c in cols]


ENLARGING = ("Upsample", "ConvTranspose2d", "PixelShuffle")


def check_engine(engine: InferenceEngine) -> int:
    """Compare every spatial node's predicted regions with the measured ones; how many.

    After an enlarging layer, a border output can lie in a later layer's padding yet map back
    inside the image (a transposed convolution's trimmed last row): there, only the interior
    outputs are held to exactness, the border ones to containment."""
    assert not engine.has_errors(), engine.diagnostics()
    enlarges = any(i.type in ENLARGING for i in engine.infos())
    model = monotone_model(engine)
    input_node = next(i for i in engine.infos() if i.type == "Input")
    image = input_node.output_shape
    checked = 0
    for info in engine.infos():
        field: Receptive | None = info.receptive
        shape = info.output_shape
        if field is None or shape is None or len(shape) != 3 or not field.size \
                or info.type in ("Input", "Output"):
            continue
        positions = _positions(shape)
        measured = measured_regions(model, image, info.node, positions)
        for position, got in zip(positions, measured, strict=True):
            border = any(p in (0, n - 1) for p, n in zip(position, shape[1:], strict=True))
            _compare(info.node, field, position, got, image[1:], enlarges and border)
        checked += 1
    return checked


def _compare(node: str, field: Receptive, position: tuple[int, int],
             got: tuple[tuple[int, int], ...] | None, image: tuple[int, ...],
             bound_only: bool = False) -> None:
    """Exact on an axis where the predicted region lies inside the image; elsewhere (padding
    reaching outside, an inexact field, `bound_only`) the measured region lies inside the
    prediction."""
    want = field.region(position)
    exact = field.exact and not bound_only
    inside = [lo >= 0 and hi <= n - 1 for (lo, hi), n in zip(want, image, strict=True)]
    where = f"{node} output {position}: predicted {want}, measured {got}, {field}"
    empty = any(lo > hi for lo, hi in want)  # a transposed conv's output between taps
    if got is None:  # it sees no pixel: only where padding or enlarging leaves it empty
        assert empty or not (exact and all(inside)), where
        return
    assert not (empty and exact), where
    for axis, n in enumerate(image):
        (lo, hi), (m_lo, m_hi) = want[axis], got[axis]
        if exact and inside[axis]:
            assert (m_lo, m_hi) == (lo, hi), where
        else:
            assert max(lo, 0) <= m_lo <= m_hi <= min(hi, n - 1), where


def _smaller(graph: Graph) -> None:
    for node in graph.nx.nodes:
        if graph.type_of(node) == "Input":
            c, h, w = graph.raw_params(node)["shape"]
            if h > TEST_SIDE:
                graph.set_params(node, {"shape": [c, TEST_SIDE, TEST_SIDE]})


@pytest.mark.slow
@pytest.mark.parametrize("name", example_names())
def test_every_example_matches_gradients(name: str) -> None:
    torch.manual_seed(0)
    graph = load_graph(examples_dir() / f"{name}.json", REGISTRY)
    _smaller(graph)
    engine = InferenceEngine(graph, REGISTRY)
    checked = check_engine(engine)
    assert checked >= 1 or name == "mlp_mnist"


# -- random graphs ---------------------------------------------------------------------------

def _layer(draw: Any) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool", "pad", "up", "convt",
                                 "relu", "bn", "adaptive"]))
    small = st.integers(1, 3)
    if kind == "conv":
        k = draw(st.integers(1, 5))
        return "Conv2d", {"out_channels": draw(st.integers(1, 3)), "kernel_size": k,
                          "stride": draw(small), "dilation": draw(st.integers(1, 2)),
                          "padding": draw(st.integers(0, k))}
    if kind in ("maxpool", "avgpool"):
        k = draw(st.integers(1, 4))
        params = {"kernel_size": k, "stride": draw(small), "padding": draw(st.integers(0, k // 2)),
                  "ceil_mode": draw(st.booleans())}
        if kind == "maxpool":
            params["dilation"] = draw(st.integers(1, 2))
            return "MaxPool2d", params
        return "AvgPool2d", params
    if kind == "pad":
        return "ZeroPad2d", {"padding": draw(st.lists(st.integers(0, 2), min_size=4,
                                                      max_size=4))}
    if kind == "up":
        # bilinear at odd scales hits source points exactly on a pixel, where torch's float
        # rounding leaves a 1e-8 weight on the neighbour the formula says is unread
        mode = draw(st.sampled_from(["nearest", "bilinear"]))
        scales = [2, 3] if mode == "nearest" else [2, 4]
        return "Upsample", {"scale_factor": draw(st.sampled_from(scales)), "mode": mode}
    if kind == "convt":
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        return "ConvTranspose2d", {"out_channels": 2, "kernel_size": k, "stride": s,
                                   "padding": draw(st.integers(0, k - 1))}
    if kind == "adaptive":
        return "AdaptiveAvgPool2d", {"output_size": draw(st.integers(2, 6))}
    return ("ReLU", {}) if kind == "relu" else ("BatchNorm2d", {})


@st.composite
def spatial_graphs(draw: Any) -> InferenceEngine:
    """A chain of spatial layers from a small image, with skip connections (Add, or Concat
    along channels) around a convolution that keeps the size; invalid draws are skipped."""
    graph = Graph("receptive")
    side = draw(st.integers(8, 28))
    graph.add_node("in", "Input", {"shape": [draw(st.integers(1, 2)), side, side]})
    engine = InferenceEngine(graph, REGISTRY)
    last = "in"
    for i in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 4)) == 0:
            last = _skip(draw, graph, engine, last, i)
            continue
        type_name, params = _layer(draw)
        node = f"n{i}"
        graph.add_node(node, type_name, params)
        graph.add_edge(last, node)
        if engine.info(node).output_shape is None or min(engine.info(node).output_shape[1:]) > 64:
            graph.remove_node(node)
            continue
        last = node
    return engine


def _skip(draw: Any, graph: Graph, engine: InferenceEngine, last: str, i: int) -> str:
    k = draw(st.sampled_from([1, 3, 5]))
    channels = engine.info(last).output_shape[0]
    merge = draw(st.sampled_from(["Add", "Concat"]))
    graph.add_node(f"b{i}", "Conv2d", {"out_channels": channels, "kernel_size": k,
                                       "padding": k // 2, "dilation": 1})
    graph.add_edge(last, f"b{i}")
    graph.add_node(f"m{i}", merge, {})
    graph.add_edge(last, f"m{i}")
    graph.add_edge(f"b{i}", f"m{i}")
    graph.add_node(f"after{i}", "ReLU", {})
    graph.add_edge(f"m{i}", f"after{i}")
    return f"after{i}"


@pytest.mark.slow
@settings(deadline=None, max_examples=examples(300))
@given(spatial_graphs())
def test_random_graphs_match_gradients(engine: InferenceEngine) -> None:
    note(dumps_graph(engine.graph))
    torch.manual_seed(0)
    check_engine(engine)
