"""The graph model: nodes, wires, input ports, refusals with reasons, and the events it emits."""

from __future__ import annotations

import itertools
import re

import pytest

from dlbuilder.core.graph import (
    STRUCTURAL,
    EdgeAdded,
    EdgeRemoved,
    Graph,
    GraphError,
    NodeAdded,
    NodeRemoved,
    ParamsChanged,
    UiChanged,
)


def make(*nodes: str, edges: tuple[tuple[str, str], ...] = ()) -> Graph:
    """A graph of ReLU nodes (types do not matter to the model) with the given wires."""
    graph = Graph("t")
    for node in nodes:
        graph.add_node(node, "ReLU")
    for src, dst in edges:
        graph.add_edge(src, dst)
    return graph


def recorder(graph: Graph) -> list:
    events: list = []
    graph.subscribe(events.append)
    return events


def ports(graph: Graph, dst: str) -> dict[str, int]:
    return {src: graph.port_of(src, dst) for src in graph.inputs(dst)}


# -- nodes -----------------------------------------------------------------------------------

def test_add_node_stores_type_params_ui_in_insertion_order() -> None:
    graph = Graph("net", {"lr": 0.1})
    graph.add_node("in", "Input", {"shape": [1, 28, 28]}, {"x": 3, "y": 4})
    graph.add_node("c1", "Conv2d", {"out_channels": 6})
    graph.add_node("a", "ReLU")
    assert graph.nodes() == ["in", "c1", "a"]
    assert len(graph) == 3
    assert "c1" in graph and "zz" not in graph
    assert graph.type_of("c1") == "Conv2d"
    assert graph.params("in") == {"shape": [1, 28, 28]}
    assert graph.params("a") == {}
    assert graph.ui("in") == {"x": 3, "y": 4}
    assert graph.ui("c1") == {}
    assert graph.name == "net" and graph.training == {"lr": 0.1}


def test_params_are_copied_in_and_out() -> None:
    params = {"shape": [1, 28, 28]}
    ui = {"x": 1}
    graph = Graph()
    graph.add_node("in", "Input", params, ui)
    params["shape"].append(99)
    ui["x"] = 500
    assert graph.params("in") == {"shape": [1, 28, 28]}
    assert graph.ui("in") == {"x": 1}
    got = graph.params("in")
    got["shape"][0] = 7
    got["new"] = 1
    assert graph.params("in") == {"shape": [1, 28, 28]}
    graph.ui("in")["x"] = 9
    assert graph.ui("in") == {"x": 1}


def test_training_is_copied_from_the_caller() -> None:
    training = {"lr": 0.1}
    graph = Graph("n", training)
    training["lr"] = 5
    assert graph.training == {"lr": 0.1}


@pytest.mark.parametrize("bad", ["", None, 3, ("a",)])
def test_add_node_refuses_ids_that_are_not_non_empty_strings(bad: object) -> None:
    graph = Graph()
    with pytest.raises(GraphError, match="non-empty string"):
        graph.add_node(bad, "ReLU")  # type: ignore[arg-type]
    assert len(graph) == 0


def test_add_node_refuses_duplicate_id_and_keeps_the_first() -> None:
    graph = Graph()
    graph.add_node("a", "ReLU", {"k": 1})
    events = recorder(graph)
    with pytest.raises(GraphError, match=r"'a' already exists.*unique"):
        graph.add_node("a", "Conv2d", {"k": 2})
    assert graph.type_of("a") == "ReLU"
    assert graph.params("a") == {"k": 1}
    assert events == []


def test_add_node_at_index_keeps_every_wire_order_and_the_same_digraph() -> None:
    """Putting a node back mid-list (undo of a delete) rebuilds networkx's order through its
    public API: each node's outputs keep the order their wires were made in, ports and
    parameters (the same objects, which the engine reads uncopied) stay, and `graph.nx` is
    still the object algorithms were handed."""
    graph = make("a", "b", "c", "m")
    for src, dst in (("a", "c"), ("a", "b"), ("b", "m"), ("a", "m"), ("c", "m")):
        graph.add_edge(src, dst)
    digraph, params_of_b = graph.nx, graph.raw_params("b")
    before = {n: (graph.outputs(n), graph.inputs(n)) for n in graph.nodes()}
    graph.add_node("x", "ReLU", index=1)
    assert graph.nodes() == ["a", "x", "b", "c", "m"]
    assert graph.nx is digraph and graph.raw_params("b") is params_of_b
    assert {n: (graph.outputs(n), graph.inputs(n)) for n in "abcm"} == before
    assert graph.outputs("a") == ["c", "b", "m"]  # made in that order, not node order
    assert graph.edges() == [("a", "b", 0), ("a", "c", 0), ("b", "m", 0), ("a", "m", 1),
                             ("c", "m", 2)]


