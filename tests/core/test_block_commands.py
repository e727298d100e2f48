"""Undoable edits of blocks: editing inside a definition, adding, removing, re-declaring and
renaming definitions, where an instance may be placed, grouping, and fixes inside blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import engine_for, problems

from dlbuilder.core.block_commands import (
    AddBlock,
    DeclareBlock,
    InBlock,
    RemoveBlock,
    RenameBlock,
    place_problem,
)
from dlbuilder.core.blocks import BLOCK_INPUT, BLOCK_OUTPUT, BlockDef, BlockParam, ref
from dlbuilder.core.commands import History, SetParams
from dlbuilder.core.fileformat import load_graph
from dlbuilder.core.fixes import apply_fix
from dlbuilder.core.graph import Graph, GraphError
from dlbuilder.core.grouping import ENDS, group_nodes
from dlbuilder.core.layout import NODE_SIZE
from dlbuilder.core.placement import ui_position
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parent / "data" / "blocks_tiny.json"


def tiny() -> Graph:
    return load_graph(TINY, REGISTRY)


def snapshot(graph: Graph) -> Any:
    """Everything a file keeps of a graph, in order: nodes, wires (ports, outputs), blocks."""
    blocks = [(d.name, d.params, d.doc, _layers(d.graph)) for d in graph.blocks.values()]
    return _layers(graph), blocks


def _layers(graph: Graph) -> Any:
    nodes = [(n, graph.type_of(n), graph.params(n), graph.ui(n)) for n in graph.nodes()]
    wires = [(src, dst, port, graph.from_port(src, dst)) for src, dst, port in graph.edges()]
    return nodes, wires


def numbers(graph: Graph) -> tuple:
    engine = engine_for(graph)
    t = engine.totals()
    out = next(n for n in graph.nodes() if graph.type_of(n) == "Output")
    return (t.params, t.buffers, t.macs, t.activations, engine.info(out).output_shape)


# -- InBlock ----------------------------------------------------------------------------------
def test_in_block_edits_the_definition_for_every_instance_as_one_step() -> None:
    graph = tiny()
    engine = engine_for(graph)
    before, params = snapshot(graph), engine.totals().params
    history = History(graph)
    command = InBlock("Basic", SetParams("conv1", {"bias": True}))
    assert command.text == "Set bias of conv1 in Basic"
    history.push(command)
    assert graph.block("Basic").graph.params("conv1")["bias"] is True
    assert engine.totals().params == params + 16 * 5  # 3 repeats of layer1 + 2 inside layer2
    history.undo()
    assert snapshot(graph) == before
    assert engine.totals().params == params
    history.redo()
    assert engine.totals().params == params + 16 * 5


# -- AddBlock, RemoveBlock ----------------------------------------------------------------------
def _identity_block(name: str) -> BlockDef:
    inner = Graph(name)
    inner.add_node("x", BLOCK_INPUT)
    inner.add_node("act", "ReLU")
    inner.add_node("y", BLOCK_OUTPUT)
    inner.add_edge("x", "act")
    inner.add_edge("act", "y")
    return BlockDef(name, (), inner, "a ReLU")


def test_add_and_remove_block_undo_to_the_same_place_in_the_list() -> None:
    graph = tiny()
    before = snapshot(graph)
    history = History(graph)
    history.push(AddBlock(_identity_block("Act"), 1))
    assert list(graph.blocks) == ["Basic", "Act", "Stage"]
    history.push(RemoveBlock("Act"))
    assert list(graph.blocks) == ["Basic", "Stage"]
    history.undo()
    assert list(graph.blocks) == ["Basic", "Act", "Stage"]
    history.undo()
    assert snapshot(graph) == before


def test_removing_a_block_in_use_is_refused_naming_its_instances() -> None:
    graph = tiny()
    with pytest.raises(GraphError, match=r"Basic is used by layer1, Stage/0; delete or "
                                         r"ungroup them first"):
        RemoveBlock("Basic").apply(graph)
    with pytest.raises(GraphError, match="there is no block 'Nope'"):
        RemoveBlock("Nope").apply(graph)
    assert list(graph.blocks) == ["Basic", "Stage"]


# -- DeclareBlock -------------------------------------------------------------------------------
def test_declare_keeps_arguments_drops_removed_ones_and_revert_restores_them() -> None:
    graph = tiny()
    before = snapshot(graph)
    stage = graph.block("Stage")
    command = DeclareBlock("Stage", (stage.params[1], BlockParam("width", 8, 1, 64)), "two")
    command.apply(graph)
    assert graph.params("layer2") == {"block": "Stage", "n": 2}
    assert [p.name for p in stage.params] == ["n", "width"] and stage.doc == "two"
    command.revert(graph)
    assert snapshot(graph) == before


@pytest.mark.parametrize(("params", "words"), [
    ((BlockParam("Bad", 1),), "lower-case"),
    ((BlockParam("repeat", 1),), "taken"),
    ((BlockParam("c", 1), BlockParam("c", 2)), "two parameters are named 'c'"),
    ((BlockParam("c", 0, 1),), "the default of c = 0 is below its minimum 1"),
    ((BlockParam("c", 5, 9, 2),), "minimum 9 is above the maximum 2"),
])
def test_declare_refuses_bad_parameters(params: tuple, words: str) -> None:
    graph = tiny()
    before = snapshot(graph)
    with pytest.raises(GraphError, match=words):
        DeclareBlock("Basic", params).apply(graph)
    assert snapshot(graph) == before


# -- RenameBlock --------------------------------------------------------------------------------
def test_rename_block_takes_every_instance_along_in_one_step() -> None:
    graph = tiny()
    engine = engine_for(graph)
    before = snapshot(graph)
    history = History(graph)
    history.push(RenameBlock("Basic", "BasicBlock"))
    assert list(graph.blocks) == ["BasicBlock", "Stage"]
    assert graph.params("layer1")["block"] == "BasicBlock"
    assert graph.block("Stage").graph.params("0")["block"] == "BasicBlock"
    assert graph.block("BasicBlock").name == "BasicBlock"
    assert engine.diagnostics() == []
    history.undo()
    assert snapshot(graph) == before
    assert engine.diagnostics() == []
    graph.block("Basic").graph.set_params("conv1", {**graph.block("Basic").graph.params(
        "conv1"), "bias": True})  # the definition is watched again under its old name
    assert engine.totals().params > 0


@pytest.mark.parametrize(("new", "words"), [
    ("Stage", "already a block named 'Stage'"), ("2nd", "Python class name"),
    ("Block", "taken by dlbuilder"),
])
def test_rename_block_refuses_bad_names(new: str, words: str) -> None:
    graph = tiny()
    with pytest.raises(GraphError, match=words):
        RenameBlock("Basic", new).apply(graph)
    assert list(graph.blocks) == ["Basic", "Stage"]


# -- place_problem ------------------------------------------------------------------------------
def test_place_problem_refuses_a_block_that_would_contain_itself() -> None:
    graph = tiny()
    assert place_problem(graph, None, "Stage") is None
    assert place_problem(graph, "Stage", "Basic") is None
    assert place_problem(graph, "Basic", "Stage") == (
        "a block cannot contain itself: Basic > Stage > Basic; place a different block or "
        "move the layers out")
    assert "Stage > Stage" in place_problem(graph, "Stage", "Stage")
    assert place_problem(graph, None, "Nope") == "there is no block 'Nope'"


# -- group_nodes --------------------------------------------------------------------------------
def _residual() -> Graph:
    """in -> conv -> a -> b -> add(a... shortcut) -> fc -> out, with positions."""
    graph = Graph("res")
    spec = [("in", "Input", {"shape": [4, 8, 8]}), ("conv", "Conv2d", {"out_channels": 4,
            "kernel_size": 3, "padding": 1}), ("a", "ReLU", {}),
            ("b", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}),
            ("add", "Add", {}), ("flat", "Flatten", {}), ("fc", "Linear", {"out_features": 3}),
            ("out", "Output", {})]
    for i, (node, type_name, params) in enumerate(spec):
        graph.add_node(node, type_name, params, {"x": 260 * i, "y": 0})
    for src, dst in [("in", "conv"), ("conv", "a"), ("a", "b"), ("b", "add"), ("conv", "add"),
                     ("add", "flat"), ("flat", "fc"), ("fc", "out")]:
        graph.add_edge(src, dst)
    return graph


def test_group_makes_a_block_with_ports_in_order_and_undo_restores_exactly() -> None:
    graph = _residual()
    before, figures = snapshot(graph), numbers(graph)
    history = History(graph)
    command = group_nodes(graph, ["b", "a", "add"], "Res", "layer1")
    assert command.text == "Group 3 layers into block Res"
    history.push(command)
    assert graph.nodes() == ["in", "conv", "layer1", "flat", "fc", "out"]
    assert graph.params("layer1") == {"block": "Res"}
    assert graph.input_sources("layer1") == [("conv", 0)]
    assert graph.ui("layer1") == {"x": 780, "y": 0}  # the middle of a..add
    inner = graph.block("Res").graph
    assert inner.nodes() == ["x", "a", "b", "add", "y"]
    assert inner.edges() == [("x", "a", 0), ("a", "b", 0), ("b", "add", 0), ("x", "add", 1),
                             ("add", "y", 0)]
    assert inner.ui("x") == {"x": 520 - 260, "y": 0} and inner.ui("y") == {"x": 1040 + 260,
                                                                            "y": 0}
    assert numbers(graph) == figures
    assert problems(engine_for(graph)) == []
    history.undo()
    assert snapshot(graph) == before


def test_group_names_are_fresh() -> None:
    graph = _residual()
    group_nodes(graph, ["a"]).apply(graph)
    group_nodes(graph, ["fc"]).apply(graph)
    assert list(graph.blocks) == ["Block", "Block2"]
    assert "block1" in graph and "block2" in graph


def test_group_with_several_inputs_and_outputs_keeps_port_order() -> None:
    graph = _residual()
    graph.add_node("side", "ReLU")
    graph.remove_edge("add", "flat")
    graph.add_edge("b", "side")
    graph.add_node("join", "Add")
    graph.add_edge("side", "join")
    graph.add_edge("add", "join")
    graph.add_edge("join", "flat")
    before, figures = snapshot(graph), numbers(graph)
    command = group_nodes(graph, ["b", "add"], "Two")
    command.apply(graph)
    defn = graph.block("Two")
    assert defn.ports() == (["x1", "x2"], ["y1", "y2"])
    assert graph.input_sources("block1") == [("a", 0), ("conv", 0)]
    assert sorted(graph.output_ports("block1")) == [("join", 1), ("side", 0)]
    assert graph.inputs("join") == ["side", "block1"]
    assert numbers(graph) == figures
    command.revert(graph)
    assert snapshot(graph) == before


@pytest.mark.parametrize(("nodes", "words"), [
    ([], "nothing is selected"),
    (["a", "ghost"], "cannot group 'ghost': no such node"),
    (["in", "conv"], r"in \(Input\) belongs to the whole network"),
    (["fc", "out"], r"out \(Output\) belongs to the whole network"),
    (["conv", "add"], r"cycle: conv -> a -> b -> add .*add a, b to the selection"),
])
def test_group_refuses_selections_that_cannot_be_a_block(nodes: list[str], words: str) -> None:
    graph = _residual()
    with pytest.raises(GraphError, match=words):
        group_nodes(graph, nodes)


def test_group_refuses_two_wires_between_the_same_two_nodes() -> None:
    graph = _residual()
    with pytest.raises(GraphError, match="add takes two inputs from the selection"):
        group_nodes(graph, ["conv", "b"])  # a's and b's... conv and b both feed add
    with pytest.raises(GraphError, match="already a block named 'Basic'"):
        group_nodes(tiny(), ["conv1"], "Basic")
    with pytest.raises(GraphError, match="already a node 'fc'"):
        group_nodes(graph, ["a"], None, "fc")


def test_ends_are_the_registry_input_and_output() -> None:
    assert REGISTRY.types_with_role("input") | REGISTRY.types_with_role("output") == ENDS


def test_group_inside_a_definition_nests_and_passes_references_on() -> None:
    graph = tiny()
    engine = engine_for(graph)
    before, figures = snapshot(graph), numbers(graph)
    history = History(graph)
    inner = graph.block("Basic").graph
    history.push(InBlock("Basic", group_nodes(inner, ["conv1", "bn1", "relu"], "ConvBnRelu",
                                              "cbr")))
    assert list(graph.blocks) == ["Basic", "Stage", "ConvBnRelu"]
    assert inner.params("cbr") == {"block": "ConvBnRelu", "channels": ref("channels")}
    assert graph.block("ConvBnRelu").params == graph.block("Basic").params[:1]
    assert engine.diagnostics() == []
    assert numbers(graph) == figures
    history.undo()
    assert snapshot(graph) == before


# -- fixes inside blocks ------------------------------------------------------------------------
def test_a_fix_inside_a_block_applies_to_the_definition_for_every_instance() -> None:
    graph = tiny()
    graph.set_params("in", {"shape": [3, 2, 2]})
    engine = engine_for(graph)
    history = History(graph)
    history.push(InBlock("Basic", SetParams("conv1", {"kernel_size": 5})))
    found = [d for d in engine.diagnostics() if d.code == "kernel_too_large"]
    assert [(d.node, d.inside) for d in found] == [("layer1", ("layer1", "conv1"))]
    fix = found[0].fix  # layer2 waits for layer1's shape
    assert fix is not None and fix.block == "Basic"
    command = apply_fix(graph, fix)
    assert command.text == fix.label
    assert graph.block("Basic").graph.params("conv1")["padding"] == 2
    assert engine.diagnostics() == []  # layer1's 3 repeats and layer2's Basic inside Stage
    assert engine.info("layer2").output_shape == (16, 2, 2)
    command.revert(graph)
    assert graph.block("Basic").graph.params("conv1")["padding"] == 1
    assert [d.code for d in engine.diagnostics()] == ["kernel_too_large"]


def test_group_of_the_network_end_carries_the_result_out() -> None:
    graph = _residual()
    graph.remove_node("out")
    figures = numbers_at_end(graph)
    group_nodes(graph, ["flat", "fc"], "Head").apply(graph)
    assert graph.block("Head").ports() == (["x"], ["y"])
    assert numbers_at_end(graph) == figures
    graph.add_node("lone", "ReLU")
    with pytest.raises(GraphError, match="no wire comes into the selection"):
        group_nodes(graph, ["lone"])


def numbers_at_end(graph: Graph) -> tuple:
    engine = engine_for(graph)
    end = next(n for n in graph.nodes() if not graph.outputs(n))
    return engine.totals(), engine.info(end).output_shape


def test_a_block_edit_inside_a_definition_needs_in_block() -> None:
    graph = tiny()
    inner = graph.block("Basic").graph
    command = group_nodes(inner, ["conv1"], "One")
    with pytest.raises(GraphError, match="must be applied through InBlock"):
        command.apply(inner)
    assert list(graph.blocks) == ["Basic", "Stage"] and "conv1" in inner


def test_the_new_card_covers_no_other_card() -> None:
    """lenet5's rows wrap: the middle of c1..s2 can fall between rows, on c3's header."""
    graph = load_graph(Path(__file__).parents[2] / "examples" / "lenet5.json", REGISTRY)
    chosen = ["c1", "tanh1", "s2"]
    before = {n: ui_position(graph.ui(n)) for n in chosen}
    History(graph).push(group_nodes(graph, chosen, "Front", "front"))
    x, y = ui_position(graph.ui("front"))
    assert (x, y) in before.values()
    width, height = NODE_SIZE
    for other in graph.nodes():
        ox, oy = ui_position(graph.ui(other))
        assert other == "front" or abs(ox - x) >= width or abs(oy - y) >= height, other
