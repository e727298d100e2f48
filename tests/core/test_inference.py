"""The inference engine: every diagnostic the issue names, its message and its one-click fix,
incremental re-inference, events and totals."""

from __future__ import annotations

import pytest
from helpers import chain, codes, engine_for, problems

from dlbuilder.core.commands import History, SetParams
from dlbuilder.core.fixes import apply_fix
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine, ShapesChanged


def only(engine: InferenceEngine, code: str):
    found = [d for d in engine.diagnostics() if d.code == code]
    assert len(found) == 1, [str(d) for d in engine.diagnostics()]
    return found[0]


def fix_it(engine: InferenceEngine, code: str) -> None:
    diag = only(engine, code)
    assert diag.fix is not None, diag
    apply_fix(engine.graph, diag.fix)
    assert code not in codes(engine), [str(d) for d in engine.diagnostics()]


def test_clean_chain_has_no_problems_and_right_totals() -> None:
    engine = engine_for(chain(("Conv2d", {"out_channels": 10, "kernel_size": 5, "padding": 1}),
                              ("Flatten", {}), ("Linear", {"out_features": 10})))
    assert problems(engine) == []  # a hint says the Linear holds most: advice, not a problem
    assert engine.info("n1").output_shape == (10, 26, 26)
    assert engine.info("n1").params == 260
    assert engine.info("n1").macs == 260 * 26 * 26
    assert engine.info("n3").params == 10 * 26 * 26 * 10 + 10
    totals = engine.totals()
    assert totals.params == 260 + 67610
    assert totals.errors == totals.warnings == 0


def test_kernel_larger_than_padded_input() -> None:
    engine = engine_for(chain(("Conv2d", {"out_channels": 4, "kernel_size": 7}), shape=[1, 4, 4]))
    diag = only(engine, "kernel_too_large")
    assert diag.node == "n1" and diag.field == "kernel_size" and diag.severity == "error"
    assert "kernel 7 is larger than the padded input 4 (4 + 2*0)" in diag.message
    assert "lower kernel_size or add padding" in diag.message
    assert engine.info("n1").output_shape is None
    assert engine.info("out").output_shape is None  # blocked, reported once upstream
    assert codes(engine, "out") == []
    fix_it(engine, "kernel_too_large")
    assert engine.graph.params("n1")["padding"] == 2


def test_add_inputs_of_different_shapes_get_a_projection_fix() -> None:
    graph = chain(("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
                  shape=[3, 16, 16])
    graph.add_node("main", "Conv2d", {"out_channels": 16, "kernel_size": 3, "stride": 2,
                                      "padding": 1})
    graph.add_node("add", "Add")
    graph.add_edge("n1", "main")
    graph.add_edge("main", "add")
    graph.add_edge("n1", "add")
    graph.remove_edge("n1", "out")
    graph.add_edge("add", "out")
    engine = engine_for(graph)
    diag = only(engine, "add_shape_mismatch")
    assert diag.node == "add"
    assert "input 1 is 8x16x16 and input 0 is 16x8x8" in diag.message
    assert "channels 8 vs 16, height 16 vs 8, width 16 vs 8" in diag.message
    assert "(input 0 = main, input 1 = n1)" in diag.message
    fix_it(engine, "add_shape_mismatch")
    (proj,) = [n for n in graph.inputs("add") if n != "main"]
    assert graph.type_of(proj) == "Conv2d"
    assert graph.params(proj) == {"out_channels": 16, "kernel_size": 1, "stride": 2}
    assert graph.inputs("add") == ["main", proj]  # the port is kept
    assert engine.info("add").output_shape == (16, 8, 8)


@pytest.mark.parametrize("type_name", ["Linear", "BatchNorm1d"])
def test_linear_or_batchnorm1d_after_image_gets_flatten(type_name: str) -> None:
    params = {"out_features": 10} if type_name == "Linear" else {}
    engine = engine_for(chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}),
                              (type_name, params), shape=[1, 8, 8]))
    diag = only(engine, "wrong_rank")
    assert diag.node == "n2"
    assert "4x6x6 (3 dimensions)" in diag.message and "Flatten" in diag.message
    fix_it(engine, "wrong_rank")
    (flat,) = engine.graph.inputs("n2")
    assert engine.graph.type_of(flat) == "Flatten"
    assert engine.info("n2").output_shape == ((10,) if type_name == "Linear" else (144,))


def test_node_with_no_input_and_unreachable_nodes() -> None:
    graph = chain(("ReLU", {}))
    graph.add_node("lonely", "Conv2d", {"out_channels": 2, "kernel_size": 1})
    graph.add_node("after", "ReLU")
    graph.add_edge("lonely", "after")
    engine = engine_for(graph)
    assert only(engine, "no_input").node == "lonely"
    unreachable = only(engine, "unreachable")
    assert unreachable.node == "after" and "not connected to in" in unreachable.message
    assert only(engine, "unused_result").node == "after"


