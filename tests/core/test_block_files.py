"""Format version 2: block definitions in the graph file, read with every problem's place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlbuilder.core.fileformat import GraphFileError, dumps_graph, graph_from_dict, loads_graph
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parent / "data" / "blocks_tiny.json"


def tiny_data() -> dict:
    return json.loads(TINY.read_text(encoding="utf-8"))


def problems_of(data: dict) -> list[str]:
    with pytest.raises(GraphFileError) as caught:
        graph_from_dict(data, REGISTRY)
    return [str(p) for p in caught.value.problems]


def test_blocks_round_trip_to_the_same_text() -> None:
    graph = graph_from_dict(tiny_data(), REGISTRY)
    text = dumps_graph(graph)
    assert json.loads(text)["version"] == 2
    again = loads_graph(text, REGISTRY)
    assert dumps_graph(again) == text
    assert list(again.blocks) == ["Basic", "Stage"]
    assert again.block("Stage").graph.blocks is again.blocks
    assert again.block("Basic").graph.raw_params("conv1")["out_channels"] == {"expr": "channels"}


def test_each_block_sits_on_readable_lines() -> None:
    text = dumps_graph(graph_from_dict(tiny_data(), REGISTRY))
    assert '\n       {"id": "conv1", "type": "Conv2d"' in text
    assert '\n    {"name": "Stage", "params": [{"name": "channels", "default": 16}' in text


def test_a_graph_without_blocks_is_still_written_as_version_1() -> None:
    data = tiny_data()
    del data["blocks"]
    data["nodes"] = [n for n in data["nodes"] if n["type"] != "Block"]
    data["edges"] = [e for e in data["edges"] if "layer" not in e["from"] + e["to"]]
    text = dumps_graph(graph_from_dict(data, REGISTRY))
    assert json.loads(text)["version"] == 1 and "blocks" not in json.loads(text)


def test_blocks_in_a_version_1_file_are_refused() -> None:
    data = tiny_data()
    data["version"] = 1
    assert problems_of(data) == ["blocks: blocks need format version 2; the file says 1"]


def test_definition_problems_are_placed() -> None:
    data = tiny_data()
    basic, stage = data["blocks"]
    basic["params"] = [{"name": "channels", "default": 0, "min": 1},
                       {"name": "repeat", "default": 1}, {"name": "x", "default": "two"}]
    basic["edges"].append({"from": "conv1", "to": "nowhere"})
    stage["colour"] = "red"
    data["blocks"].append({"name": "3D", "nodes": [], "edges": []})
    data["blocks"].append(dict(stage))
    found = problems_of(data)
    assert found == [
        "blocks[0] (Basic).params[0]: the default is out of range: channels = 0 is below its "
        "minimum 1",
        "blocks[0] (Basic).params[1]: parameter name 'repeat' is taken: an instance uses it "
        "for its own setting",
        "blocks[0] (Basic).params[2].default: must be a whole number, got 'two'",
        "blocks[0] (Basic).edges[9].to: 'nowhere' is not a node id",
        "blocks[1] (Stage): unknown key 'colour' (known: doc, edges, name, nodes, params)",
        "blocks[2].name: block name '3D' must be a Python class name: letters, digits and "
        "underscores, not starting with a digit (e.g. BasicBlock)",
        "blocks[3] (Stage): unknown key 'colour' (known: doc, edges, name, nodes, params)",
        "blocks[3]: a second block named 'Stage'; block names are unique",
        "block 'Stage', node '0': places block 'Basic', which is not defined (defined: Stage)",
        "node 'layer1': places block 'Basic', which is not defined (defined: Stage)",
    ]


def test_a_block_that_contains_itself_is_refused_with_the_chain() -> None:
    data = tiny_data()
    basic = data["blocks"][0]
    basic["nodes"].append({"id": "inner", "type": "Block", "params": {"block": "Stage"}})
    assert problems_of(data) == ["block 'Basic': a block cannot contain itself: Basic > Stage > "
                                 "Basic; place a different block or move the layers out"]


def test_an_instance_must_name_its_block() -> None:
    data = tiny_data()
    data["nodes"][2]["params"] = {"channels": 16}
    assert problems_of(data) == ["nodes[2] (id 'layer1'): a Block node must name its block: "
                                 "params.block"]
