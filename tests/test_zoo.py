"""torchvision's vision networks drawn with dlbuilder's layers (tests/zoo.py): each has the
parameter count torchvision publishes, the shipped MobileNetV2 example has the builder's numbers,
and, where torchvision can be imported, each computes what torchvision's model computes with the
same weights."""

from __future__ import annotations

import pytest
import torch
from helpers import engine_for
from zoo import BUILDERS, PUBLISHED, mobilenet_v2
from zoo_torchvision import copy_weights, import_torchvision, randomize

from dlbuilder.backend.compiler import compile_graph
from dlbuilder.core.fileformat import load_graph
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import examples_dir


@pytest.mark.parametrize("name", list(BUILDERS))
def test_parameter_count_is_torchvisions_published_figure(name: str) -> None:
    engine = engine_for(BUILDERS[name]())
    assert engine.diagnostics() == []
    assert engine.info("input").output_shape == (3, 224, 224)
    assert engine.info("output").output_shape == (1000,)
    assert engine.totals().params == PUBLISHED[name]


def test_the_shipped_example_has_the_builders_numbers() -> None:
    """examples/mobilenet_v2.json is built from blocks; flat or not, the network is the same."""
    shipped = engine_for(load_graph(examples_dir() / "mobilenet_v2.json", REGISTRY))
    flat = engine_for(mobilenet_v2())
    assert shipped.diagnostics() == []
    assert shipped.totals() == flat.totals()
    assert shipped.info("output").output_shape == flat.info("output").output_shape


def test_every_node_of_the_example_has_a_position() -> None:
    graph = mobilenet_v2()
    positions = {(graph.ui(n)["x"], graph.ui(n)["y"]) for n in graph.nodes()}
    assert len(positions) == len(graph)  # no two cards on one spot


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BUILDERS))
def test_same_outputs_as_torchvision_with_the_same_weights(name: str) -> None:
    models, why = import_torchvision()
    if models is None:
        pytest.skip(why)
    graph = BUILDERS[name]()
    ours = compile_graph(engine_for(graph)).eval()
    theirs = randomize(getattr(models, name)()).eval()
    assert sum(p.numel() for p in theirs.parameters()) == PUBLISHED[name]
    copy_weights(theirs, ours, graph)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = theirs(x)
        scale = expected.abs().max().item()
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-5 * scale)
