"""Undoable commands: each one reverts exactly what it did; Macro, insert_between, bypass,
History."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlbuilder.core.commands import (
    AddEdge,
    AddNode,
    History,
    Macro,
    RemoveEdge,
    RemoveNode,
    SetParams,
    SetUi,
    bypass,
    insert_between,
)
from dlbuilder.core.fileformat import graph_to_dict
from dlbuilder.core.graph import (
    EdgeAdded,
    EdgeRemoved,
    Graph,
    GraphError,
    NodeAdded,
    NodeRemoved,
)


def residual() -> Graph:
    """in -> c1 -> r1 -> c2 -> add(port 0); in -> add(port 1); add -> out, with params and ui."""
    graph = Graph("res", {"lr": 0.01})
    graph.add_node("in", "Input", {"shape": [3, 8, 8]}, {"x": 0, "y": 0})
    graph.add_node("c1", "Conv2d", {"out_channels": 3, "kernel_size": 3, "padding": 1},
                   {"x": 100, "y": 0})
    graph.add_node("r1", "ReLU")
    graph.add_node("c2", "Conv2d", {"out_channels": 3, "kernel_size": [3, 3], "padding": 1})
    graph.add_node("add", "Add")
    graph.add_node("out", "Output", {"loss": "CrossEntropyLoss"})
    for src, dst in (("in", "c1"), ("c1", "r1"), ("r1", "c2"), ("c2", "add"), ("in", "add"),
                     ("add", "out")):
        graph.add_edge(src, dst)
    return graph


def three_way_add() -> Graph:
    """a, b, c -> add at ports 0, 1, 2; b also feeds `tail`; `b` has its own input `src`."""
    graph = Graph("add3")
    graph.add_node("src", "Input", {"shape": [4]})
    for node in ("a", "b", "c"):
        graph.add_node(node, "Linear", {"out_features": 4}, {"x": ord(node)})
    graph.add_node("add", "Add")
    graph.add_node("tail", "ReLU")
    graph.add_edge("src", "a")
    graph.add_edge("src", "b")
    graph.add_edge("src", "c")
    for node in ("a", "b", "c"):
        graph.add_edge(node, "add")
    graph.add_edge("b", "tail")
    return graph


def snap(graph: Graph) -> dict[str, Any]:
    return graph_to_dict(graph)


def check_apply_revert(graph: Graph, command: Any) -> dict[str, Any]:
    """Apply, check something changed, revert, check exact restore, reapply: same result."""
    before = snap(graph)
    command.apply(graph)
    after = snap(graph)
    assert after != before, "the command changed nothing"
    command.revert(graph)
    assert snap(graph) == before
    command.apply(graph)
    assert snap(graph) == after
    command.revert(graph)
    assert snap(graph) == before
    return after


# -- single commands -------------------------------------------------------------------------

def test_add_node_apply_revert() -> None:
    graph = residual()
    command = AddNode("bn", "BatchNorm2d", {"eps": 1e-3}, {"x": 5})
    after = check_apply_revert(graph, command)
    assert after["nodes"][-1] == {"id": "bn", "type": "BatchNorm2d", "params": {"eps": 1e-3},
                                  "ui": {"x": 5}}
    assert command.text == "Add BatchNorm2d bn"
    assert "bn" not in graph


def test_add_node_with_taken_id_fails_without_change() -> None:
    graph = residual()
    before = snap(graph)
    with pytest.raises(GraphError, match="already exists"):
        AddNode("c1", "ReLU").apply(graph)
    assert snap(graph) == before


@pytest.mark.parametrize("node", ["in", "c1", "r1", "c2", "add", "out"])
def test_remove_node_apply_revert_each_node(node: str) -> None:
    graph = residual()
    command = RemoveNode(node)
    after = check_apply_revert(graph, command)
    assert node not in [n["id"] for n in after["nodes"]]
    assert all(node not in (e["from"], e["to"]) for e in after["edges"])
    assert command.text == f"Delete {node}"


def test_remove_node_restores_its_place_in_node_order() -> None:
    graph = residual()
    order = graph.nodes()
    command = RemoveNode("r1")
    command.apply(graph)
    command.revert(graph)
    assert graph.nodes() == order


def test_remove_node_feeding_add_at_port_1_of_3_restores_port() -> None:
    graph = three_way_add()
    before = snap(graph)
    command = RemoveNode("b")
    command.apply(graph)
    assert graph.inputs("add") == ["a", "c"]
    assert graph.port_of("c", "add") == 1
    command.revert(graph)
    assert graph.inputs("add") == ["a", "b", "c"]
    assert [graph.port_of(s, "add") for s in ("a", "b", "c")] == [0, 1, 2]
    assert graph.outputs("b") and set(graph.outputs("b")) == {"add", "tail"}
    assert graph.params("b") == {"out_features": 4}
    assert graph.ui("b") == {"x": ord("b")}
    assert snap(graph) == before


def test_remove_node_with_ordered_inputs_restores_input_order() -> None:
    graph = Graph()
    for node in ("p", "q", "r"):
        graph.add_node(node, "Input")
    graph.add_node("cat", "Concat", {"dim": 1})
    graph.add_edge("r", "cat")
    graph.add_edge("p", "cat")
    graph.add_edge("q", "cat", 1)
    assert graph.inputs("cat") == ["r", "q", "p"]
    check_apply_revert(graph, RemoveNode("cat"))
    assert graph.inputs("cat") == ["r", "q", "p"]


def test_remove_node_feeding_several_adds_at_different_ports() -> None:
    graph = Graph()
    for node in ("a", "b", "x"):
        graph.add_node(node, "ReLU")
    graph.add_node("add1", "Add")
    graph.add_node("add2", "Add")
    graph.add_edge("x", "add1")
    graph.add_edge("a", "add1")
    graph.add_edge("a", "add2")
    graph.add_edge("b", "add2")
    graph.add_edge("x", "add2")
    check_apply_revert(graph, RemoveNode("x"))
    assert graph.inputs("add1") == ["x", "a"]
    assert graph.inputs("add2") == ["a", "b", "x"]


def test_remove_unknown_node_fails_without_change() -> None:
    graph = residual()
    before = snap(graph)
    with pytest.raises(GraphError, match="no node 'ghost'"):
        RemoveNode("ghost").apply(graph)
    assert snap(graph) == before


@pytest.mark.parametrize("port", [0, 1, 2, 3, None])
def test_add_edge_at_port_apply_revert(port: int | None) -> None:
    graph = three_way_add()
    graph.add_node("d", "Linear")
    command = AddEdge("d", "add", port)
    after = check_apply_revert(graph, command)
    add_inputs = [e for e in after["edges"] if e["to"] == "add"]
    expected_port = 3 if port is None else port
    assert {"from": "d", "to": "add", "to_port": expected_port} in add_inputs
    assert sorted(e["to_port"] for e in add_inputs) == [0, 1, 2, 3]
    assert graph.inputs("add") == ["a", "b", "c"]
    assert command.text == "Connect d to add"


def test_add_edge_that_makes_a_cycle_fails_without_change() -> None:
    graph = residual()
    before = snap(graph)
    with pytest.raises(GraphError, match="cycle"):
        AddEdge("out", "in").apply(graph)
    assert snap(graph) == before


@pytest.mark.parametrize("src", ["a", "b", "c"])
def test_remove_edge_apply_revert_restores_port(src: str) -> None:
    graph = three_way_add()
    command = RemoveEdge(src, "add")
    check_apply_revert(graph, command)
    assert graph.inputs("add") == ["a", "b", "c"]
    assert command.text == f"Disconnect {src} from add"


def test_set_params_changes_and_removes_keys_and_reverts() -> None:
    graph = residual()
    command = SetParams("c1", {"kernel_size": 5, "padding": None, "stride": [2, 2]})
    after = check_apply_revert(graph, command)
    c1 = next(n for n in after["nodes"] if n["id"] == "c1")
    assert c1["params"] == {"out_channels": 3, "kernel_size": 5, "stride": [2, 2]}
    assert graph.params("c1") == {"out_channels": 3, "kernel_size": 3, "padding": 1}
    assert command.text == "Set kernel_size, padding, stride of c1"


def test_set_params_removing_an_absent_key_is_harmless() -> None:
    graph = residual()
    before = snap(graph)
    command = SetParams("r1", {"inplace": None})
    command.apply(graph)
    assert graph.params("r1") == {}
    command.revert(graph)
    assert snap(graph) == before


def test_set_params_copies_values() -> None:
    graph = residual()
    value = [2, 2]
    command = SetParams("c1", {"stride": value})
    command.apply(graph)
    value.append(99)
    assert graph.params("c1")["stride"] == [2, 2]
    graph.raw_params("c1")["stride"].append(5)
    assert value == [2, 2, 99]


def test_set_params_revert_restores_nested_values_after_later_mutation() -> None:
    graph = residual()
    before = snap(graph)
    command = SetParams("c2", {"padding": 0})
    command.apply(graph)
    graph.raw_params("c2")["kernel_size"].append(7)  # someone mutates the live value
    command.revert(graph)
    assert snap(graph) == before


def test_set_ui_apply_revert() -> None:
    graph = residual()
    command = SetUi("c1", {"x": 7, "y": 8})
    after = check_apply_revert(graph, command)
    assert next(n for n in after["nodes"] if n["id"] == "c1")["ui"] == {"x": 7, "y": 8}
    assert graph.ui("c1") == {"x": 100, "y": 0}
    assert command.text == "Move c1"


def test_set_ui_on_node_without_ui_reverts_to_no_ui() -> None:
    graph = residual()
    check_apply_revert(graph, SetUi("r1", {"x": 1}))
    assert "ui" not in next(n for n in snap(graph)["nodes"] if n["id"] == "r1")


# -- Macro -----------------------------------------------------------------------------------

def test_macro_applies_in_order_and_reverts_in_reverse() -> None:
    graph = residual()
    macro = Macro("Add a branch", [
        AddNode("bn", "BatchNorm2d"), AddEdge("c1", "bn"), AddEdge("bn", "add", 0),
        SetParams("bn", {"eps": 0.1}),
    ])
    after = check_apply_revert(graph, macro)
    assert {"from": "bn", "to": "add", "to_port": 0} in after["edges"]
    assert macro.text == "Add a branch"


def test_macro_rolls_back_when_a_later_command_fails() -> None:
    graph = residual()
    before = snap(graph)
    events: list = []
    graph.subscribe(events.append)
    macro = Macro("broken", [
        RemoveEdge("c2", "add"),
        AddNode("x", "ReLU"),
        AddEdge("c2", "x"),
        SetParams("c1", {"kernel_size": 9}),
        AddEdge("x", "c1"),  # x is downstream of c1: a cycle, refused
        AddEdge("x", "out"),
    ])
    with pytest.raises(GraphError, match="cycle"):
        macro.apply(graph)
    assert snap(graph) == before
    assert graph.nodes() == before_nodes(before)
    # every change was undone: the net effect of events on nodes is nothing
    assert events.count(NodeAdded("x")) == 1 and events.count(NodeRemoved("x")) == 1
    assert events[-1] == EdgeAdded("c2", "add", 0)


def before_nodes(data: dict[str, Any]) -> list[str]:
    return [n["id"] for n in data["nodes"]]


def test_nested_macro_failure_rolls_back_everything() -> None:
    graph = residual()
    before = snap(graph)
    inner = Macro("inner", [AddNode("y", "ReLU"), AddNode("c1", "ReLU")])  # second fails
    outer = Macro("outer", [SetUi("in", {"x": 42}), AddNode("z", "Tanh"), inner])
    with pytest.raises(GraphError, match="already exists"):
        outer.apply(graph)
    assert snap(graph) == before


def test_macro_failure_on_first_command_changes_nothing() -> None:
    graph = residual()
    before = snap(graph)
    with pytest.raises(GraphError):
        Macro("m", [RemoveEdge("out", "in"), AddNode("q", "ReLU")]).apply(graph)
    assert snap(graph) == before


def test_empty_macro_is_harmless() -> None:
    graph = residual()
    before = snap(graph)
    macro = Macro("nothing", [])
    macro.apply(graph)
    macro.revert(graph)
    assert snap(graph) == before


# -- insert_between --------------------------------------------------------------------------

def test_insert_between_keeps_the_input_port() -> None:
    graph = residual()
    before = snap(graph)
    assert graph.port_of("in", "add") == 1
    command = insert_between(graph, "in", "add", "proj", "Conv2d", {"out_channels": 3,
                                                                     "kernel_size": 1})
    command.apply(graph)
    assert graph.inputs("add") == ["c2", "proj"]
    assert graph.inputs("proj") == ["in"]
    assert not graph.nx.has_edge("in", "add")
    assert graph.params("proj") == {"out_channels": 3, "kernel_size": 1}
    assert command.text == "Insert Conv2d before add"
    command.revert(graph)
    assert snap(graph) == before
    command.apply(graph)
    assert graph.inputs("add") == ["c2", "proj"]


def test_insert_between_at_port_1_of_3() -> None:
    graph = three_way_add()
    command = insert_between(graph, "b", "add", "bn", "BatchNorm1d", text="Norm b")
    after = check_apply_revert(graph, command)
    assert command.text == "Norm b"
    ports = {e["from"]: e["to_port"] for e in after["edges"] if e["to"] == "add"}
    assert ports == {"a": 0, "bn": 1, "c": 2}


def test_insert_between_with_taken_id_rolls_back() -> None:
    graph = residual()
    before = snap(graph)
    command = insert_between(graph, "c1", "r1", "c2", "ReLU")
    with pytest.raises(GraphError, match="already exists"):
        command.apply(graph)
    assert snap(graph) == before


def test_insert_between_on_missing_wire_is_refused() -> None:
    graph = residual()
    before = snap(graph)
    with pytest.raises(GraphError, match="no wire from 'in' to 'out'"):
        insert_between(graph, "in", "out", "x", "ReLU")
    assert snap(graph) == before


# -- bypass ----------------------------------------------------------------------------------

def test_bypass_in_a_chain() -> None:
    graph = residual()
    command = bypass(graph, "r1")
    after = check_apply_revert(graph, command)
    assert {"from": "c1", "to": "c2", "to_port": 0} in after["edges"]
    assert "r1" not in before_nodes(after)
    assert command.text == "Remove r1"


def test_bypass_keeps_the_port_into_a_merge() -> None:
    graph = three_way_add()
    command = bypass(graph, "b", text="skip b")
    after = check_apply_revert(graph, command)
    add_in = {e["from"]: e["to_port"] for e in after["edges"] if e["to"] == "add"}
    assert add_in == {"a": 0, "src": 1, "c": 2}
    assert {"from": "src", "to": "tail", "to_port": 0} in after["edges"]
    assert command.text == "skip b"


def test_bypass_node_without_successors_just_removes_it() -> None:
    graph = residual()
    graph.add_node("dangling", "ReLU")
    graph.add_edge("c1", "dangling")
    before = snap(graph)
    command = bypass(graph, "dangling")
    command.apply(graph)
    assert "dangling" not in graph
    assert graph.outputs("c1") == ["r1"]
    command.revert(graph)
    assert snap(graph) == before


def test_bypass_refuses_a_node_that_does_not_have_exactly_one_input() -> None:
    graph = residual()
    before = snap(graph)
    with pytest.raises(GraphError, match="cannot bypass 'add': it has 2 inputs"):
        bypass(graph, "add")
    with pytest.raises(GraphError, match="cannot bypass 'in': it has 0 inputs"):
        bypass(graph, "in")
    assert snap(graph) == before


def test_bypass_that_would_duplicate_a_wire_rolls_back() -> None:
    # in feeds both c and add; bypassing c would wire in -> add twice
    graph = Graph()
    graph.add_node("in", "Input")
    graph.add_node("c", "ReLU")
    graph.add_node("add", "Add")
    graph.add_edge("in", "c")
    graph.add_edge("c", "add")
    graph.add_edge("in", "add")
    before = snap(graph)
    with pytest.raises(GraphError, match="already connected"):
        bypass(graph, "c").apply(graph)
    assert snap(graph) == before


# -- History ---------------------------------------------------------------------------------

def test_history_undo_redo_walks_the_states() -> None:
    graph = residual()
    history = History(graph)
    states = [snap(graph)]
    for command in (AddNode("x", "Tanh"), AddEdge("r1", "x"), SetParams("c1", {"stride": 2}),
                    RemoveNode("c2"), SetUi("x", {"x": 1}), RemoveEdge("add", "out")):
        history.push(command)
        states.append(snap(graph))
    assert len({str(s) for s in states}) == len(states)
    for state in reversed(states[:-1]):
        assert history.undo() is True
        assert snap(graph) == state
    assert history.undo() is False
    assert snap(graph) == states[0]
    for state in states[1:]:
        assert history.redo() is True
        assert snap(graph) == state
    assert history.redo() is False


def test_history_push_after_undo_drops_the_redo_branch() -> None:
    graph = residual()
    history = History(graph)
    history.push(AddNode("x", "Tanh"))
    history.push(AddNode("y", "Tanh"))
    assert history.undo()
    history.push(AddNode("z", "Tanh"))
    assert history.redo() is False
    assert graph.nodes()[-2:] == ["x", "z"]
    assert history.undo() and history.undo()
    assert "x" not in graph and "z" not in graph and "y" not in graph


def test_history_failed_push_records_nothing_and_keeps_redo() -> None:
    graph = residual()
    history = History(graph)
    history.push(AddNode("x", "Tanh"))
    history.push(SetParams("x", {"k": 1}))
    history.undo()
    before = snap(graph)
    with pytest.raises(GraphError):
        history.push(Macro("bad", [AddNode("y", "ReLU"), AddEdge("y", "ghost")]))
    assert snap(graph) == before
    assert history.redo() is True
    assert graph.params("x") == {"k": 1}
    assert history.undo() and history.undo()
    assert "x" not in graph
    assert history.undo() is False


def test_undo_emits_the_inverse_events() -> None:
    graph = three_way_add()
    history = History(graph)
    events: list = []
    graph.subscribe(events.append)
    history.push(RemoveEdge("b", "add"))
    history.undo()
    assert events == [EdgeRemoved("b", "add", 1), EdgeAdded("b", "add", 1)]


# -- property: any sequence of valid commands undoes and redoes exactly ----------------------

TYPES = ["Input", "Conv2d", "ReLU", "Add", "Concat", "Linear", "Output"]
PARAM_KEYS = ["kernel_size", "padding", "out_channels", "dim", "p"]
param_values = st.one_of(st.integers(-3, 64), st.lists(st.integers(0, 9), max_size=3),
                         st.floats(0, 1), st.text(max_size=4), st.booleans())
params_st = st.dictionaries(st.sampled_from(PARAM_KEYS), param_values, max_size=3)
ui_st = st.dictionaries(st.sampled_from(["x", "y"]), st.integers(-500, 500), max_size=2)


@st.composite
def random_graph(draw: st.DrawFn) -> Graph:
    graph = Graph(draw(st.text(max_size=5)), draw(st.dictionaries(
        st.sampled_from(["lr", "epochs"]), st.integers(1, 9), max_size=2)))
    count = draw(st.integers(0, 7))
    for i in range(count):
        graph.add_node(f"n{i}", draw(st.sampled_from(TYPES)), draw(params_st), draw(ui_st))
    for j in range(count):
        for i in range(j):
            if draw(st.integers(0, 2)) == 0:
                port = draw(st.integers(0, len(graph.inputs(f"n{j}"))))
                graph.add_edge(f"n{i}", f"n{j}", port)
    return graph


def addable_edges(graph: Graph) -> list[tuple[str, str]]:
    g = graph.nx
    return [(s, d) for s in graph.nodes() for d in graph.nodes()
            if s != d and not g.has_edge(s, d) and not nx.has_path(g, d, s)]


def bypassable(graph: Graph) -> list[str]:
    found = []
    for node in graph.nodes():
        inputs = graph.inputs(node)
        if len(inputs) == 1 and not any(graph.nx.has_edge(inputs[0], dst)
                                         for dst in graph.outputs(node)):
            found.append(node)
    return found


def draw_command(data: st.DataObject, graph: Graph, step: int) -> Any:
    nodes = graph.nodes()
    edges = [(s, d) for s, d, _ in graph.edges()]
    links = addable_edges(graph)
    kinds = ["add_node"]
    if nodes:
        kinds += ["remove_node", "set_params", "set_ui"]
    if links:
        kinds.append("add_edge")
    if edges:
        kinds += ["remove_edge", "insert_between"]
    if bypassable(graph):
        kinds.append("bypass")
    if nodes and links:
        kinds.append("macro")
    kind = data.draw(st.sampled_from(kinds), label="kind")
    fresh = graph.unique_id(data.draw(st.sampled_from(["Conv2d", "relu", "n1", "x_2"])))
    if kind == "add_node":
        return AddNode(fresh, data.draw(st.sampled_from(TYPES)), data.draw(params_st),
                       data.draw(ui_st))
    if kind == "remove_node":
        return RemoveNode(data.draw(st.sampled_from(nodes)))
    if kind == "set_params":
        changes = data.draw(st.dictionaries(st.sampled_from(PARAM_KEYS),
                                            st.one_of(st.none(), param_values), max_size=3))
        return SetParams(data.draw(st.sampled_from(nodes)), changes)
    if kind == "set_ui":
        return SetUi(data.draw(st.sampled_from(nodes)), data.draw(ui_st))
    if kind == "add_edge":
        src, dst = data.draw(st.sampled_from(links))
        port = data.draw(st.one_of(st.none(), st.integers(0, len(graph.inputs(dst)))))
        return AddEdge(src, dst, port)
    if kind == "remove_edge":
        return RemoveEdge(*data.draw(st.sampled_from(edges)))
    if kind == "insert_between":
        src, dst = data.draw(st.sampled_from(edges))
        return insert_between(graph, src, dst, fresh, data.draw(st.sampled_from(TYPES)),
                              data.draw(params_st))
    if kind == "bypass":
        return bypass(graph, data.draw(st.sampled_from(bypassable(graph))))
    node = data.draw(st.sampled_from(nodes))
    src, dst = data.draw(st.sampled_from(links))
    return Macro(f"macro {step}", [SetParams(node, {"p": step}), AddEdge(src, dst),
                                   SetUi(node, {"x": step})])


class Mirror:
    """Rebuilds nodes and wires from events alone, to check the events tell the whole story."""

    def __init__(self, graph: Graph) -> None:
        self.nodes = set(graph.nodes())
        self.edges = {(s, d): p for s, d, p in graph.edges()}
        graph.subscribe(self.on_event)

    def on_event(self, event: Any) -> None:
        if isinstance(event, NodeAdded):
            assert event.node not in self.nodes
            self.nodes.add(event.node)
        elif isinstance(event, NodeRemoved):
            assert not any(event.node in wire for wire in self.edges)
            self.nodes.remove(event.node)
        elif isinstance(event, EdgeAdded):
            assert {event.src, event.dst} <= self.nodes
            for wire, port in list(self.edges.items()):
                if wire[1] == event.dst and port >= event.port:
                    self.edges[wire] = port + 1
            self.edges[(event.src, event.dst)] = event.port
        elif isinstance(event, EdgeRemoved):
            assert self.edges.pop((event.src, event.dst)) == event.port
            for wire, port in list(self.edges.items()):
                if wire[1] == event.dst and port > event.port:
                    self.edges[wire] = port - 1

    def check(self, graph: Graph) -> None:
        assert self.nodes == set(graph.nodes())
        assert self.edges == {(s, d): p for s, d, p in graph.edges()}


@settings(deadline=None, max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
@given(graph=random_graph(), data=st.data())
def test_random_commands_undo_and_redo_exactly(graph: Graph, data: st.DataObject) -> None:
    history = History(graph)
    mirror = Mirror(graph)
    states = [snap(graph)]
    steps = data.draw(st.integers(1, 12), label="steps")
    for step in range(steps):
        command = draw_command(data, graph, step)
        history.push(command)  # every drawn command is valid: it must not raise
        states.append(snap(graph))
        mirror.check(graph)
    for state in reversed(states[:-1]):
        assert history.undo()
        assert snap(graph) == state
        mirror.check(graph)
    assert not history.undo()
    assert snap(graph) == states[0]
    for state in states[1:]:
        assert history.redo()
        assert snap(graph) == state
    assert not history.redo()
    assert snap(graph) == states[-1]
    mirror.check(graph)
