"""Copy and paste of part of a graph: the fragment is plain JSON, pasting gives fresh ids and
keeps the inner wires in port order, undo takes it all back, and junk is refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import chain, flat_resnet_cifar

from dlbuilder.core.blocks import BlockDef
from dlbuilder.core.fileformat import graph_to_dict, load_graph
from dlbuilder.core.fragment import (
    FragmentError,
    check_fragment,
    copy_fragment,
    fragment_from_text,
    fragment_to_text,
    paste_commands,
)
from dlbuilder.core.graph import Graph
from dlbuilder.layers import REGISTRY

BLOCK = ["block2_conv1", "block2_bn1", "block2_relu1", "block2_conv2", "block2_bn2",
         "block2_proj", "block2_proj_bn", "block2_add"]


def test_copy_keeps_nodes_and_inner_wires_only() -> None:
    graph = flat_resnet_cifar()
    fragment = copy_fragment(graph, BLOCK)
    assert [n["id"] for n in fragment["nodes"]] == [n for n in graph.nodes() if n in BLOCK]
    wires = {(e["from"], e["to"]) for e in fragment["edges"]}
    assert ("block2_bn2", "block2_add") in wires and ("block2_proj_bn", "block2_add") in wires
    assert ("block1_relu", "block2_conv1") not in wires  # from outside the selection
    conv = next(n for n in fragment["nodes"] if n["id"] == "block2_conv1")
    assert conv["params"]["stride"] == 2 and conv["ui"] == graph.ui("block2_conv1")
    assert fragment_from_text(fragment_to_text(fragment)) == json.loads(json.dumps(fragment))


def test_copy_refuses_unknown_nodes() -> None:
    with pytest.raises(ValueError, match="nope"):
        copy_fragment(chain(), ["nope"])


def test_paste_gives_fresh_ids_and_keeps_ports() -> None:
    graph = flat_resnet_cifar()
    before = graph_to_dict(graph)
    fragment = copy_fragment(graph, BLOCK)
    command, new_ids = paste_commands(graph, fragment, offset=(40, 300))
    command.apply(graph)
    assert len(new_ids) == len(BLOCK) == len(set(new_ids))
    assert not set(new_ids) & set(BLOCK)
    renamed = dict(zip([n for n in graph.nodes() if n in BLOCK], new_ids, strict=True))
    add = renamed["block2_add"]
    assert graph.inputs(add) == [renamed["block2_bn2"], renamed["block2_proj_bn"]]
    assert graph.inputs(renamed["block2_conv1"]) == []  # its outside input was not copied
    old_ui, new_ui = graph.ui("block2_conv1"), graph.ui(renamed["block2_conv1"])
    assert (new_ui["x"], new_ui["y"]) == (old_ui["x"] + 40, old_ui["y"] + 300)
    assert graph.params(renamed["block2_conv1"]) == graph.params("block2_conv1")
    command.revert(graph)
    assert graph_to_dict(graph) == before


def test_paste_twice_never_collides() -> None:
    graph = chain(("ReLU", {}), ("ReLU", {}))
    fragment = copy_fragment(graph, ["n1", "n2"])
    seen = set(graph.nodes())
    for _ in range(3):
        command, new_ids = paste_commands(graph, fragment)
        command.apply(graph)
        assert not set(new_ids) & seen
        seen |= set(new_ids)
        assert graph.inputs(new_ids[1]) == [new_ids[0]]


def test_paste_into_an_empty_graph_keeps_ids() -> None:
    fragment = copy_fragment(chain(("ReLU", {})), ["in", "n1"])
    graph = Graph()
    command, new_ids = paste_commands(graph, fragment)
    command.apply(graph)
    assert new_ids == ["in", "n1"] and graph.edges() == [("in", "n1", 0)]
    assert command.text == "Paste 2 nodes"


def test_paste_keeps_input_order_of_a_merge() -> None:
    graph = Graph()
    for node in ("a", "b", "c"):
        graph.add_node(node, "ReLU")
    graph.add_node("cat", "Concat")
    for node in ("c", "a", "b"):
        graph.add_edge(node, "cat")
    command, ids = paste_commands(graph, copy_fragment(graph, ["a", "b", "c", "cat"]))
    command.apply(graph)
    by_old = dict(zip(["a", "b", "c", "cat"], ids, strict=True))
    assert graph.inputs(by_old["cat"]) == [by_old["c"], by_old["a"], by_old["b"]]


def fragment(**changes: object) -> dict:
    base = {"format": "dlbuilder.fragment", "version": 1,
            "nodes": [{"id": "a", "type": "ReLU", "params": {}, "ui": {"x": 0, "y": 0}},
                      {"id": "b", "type": "ReLU", "params": {}}],
            "edges": [{"from": "a", "to": "b", "to_port": 0}]}
    base.update(changes)
    return base


@pytest.mark.parametrize(("data", "message"), [
    ([1, 2], "does not hold copied layers"),
    ({"format": "dlbuilder.graph"}, "does not hold copied layers"),
    (fragment(version=7), "version 7"),
    (fragment(nodes={"a": 1}), "must be lists"),
    (fragment(nodes=["a"]), "node 0 must be an object"),
    (fragment(nodes=[{"type": "ReLU"}]), "needs a non-empty string 'id'"),
    (fragment(nodes=[{"id": "a"}]), "needs a string 'type'"),
    (fragment(nodes=[{"id": "a", "type": "ReLU"}] * 2, edges=[]), "appears twice"),
    (fragment(nodes=[{"id": "a", "type": "ReLU", "params": [1]}], edges=[]), "'params'"),
    (fragment(edges=[{"from": "a", "to": "zz"}]), "'to' must name a copied node"),
    (fragment(edges=[{"from": "a", "to": "b", "to_port": -1}]), "to_port"),
    (fragment(edges=[{"from": "a", "to": "b", "to_port": True}]), "to_port"),
])
def test_bad_fragments_are_refused_with_a_reason(data: object, message: str) -> None:
    with pytest.raises(FragmentError, match=message):
        check_fragment(data)
    with pytest.raises(ValueError, match=message):
        fragment_from_text(json.dumps(data))


def test_text_that_is_not_json() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        fragment_from_text("conv1, conv2")
    with pytest.raises(ValueError, match="not JSON"):
        fragment_from_text(b"\xff\xfe")


def test_odd_positions_become_zero() -> None:
    data = fragment(nodes=[{"id": "a", "type": "ReLU", "ui": {"x": "left", "y": float("inf")}}],
                    edges=[])
    command, (new,) = paste_commands(Graph(), data, offset=(20, 40))
    graph = Graph()
    command.apply(graph)
    assert graph.ui(new) == {"x": 20, "y": 40}


# -- block instances carry their definitions -------------------------------------------------
def _tiny() -> Graph:
    return load_graph(Path(__file__).parent / "data" / "blocks_tiny.json", REGISTRY)


def _paste_into(graph: Graph, fragment: dict, container: str | None = None) -> list[str]:
    command, ids = paste_commands(graph, fragment, (0, 0), REGISTRY, container)
    command.apply(graph)
    return ids


def test_a_copied_instance_brings_its_blocks_into_another_file() -> None:
    source = _tiny()
    fragment = fragment_from_text(fragment_to_text(copy_fragment(source, ["layer2"])))
    assert [b["name"] for b in fragment["blocks"]] == ["Basic", "Stage"]
    target = Graph("other")
    (new,) = _paste_into(target, fragment)
    assert list(target.blocks) == ["Basic", "Stage"]
    assert target.raw_params(new)["block"] == "Stage"


def test_pasting_into_the_same_file_reuses_identical_blocks() -> None:
    graph = _tiny()
    _paste_into(graph, copy_fragment(graph, ["layer1"]))
    assert list(graph.blocks) == ["Basic", "Stage"]


def test_a_different_block_of_the_same_name_comes_in_renamed() -> None:
    source = _tiny()
    fragment = copy_fragment(source, ["layer1"])
    target = _tiny()
    inner = target.block("Basic").graph
    inner.set_params("conv1", {**inner.params("conv1"), "bias": True})
    (new,) = _paste_into(target, fragment)
    assert target.raw_params(new)["block"] == "Basic2" and "Basic2" in target.blocks


def test_pasting_a_block_into_itself_is_refused() -> None:
    graph = _tiny()
    fragment = copy_fragment(graph, ["layer2"])
    with pytest.raises(FragmentError, match="cannot contain itself: Basic > Stage > Basic"):
        paste_commands(graph.block("Basic").graph, fragment, (0, 0), REGISTRY, "Basic")


def test_pasting_undoes_its_blocks_too() -> None:
    source = _tiny()
    target = Graph("other")
    command, _ids = paste_commands(target, copy_fragment(source, ["layer2"]), (0, 0), REGISTRY)
    command.apply(target)
    command.revert(target)
    assert target.blocks == {} and len(target) == 0


def test_a_new_block_that_holds_the_open_one_is_refused_too() -> None:
    """Wrap (not in the file yet) places Basic: pasting it inside Basic closes a loop through
    a definition the paste itself brings in."""
    other = _tiny()
    inner = Graph("Wrap")
    for node, type_name, params in (("x", "BlockInput", {}), ("b", "Block", {"block": "Basic"}),
                                    ("y", "BlockOutput", {})):
        inner.add_node(node, type_name, params)
    inner.add_edge("x", "b")
    inner.add_edge("b", "y")
    other.add_block(BlockDef("Wrap", (), inner))
    other.add_node("w", "Block", {"block": "Wrap"})
    graph = _tiny()
    with pytest.raises(FragmentError, match="cannot contain itself: Basic > Wrap > Basic"):
        paste_commands(graph.block("Basic").graph, copy_fragment(other, ["w"]), (0, 0),
                       REGISTRY, "Basic")