def test_add_node_at_index_places_it_in_the_node_order() -> None:
    graph = make("a", "b", "c", edges=(("a", "b"), ("b", "c")))
    graph.add_node("x", "ReLU", index=1)
    assert graph.nodes() == ["a", "x", "b", "c"]
    graph.add_node("y", "ReLU", index=0)
    assert graph.nodes() == ["y", "a", "x", "b", "c"]
    graph.add_node("z", "ReLU", index=99)
    assert graph.nodes() == ["y", "a", "x", "b", "c", "z"]
    # the underlying DiGraph still works: wires, edges and algorithms see the same graph
    graph.add_edge("x", "b")
    assert graph.inputs("b") == ["a", "x"]
    assert graph.edges() == [("a", "b", 0), ("x", "b", 1), ("b", "c", 0)]
    assert list(graph.nx.nodes) == graph.nodes()
    assert sorted(graph.nx.predecessors("b")) == ["a", "x"]


def test_queries_on_unknown_node_raise_graph_error_naming_it() -> None:
    graph = make("a")
    for query in (graph.type_of, graph.params, graph.ui, graph.remove_node):
        with pytest.raises(GraphError, match="no node 'ghost'"):
            query("ghost")
    with pytest.raises(GraphError, match="no node 'ghost'"):
        graph.set_params("ghost", {})
    with pytest.raises(GraphError, match="no node 'ghost'"):
        graph.set_ui("ghost", {})


def test_remove_node_removes_it_and_all_its_wires() -> None:
    graph = make("a", "b", "c", "d", edges=(("a", "b"), ("b", "c"), ("b", "d"), ("a", "d")))
    graph.remove_node("b")
    assert graph.nodes() == ["a", "c", "d"]
    assert graph.edges() == [("a", "d", 0)]
    assert graph.outputs("a") == ["d"]
    assert graph.inputs("c") == []
    assert not graph.nx.has_node("b")


def test_remove_node_compacts_ports_of_its_successors() -> None:
    graph = make("a", "b", "c", "add")
    for src in ("a", "b", "c"):
        graph.add_edge(src, "add")
    graph.remove_node("b")
    assert ports(graph, "add") == {"a": 0, "c": 1}


# -- wires -----------------------------------------------------------------------------------

def test_add_edge_appends_ports_in_order_and_returns_them() -> None:
    graph = make("a", "b", "c", "add")
    assert graph.add_edge("a", "add") == 0
    assert graph.add_edge("b", "add") == 1
    assert graph.add_edge("c", "add") == 2
    assert graph.inputs("add") == ["a", "b", "c"]
    assert graph.outputs("a") == ["add"]
    assert graph.edges() == [("a", "add", 0), ("b", "add", 1), ("c", "add", 2)]


def test_inputs_follow_ports_not_insertion_order() -> None:
    graph = make("a", "b", "c", "add")
    graph.add_edge("a", "add")
    graph.add_edge("b", "add", 0)
    graph.add_edge("c", "add", 1)
    assert graph.inputs("add") == ["b", "c", "a"]
    assert ports(graph, "add") == {"b": 0, "c": 1, "a": 2}
    assert graph.edges() == [("b", "add", 0), ("c", "add", 1), ("a", "add", 2)]


@pytest.mark.parametrize("port, expected", [
    (0, ["x", "a", "b", "c"]),
    (1, ["a", "x", "b", "c"]),
    (2, ["a", "b", "x", "c"]),
    (3, ["a", "b", "c", "x"]),
    (None, ["a", "b", "c", "x"]),
])
def test_insert_at_port_shifts_later_inputs(port: int | None, expected: list[str]) -> None:
    graph = make("a", "b", "c", "x", "add")
    for src in ("a", "b", "c"):
        graph.add_edge(src, "add")
    assert graph.add_edge("x", "add", port) == expected.index("x")
    assert graph.inputs("add") == expected
    assert ports(graph, "add") == {src: i for i, src in enumerate(expected)}


@pytest.mark.parametrize("port", [-1, 4, 10])
def test_port_out_of_range_is_refused_without_change(port: int) -> None:
    graph = make("a", "b", "c", "x", "add")
    for src in ("a", "b", "c"):
        graph.add_edge(src, "add")
    events = recorder(graph)
    with pytest.raises(GraphError, match=rf"port {port} of 'add' is out of range 0\.\.3"):
        graph.add_edge("x", "add", port)
    assert graph.inputs("add") == ["a", "b", "c"]
    assert ports(graph, "add") == {"a": 0, "b": 1, "c": 2}
    assert events == []


