"""Layers with several outputs: wires name the output they leave from (`from_port`).

The model, the commands (undo/redo), the file format (old files load; files without such layers
save byte for byte as before), copy/paste, wiring rules, inference and the summary all carry it.
"""

from __future__ import annotations

import json

import pytest
from helpers import engine_for

from dlbuilder.core.commands import (
    AddEdge,
    History,
    RemoveEdge,
    RemoveNode,
    RenameNode,
    bypass,
    insert_between,
)
from dlbuilder.core.fileformat import GraphFileError, dumps_graph, loads_graph
from dlbuilder.core.fixes import apply_fix
from dlbuilder.core.fragment import copy_fragment, paste_commands
from dlbuilder.core.graph import EdgeAdded, EdgeRemoved, Graph, GraphError
from dlbuilder.core.summary import format_summary, summary_dict
from dlbuilder.core.wiring import connect_problem
from dlbuilder.layers import REGISTRY
from dlbuilder.layers.split import chunk_sizes


def split_graph(channels: int = 8, chunks: int = 2) -> Graph:
    """Input -> Chunk -> (port 0: left ReLU, port 1: right Conv) -> Concat -> Output."""
    graph = Graph("split")
    graph.add_node("in", "Input", {"shape": [channels, 6, 6]})
    graph.add_node("split", "Chunk", {"chunks": chunks})
    graph.add_node("left", "ReLU")
    graph.add_node("right", "Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1})
    graph.add_node("cat", "Concat")
    graph.add_node("out", "Output", {"loss": "MSELoss"})
    graph.add_edge("in", "split")
    graph.add_edge("split", "left")
    graph.add_edge("split", "right", from_port=1)
    graph.add_edge("left", "cat")
    graph.add_edge("right", "cat")
    graph.add_edge("cat", "out")
    return graph


def wires(graph: Graph) -> list[tuple[str, str, int, int]]:
    return [(s, d, p, graph.from_port(s, d)) for s, d, p in graph.edges()]


# -- the model -------------------------------------------------------------------------------
def test_from_port_defaults_to_zero_and_is_reported_in_events() -> None:
    graph = split_graph()
    events: list[object] = []
    graph.subscribe(events.append)
    assert graph.from_port("in", "split") == 0
    assert graph.input_sources("right") == [("split", 1)]
    graph.remove_edge("split", "right")
    graph.add_edge("split", "right", from_port=1)
    assert events == [EdgeRemoved("split", "right", 0, 1), EdgeAdded("split", "right", 0, 1)]


@pytest.mark.parametrize("bad", [-1, True, 1.0, "1"])
def test_a_bad_output_number_is_refused(bad: object) -> None:
    graph = split_graph()
    graph.remove_edge("split", "right")
    with pytest.raises(GraphError, match="is not an output number"):
        graph.add_edge("split", "right", from_port=bad)  # type: ignore[arg-type]


# -- commands: every edit that rewires keeps the output a wire leaves from --------------------
@pytest.mark.parametrize("make", [
    lambda g: RemoveNode("split"),
    lambda g: RemoveNode("right"),
    lambda g: RemoveEdge("split", "right"),
    lambda g: RenameNode("split", "halves"),
    lambda g: insert_between(g, "split", "right", "act", "ReLU"),
    lambda g: bypass(g, "right"),
])
def test_commands_undo_and_redo_keep_from_port(make) -> None:
    graph = split_graph()
    before = wires(graph)
    history = History(graph)
    history.push(make(graph))
    after = wires(graph)
    history.undo()
    assert wires(graph) == before
    history.redo()
    assert wires(graph) == after


def test_rename_and_insert_keep_the_output() -> None:
    graph = split_graph()
    History(graph).push(RenameNode("split", "halves"))
    assert graph.from_port("halves", "right") == 1
    History(graph).push(insert_between(graph, "halves", "right", "act", "ReLU"))
    assert graph.from_port("halves", "act") == 1 and graph.from_port("act", "right") == 0


def test_bypass_wires_the_successors_from_the_bypassed_layers_source_port() -> None:
    graph = split_graph()
    History(graph).push(bypass(graph, "right"))
    assert graph.from_port("split", "cat") == 1
    assert graph.inputs("cat") == ["left", "split"]


def test_add_edge_command_names_the_output() -> None:
    graph = split_graph()
    graph.remove_edge("split", "right")
    command = AddEdge("split", "right", from_port=1)
    assert command.text == "Connect split output 1 to right"
    History(graph).push(command)
    assert graph.from_port("split", "right") == 1
    assert AddEdge("in", "split").text == "Connect in to split"


# -- file format -----------------------------------------------------------------------------
OLD_FILE = """{
  "format": "dlbuilder.graph",
  "version": 1,
  "name": "old",
  "nodes": [
    {"id": "in", "type": "Input", "params": {"shape": [3, 8, 8]}},
    {"id": "a", "type": "Conv2d", "params": {"out_channels": 4, "kernel_size": 3}},
    {"id": "b", "type": "ReLU", "params": {}},
    {"id": "c", "type": "ReLU", "params": {}},
    {"id": "add", "type": "Add", "params": {}}
  ],
  "edges": [
    {"from": "in", "to": "a", "to_port": 0},
    {"from": "a", "to": "b", "to_port": 0},
    {"from": "a", "to": "c", "to_port": 0},
    {"from": "b", "to": "add", "to_port": 0},
    {"from": "c", "to": "add", "to_port": 1}
  ]
}
"""


def test_an_older_file_loads_and_saves_byte_for_byte() -> None:
    graph = loads_graph(OLD_FILE, REGISTRY)
    assert all(graph.from_port(s, d) == 0 for s, d, _ in graph.edges())
    assert dumps_graph(graph) == OLD_FILE
    assert "from_port" not in dumps_graph(graph)


def test_from_port_is_written_only_when_not_zero_and_round_trips() -> None:
    graph = split_graph()
    text = dumps_graph(graph)
    edges = json.loads(text)["edges"]
    assert [e.get("from_port") for e in edges] == [None, None, 1, None, None, None]
    assert '{"from": "split", "to": "right", "to_port": 0, "from_port": 1}' in text
    again = loads_graph(text, REGISTRY)
    assert wires(again) == wires(graph)
    assert dumps_graph(again) == text


@pytest.mark.parametrize("bad", [-1, "1", 1.5, True, None])
def test_a_bad_from_port_in_a_file_is_named(bad: object) -> None:
    data = json.loads(dumps_graph(split_graph()))
    data["edges"][2]["from_port"] = bad
    with pytest.raises(GraphFileError) as caught:
        loads_graph(json.dumps(data), REGISTRY)
    (problem,) = caught.value.problems
    assert problem.where == "edges[2].from_port"
    assert "whole number >= 0" in problem.message and repr(bad) in problem.message


# -- copy and paste --------------------------------------------------------------------------
def test_copy_paste_keeps_the_output_a_wire_leaves_from() -> None:
    graph = split_graph()
    fragment = copy_fragment(graph, ["split", "left", "right"])
    assert {"from": "split", "to": "right", "to_port": 0, "from_port": 1} in fragment["edges"]
    command, new = paste_commands(graph, json.loads(json.dumps(fragment)))
    History(graph).push(command)
    split, _, right = new
    assert graph.from_port(split, right) == 1


def test_a_fragment_with_a_bad_from_port_is_refused() -> None:
    fragment = copy_fragment(split_graph(), ["split", "right"])
    fragment["edges"][0]["from_port"] = -2
    with pytest.raises(ValueError, match="'from_port' must be a whole number >= 0"):
        paste_commands(split_graph(), fragment)


# -- Chunk: torch.chunk's pieces -------------------------------------------------------------
@pytest.mark.parametrize("n", range(1, 13))
@pytest.mark.parametrize("chunks", range(1, 9))
def test_chunk_sizes_are_torchs(n: int, chunks: int) -> None:
    torch = pytest.importorskip("torch")
    expected = [t.shape[0] for t in torch.chunk(torch.zeros(n), chunks)]
    assert chunk_sizes(n, chunks) == expected


def test_each_consumer_gets_the_shape_of_its_port() -> None:
    engine = engine_for(split_graph(channels=5, chunks=2))
    assert engine.info("split").output_shapes == ((3, 6, 6), (2, 6, 6))
    assert engine.input_shapes("left") == [(3, 6, 6)]
    assert engine.input_shapes("right") == [(2, 6, 6)]
    assert engine.info("cat").output_shape == (7, 6, 6)
    assert engine.info("split").activations == 5 * 36
    assert not engine.diagnostics()


def test_five_in_four_chunks_gives_three_ports() -> None:
    engine = engine_for(split_graph(channels=5, chunks=4))
    assert engine.info("split").output_shapes == ((2, 6, 6), (2, 6, 6), (1, 6, 6))
    assert any("torch gives 3 pieces, not 4" in line for line in engine.explain("split"))


def test_a_wire_from_a_port_torch_does_not_give_is_an_error_with_a_fix() -> None:
    graph = split_graph(channels=5, chunks=5)
    graph.remove_edge("split", "right")
    graph.add_edge("split", "right", from_port=3)
    engine = engine_for(graph)
    assert not engine.diagnostics()
    graph.set_params("split", {"chunks": 4})  # 5 in 4 chunks: 3 pieces, no output 3
    (diag,) = engine.info("split").diagnostics
    assert diag.code == "missing_output" and diag.field == "chunks"
    assert "gives 3 outputs (0 to 2)" in diag.message
    assert "into 3 pieces, not 4" in diag.message
    assert "the wire to right leaves output 3" in diag.message
    assert engine.info("right").output_shape is None  # blocked, reported on split
    assert engine.info("left").output_shape == (2, 6, 6)
    apply_fix(graph, diag.fix)
    assert graph.params("split") == {"chunks": 5}
    assert not engine.diagnostics()


def test_when_no_setting_gives_the_port_the_fix_disconnects() -> None:
    graph = split_graph(channels=2, chunks=2)
    graph.remove_edge("split", "right")
    graph.add_edge("split", "right", from_port=2)
    engine = engine_for(graph)
    (diag,) = engine.info("split").diagnostics
    assert "no setting of chunks gives that output" in diag.message
    assert diag.fix is not None and diag.fix.label == "Disconnect split from right"
    apply_fix(graph, diag.fix)
    assert "right" not in graph.outputs("split")
    assert "missing_output" not in [d.code for d in engine.diagnostics()]


def test_rewiring_a_port_is_checked_incrementally() -> None:
    graph = split_graph(channels=4, chunks=2)
    engine = engine_for(graph)
    graph.remove_edge("split", "right")
    graph.add_edge("split", "right", from_port=2)
    assert [d.code for d in engine.info("split").diagnostics] == ["missing_output"]
    graph.remove_edge("split", "right")
    assert engine.info("split").diagnostics == ()
    graph.set_params("split", {"chunks": 4})
    assert engine.info("left").output_shape == (1, 6, 6)  # a port's shape change flows on


# -- wiring rules ----------------------------------------------------------------------------
def test_connect_problem_knows_the_ports() -> None:
    graph = split_graph(channels=5, chunks=4)
    graph.add_node("extra", "ReLU")
    engine = engine_for(graph)
    assert connect_problem(engine, "split", "extra", from_port=2) is None
    assert connect_problem(engine, "split", "extra", from_port=3) == \
        "split has 3 outputs (0 to 2), not 3"
    refused = connect_problem(engine, "split", "right")
    assert "'split' already feeds 'right' from output 1" in refused


def test_connect_problem_checks_the_rank_of_the_port_shape() -> None:
    graph = split_graph()
    graph.add_node("fc", "Linear", {"out_features": 3})
    graph.add_node("vec_in", "Flatten")
    graph.add_edge("left", "vec_in")
    graph.add_node("sum", "Add")
    graph.add_edge("vec_in", "sum")
    engine = engine_for(graph)
    assert "cannot join" in connect_problem(engine, "split", "sum", from_port=1)


# -- summary ---------------------------------------------------------------------------------
def test_the_summary_lists_every_port_shape() -> None:
    engine = engine_for(split_graph(channels=5, chunks=4))
    node = next(n for n in summary_dict(engine)["nodes"] if n["id"] == "split")
    assert node["output_shapes"] == [[2, 6, 6], [2, 6, 6], [1, 6, 6]]
    assert "2x6x6 | 2x6x6 | 1x6x6" in format_summary(engine)


def test_a_wire_from_a_second_output_of_a_single_output_layer_is_an_error() -> None:
    graph = split_graph()
    graph.remove_edge("left", "cat")
    engine = engine_for(graph)
    graph.add_edge("left", "cat", 0, from_port=1)  # as a hand-edited file could say
    (diag,) = engine.info("left").diagnostics
    assert diag.code == "missing_output"
    assert diag.message == ("ReLU left gives one output (0), but the wire to cat leaves output 1; "
                            "it has no such output; move or delete the wire")
    apply_fix(graph, diag.fix)
    assert graph.inputs("cat") == ["right"]
