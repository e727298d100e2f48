"""A layer with several outputs through the backend: the plan unpacks torch.chunk into one
variable per port, the exported code reads like a hand-written ShuffleNetV2 unit, runs, and
equals the compiled model, which equals a hand-written torch module; ONNX keeps the split."""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import pytest
import torch
from helpers import engine_for
from test_onnx import needs_onnx
from torch import nn

from dlbuilder.backend.codegen import generate_code
from dlbuilder.backend.compiler import CompiledModel
from dlbuilder.backend.onnx_export import export_onnx
from dlbuilder.backend.plan import build_plan
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY

C = 16  # the unit's channels: two halves of 8


def shufflenet_unit() -> Graph:
    """ShuffleNetV2's stride-1 unit: split the channels in two, keep the first half, run the
    second through 1x1 conv, 3x3 depthwise conv and 1x1 conv (each with BatchNorm), join the
    halves again, then shuffle the channels (where the registry has ChannelShuffle)."""
    half = C // 2
    graph = Graph("shuffle_unit")
    graph.add_node("in", "Input", {"shape": [C, 8, 8]})
    graph.add_node("split", "Chunk", {"chunks": 2})
    chain = [
        ("pw1", "Conv2d", {"out_channels": half, "kernel_size": 1, "bias": False}),
        ("bn1", "BatchNorm2d", {}), ("relu1", "ReLU", {}),
        ("dw", "Conv2d", {"out_channels": half, "kernel_size": 3, "padding": 1,
                          "groups": half, "bias": False}),
        ("bn2", "BatchNorm2d", {}),
        ("pw2", "Conv2d", {"out_channels": half, "kernel_size": 1, "bias": False}),
        ("bn3", "BatchNorm2d", {}), ("relu2", "ReLU", {}),
    ]
    graph.add_edge("in", "split")
    previous, port = "split", 1
    for node, type_name, params in chain:
        graph.add_node(node, type_name, params)
        graph.add_edge(previous, node, from_port=port)
        previous, port = node, 0
    graph.add_node("cat", "Concat")
    graph.add_edge("split", "cat")
    graph.add_edge(previous, "cat")
    last = "cat"
    if "ChannelShuffle" in REGISTRY:
        graph.add_node("shuffle", "ChannelShuffle", {"groups": 2})
        graph.add_edge("cat", "shuffle")
        last = "shuffle"
    graph.add_node("out", "Output", {"loss": "MSELoss", "target": "input"})
    graph.add_edge(last, "out")
    return graph


class HandWrittenUnit(nn.Module):
    """The same unit written by hand, as torchvision's InvertedResidual (stride 1) has it."""

    def __init__(self) -> None:
        super().__init__()
        half = C // 2
        self.branch2 = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
            nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat((x1, self.branch2(x2)), dim=1)
        if "ChannelShuffle" in REGISTRY:
            b, c, h, w = out.shape
            out = out.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)
        return out


def seeded(model: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.rand_like(tensor) + 0.5)
    return model.eval()