@pytest.mark.parametrize("removed, expected", [
    ("a", ["b", "c", "d"]), ("b", ["a", "c", "d"]), ("c", ["a", "b", "d"]), ("d", ["a", "b", "c"]),
])
def test_remove_edge_compacts_ports_to_0_n(removed: str, expected: list[str]) -> None:
    graph = make("a", "b", "c", "d", "add")
    for src in ("a", "b", "c", "d"):
        graph.add_edge(src, "add")
    old_port = graph.port_of(removed, "add")
    assert graph.remove_edge(removed, "add") == old_port
    assert graph.inputs("add") == expected
    assert ports(graph, "add") == {src: i for i, src in enumerate(expected)}
    assert [p for _, dst, p in graph.edges() if dst == "add"] == [0, 1, 2]


def test_remove_then_reinsert_at_same_port_restores_order() -> None:
    graph = make("a", "b", "c", "add")
    for src in ("a", "b", "c"):
        graph.add_edge(src, "add")
    port = graph.remove_edge("b", "add")
    graph.add_edge("b", "add", port)
    assert graph.inputs("add") == ["a", "b", "c"]


def test_self_loop_refused() -> None:
    graph = make("a")
    with pytest.raises(GraphError, match="cannot connect 'a' to itself"):
        graph.add_edge("a", "a")
    assert graph.edges() == []


def test_duplicate_wire_refused() -> None:
    graph = make("a", "b", edges=(("a", "b"),))
    events = recorder(graph)
    with pytest.raises(GraphError, match="'a' is already connected to 'b'"):
        graph.add_edge("a", "b")
    with pytest.raises(GraphError, match="'a' is already connected to 'b'"):
        graph.add_edge("a", "b", 0)
    assert graph.edges() == [("a", "b", 0)]
    assert events == []


@pytest.mark.parametrize("src, dst", [("ghost", "a"), ("a", "ghost")])
def test_wire_to_or_from_unknown_node_refused(src: str, dst: str) -> None:
    graph = make("a")
    with pytest.raises(GraphError, match="no node 'ghost'"):
        graph.add_edge(src, dst)
    assert "ghost" not in graph
    assert graph.edges() == []


def test_port_of_missing_wire_is_a_graph_error() -> None:
    graph = make("a", "b", edges=(("a", "b"),))
    assert graph.port_of("a", "b") == 0
    with pytest.raises(GraphError, match="no wire from 'b' to 'a'"):
        graph.port_of("b", "a")
    with pytest.raises(GraphError, match="no wire from 'ghost' to 'b'"):
        graph.port_of("ghost", "b")


def test_remove_missing_wire_refused() -> None:
    graph = make("a", "b", "c", edges=(("a", "b"),))
    with pytest.raises(GraphError, match="no wire from 'b' to 'a'"):
        graph.remove_edge("b", "a")
    with pytest.raises(GraphError, match="no wire from 'a' to 'c'"):
        graph.remove_edge("a", "c")
    with pytest.raises(GraphError, match="no wire from 'ghost' to 'a'"):
        graph.remove_edge("ghost", "a")
    assert graph.edges() == [("a", "b", 0)]


def test_two_node_cycle_refused_with_loop_path() -> None:
    graph = make("a", "b", edges=(("a", "b"),))
    with pytest.raises(GraphError) as info:
        graph.add_edge("b", "a")
    message = str(info.value)
    assert "cycle (b -> a -> b)" in message
    assert "from Input to Output" in message
    assert graph.edges() == [("a", "b", 0)]


def test_long_cycle_message_names_the_whole_loop() -> None:
    graph = make("in", "c1", "r1", "c2", "add", "out",
                 edges=(("in", "c1"), ("c1", "r1"), ("r1", "c2"), ("c2", "add"), ("in", "add"),
                        ("add", "out")))
    events = recorder(graph)
    with pytest.raises(GraphError) as info:
        graph.add_edge("add", "c1")
    match = re.search(r"\(([^)]*)\)", str(info.value))
    assert match is not None
    assert match.group(1) == "add -> c1 -> r1 -> c2 -> add"
    assert "'add' to 'c1'" in str(info.value)
    assert events == []
    assert graph.inputs("c1") == ["in"]


