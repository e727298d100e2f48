"""Design hints: each fires on a crafted graph, not on its near misses, and on the shipped
examples only where the example really has the problem; fixes apply; dismissals undo and
survive the file."""

from __future__ import annotations

import pytest
from helpers import chain, engine_for, example_graph

from dlbuilder.core.commands import History
from dlbuilder.core.diagnostics import shown_severity
from dlbuilder.core.fileformat import GraphFileError, dumps_graph, loads_graph
from dlbuilder.core.fixes import apply_fix
from dlbuilder.core.graph import Graph
from dlbuilder.core.grouping import group_nodes
from dlbuilder.core.hints import PLAIN_LIMIT, SetDismissed, dismiss
from dlbuilder.layers import REGISTRY
from dlbuilder.resources import example_names

CONV = ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1})


def hint_codes(graph: Graph) -> list[tuple[str, str]]:
    return [(d.node, d.code) for d in engine_for(graph).diagnostics() if d.severity == "hint"]


def only_hint(graph: Graph, code: str):
    (found,) = [d for d in engine_for(graph).diagnostics() if d.code == code]
    assert found.severity == "hint"
    return found


# -- dense_holds_most --------------------------------------------------------------------------
def test_dense_after_flattened_conv_map_holds_most_and_the_fix_pools() -> None:
    graph = chain(CONV, ("Flatten", {}), ("Linear", {"out_features": 10}))
    hint = only_hint(graph, "dense_holds_most")
    assert hint.node == "n3" and "100% of the parameters (62,730 of 62,810)" in hint.message
    apply_fix(graph, hint.fix)
    engine = engine_for(graph)
    assert engine.info("n3").params == 8 * 10 + 10
    assert "dense_holds_most" not in [d.code for d in engine.diagnostics()]


@pytest.mark.parametrize("layers", [
    [("Flatten", {}), ("Linear", {"out_features": 10})],  # an MLP on the raw image
    [CONV, ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}),
     ("Linear", {"out_features": 10})],  # already pooled: 1x1 map
    [("Conv2d", {"out_channels": 64, "kernel_size": 5, "padding": 2}),
     ("MaxPool2d", {"kernel_size": 14}), ("Flatten", {}),
     ("Linear", {"out_features": 10})],  # 64x2x2 map: the convolution holds most
])
def test_dense_holds_most_near_misses(layers) -> None:
    assert "dense_holds_most" not in [c for _, c in hint_codes(chain(*layers, shape=[3, 28, 28]))]


# -- bias_before_batchnorm ---------------------------------------------------------------------
def test_bias_before_batchnorm_fires_on_the_conv_and_the_fix_drops_the_bias() -> None:
    graph = chain(CONV, ("BatchNorm2d", {}), ("ReLU", {}))
    hint = only_hint(graph, "bias_before_batchnorm")
    assert hint.node == "n1" and "saves 8 parameters" in hint.message
    apply_fix(graph, hint.fix)
    assert graph.params("n1")["bias"] is False
    assert hint_codes(graph) == []


def test_bias_before_batchnorm_near_misses() -> None:
    no_bias = chain(("Conv2d", {"out_channels": 8, "kernel_size": 3, "bias": False}),
                    ("BatchNorm2d", {}))
    relu_between = chain(CONV, ("ReLU", {}), ("BatchNorm2d", {}))
    shared = chain(CONV, ("BatchNorm2d", {}), ("Add", {}))
    shared.add_edge("n1", "n3")  # the conv's output also goes elsewhere: its bias counts
    for graph in (no_bias, relu_between, shared):
        assert "bias_before_batchnorm" not in [c for _, c in hint_codes(graph)]