def test_no_input_node_and_two_input_nodes() -> None:
    graph = Graph()
    graph.add_node("r", "ReLU")
    engine = engine_for(graph)
    assert only(engine, "no_input_node").node is None
    graph.add_node("a", "Input", {"shape": [3]})
    graph.add_node("b", "Input", {"shape": [3]})
    found = [d for d in engine.diagnostics() if d.code == "multiple_input_nodes"]
    assert {d.node for d in found} == {"a", "b"}
    assert "2 Input nodes (a, b)" in found[0].message


def test_several_sinks_without_output_is_an_error_naming_them() -> None:
    graph = chain(("ReLU", {}), output=False)
    graph.add_node("t", "Tanh")
    graph.add_edge("in", "t")
    engine = engine_for(graph)
    found = [d for d in engine.diagnostics() if d.code == "multiple_sinks"]
    assert {d.node for d in found} == {"n1", "t"}
    assert all(d.severity == "error" and "(n1, t)" in d.message for d in found)
    graph.remove_node("t")
    assert only(engine, "no_output").severity == "warning"


def test_softmax_before_cross_entropy_is_a_warning_with_a_fix() -> None:
    engine = engine_for(chain(("Flatten", {}), ("Linear", {"out_features": 10}),
                              ("Softmax", {})))
    diag = only(engine, "softmax_before_cross_entropy")
    assert diag.severity == "warning" and diag.node == "n3"
    fix_it(engine, "softmax_before_cross_entropy")
    assert "n3" not in engine.graph
    assert engine.graph.inputs("out") == ["n2"]
    SetParams("out", {"loss": "MSELoss"}).apply(engine.graph)
    assert engine.diagnostics() == []


@pytest.mark.parametrize(("params", "code", "field", "fixed"), [
    ({"out_channels": 0, "kernel_size": 3}, "param_range", "out_channels", 1),
    ({"out_channels": 4, "kernel_size": [3, -1]}, "param_range", "kernel_size", [3, 1]),
    ({"out_channels": "four", "kernel_size": 3}, "param_type", "out_channels", None),
    ({"out_channels": 4, "kernel_size": 3, "padding": "full"}, "param_type", "padding", None),
    ({"out_channels": 4, "kernel_size": 3, "bias": 1}, "param_type", "bias", None),
    ({"out_channels": 4, "kernel_size": 3, "kernal": 5}, "param_unknown", "kernal", "removed"),
    ({"kernel_size": 3}, "param_missing", "out_channels", None),
])
def test_parameter_problems(params: dict, code: str, field: str, fixed: object) -> None:
    engine = engine_for(chain(("Conv2d", params), shape=[1, 8, 8]))
    diag = only(engine, code)
    assert (diag.node, diag.field, diag.severity) == ("n1", field, "error")
    assert field in diag.message
    if fixed is None:
        return
    fix_it(engine, code)
    if fixed == "removed":
        assert field not in engine.graph.params("n1")
    else:
        assert engine.graph.params("n1")[field] == fixed


def test_range_message_quotes_the_value() -> None:
    engine = engine_for(chain(("Dropout", {"p": 1.5}), shape=[4]))
    assert only(engine, "param_range").message == "p must be at most 1, got 1.5"


def test_choice_problem_lists_the_choices() -> None:
    engine = engine_for(chain(("Upsample", {"scale_factor": 2, "mode": "linear"})))
    message = only(engine, "param_choice").message
    assert "'nearest'" in message and "'bilinear'" in message and "'linear'" in message


def test_multi_input_problem_names_the_nodes_behind_the_ports() -> None:
    graph = chain(("ReLU", {}), shape=[2, 4, 4], output=False)
    graph.add_node("m", "MaxPool2d", {"kernel_size": 2})
    graph.add_node("cat", "Concat", {"dim": 1})
    graph.add_edge("in", "m")
    graph.add_edge("n1", "cat")
    graph.add_edge("m", "cat")
    engine = engine_for(graph)
    diag = only(engine, "concat_shape_mismatch")
    assert "input 1 is 2x2x2 and input 0 is 2x4x4" in diag.message
    assert "(input 0 = n1, input 1 = m)" in diag.message


def test_autoencoder_target_shape_is_checked_against_the_input() -> None:
    graph = chain(("Conv2d", {"out_channels": 1, "kernel_size": 3}), shape=[1, 8, 8])
    graph.set_params("out", {"loss": "MSELoss", "target": "input"})
    engine = engine_for(graph)
    assert "gives 1x6x6" in only(engine, "target_shape").message
    graph.set_params("n1", {"out_channels": 1, "kernel_size": 3, "padding": 1})
    assert "target_shape" not in codes(engine)
    graph.set_params("in", {"shape": [1, 9, 9]})  # the Input changed, the Output rechecks
    assert engine.info("out").output_shape == (1, 9, 9)
    assert "target_shape" not in codes(engine)


