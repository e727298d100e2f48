"""Every shipped example opens, infers without errors and agrees with torch."""

from __future__ import annotations

import pytest
import torch
from helpers import problems

from dlbuilder.backend.modules import torch_reference
from dlbuilder.core.fileformat import dumps_graph, load_graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names, examples_dir

REQUIRED = {"digits_cnn", "lenet5", "mlp_mnist", "resnet_cifar", "conv_autoencoder",
            "mobilenet_v2", "resnet18"}


def test_the_required_examples_are_shipped() -> None:
    assert not REQUIRED - set(example_names())


@pytest.mark.parametrize("name", example_names())
def test_example_infers_cleanly_and_matches_torch(name: str) -> None:
    path = examples_dir() / f"{name}.json"
    graph = load_graph(path, REGISTRY)
    assert dumps_graph(graph) == path.read_text(encoding="utf-8")  # saved by our writer
    engine = InferenceEngine(graph, REGISTRY)
    assert problems(engine) == []
    with torch.no_grad():
        real = torch_reference(engine)
    for info in engine.infos():
        assert (info.output_shape, info.params, info.buffers) == (
            real[info.node].shape, real[info.node].params, real[info.node].buffers)


def test_example_specifics() -> None:
    def engine(name: str) -> InferenceEngine:
        return InferenceEngine(load_graph(examples_dir() / f"{name}.json", REGISTRY), REGISTRY)

    assert engine("digits_cnn").info("input").output_shape == (1, 8, 8)
    assert engine("lenet5").totals().params == 61706  # the classic LeNet-5 count
    mobilenet = engine("mobilenet_v2")
    assert mobilenet.totals().params == 3_504_872  # torchvision's published num_params
    assert mobilenet.info("input").output_shape == (3, 224, 224)
    resnet = engine("resnet_cifar")
    assert resnet.info("input").output_shape == (3, 32, 32)
    assert resnet.totals().params == 78_042  # as when every layer was a card of its own
    assert resnet.graph.raw_params("block2")["block"] == "BasicBlockDown"
    down = resnet.graph.block("BasicBlockDown").graph
    assert [down.type_of(n) for n in down.inputs("add")] == ["BatchNorm2d", "Block"]
    assert down.raw_params("downsample")["block"] == "Projection"  # projection shortcut
    resnet18 = engine("resnet18")
    assert resnet18.totals().params == 11_689_512  # torchvision's published num_params
    assert resnet18.info("fc").output_shape == (1000,)
    auto = engine("conv_autoencoder")
    assert auto.graph.params("output")["target"] == "input"
    assert "ConvTranspose2d" in {auto.graph.type_of(n) for n in auto.graph.nodes()}