# -- dropout_before_batchnorm ------------------------------------------------------------------
def test_dropout_right_before_batchnorm_and_the_fix_removes_it() -> None:
    graph = chain(("Flatten", {}), ("Linear", {"out_features": 20, "bias": False}),
                  ("Dropout", {}), ("BatchNorm1d", {}))
    hint = only_hint(graph, "dropout_before_batchnorm")
    assert hint.node == "n3"
    apply_fix(graph, hint.fix)
    assert "n3" not in graph and graph.inputs("n4") == ["n2"]
    near = chain(("Flatten", {}), ("Linear", {"out_features": 20, "bias": False}),
                 ("BatchNorm1d", {}), ("Dropout", {}))
    assert "dropout_before_batchnorm" not in [c for _, c in hint_codes(near)]


# -- deep_plain_stack --------------------------------------------------------------------------
def test_deep_plain_stack_fires_once_at_its_end() -> None:
    graph = chain(*[CONV] * (PLAIN_LIMIT + 1), shape=[3, 8, 8])
    assert hint_codes(graph) == [(f"n{PLAIN_LIMIT + 1}", "deep_plain_stack")]
    assert f"{PLAIN_LIMIT + 1} convolutions in a row" in \
        only_hint(graph, "deep_plain_stack").message
    assert hint_codes(chain(*[CONV] * PLAIN_LIMIT, shape=[3, 8, 8])) == []


def test_a_skip_connection_breaks_a_deep_stack() -> None:
    graph = chain(*[CONV] * (PLAIN_LIMIT + 1), shape=[3, 8, 8], output=False)
    graph.add_node("add", "Add", {})
    graph.remove_edge("n11", "n12")
    graph.add_edge("n11", "add")
    graph.add_edge("n10", "add")  # n11 + n10: a residual shortcut mid-stack
    graph.add_edge("add", "n12")
    assert hint_codes(graph) == []


def test_a_deep_stack_counts_the_convolutions_inside_blocks() -> None:
    graph = chain(*[CONV] * (PLAIN_LIMIT + 1), shape=[3, 8, 8])
    group_nodes(graph, [f"n{i}" for i in range(2, 8)], "Six").apply(graph)
    assert [c for _, c in hint_codes(graph)] == ["deep_plain_stack"]


# -- saturating_activation ---------------------------------------------------------------------
def test_tanh_deep_in_a_conv_stack_and_the_fix_makes_it_relu() -> None:
    graph = chain(CONV, CONV, CONV, ("Tanh", {}), CONV, shape=[3, 8, 8])
    hint = only_hint(graph, "saturating_activation")
    assert hint.node == "n4" and "3 convolutions before it, 1 after" in hint.message
    assert "slope is at most 1 " in hint.message
    apply_fix(graph, hint.fix)
    assert graph.type_of("n4") == "ReLU" and graph.inputs("n5") == ["n4"]
    assert hint_codes(graph) == []


def test_saturating_near_misses() -> None:
    shallow = chain(CONV, CONV, ("Sigmoid", {}), CONV, shape=[3, 8, 8])
    at_the_end = chain(CONV, CONV, CONV, ("Sigmoid", {}), shape=[3, 8, 8])
    gate = chain(CONV, CONV, CONV, ("Sigmoid", {}), ("Mul", {}), CONV, shape=[3, 8, 8])
    gate.add_edge("n3", "n5")  # x * sigmoid(x): an attention gate
    for graph in (shallow, at_the_end, gate):
        assert "saturating_activation" not in [c for _, c in hint_codes(graph)]


# -- severity, examples ------------------------------------------------------------------------
def test_hints_are_quieter_than_everything_else() -> None:
    assert shown_severity([("hint", "dense_holds_most")]) == "hint"
    assert shown_severity([("hint", "x"), ("warning", "no_output")]) == "warning"
    assert shown_severity([("hint", "x"), ("error", "no_input")]) == "pending"
    graph = chain(CONV, ("BatchNorm2d", {}), output=False)
    engine = engine_for(graph)
    assert not engine.has_errors()
    assert (engine.totals().warnings, engine.totals().hints) == (1, 1)  # no_output; the bias


