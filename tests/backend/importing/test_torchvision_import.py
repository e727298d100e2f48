"""torchvision's models import and round-trip exactly: the exported class, given the imported
weights, has torchvision's parameter count and computes torchvision's outputs bit for bit
(eval mode, CPU, random weights: nothing is downloaded)."""

from __future__ import annotations

from typing import Any

import pytest
from import_checks import assert_round_trip
from zoo_torchvision import IMPORT_MODELS, import_torchvision, randomize

from dlbuilder.backend.importing.loading import recording_constructors
from dlbuilder.backend.importing.torch_import import import_model

SHAPE = (3, 64, 64)  # small enough to be quick, large enough for every network here
MODELS = IMPORT_MODELS


def _built(name: str) -> Any:
    models, why = import_torchvision()
    if models is None:
        pytest.skip(why)
    with recording_constructors():
        model = getattr(models, name)(weights=None, **MODELS[name])
    return randomize(model).eval()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_torchvision_model_round_trips(name: str) -> None:
    model = _built(name)
    imported = import_model(model, SHAPE, name=name)
    assert_round_trip(model, imported, SHAPE)


@pytest.mark.slow
def test_resnet50_arrives_as_stem_stages_and_head() -> None:
    """The issue's figures: at most 20 top-level cards, an exported file under 300 lines."""
    model = _built("resnet50")
    imported = import_model(model, (3, 224, 224), name="resnet50")
    graph = imported.graph
    assert len(assert_round_trip(model, imported, (3, 64, 64)).splitlines()) < 300
    assert graph.nodes() == ["input", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                             "layer3", "layer4", "avgpool", "flatten", "fc", "output"]
    assert graph.raw_params("layer1")["block"] == "Layer1"
    stage = graph.block("Layer1").graph
    assert [(n, stage.raw_params(n).get("repeat")) for n in stage.nodes()
            if stage.type_of(n) == "Block"] == [("0", None), ("1", 2)]
    bottleneck = graph.block(stage.raw_params("1")["block"]).graph
    assert bottleneck.nodes() == ["x", "conv1", "bn1", "relu", "conv2", "bn2", "relu_1",
                                  "conv3", "bn3", "add", "relu_2", "y"]
    # the sixteen Bottlenecks: two types (projected shortcut or not), widths as parameters
    assert sorted(graph.blocks) == ["Bottleneck", "Bottleneck_2", "Downsample", "Layer1",
                                    "Layer2", "Layer3", "Layer4"]
    assert [p.name for p in graph.block("Bottleneck_2").params][:2] == ["planes", "stride"]
    assert graph.block("Bottleneck_2").graph.raw_params("conv3")["out_channels"] == {
        "expr": "planes * 4"}
    assert list(imported.state)[:2] == ["conv1.weight", "bn1.weight"]
    assert "layer1.2.conv3.weight" in imported.state
