"""Exporting and compiling graphs with blocks: one class per block type, keys nested as a
hand-written model's, constructor arguments that hold for every instance, and the compiled
module equal to the exported code's (same keys, same outputs with the same weights)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from big_graphs import resnet50_blocks_graph
from block_graphs import depthwise_graph, resnet18_blocks_graph
from block_strategies import nested_graphs
from helpers import engine_for
from hypothesis import HealthCheck, given, settings
from test_codegen import _ruff
from zoo_torchvision import import_torchvision

from dlbuilder.backend.codegen import ClassNameError, export_code
from dlbuilder.backend.compiler import compile_graph
from dlbuilder.core.block_commands import RenameBlock
from dlbuilder.core.fileformat import dumps_graph, graph_from_dict, load_graph, loads_graph
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY

GOLDEN = Path(__file__).parent / "golden" / "blocks"
TINY = Path(__file__).parent.parent / "core" / "data" / "blocks_tiny.json"
GRAPHS = {"blocks_tiny": lambda: load_graph(TINY, REGISTRY), "resnet18": resnet18_blocks_graph,
          "resnet50": resnet50_blocks_graph}


def exported_model(code: str, class_name: str = "Net") -> torch.nn.Module:
    namespace: dict[str, Any] = {}
    exec(compile(code, "<exported>", "exec"), namespace)
    return namespace[class_name]()


def assert_same_as_compiled(graph: Graph, shape: tuple[int, ...] | None = None) -> None:
    """The exported class and the compiled module: same keys and shapes, same outputs."""
    engine = engine_for(graph)
    compiled = compile_graph(engine).eval()
    exported = exported_model(export_code(engine)).eval()
    ours, theirs = compiled.state_dict(), exported.state_dict()
    assert [(k, v.shape) for k, v in ours.items()] == [(k, v.shape) for k, v in theirs.items()]
    exported.load_state_dict(ours, strict=True)
    x = torch.randn(2, *(shape or compiled.plan.input_shape))
    with torch.no_grad():
        assert torch.equal(compiled(x), exported(x))


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_golden(name: str, refresh_golden: bool) -> None:
    path = GOLDEN / f"{name}.py"
    code = export_code(engine_for(GRAPHS[name]()))
    if refresh_golden:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
    assert code == path.read_text(encoding="utf-8"), (
        f"the code for {name} changed; if intended, run pytest --refresh-golden and review")


def test_same_graph_same_text_and_ruff_clean(tmp_path: Path) -> None:
    files = []
    for name, build in GRAPHS.items():
        graph = build()
        again = loads_graph(dumps_graph(graph), REGISTRY)
        code = export_code(engine_for(graph))
        assert export_code(engine_for(again)) == code
        path = tmp_path / f"{name}.py"
        path.write_text(code, encoding="utf-8")
        files.append(str(path))
    ruff = _ruff()
    for args in (["check"], ["format", "--check"]):
        done = subprocess.run([*ruff, *args, "--isolated", "--no-cache", *files], check=False,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_block_classes_take_their_sizes_as_expressions() -> None:
    code = export_code(engine_for(resnet50_blocks_graph()))
    assert ("class Bottleneck(nn.Module):\n"
            "    def __init__(self, in_channels, channels=64):") in code  # stride is always 1
    assert "class Projection(nn.Sequential):" in code
    assert "in_channels=channels," in code and "out_channels=channels * 4," in code
    assert "num_features=channels * 4," in code
    assert "self.downsample = Projection(in_channels, channels, stride=stride)" in code
    assert "*[Bottleneck(channels * 4, channels) for _ in range(blocks - 1)]," in code
    assert "self.layer3 = Stage(512, 256, stride=2, blocks=6)" in code
    assert len(code.splitlines()) < 300


def test_resnet18_keys_and_outputs_equal_torchvisions() -> None:
    models, why = import_torchvision()
    if models is None:
        pytest.skip(why)
    reference = models.resnet18(weights=None).eval()
    exported = exported_model(export_code(engine_for(resnet18_blocks_graph()))).eval()
    compiled = compile_graph(resnet18_blocks_graph()).eval()
    expected = [(k, v.shape) for k, v in reference.state_dict().items()]
    for model in (exported, compiled):
        assert [(k, v.shape) for k, v in model.state_dict().items()] == expected
        model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        want = reference(x)
        torch.testing.assert_close(compiled(x), want)
        torch.testing.assert_close(exported(x), want)


@pytest.mark.parametrize("name", ["blocks_tiny", "resnet18"])
def test_compiled_equals_exported(name: str) -> None:
    assert_same_as_compiled(GRAPHS[name]())


def _file(blocks: list[dict], nodes: list[dict], edges: list[dict]) -> Graph:
    return graph_from_dict({"format": "dlbuilder.graph", "version": 2, "name": "t",
                            "blocks": blocks, "nodes": nodes, "edges": edges}, REGISTRY)


def _chain(ids: list[str]) -> list[dict]:
    return [{"from": a, "to": b} for a, b in zip(ids, ids[1:], strict=False)]


HEAD = {"name": "Head", "params": [],
        "nodes": [{"id": "x", "type": "BlockInput"}, {"id": "flat", "type": "Flatten"},
                  {"id": "fc", "type": "Linear", "params": {"out_features": 3}},
                  {"id": "y", "type": "BlockOutput"}],
        "edges": _chain(["x", "flat", "fc", "y"])}


def _two_heads(second_size: int) -> Graph:
    nodes = [{"id": "in", "type": "Input", "params": {"shape": [2, 4, 4]}},
             {"id": "a", "type": "Block", "params": {"block": "Head"}},
             {"id": "pool", "type": "AdaptiveAvgPool2d", "params": {"output_size": second_size}},
             {"id": "b", "type": "Block", "params": {"block": "Head"}},
             {"id": "cat", "type": "Concat"},
             {"id": "out", "type": "Output"}]
    edges = [*_chain(["in", "a"]), *_chain(["in", "pool", "b"]),
             {"from": "a", "to": "cat", "to_port": 0}, {"from": "b", "to": "cat", "to_port": 1},
             *_chain(["cat", "out"])]
    return _file([HEAD], nodes, edges)


def test_a_size_from_the_image_is_a_number_or_an_argument_of_each_instance() -> None:
    same = export_code(engine_for(_two_heads(4)))  # both heads see 2x4x4
    assert "def __init__(self, in_channels):" not in same
    assert "in_features=32," in same and "self.a = Head()" in same
    varies = export_code(engine_for(_two_heads(2)))  # 2x4x4 and 2x2x2: 32 and 8 features
    assert "class Head(nn.Module):\n    def __init__(self, fc_in_features):" in varies
    assert "in_features=fc_in_features," in varies
    assert "self.a = Head(32)" in varies and "self.b = Head(8)" in varies
    assert_same_as_compiled(_two_heads(2))


def test_several_inputs_and_outputs() -> None:
    split = {"name": "Split", "params": [{"name": "width", "default": 4}],
             "nodes": [{"id": "x", "type": "BlockInput"}, {"id": "y", "type": "BlockInput"},
                       {"id": "cat", "type": "Concat"},
                       {"id": "conv", "type": "Conv2d", "params": {
                           "out_channels": {"expr": "width * 2"}, "kernel_size": 1}},
                       {"id": "act", "type": "ReLU"},
                       {"id": "a", "type": "BlockOutput"}, {"id": "b", "type": "BlockOutput"}],
             "edges": [{"from": "x", "to": "cat", "to_port": 0},
                       {"from": "y", "to": "cat", "to_port": 1},
                       *_chain(["cat", "conv", "act", "a"]), *_chain(["cat", "b"])]}
    nodes = [{"id": "in", "type": "Input", "params": {"shape": [3, 5, 5]}},
             {"id": "stem", "type": "Conv2d", "params": {"out_channels": 2, "kernel_size": 1}},
             {"id": "pair", "type": "Block", "params": {"block": "Split", "width": 3}},
             {"id": "r", "type": "ReLU"}, {"id": "add", "type": "Concat"},
             {"id": "flat", "type": "Flatten"},
             {"id": "out", "type": "Output"}]
    edges = [*_chain(["in", "stem"]), {"from": "in", "to": "pair", "to_port": 0},
             {"from": "stem", "to": "pair", "to_port": 1},
             {"from": "pair", "to": "add", "to_port": 0, "from_port": 0},
             {"from": "pair", "to": "r", "from_port": 1},
             {"from": "r", "to": "add", "to_port": 1}, *_chain(["add", "flat", "out"])]
    graph = _file([split], nodes, edges)
    code = export_code(engine_for(graph))
    assert "def __init__(self, in_channels, in_channels_1, width=4):" in code
    assert "in_channels=in_channels + in_channels_1," in code
    assert "out_channels=width * 2," in code
    assert "def forward(self, x, y):" in code and "return x, branch" in code
    assert "branch, x = self.pair(branch, x)  # 6x5x5, 5x5x5" in code
    assert_same_as_compiled(graph)


def test_model_class_name_cannot_be_a_block_class() -> None:
    from dlbuilder.backend.codegen import generate_code
    from dlbuilder.backend.plan import build_plan
    with pytest.raises(ClassNameError, match="taken by a block"):
        generate_code(build_plan(engine_for(resnet18_blocks_graph())), "BasicBlock")


def test_the_exported_file_runs_as_a_script(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(export_code(engine_for(GRAPHS["blocks_tiny"]())), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", "import runpy; m = runpy.run_path("
                           f"{str(path)!r})['Net'](); print(len(m.state_dict()))"],
                          check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested_graphs())
def test_random_nested_graphs_export_as_they_compile(graph: Graph) -> None:
    assert_same_as_compiled(graph)


def test_a_reference_to_the_inputs_channels_prints_as_the_argument() -> None:
    graph = depthwise_graph()
    code = export_code(engine_for(graph))
    assert "groups=in_channels," in code and "out_channels=in_channels * 2," in code
    assert "self.a = Depthwise(4)" in code and "self.b = Depthwise(8)" in code
    assert_same_as_compiled(graph)


def test_a_block_named_like_the_model_class_keeps_the_default_working() -> None:
    graph = load_graph(TINY, REGISTRY)
    RenameBlock("Stage", "Net").apply(graph)
    code = export_code(engine_for(graph))
    assert "class Net_(nn.Sequential):" in code and "class Net(nn.Module):" in code
    assert_same_as_compiled(graph)


def test_a_parameter_only_forward_reads_is_kept_by_the_constructor() -> None:
    """Chunk's `chunks` from a block parameter: forward reads it as `self.parts` (it once
    read a name only the constructor had, and the exported code raised NameError), named
    apart from the ReLU that took the attribute `parts`."""
    split = {"name": "Split", "params": [{"name": "parts", "default": 2}],
             "nodes": [{"id": "x", "type": "BlockInput"},
                       {"id": "c", "type": "Chunk", "params": {"chunks": {"expr": "parts"}}},
                       {"id": "parts", "type": "ReLU"}, {"id": "a", "type": "Add"},
                       {"id": "y", "type": "BlockOutput"}],
             "edges": [{"from": "x", "to": "c"},
                       {"from": "c", "to": "a", "from_port": 0, "to_port": 0},
                       {"from": "c", "to": "parts", "from_port": 1},
                       {"from": "parts", "to": "a", "to_port": 1}, {"from": "a", "to": "y"}]}
    graph = _file([split], [{"id": "input", "type": "Input", "params": {"shape": [4, 6, 6]}},
                            {"id": "s", "type": "Block", "params": {"block": "Split"}},
                            {"id": "output", "type": "Output", "params": {"loss": "MSELoss"}}],
                  _chain(["input", "s", "output"]))
    code = export_code(engine_for(graph))
    assert "self.parts_value = parts" in code and "torch.chunk(x, self.parts_value" in code
    assert_same_as_compiled(graph)