EXPECTED = {  # the examples that really have the problem (see core/hints.py's docstring)
    "digits_cnn": [("conv1", "bias_before_batchnorm"), ("fc1", "dense_holds_most")],
    "lenet5": [("f5", "dense_holds_most")],
    "mlp_mnist": [("fc1", "bias_before_batchnorm")],
}


@pytest.mark.parametrize("name", example_names())
def test_examples_get_only_the_hints_they_deserve(name: str) -> None:
    assert hint_codes(example_graph(name)) == EXPECTED.get(name, [])


# -- dismissal ---------------------------------------------------------------------------------
def test_dismissal_hides_the_hint_undoes_and_survives_the_file() -> None:
    graph = chain(CONV, ("BatchNorm2d", {}), output=False)
    history = History(graph)
    engine = engine_for(graph)
    hint = next(d for d in engine.diagnostics() if d.severity == "hint")
    history.push(dismiss(graph, hint))
    assert graph.dismissed("n1") == ("bias_before_batchnorm",)
    assert [d for d in engine.diagnostics() if d.severity == "hint"] == []  # cache dropped
    again = loads_graph(dumps_graph(graph), REGISTRY)
    assert again.dismissed("n1") == ("bias_before_batchnorm",)
    assert hint_codes(again) == []
    history.undo()
    assert graph.dismissed("n1") == () and len(hint_codes(graph)) == 1
    assert '"dismissed"' not in dumps_graph(graph)  # written only when there is one


def test_unknown_dismissed_codes_are_kept_and_bad_ones_named() -> None:
    graph = chain(CONV)
    SetDismissed("n1", "some_future_hint").apply(graph)
    assert loads_graph(dumps_graph(graph), REGISTRY).dismissed("n1") == ("some_future_hint",)
    text = dumps_graph(graph).replace('["some_future_hint"]', '"oops"')
    with pytest.raises(GraphFileError, match=r"n1.*dismissed.*list of hint codes"):
        loads_graph(text, REGISTRY)


def test_a_hint_inside_a_block_is_dismissed_in_the_definition() -> None:
    graph = chain(CONV, ("BatchNorm2d", {}), ("ReLU", {}), shape=[3, 8, 8], output=False)
    group_nodes(graph, ["n1", "n2"], "ConvBn").apply(graph)
    engine = engine_for(graph)
    hint = next(d for d in engine.diagnostics() if d.severity == "hint")
    assert hint.inside[-1] == "n1" and hint.fix.block == "ConvBn"
    history = History(graph)
    history.push(dismiss(graph, hint))
    assert graph.block("ConvBn").graph.dismissed("n1") == ("bias_before_batchnorm",)
    assert [d for d in engine.diagnostics() if d.severity == "hint"] == []
    history.undo()
    assert [d.code for d in engine.diagnostics() if d.severity == "hint"] == [
        "bias_before_batchnorm"]


# -- small_receptive_field ---------------------------------------------------------------------
def test_a_last_convolution_that_sees_little_of_the_image_gets_a_hint() -> None:
    graph = chain(CONV, CONV, ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}),
                  ("Linear", {"out_features": 10}), shape=[3, 16, 16])
    hint = only_hint(graph, "small_receptive_field")
    assert hint.node == "n2" and "sees 5x5 pixels of the 16x16 input" in hint.message
    assert hint.fix is None  # more depth or stride: a design decision, not one click


def test_small_receptive_field_near_misses() -> None:
    strided = chain(CONV, ("Conv2d", {"out_channels": 8, "kernel_size": 3, "stride": 2}), CONV,
                    ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}),
                    ("Linear", {"out_features": 10}), shape=[3, 16, 16])  # sees 9x9: over half
    small_image = chain(CONV, CONV, ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}),
                     ("Linear", {"out_features": 10}), shape=[3, 8, 8])  # sees 5x5 of 8x8
    autoencoder = chain(CONV, CONV, shape=[3, 16, 16])  # maps to maps: nothing sees the whole
    for graph in (strided, small_image, autoencoder):
        assert "small_receptive_field" not in [c for _, c in hint_codes(graph)]
