"""The summary of a graph with blocks: a tree of instances, repeats and inner layers named by
their torch module paths, cut at any depth without changing a number."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import chain, engine_for

from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.core.summary import Row, format_summary, summary_dict, summary_rows, walk
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parent / "data" / "blocks_tiny.json"
BASIC = ["conv1", "bn1", "relu", "conv2", "bn2", "add", "relu2"]  # its ports are not rows


def tiny_engine(conv1_kernel: int | None = None) -> InferenceEngine:
    graph = load_graph(TINY, REGISTRY)
    if conv1_kernel is not None:
        inner = graph.block("Basic").graph
        inner.set_params("conv1", {**inner.raw_params("conv1"), "kernel_size": conv1_kernel})
    return InferenceEngine(graph, REGISTRY)


def by_path(rows: list[Row]) -> dict[str, Row]:
    return {row.path: row for row in walk(rows)}


def test_instances_expand_into_repeats_and_layers_named_as_torch_modules() -> None:
    rows = by_path(summary_rows(tiny_engine()))
    assert [r.path for r in rows["layer1"].children] == ["layer1.0", "layer1.1", "layer1.2"]
    assert [r.path for r in rows["layer1.2"].children] == [f"layer1.2.{n}" for n in BASIC]
    # layer2 runs once (no repeat level); its inner instance "0" repeats n = 2 times
    assert [r.path for r in rows["layer2"].children] == ["layer2.0"]
    assert [r.path for r in rows["layer2.0"].children] == ["layer2.0.0", "layer2.0.1"]
    assert rows["layer2.0.1.conv2"].depth == 4 and rows["layer2.0.1.conv2"].info.type == "Conv2d"
    assert not any(r.info.type in ("BlockInput", "BlockOutput") for r in rows.values())


def test_block_rows_carry_the_block_its_arguments_and_repeats() -> None:
    rows = by_path(summary_rows(tiny_engine()))
    assert (rows["layer1"].label, rows["layer1"].key_params) == ("Basic", "channels=16, x3")
    assert (rows["layer1.1"].label, rows["layer1.1"].key_params) == ("Basic", "channels=16")
    assert (rows["layer2"].label, rows["layer2"].key_params) == ("Stage", "channels=16, n=2")
    assert rows["layer2.0"].key_params == "channels=16, x2"
    conv = rows["layer1.0.conv1"]
    assert conv.key_params == "3x3 s1 p1 -> 16" and conv.block is None  # references resolved


def test_each_row_holds_exactly_the_sum_of_its_children() -> None:
    engine = tiny_engine()
    rows = summary_rows(engine)
    for row in walk(rows):
        if row.children:
            for field in ("params", "buffers", "macs", "activations"):
                inner = sum(getattr(c.info, field) for c in row.children)
                assert inner == getattr(row.info, field), (row.path, field)
    leaves = [r for r in walk(rows) if not r.children]
    totals = engine.totals()
    assert sum(r.info.params for r in leaves) == totals.params == 23_978
    assert sum(r.info.macs for r in leaves) == totals.macs
    # one Basic with 16 channels: two bias-free 3x3 convs and two BatchNorms
    assert by_path(rows)["layer1.1"].info.params == 2 * 16 * 16 * 9 + 2 * 32


@pytest.mark.parametrize("depth", [1, 2, 3, 4, None])
def test_depth_cuts_the_tree_and_never_the_numbers(depth: int | None) -> None:
    engine = tiny_engine()
    data = summary_dict(engine, depth)
    full = summary_dict(engine)
    assert [n["id"] for n in data["nodes"]] == [n["id"] for n in full["nodes"]]
    assert [n["params"] for n in data["nodes"]] == [n["params"] for n in full["nodes"]]
    assert data["total_params"] == full["total_params"]
    deepest = max(r.depth for r in walk(summary_rows(engine, depth)))
    assert deepest == (4 if depth is None else min(depth, 4))
    text = format_summary(engine, depth)
    assert "Total params: 23,978" in text
    assert ("layer1.0.conv1" in text) == (depth is None or depth >= 3)


def test_json_rows_carry_path_depth_block_and_children() -> None:
    data = summary_dict(tiny_engine(), 2)
    layer1 = next(n for n in data["nodes"] if n["id"] == "layer1")
    assert (layer1["path"], layer1["depth"], layer1["type"], layer1["block"]) == (
        "layer1", 1, "Block", "Basic")
    first = layer1["children"][0]
    assert (first["id"], first["path"], first["depth"]) == ("0", "layer1.0", 2)
    assert first["children"] == []  # cut at depth 2; its numbers stay
    assert first["params"] == layer1["params"] // 3
    conv = next(n for n in data["nodes"] if n["id"] == "conv1")
    assert conv["path"] == "conv1" and "children" not in conv and "block" not in conv


def test_the_table_indents_rows_inside_blocks_under_their_instance() -> None:
    lines = format_summary(tiny_engine(), 3).splitlines()
    row = next(line for line in lines if line.startswith("layer1 "))
    assert row.split()[:4] == ["layer1", "Basic", "(channels=16,", "x3)"]
    inner = next(line for line in lines if line.strip().startswith("layer1.0.conv1"))
    assert inner.startswith("    layer1.0.conv1 ") and inner.split()[1:4] == [
        "Conv2d", "16x32x32", "2,304"]


def test_a_problem_inside_a_block_is_named_by_its_path_once() -> None:
    engine = tiny_engine(conv1_kernel=99)
    text = format_summary(engine)
    problems = text[text.index("Problems:"):].splitlines()[1:]
    assert any(p.split()[:2] == ["error", "layer1.0/conv1:"] and "kernel 99" in p
               for p in problems), problems
    assert not any("layer1: layer1" in p for p in problems)
    rows = by_path(summary_rows(engine))
    # the instance counts nothing while in error, so no rows inside it claim a share
    assert rows["layer1"].info.diagnostics and rows["layer1"].info.params == 0
    assert rows["layer1"].children == ()


def test_a_graph_without_blocks_has_one_level_named_by_ids() -> None:
    data = summary_dict(engine_for(chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}))))
    assert [(n["path"], n["depth"]) for n in data["nodes"]] == [
        ("in", 1), ("n1", 1), ("out", 1)]
