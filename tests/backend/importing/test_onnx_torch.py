"""Models exported to ONNX by torch import back with their outputs (within 1e-5)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from import_checks import export_torch_onnx
from torch import nn

from dlbuilder.backend.compiler import compile_graph
from dlbuilder.backend.importing.onnx_import import import_onnx
from dlbuilder.backend.importing.report import ImportRefused
from dlbuilder.backend.onnx_export import export_onnx
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.flatten import flatten
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names, examples_dir

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
pytestmark = pytest.mark.slow


class LeNet(nn.Module):
    """A tutorial-style model: functional activations and pooling, a view to a vector."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(120, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.avg_pool2d(torch.tanh(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc2(self.drop(F.relu6(self.fc1(x))))


def _assert_same_outputs(imported, model: nn.Module, shape: tuple[int, ...]) -> None:
    compiled = compile_graph(imported.graph)
    compiled.load_state_dict(imported.state)
    compiled.eval()
    model.eval()
    x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_a_lenet_comes_back_with_its_outputs(tmp_path, dynamo):
    model = LeNet()
    with torch.no_grad():
        model.bn1.running_mean.normal_()
        model.bn1.running_var.uniform_(0.5, 2)
    export_torch_onnx(model, (1, 28, 28), tmp_path / "lenet.onnx", dynamo)
    imported = import_onnx(tmp_path / "lenet.onnx")
    graph = imported.graph
    # both exporters fold the BatchNorm into the convolution before it; TorchScript drops
    # the Dropout (an identity in inference), the optimizer of the dynamo exporter too
    assert [graph.type_of(n) for n in graph.nodes()] == [
        "Input", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "Tanh", "AvgPool2d", "Flatten",
        "Linear", "ReLU6", "Linear", "Output"]
    assert {"conv2", "fc1", "fc2"} <= set(graph.nodes())
    _assert_same_outputs(imported, model, (1, 28, 28))


def _expected_types(graph) -> list[str]:
    """The example's layer types as ONNX keeps them: torch's exporter folds a BatchNorm into
    the convolution or Linear before it and leaves out Dropout, an identity in inference."""
    flat = flatten(graph, REGISTRY)
    kept = []
    for node in flat.nodes():
        kind, ins = flat.type_of(node), flat.inputs(node)
        folded = kind.startswith("BatchNorm") and flat.type_of(ins[0]) in ("Conv2d", "Linear")
        if not folded and kind not in ("Dropout", "Dropout2d"):
            kept.append(kind)
    return kept


@pytest.mark.parametrize("name", example_names())
def test_every_example_exported_to_onnx_imports_back(tmp_path, name):
    graph = load_graph(examples_dir() / f"{name}.json", REGISTRY)
    model = compile_graph(graph)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2)
    model.eval()
    export_onnx(model, tmp_path / "g.onnx")
    imported = import_onnx(tmp_path / "g.onnx")
    back = imported.graph
    assert sorted(map(back.type_of, back.nodes())) == sorted(_expected_types(graph))
    defaults = REGISTRY.get("Output").defaults
    assert defaults | back.params("output") == defaults | graph.params("output")
    _assert_same_outputs(imported, model, tuple(graph.params("input")["shape"]))


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def test_an_lstm_is_refused_with_a_report(tmp_path):
    export_torch_onnx(Recurrent(), (5, 8), tmp_path / "rnn.onnx", dynamo=False)
    with pytest.raises(ImportRefused) as caught:
        import_onnx(tmp_path / "rnn.onnx")
    operations = [p.operation for p in caught.value.problems]
    assert "ONNX LSTM" in operations
    assert "no layer type does this" in caught.value.report()