def run_exported(code: str, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The exported file, imported as a module, with the compiled model's weights, on x."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "exported_model.py"
        path.write_text(code, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("exported_model", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    net = module.Net().eval()
    net.load_state_dict(model.state_dict())
    with torch.no_grad():
        return net(x)


def test_shufflenet_split_compiles_and_exports_exactly() -> None:
    engine = engine_for(shufflenet_unit())
    assert not engine.diagnostics()
    plan = build_plan(engine)
    code = generate_code(plan)
    assert "        branch, x = torch.chunk(x, 2, dim=1)  # 8x8x8, 8x8x8\n" in code
    assert "        x = torch.cat([branch, x], dim=1)  # 16x8x8\n" in code
    model = seeded(CompiledModel(plan))
    hand = seeded(HandWrittenUnit())
    assert sum(p.numel() for p in model.parameters()) == engine.totals().params == \
        sum(p.numel() for p in hand.parameters())
    with torch.no_grad():  # same values in the same order: the hand-written unit agrees
        for ours, theirs in zip([*model.parameters(), *model.buffers()],
                                [*hand.parameters(), *hand.buffers()], strict=True):
            theirs.copy_(ours)
    x = torch.randn(3, C, 8, 8)
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(hand(x), expected)
    assert torch.equal(run_exported(code, model, x), expected)


def test_pieces_nothing_reads_unpack_into_underscores() -> None:
    """5 channels in 4 chunks: torch gives 3 pieces (2, 2, 1); the last is not read."""
    graph = Graph("uneven")
    graph.add_node("in", "Input", {"shape": [5, 4, 4]})
    graph.add_node("split", "Chunk", {"chunks": 4})
    graph.add_node("a", "Conv2d", {"out_channels": 2, "kernel_size": 1})
    graph.add_node("sum", "Add")
    graph.add_edge("in", "split")
    graph.add_edge("split", "a", from_port=1)
    graph.add_edge("split", "sum")
    graph.add_edge("a", "sum")
    engine = engine_for(graph)
    assert not [d for d in engine.diagnostics() if d.severity == "error"]
    plan = build_plan(engine)
    code = generate_code(plan)
    assert "        shortcut, x, _ = torch.chunk(x, 4, dim=1)  # 2x4x4, 2x4x4, 1x4x4\n" in code
    assert "        x = x + shortcut  # 2x4x4\n" in code
    model = seeded(CompiledModel(plan))
    x = torch.randn(2, 5, 4, 4)
    with torch.no_grad():
        expected = model(x)
        pieces = torch.chunk(x, 4, dim=1)
        assert torch.equal(expected, pieces[0] + model.a(pieces[1]))
    assert torch.equal(run_exported(code, model, x), expected)


def test_one_port_read_twice_is_copied_like_any_fork() -> None:
    graph = Graph("fork")
    graph.add_node("in", "Input", {"shape": [6]})
    graph.add_node("split", "Chunk", {"chunks": 2})
    graph.add_node("fc", "Linear", {"out_features": 3})
    graph.add_node("sum", "Add")
    graph.add_edge("in", "split")
    graph.add_edge("split", "fc", from_port=1)
    graph.add_edge("split", "sum", from_port=1)
    graph.add_edge("fc", "sum")
    engine = engine_for(graph)
    plan = build_plan(engine)
    code = generate_code(plan)
    assert "        _, x = torch.chunk(x, 2, dim=1)  # 3, 3\n        shortcut = x\n" in code
    model = seeded(CompiledModel(plan))
    x = torch.randn(4, 6)
    with torch.no_grad():
        expected = model(x)
        second = x[:, 3:]
        assert torch.equal(expected, model.fc(second) + second)
    assert torch.equal(run_exported(code, model, x), expected)


@pytest.mark.slow
def test_onnx_export_keeps_the_split(tmp_path) -> None:
    runtime = needs_onnx()
    model = seeded(CompiledModel(build_plan(engine_for(shufflenet_unit()))))
    path = tmp_path / "unit.onnx"
    export_onnx(model, path)
    session = runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(5, C, 8, 8)
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(got), model(x), atol=1e-5)


@pytest.mark.parametrize("from_port", [0, 1])
def test_the_graph_may_end_in_a_split(from_port: int) -> None:
    """Without an Output the split's first piece is the result; with one, its port's."""
    graph = Graph("ends")
    graph.add_node("in", "Input", {"shape": [4, 2, 2]})
    graph.add_node("split", "Chunk", {"chunks": 2})
    graph.add_edge("in", "split")
    if from_port:
        graph.add_node("out", "Output", {"loss": "MSELoss"})
        graph.add_edge("split", "out", from_port=from_port)
    plan = build_plan(engine_for(graph))
    model = CompiledModel(plan).eval()
    x = torch.randn(2, 4, 2, 2)
    with torch.no_grad():
        assert torch.equal(model(x), torch.chunk(x, 2, dim=1)[from_port])
    assert torch.equal(run_exported(generate_code(plan), model, x), model(x))


def test_a_single_piece_still_unpacks() -> None:
    """chunks=1 (or a dimension of size 1): torch gives a one-tuple, so forward unpacks it."""
    graph = Graph("one")
    graph.add_node("in", "Input", {"shape": [3]})
    graph.add_node("split", "Chunk", {"chunks": 1})
    graph.add_node("act", "ReLU")
    graph.add_edge("in", "split")
    graph.add_edge("split", "act")
    plan = build_plan(engine_for(graph))
    code = generate_code(plan)
    assert "        (x,) = torch.chunk(x, 1, dim=1)  # 3\n" in code
    model = CompiledModel(plan).eval()
    x = torch.randn(2, 3)
    assert torch.equal(run_exported(code, model, x), torch.relu(x))
