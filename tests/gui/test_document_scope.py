"""The Document's scope: opening a block shows its definition with the numbers of the instance
it came from, edits go inside the definition as one undo step and one `changed`, and undo or
redo go back to where the step was made."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlbuilder.core.commands import AddNode, SetParams
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.graph import Graph
from dlbuilder.gui.document import Document
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parents[1] / "core" / "data" / "blocks_tiny.json"


@pytest.fixture
def doc(qapp) -> Document:
    return Document(load_graph(TINY, REGISTRY))


def changes(doc: Document) -> list:
    seen: list = []
    doc.changed.connect(seen.append)
    return seen


def test_top_level_scope(doc: Document) -> None:
    scope = doc.scope
    assert scope.graph is doc.graph and scope.engine is doc.engine
    assert scope.block is None and scope.trail == ()


def test_open_block_shows_the_definition_with_the_instances_numbers(doc: Document) -> None:
    scopes: list = []
    doc.scope_changed.connect(scopes.append)
    assert doc.open_block("layer1")
    scope = doc.scope
    assert scopes == [scope]
    assert scope.block == "Basic" and scope.graph is doc.graph.block("Basic").graph
    assert scope.engine is doc.engine.runs("layer1")[0]
    assert scope.engine.info("conv1").output_shape == (16, 32, 32)
    assert [(c.node, c.block) for c in scope.trail] == [("layer1", "Basic")]
    assert scope.words("tiny") == "tiny > layer1 (Basic)"


def test_blocks_nest_and_leave_goes_back_selecting_the_instance(doc: Document) -> None:
    doc.open_block("layer2")
    assert doc.open_block("0")
    assert doc.scope.block == "Basic" and doc.scope.path == ("layer2", "0")
    assert doc.scope.engine is doc.engine.runs("layer2")[0].runs("0")[0]
    doc.leave()
    assert doc.scope.block == "Stage" and doc.selection() == ("0",)
    doc.open_block("0")
    doc.leave(0)
    assert doc.scope.block is None and doc.selection() == ("layer2",)


def test_open_refuses_a_layer(doc: Document) -> None:
    reasons: list[str] = []
    doc.refused.connect(reasons.append)
    assert not doc.open_block("conv1")
    assert "not a block" in reasons[0] and doc.scope.block is None


def test_push_inside_a_block_edits_the_definition_once(doc: Document) -> None:
    doc.open_block("layer1")
    seen = changes(doc)
    assert doc.push(SetParams("conv1", {"out_channels": {"expr": "channels * 2"}}))
    assert len(seen) == 1
    change = seen[0]
    assert change.params_changed == {"conv1"} and change.blocks == {"Basic"}
    assert "conv1" in change.shapes  # its run was evaluated anew: 32 channels now
    assert doc.scope.engine is doc.engine.runs("layer1")[0]
    assert doc.scope.engine.info("conv1").output_shape == (32, 32, 32)
    inner = doc.graph.block("Basic").graph
    assert inner.raw_params("conv1")["out_channels"] == {"expr": "channels * 2"}
    assert doc.graph.raw_params("conv1")["out_channels"] == 16  # the top level's own conv1
    assert doc.undo_stack.count() == 1


def test_new_nodes_inside_a_block_are_named_by_the_change(doc: Document) -> None:
    doc.open_block("layer1")
    seen = changes(doc)
    node = doc.add_layer("ReLU", 400, 400)
    assert node in doc.scope.graph and node not in doc.graph
    assert seen[-1].nodes_added == (node,)
    assert doc.selection() == (node,)


def test_undo_elsewhere_goes_back_to_where_the_edit_was_made(doc: Document) -> None:
    doc.open_block("layer2")
    doc.open_block("0")
    doc.push(SetParams("conv1", {"kernel_size": 5, "padding": 2}))
    doc.leave(0)
    seen = changes(doc)
    doc.undo_stack.undo()
    assert doc.scope.path == ("layer2", "0")
    assert doc.graph.block("Basic").graph.raw_params("conv1")["kernel_size"] == 3
    assert len(seen) == 1 and seen[0].params_changed == {"conv1"}
    doc.leave(0)
    doc.undo_stack.redo()
    assert doc.scope.path == ("layer2", "0")
    assert doc.graph.block("Basic").graph.raw_params("conv1")["kernel_size"] == 5


def test_edit_at_top_level_is_not_wrapped(doc: Document) -> None:
    doc.push(AddNode("extra", "ReLU"))
    assert "extra" in doc.graph


def test_a_removed_instance_ends_the_trail(doc: Document) -> None:
    doc.open_block("layer1")
    doc.graph.remove_node("layer1")  # a script, not the editor
    assert doc.scope.block is None


def test_replace_goes_back_to_the_top(doc: Document) -> None:
    doc.open_block("layer1")
    doc.replace(Graph())
    assert doc.scope.block is None and doc.scope.graph is doc.graph


def test_open_path_shows_an_inner_node(doc: Document) -> None:
    doc.open_path(("layer2", "0", "conv2"))
    assert doc.scope.path == ("layer2", "0") and doc.selection() == ("conv2",)


def test_an_instance_without_a_run_still_opens(qapp) -> None:
    graph = load_graph(TINY, REGISTRY)
    graph.remove_edge("conv1", "layer1")  # no input: no run
    doc = Document(graph)
    assert doc.engine.runs("layer1") == []
    assert doc.open_block("layer1")
    assert doc.scope.engine.info("conv1").output_shape is None
    assert doc.push(SetParams("conv1", {"kernel_size": 5}))