def test_cycle_path_is_a_real_path_in_the_graph() -> None:
    # diamond: a->b->d, a->c->d; closing d->a goes through one of the branches
    graph = make("a", "b", "c", "d", edges=(("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")))
    with pytest.raises(GraphError) as info:
        graph.add_edge("d", "a")
    loop = re.search(r"\(([^)]*)\)", str(info.value)).group(1).split(" -> ")  # type: ignore[union-attr]
    assert loop[0] == loop[-1] == "d"
    assert loop[1] == "a"
    for src, dst in itertools.pairwise(loop[1:]):
        assert graph.nx.has_edge(src, dst), (src, dst)


def test_a_dag_with_parallel_paths_is_allowed() -> None:
    graph = make("a", "b", "c", edges=(("a", "b"), ("b", "c")))
    assert graph.add_edge("a", "c") == 1
    assert graph.inputs("c") == ["b", "a"]


# -- events ----------------------------------------------------------------------------------

def test_events_for_add_node_and_edges_with_ports() -> None:
    graph = Graph()
    events = recorder(graph)
    graph.add_node("a", "ReLU")
    graph.add_node("b", "ReLU")
    graph.add_node("add", "Add")
    graph.add_edge("a", "add")
    graph.add_edge("b", "add", 0)
    assert events == [NodeAdded("a"), NodeAdded("b"), NodeAdded("add"),
                      EdgeAdded("a", "add", 0), EdgeAdded("b", "add", 0)]


def test_event_is_emitted_after_the_change_is_visible() -> None:
    graph = make("a", "b")
    seen: list = []

    def listener(event: object) -> None:
        seen.append((event, graph.nodes(), graph.edges()))

    graph.subscribe(listener)
    graph.add_node("c", "ReLU")
    graph.add_edge("a", "c")
    assert seen[0] == (NodeAdded("c"), ["a", "b", "c"], [])
    assert seen[1] == (EdgeAdded("a", "c", 0), ["a", "b", "c"], [("a", "c", 0)])


def test_remove_edge_event_carries_the_old_port() -> None:
    graph = make("a", "b", "c", "add")
    for src in ("a", "b", "c"):
        graph.add_edge(src, "add")
    events = recorder(graph)
    graph.remove_edge("b", "add")
    assert events == [EdgeRemoved("b", "add", 1)]


def test_remove_node_emits_edge_removals_before_node_removed() -> None:
    graph = make("a", "b", "x", "add", "y", "z")
    graph.add_edge("a", "x")
    graph.add_edge("b", "x")
    graph.add_edge("x", "y")
    graph.add_edge("x", "z")
    graph.add_edge("a", "add")
    graph.add_edge("x", "add")
    events = recorder(graph)
    graph.remove_node("x")
    assert events[-1] == NodeRemoved("x")
    edge_events = events[:-1]
    assert all(isinstance(e, EdgeRemoved) for e in edge_events)
    assert sorted((e.src, e.dst, e.port) for e in edge_events) == sorted([
        ("a", "x", 0), ("b", "x", 1), ("x", "y", 0), ("x", "z", 0), ("x", "add", 1)])
    assert len(edge_events) == 5


def test_remove_node_event_ports_replay_to_the_same_graph() -> None:
    """Reverting each EdgeRemoved (in reverse) at its reported port rebuilds the wiring."""
    graph = make("a", "b", "c", "x")
    for src in ("a", "b", "c"):
        graph.add_edge(src, "x")
    before = graph.edges()
    events = recorder(graph)
    graph.remove_node("x")
    removals = events[:-1]
    assert events[-1] == NodeRemoved("x") and len(removals) == 3
    graph.add_node("x", "ReLU")
    for event in reversed(removals):
        graph.add_edge(event.src, event.dst, event.port)
    assert graph.edges() == before


def test_params_and_ui_changes_emit_events_and_store_copies() -> None:
    graph = make("a")
    events = recorder(graph)
    params = {"k": [1, 2]}
    graph.set_params("a", params)
    params["k"].append(3)
    graph.set_ui("a", {"x": 5})
    assert events == [ParamsChanged("a"), UiChanged("a")]
    assert graph.params("a") == {"k": [1, 2]}
    assert graph.raw_params("a") == {"k": [1, 2]}
    assert graph.ui("a") == {"x": 5}
    graph.set_params("a", {})
    assert graph.params("a") == {}


def test_refused_edits_emit_nothing() -> None:
    graph = make("a", "b", edges=(("a", "b"),))
    events = recorder(graph)
    for edit in (lambda: graph.add_node("a", "ReLU"), lambda: graph.add_edge("a", "a"),
                 lambda: graph.add_edge("b", "a"), lambda: graph.add_edge("a", "b"),
                 lambda: graph.remove_edge("b", "a"), lambda: graph.remove_node("q"),
                 lambda: graph.set_params("q", {}), lambda: graph.set_ui("q", {})):
        with pytest.raises(GraphError):
            edit()
    assert events == []