def test_explain_fills_in_the_users_numbers() -> None:
    engine = engine_for(chain(("Conv2d", {"out_channels": 10, "kernel_size": 5, "padding": 1}),
                              ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}),
                              ("Linear", {"out_features": 84})))
    conv = "\n".join(engine.explain("n1"))
    assert "H = (28 - 5 + 2*1)/1 + 1 = 26" in conv
    assert "params = (F*F*D1)*K + K = (5*5*1)*10 + 10 = 260" in conv
    assert "H = (26 - 2 + 2*0)/2 + 1 = 13" in "\n".join(engine.explain("n2"))
    assert "params = D1*K + K = 1690*84 + 84 = 142,044" in "\n".join(engine.explain("n4"))


def test_edit_reinfers_only_downstream_and_stops_when_shapes_settle() -> None:
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}),
                  ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("ReLU", {}),
                  ("Flatten", {}), ("Linear", {"out_features": 10}), ("ReLU", {}),
                  shape=[1, 12, 12])
    engine = engine_for(graph)
    events: list[ShapesChanged] = []
    engine.subscribe(events.append)
    graph.set_params("n3", {"out_channels": 8, "kernel_size": 3})
    # n3..n6 change shape or params; the Linear's output is still 10, so nothing after it
    assert engine.last_inferred == ["n3", "n4", "n5", "n6"]
    assert events[-1].nodes == {"n3", "n4", "n5", "n6"}
    graph.set_params("n4", {})  # same values: re-inferred, nothing changed, no event
    assert engine.last_inferred == ["n4"]
    assert len(events) == 1


def test_incremental_results_equal_a_full_inference_through_undo_and_redo() -> None:
    graph = chain(("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Flatten", {}),
                  ("Linear", {"out_features": 10}), shape=[1, 8, 8])
    engine = engine_for(graph)
    history = History(graph)
    history.push(SetParams("n1", {"kernel_size": 9}))
    fix_it(engine, "kernel_too_large")
    history.push(SetParams("n3", {"out_features": 3}))
    for step in (history.undo, history.undo, history.redo):
        step()
        assert engine.infos() == engine_for(graph).infos()


def test_unknown_layer_type_is_a_diagnostic() -> None:
    graph = chain(("Conv3d", {}))
    assert only(engine_for(graph), "unknown_type").node == "n1"


def test_every_diagnostic_serializes() -> None:
    engine = engine_for(chain(("Linear", {"out_features": 3}), ("Softmax", {})))
    for diag in engine.diagnostics():
        data = diag.to_dict()
        assert set(data) == {"node", "field", "severity", "code", "message", "fix"}
        assert data["fix"] is None or isinstance(data["fix"], str)


def test_autoencoder_check_follows_the_input_node_being_replaced() -> None:
    graph = chain(("ReLU", {}), shape=[1, 8, 8])
    graph.set_params("out", {"loss": "MSELoss", "target": "input"})
    engine = engine_for(graph)
    graph.add_node("in2", "Input", {"shape": [1, 4, 4]})  # two Inputs: that error only
    assert "target_shape" not in codes(engine)
    graph.remove_edge("in", "n1")
    graph.remove_node("in")
    graph.add_edge("in2", "n1")
    assert engine.infos() == engine_for(graph).infos()
    graph.add_node("in3", "Input", {"shape": [1, 2, 2]})
    graph.remove_node("in3")
    assert engine.infos() == engine_for(graph).infos()
    graph.remove_node("in2")
    graph.add_node("big", "Input", {"shape": [1, 9, 9]})
    graph.add_edge("big", "n1")
    assert engine.infos() == engine_for(graph).infos()


def test_removing_a_second_input_brings_back_the_autoencoder_check() -> None:
    graph = chain(("Conv2d", {"out_channels": 1, "kernel_size": 3}), shape=[1, 8, 8])
    graph.set_params("out", {"loss": "MSELoss", "target": "input"})
    graph.add_node("extra", "Input", {"shape": [1, 6, 6]})
    engine = engine_for(graph)
    assert "target_shape" not in codes(engine)  # which Input? the two-Inputs error says
    graph.remove_node("extra")
    assert "target_shape" in codes(engine, "out")
    graph.add_node("extra", "Input", {"shape": [1, 6, 6]})
    assert "target_shape" not in codes(engine)


def test_a_failing_rule_becomes_a_diagnostic_not_an_exception() -> None:
    from dlbuilder.core.registry import LayerSpec, Registry
    from dlbuilder.layers import REGISTRY

    def broken(ins, p):
        return ins[0][0] // 0

    registry = Registry()
    registry.register(REGISTRY.get("Input"))
    registry.register(LayerSpec("Broken", "activation", "a rule with a bug", (), broken))
    graph = Graph()
    graph.add_node("in", "Input", {"shape": [3]})
    graph.add_node("b", "Broken")
    graph.add_edge("in", "b")
    engine = InferenceEngine(graph, registry)
    diag = only(engine, "internal_error")
    assert diag.node == "b" and "ZeroDivisionError" in diag.message
    assert engine.info("b").output_shape is None
