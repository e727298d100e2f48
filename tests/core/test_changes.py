"""ChangeRecorder: one edit's events become one net Change, and the engine gathers its
diagnostics once per change however often they are read."""

from __future__ import annotations

from helpers import chain, engine_for

from dlbuilder.core.changes import ChangeRecorder
from dlbuilder.core.commands import Macro, RemoveNode, SetParams, SetUi, insert_between
from dlbuilder.core.inference import InferenceEngine


def recorded(graph, *commands):
    engine = engine_for(graph)
    recorder = ChangeRecorder(graph)
    graph.subscribe(recorder.record)
    engine.subscribe(lambda message: recorder.record_shapes(message.nodes))
    recorder.take(tuple(engine.diagnostics()), replaced=True)  # the problems to compare with
    for command in commands:
        command.apply(graph)
    return recorder.take(tuple(engine.diagnostics()))


def test_a_macro_that_inserts_a_node_is_one_net_change() -> None:
    graph = chain(("Linear", {"out_features": 8}), ("ReLU", {}), shape=[4])
    change = recorded(graph, insert_between(graph, "n1", "n2", "x", "Dropout", {}))
    assert change.nodes_added == ("x",) and change.nodes_removed == ()
    assert change.edges_removed == (("n1", "n2"),)
    assert set(change.edges_added) == {("n1", "x"), ("x", "n2")}
    assert "x" in change.shapes and change.rewired() == {"x", "n2"}
    assert change.structural and change.inferred


def test_what_came_and_went_in_one_edit_is_not_mentioned() -> None:
    graph = chain(("ReLU", {}), shape=[4])
    insert = insert_between(graph, "n1", "out", "x", "Dropout", {})
    change = recorded(graph, Macro("in and out", [insert, RemoveNode("x")]))
    assert change.nodes_added == change.nodes_removed == ()
    assert ("n1", "x") not in change.edges_added + change.edges_removed


def test_a_node_removed_and_made_again_is_in_both_lists() -> None:
    graph = chain(("ReLU", {}), shape=[4])
    engine = engine_for(graph)
    recorder = ChangeRecorder(graph)
    graph.subscribe(recorder.record)
    remove = RemoveNode("n1")
    remove.apply(graph)
    remove.revert(graph)  # an undo jumping over a delete and its undo, say
    change = recorder.take(tuple(engine.diagnostics()))
    assert change.nodes_added == ("n1",) == change.nodes_removed
    assert not recorder.pending  # taken: the next edit starts empty


def test_parameters_moves_and_problems_are_told_apart() -> None:
    graph = chain(("Linear", {"out_features": 8}), ("ReLU", {}), shape=[4])
    change = recorded(graph, SetParams("n1", {"out_features": 0}), SetUi("n2", {"x": 5}))
    assert change.params_changed == {"n1"} and change.moved == {"n2"}
    assert not change.structural and "n1" in change.shapes
    assert [d.node for d in change.diagnostics_by_node["n1"]] == ["n1"]
    moved = recorded(graph, SetUi("n1", {"x": 1, "y": 2}))
    assert moved.moved == {"n1"} and not moved.inferred


def test_a_problem_found_at_one_node_that_names_another_marks_that_one() -> None:
    graph = chain(("Linear", {"out_features": 3}), ("Softmax", {}), shape=[4])
    graph.set_params("out", {"loss": "MSELoss"})
    change = recorded(graph, SetParams("out", {"loss": "CrossEntropyLoss"}))
    assert "n2" in change.shapes and "n2" not in change.params_changed
    assert [d.code for d in change.diagnostics_by_node["n2"]] == ["softmax_before_cross_entropy"]


def test_diagnostics_are_gathered_once_per_change(monkeypatch) -> None:
    graph = chain(("Linear", {"out_features": 8}), shape=[4])
    engine = engine_for(graph)
    calls = []
    gather = InferenceEngine._gather_diagnostics
    monkeypatch.setattr(InferenceEngine, "_gather_diagnostics",
                        lambda self: calls.append(1) or gather(self))
    first = engine.diagnostics()
    assert engine.totals().errors == 0 and engine.diagnostics() == first and len(calls) == 1
    graph.set_params("n1", {"out_features": 0})
    assert [d.code for d in engine.diagnostics()] != [d.code for d in first]
    engine.has_errors()
    assert len(calls) == 2
    engine.diagnostics().clear()  # a reader's copy: the engine's own stays
    assert engine.has_errors() and len(calls) == 2