def test_unsubscribe_stops_events_and_several_listeners_all_hear() -> None:
    graph = Graph()
    first, second = recorder(graph), []
    graph.subscribe(second.append)
    graph.add_node("a", "ReLU")
    graph.unsubscribe(first.append)
    graph.add_node("b", "ReLU")
    assert first == [NodeAdded("a")]
    assert second == [NodeAdded("a"), NodeAdded("b")]


def test_listener_may_unsubscribe_itself_during_an_event() -> None:
    graph = Graph()
    heard: list = []

    def once(event: object) -> None:
        heard.append(event)
        graph.unsubscribe(once)

    other = recorder(graph)
    graph.subscribe(once)
    graph.add_node("a", "ReLU")
    graph.add_node("b", "ReLU")
    assert heard == [NodeAdded("a")]
    assert other == [NodeAdded("a"), NodeAdded("b")]


def test_structural_event_kinds() -> None:
    assert set(STRUCTURAL) == {NodeAdded, NodeRemoved, EdgeAdded, EdgeRemoved}
    assert not issubclass(ParamsChanged, STRUCTURAL)
    assert not issubclass(UiChanged, STRUCTURAL)


def test_events_are_frozen_values() -> None:
    event = EdgeAdded("a", "b", 1)
    assert event == EdgeAdded("a", "b", 1) and event != EdgeAdded("a", "b", 0)
    with pytest.raises(AttributeError):
        event.port = 3  # type: ignore[misc]


# -- unique ids ------------------------------------------------------------------------------

def test_unique_id_free_base_is_lower_cased() -> None:
    graph = Graph()
    assert graph.unique_id("Conv2d") == "conv2d"
    assert graph.unique_id("  Max Pool-2d! ") == "max_pool_2d"
    assert graph.unique_id("???") == "node"
    assert graph.unique_id("") == "node"


def test_unique_id_counts_up_past_taken_ids() -> None:
    graph = make("conv2d", "conv2d_1", "conv2d_2")
    assert graph.unique_id("Conv2d") == "conv2d_3"
    graph.add_node(graph.unique_id("Conv2d"), "Conv2d")
    assert graph.unique_id("Conv2d") == "conv2d_4"



def test_unique_id_also_avoids_ids_handed_out_but_not_added_yet() -> None:
    """One edit adding several nodes (a paste, a fix with its BatchNorm) names them all first."""
    graph = make("conv2d")
    assert graph.unique_id("Conv2d", {"conv2d_1"}) == "conv2d_2"
    assert graph.unique_id("bn", ["bn"]) == "bn_1"

def test_unique_id_continues_numbered_base() -> None:
    graph = make("relu_2", "relu_3")
    assert graph.unique_id("relu_2") == "relu_4"
    assert graph.unique_id("relu_7") == "relu_7"


def test_unique_id_never_returns_a_taken_id() -> None:
    graph = Graph()
    bases = ["Conv2d", "conv2d", "conv2d_1", "x1", "x_1", "1", "_", "ReLU", "relu", "a b"]
    for _ in range(4):
        for base in bases:
            new = graph.unique_id(base)
            assert new not in graph
            assert new and re.fullmatch(r"\w+", new)
            graph.add_node(new, "ReLU")
    assert len(graph) == len(set(graph.nodes())) == 4 * len(bases)


def test_queries_on_a_missing_node_raise_graph_error() -> None:
    graph = Graph()
    for query in (graph.inputs, graph.outputs, graph.type_of, graph.params):
        with pytest.raises(GraphError, match="no node 'ghost'"):
            query("ghost")


@pytest.mark.parametrize(("src", "dst"), [("a", "a"), ("a", "b"), ("b", "a")])
def test_the_editor_and_the_model_refuse_a_wire_in_the_same_words(src: str, dst: str) -> None:
    """One home for the wiring rules: what the canvas says while a wire is dragged is what
    add_edge raises."""
    from dlbuilder.core.inference import InferenceEngine
    from dlbuilder.core.wiring import connect_problem
    from dlbuilder.layers import REGISTRY

    graph = Graph("g")
    graph.add_node("a", "Input", {"shape": [3]})
    graph.add_node("b", "ReLU")
    graph.add_edge("a", "b")
    said = connect_problem(InferenceEngine(graph, REGISTRY), src, dst)
    with pytest.raises(GraphError) as refused:
        graph.add_edge(src, dst)
    assert said is not None and said == str(refused.value) == graph.wire_problem(src, dst)
