"""The block libraries: every built-in block works alone and counts as torch does; placing a
library block copies what it needs into the graph; the user's saved blocks round-trip and a
broken file is named, never fatal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dlbuilder.core.block_library import (
    copy_into,
    dumps_library,
    load_user_blocks,
    loads_library,
    read_library,
    save_user_block,
    with_dependencies,
)
from dlbuilder.core.blocks import BlockDef, ref
from dlbuilder.core.fileformat import GraphFileError, dumps_graph, loads_graph
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import builtin_blocks_file

# an input each block accepts with its default arguments, and the output it gives
SHAPES = {
    "BasicBlock": ((64, 16, 16), (64, 16, 16)),
    "Projection": ((32, 16, 16), (64, 8, 8)),
    "BasicBlockDown": ((64, 16, 16), (128, 8, 8)),
    "Bottleneck": ((256, 14, 14), (256, 14, 14)),
    "BottleneckDown": ((64, 16, 16), (256, 8, 8)),
    "VGGBlock": ((3, 32, 32), (64, 16, 16)),
    "Inception": ((192, 28, 28), (256, 28, 28)),
    "SqueezeExcite": ((64, 8, 8), (64, 8, 8)),
    "InvertedResidual": ((32, 8, 8), (32, 8, 8)),
    "InvertedResidualDown": ((16, 8, 8), (24, 4, 4)),
    "DepthwiseSeparable": ((32, 8, 8), (16, 8, 8)),
    "DenseLayer": ((64, 8, 8), (96, 8, 8)),
}


def builtin() -> list[BlockDef]:
    return read_library(builtin_blocks_file(), REGISTRY)


def placed_alone(name: str, shape: tuple[int, ...], library: list[BlockDef] | None = None,
                 **args: Any) -> Graph:
    """Input -> an instance of library block `name` -> Output (MSELoss: any shape)."""
    graph = Graph("alone")
    for defn in copy_into(graph, library or builtin(), name).defs:
        graph.add_block(defn)
    graph.add_node("input", "Input", {"shape": list(shape)})
    graph.add_node("block", "Block", {"block": name, **args})
    graph.add_node("output", "Output", {"loss": "MSELoss"})
    graph.add_edge("input", "block")
    graph.add_edge("block", "output")
    return graph


def test_the_library_holds_the_blocks_the_palette_promises() -> None:
    assert [d.name for d in builtin()] == list(SHAPES)
    assert all(d.doc for d in builtin())


def test_the_shipped_library_is_written_as_our_writer_writes_it() -> None:
    text = builtin_blocks_file().read_text(encoding="utf-8")
    assert dumps_library(loads_library(text, REGISTRY)) == text


@pytest.mark.parametrize("name", list(SHAPES))
def test_each_builtin_block_infers_cleanly_alone(name: str) -> None:
    shape, out = SHAPES[name]
    engine = InferenceEngine(placed_alone(name, shape), REGISTRY)
    assert [str(d) for d in engine.diagnostics()] == []
    assert engine.info("block").output_shape == out


def test_a_block_that_cannot_take_its_input_is_reported_inside() -> None:
    """A vector into BasicBlock's convolutions is a problem named inside the block, not a
    crash."""
    engine = InferenceEngine(placed_alone("BasicBlock", (64,)), REGISTRY)
    problems = [d for d in engine.diagnostics() if d.node == "block"]
    assert problems and "block/conv1:" in str(problems[0])


@pytest.mark.parametrize("name", ["BasicBlock", "Bottleneck", "InvertedResidual"])
def test_identity_blocks_keep_whatever_channels_come_in(name: str) -> None:
    for channels in (24, 48):
        engine = InferenceEngine(placed_alone(name, (channels, 8, 8)), REGISTRY)
        assert engine.diagnostics() == []
        assert engine.info("block").output_shape == (channels, 8, 8)


def test_squeeze_excite_takes_its_width_from_its_input() -> None:
    for channels in (32, 64):
        engine = InferenceEngine(placed_alone("SqueezeExcite", (channels, 8, 8)), REGISTRY)
        assert engine.diagnostics() == []
        assert engine.info("block").output_shape == (channels, 8, 8)


# -- the same blocks written in torch by hand, as torchvision writes them ---------------------
def _torch_modules() -> dict[str, Any]:
    from torch import nn

    def cbn(i: int, o: int, k: int, s: int = 1, g: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(i, o, k, s, (k - 1) // 2, groups=g, bias=False), nn.BatchNorm2d(o)]

    def residual(i: int, o: int, s: int, bottleneck: bool) -> nn.Module:
        width = o // 4 if bottleneck else o
        layers = ([*cbn(i, width, 1), *cbn(width, width, 3, s), *cbn(width, o, 1)]
                  if bottleneck else [*cbn(i, o, 3, s), *cbn(o, o, 3)])
        if s != 1 or i != o:
            layers += cbn(i, o, 1, s)
        return nn.Sequential(*layers)

    def inverted(i: int, o: int, s: int, t: int) -> nn.Module:
        h = i * t
        return nn.Sequential(*(cbn(i, h, 1) if t != 1 else []), *cbn(h, h, 3, s, h),
                             *cbn(h, o, 1))

    return {
        "BasicBlock": residual(64, 64, 1, False),
        "Projection": nn.Sequential(*cbn(32, 64, 1, 2)),
        "BasicBlockDown": residual(64, 128, 2, False),
        "Bottleneck": residual(256, 256, 1, True),
        "BottleneckDown": residual(64, 256, 2, True),
        "VGGBlock": nn.Sequential(*cbn(3, 64, 3), *cbn(64, 64, 3)),
        "Inception": nn.Sequential(*cbn(192, 64, 1), *cbn(192, 96, 1), *cbn(96, 128, 3),
                                   *cbn(192, 16, 1), *cbn(16, 32, 5), *cbn(192, 32, 1)),
        "SqueezeExcite": nn.Sequential(nn.Conv2d(64, 16, 1), nn.Conv2d(16, 64, 1)),
        "InvertedResidual": inverted(32, 32, 1, 6),
        "InvertedResidualDown": inverted(16, 24, 2, 6),
        "DepthwiseSeparable": inverted(32, 16, 1, 1),
        "DenseLayer": nn.Sequential(nn.BatchNorm2d(64), nn.Conv2d(64, 128, 1, bias=False),
                                    nn.BatchNorm2d(128), nn.Conv2d(128, 32, 3, padding=1,
                                                                   bias=False)),
    }


def test_each_builtin_block_counts_the_parameters_torch_counts() -> None:
    hand = _torch_modules()
    assert set(hand) == set(SHAPES)
    for name, (shape, _) in SHAPES.items():
        engine = InferenceEngine(placed_alone(name, shape), REGISTRY)
        params = sum(p.numel() for p in hand[name].parameters())
        buffers = sum(b.numel() for b in hand[name].buffers())
        assert (engine.totals().params, engine.info("block").buffers) == (params, buffers), name


def test_arguments_and_repeats_change_the_count_as_torch_would() -> None:
    """DenseLayer x3 with growth 12 from 24 channels: a dense block, 24 + 3 * 12 channels."""
    engine = InferenceEngine(placed_alone("DenseLayer", (24, 8, 8), growth_rate=12, repeat=3),
                             REGISTRY)
    assert engine.diagnostics() == []
    assert engine.info("block").output_shape == (60, 8, 8)
    expected = 0
    for channels in (24, 36, 48):  # norm1, conv1, norm2, conv2 of each layer
        expected += 2 * channels + channels * 48 + 2 * 48 + 48 * 12 * 9
    assert engine.totals().params == expected


# -- copying into a graph ---------------------------------------------------------------------
def test_copy_brings_the_blocks_it_uses_first() -> None:
    graph = Graph("g")
    copied = copy_into(graph, builtin(), "BasicBlockDown")
    assert [d.name for d in copied.defs] == ["Projection", "BasicBlockDown"]
    assert copied.name == "BasicBlockDown"
    library = {d.name: d for d in builtin()}
    assert copied.defs[0] is not library["Projection"]  # a copy: editing it leaves the library
    assert copied.defs[0].graph is not library["Projection"].graph


def test_copy_reuses_identical_blocks_even_moved_cards() -> None:
    graph = placed_alone("BasicBlockDown", (64, 16, 16))
    graph.block("Projection").graph.set_ui("0", {"x": 999, "y": 999})
    again = copy_into(graph, builtin(), "BasicBlockDown")
    assert again == ([], "BasicBlockDown")


def test_copy_renames_on_a_clash_and_rewires_the_users() -> None:
    graph = placed_alone("BasicBlockDown", (64, 16, 16))
    graph.block("Projection").graph.set_params("0", {
        "out_channels": ref("channels"), "kernel_size": 3, "padding": 1,
        "stride": ref("stride"), "bias": False})  # the user's own Projection now
    before = dumps_graph(graph)
    copied = copy_into(graph, builtin(), "BasicBlockDown")
    assert dumps_graph(graph) == before  # copy_into only says what to add
    assert [d.name for d in copied.defs] == ["Projection2", "BasicBlockDown2"]
    assert copied.name == "BasicBlockDown2"
    down = copied.defs[1].graph
    assert down.raw_params("downsample")["block"] == "Projection2"
    for defn in copied.defs:
        graph.add_block(defn)
    graph.set_params("block", {"block": copied.name})
    engine = InferenceEngine(graph, REGISTRY)
    assert engine.diagnostics() == []
    assert engine.totals().params == sum(p.numel() for p in _torch_modules()[
        "BasicBlockDown"].parameters())
    # placing it a third time reuses the renamed copies
    assert copy_into(graph, builtin(), "BasicBlockDown") == ([], "BasicBlockDown2")


def test_copy_of_an_unknown_block_says_so() -> None:
    with pytest.raises(ValueError, match="no block 'Nope'"):
        copy_into(Graph("g"), builtin(), "Nope")


def test_a_graph_with_copied_blocks_saves_and_loads_on_its_own() -> None:
    graph = placed_alone("Inception", (192, 28, 28))
    text = dumps_graph(graph)
    assert dumps_graph(loads_graph(text, REGISTRY)) == text


# -- the user's blocks ------------------------------------------------------------------------
def test_a_saved_block_comes_back_with_what_it_uses(tmp_path: Path) -> None:
    graph = placed_alone("BottleneckDown", (64, 16, 16))
    path = save_user_block(tmp_path / "blocks", graph.block("BottleneckDown"), graph)
    assert path == tmp_path / "blocks" / "BottleneckDown.json"
    assert [p.name for p in path.parent.iterdir()] == ["BottleneckDown.json"]  # no temp file
    blocks, problems = load_user_blocks(path.parent, REGISTRY)
    assert problems == [] and [b.name for b in blocks] == ["BottleneckDown"]
    assert [d.name for d in with_dependencies(blocks[0])] == ["Projection", "BottleneckDown"]
    fresh = placed_alone("BottleneckDown", (64, 16, 16), library=blocks)
    assert InferenceEngine(fresh, REGISTRY).totals().params == sum(
        p.numel() for p in _torch_modules()["BottleneckDown"].parameters())


def test_broken_user_files_are_named_and_the_rest_load(tmp_path: Path) -> None:
    graph = placed_alone("VGGBlock", (3, 32, 32))
    save_user_block(tmp_path, graph.block("VGGBlock"), graph)
    (tmp_path / "Broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "Alien.json").write_text(
        '{"format": "dlbuilder.blocks", "version": 1, "blocks": [{"name": "Alien", '
        '"params": [], "nodes": [{"id": "x", "type": "Warp"}], "edges": []}]}',
        encoding="utf-8")
    (tmp_path / "Graph.json").write_text(dumps_graph(graph), encoding="utf-8")
    blocks, problems = load_user_blocks(tmp_path, REGISTRY)
    assert [b.name for b in blocks] == ["VGGBlock"]
    assert len(problems) == 3
    alien, broken, other = problems
    assert "Alien.json" in alien and "'Warp'" in alien
    assert "Broken.json" in broken and "not valid JSON" in broken
    assert "Graph.json" in other and "not a block library" in other


def test_a_missing_folder_holds_no_blocks(tmp_path: Path) -> None:
    assert load_user_blocks(tmp_path / "nowhere", REGISTRY) == ([], [])


def test_a_library_file_is_checked_like_a_graph_file() -> None:
    text = ('{"format": "dlbuilder.blocks", "version": 1, "blocks": [{"name": "Loop", '
            '"params": [], "nodes": [{"id": "x", "type": "BlockInput"}, {"id": "me", '
            '"type": "Block", "params": {"block": "Loop"}}, {"id": "y", "type": '
            '"BlockOutput"}], "edges": [{"from": "x", "to": "me"}, {"from": "me", "to": "y"}]}]}')
    with pytest.raises(GraphFileError, match="Loop > Loop"):
        loads_library(text, REGISTRY)
    with pytest.raises(GraphFileError, match="version 1"):
        loads_library('{"format": "dlbuilder.blocks", "version": 7, "blocks": []}', REGISTRY)
