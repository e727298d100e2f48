"""Importing PyTorch model files with torch.fx: a tutorial-style model round-trips with its
weights; what the graph cannot hold is refused in one report naming every place; a spec that
cannot be built says why."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from import_checks import assert_round_trip
from torch import nn

from dlbuilder.backend.importing.report import ImportFailed, ImportRefused
from dlbuilder.backend.importing.torch_import import import_model, import_module

MODELS = Path(__file__).resolve().parents[2] / "import_models"
TUTORIAL = MODELS / "tutorial.py"
UNSUPPORTED = MODELS / "unsupported.py"


def _nodes(graph) -> list[tuple[str, str]]:
    return [(node, graph.type_of(node)) for node in graph.nodes()]


@pytest.mark.parametrize("name", ["Net", "FlatNet", "small_net"])
def test_tutorial_model_round_trips(name: str) -> None:
    imported = import_module(f"{TUTORIAL}:{name}", (3, 32, 32))
    graph = imported.graph
    assert graph.blocks.keys() == {"Residual"}
    inner = graph.block("Residual").graph
    assert _nodes(inner) == [("x", "BlockInput"), ("conv1", "Conv2d"), ("relu", "ReLU"),
                             ("conv2", "Conv2d"), ("add", "Add"), ("relu_1", "ReLU"),
                             ("y", "BlockOutput")]
    assert inner.inputs("add") == ["conv2", "x"]  # out += identity
    top = _nodes(graph)
    assert top[:5] == [("input", "Input"), ("conv1", "Conv2d"), ("relu", "ReLU"),
                       ("maxpool2d", "MaxPool2d"), ("res", "Block")]
    assert ("flatten", "Flatten") in top and top[-1] == ("output", "Output")
    assert graph.raw_params("maxpool2d_1") == {"kernel_size": 2}  # (2, 2) written once
    spec = f"{TUTORIAL}:{name}"
    model = import_module_model(spec)
    model.load_state_dict(_state_from(imported, model), strict=True)
    assert_round_trip(model, imported, (3, 32, 32))


def import_module_model(spec: str) -> nn.Module:
    from dlbuilder.backend.importing.loading import build_model

    return build_model(spec)


def _state_from(imported, model: nn.Module) -> dict[str, torch.Tensor]:
    """The imported weights under the original model's keys (both list the same tensors in
    the same order), so a freshly built original computes with the imported weights."""
    ours = list(imported.state.values())
    keys = list(model.state_dict())
    assert len(ours) == len(keys)
    return dict(zip(keys, ours, strict=True))


def test_every_layer_has_its_weights_and_positions() -> None:
    imported = import_module(f"{TUTORIAL}:Net", (3, 32, 32))
    assert list(imported.state)[:2] == ["conv1.weight", "conv1.bias"]
    assert "res.conv1.weight" in imported.state
    graph = imported.graph
    places = [tuple(graph.ui(node).values()) for node in graph.nodes()]
    assert all(len(p) == 2 for p in places) and len(set(places)) == len(places)


def test_lstm_and_control_flow_are_refused_with_every_place() -> None:
    with pytest.raises(ImportRefused) as lstm:
        import_module(f"{UNSUPPORTED}:WithLSTM", (5, 8))
    # the slicing of its result follows from the LSTM: not a place of its own
    assert [(p.place, p.operation) for p in lstm.value.problems] == [("lstm", "nn.LSTM")]
    assert lstm.value.problems[0].line.endswith("unsupported.py:14: out, _ = self.lstm(x)")
    with pytest.raises(ImportRefused) as branchy:
        import_module(f"{UNSUPPORTED}:Branchy", (8,))
    report = branchy.value.report()
    assert "2 places" in report
    assert "unsupported.py:26: if x.sum() > 0:" in report
    assert "torch.sort: no layer type computes it" in report
    assert "Traceback" not in report


class _Shared(nn.Module):
    """One Linear called twice (shared weights), and a parameter used in forward."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.fc(x + 1)) * self.scale


def test_shared_weights_parameters_and_constants_are_refused_together() -> None:
    with pytest.raises(ImportRefused) as refused:
        import_model(_Shared(), (4,))
    text = refused.value.report()
    assert "3 places" in text, text
    assert "shared weights" in text and "self.scale" in text and "constant" in text
    assert text.count(": return self.fc(self.fc(x + 1)) * self.scale") == 3


class _Functions(nn.Module):
    """Functions and methods the importer maps, as people write them."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.gate = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.conv(x))
        a, b = torch.chunk(x, 2, dim=1)
        x = torch.cat([F.hardswish(a), F.leaky_relu(b, 0.2)], 1)
        batch, channels, height, width = x.size()
        x = x.view(batch, 2, channels // 2, height, width)
        x = torch.transpose(x, 1, 2).contiguous().view(batch, -1, height, width)
        x = self.relu(x) * torch.sigmoid(F.adaptive_avg_pool2d(self.gate(x), 1))
        x = F.avg_pool2d(F.silu(x), 2)
        x = F.dropout(x.mean((2, 3)), 0.3, training=self.training)
        return F.softmax(self.fc(x), dim=1)


def test_functions_map_to_layers_and_compute_the_same() -> None:
    model = _Functions().eval()
    imported = import_model(model, (4, 8, 8))
    types = [t for _, t in _nodes(imported.graph)]
    assert types == ["Input", "Conv2d", "ReLU", "Chunk", "Hardswish", "LeakyReLU", "Concat",
                     "ChannelShuffle", "ReLU", "Conv2d", "AdaptiveAvgPool2d", "Sigmoid", "Mul",
                     "SiLU", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten", "Dropout", "Linear",
                     "Softmax", "Output"]
    assert imported.graph.raw_params("channelshuffle") == {"groups": 2}
    assert imported.graph.inputs("relu_1") == ["channelshuffle"]  # self.relu called twice
    assert_round_trip(model, imported, (4, 8, 8))


@pytest.mark.parametrize(("spec", "words"), [
    ("nothere.py:Net", "there is no file"),
    ("tutorial.py:Nope", "has no 'Nope'; it defines FlatNet, Net"),
    ("tutorial.py:needs_width", "needs arguments (width)"),
    ("unsupported.py:Broken", "RuntimeError: the config file is missing\n    at "),
    ("tutorial.py", "is not a model spec"),
    ("no_such_package_here:Net", "cannot import no_such_package_here"),
])
def test_a_spec_that_cannot_be_built_says_why(spec: str, words: str) -> None:
    where = spec if spec.startswith("no_such") else f"{MODELS / spec}"
    with pytest.raises(ImportFailed) as failed:
        import_module(where, (3, 32, 32))
    assert words in str(failed.value)


def test_without_an_input_shape_it_asks_for_one() -> None:
    with pytest.raises(ImportFailed, match="give one sample's shape"):
        import_module(f"{TUTORIAL}:Net")


def test_a_shape_the_model_cannot_take_is_said_with_torchs_reason_only(
        capfd: pytest.CaptureFixture[str]) -> None:
    """Torch prints (and logs) a failing shape run's traceback; the user gets one message
    naming the layer and torch's reason."""
    with pytest.raises(ImportFailed) as failed:
        import_module(f"{TUTORIAL}:Net", (1, 32, 32))
    message = str(failed.value)
    assert message.startswith("the model does not run on an input of 1x32x32 (at conv1): ")
    assert "expected input[2, 1, 32, 32] to have 3 channels" in message
    assert "ShapeProp" not in message
    assert capfd.readouterr().err == ""


def test_a_class_from_a_file_says_the_files_name() -> None:
    imported = import_module(f"{TUTORIAL}:Net", (3, 32, 32))
    docs = [defn.doc for defn in imported.graph.blocks.values()]
    assert docs and all("_dlbuilder_import" not in doc for doc in docs)
    assert any("from tutorial.py, imported" in doc for doc in docs)


def test_a_package_module_spec_builds_the_class_it_names() -> None:
    imported = import_module("torch.nn:Hardswish", (4,))
    assert _nodes(imported.graph) == [("input", "Input"), ("hardswish", "Hardswish"),
                                      ("output", "Output")]
    assert imported.graph.name == "Hardswish"
