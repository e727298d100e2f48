"""The "same padding" fix: a merge whose inputs differ in size because an unpadded odd-kernel
convolution shrank one path is fixed by padding that convolution, (F - 1)/2."""

from __future__ import annotations

from dlbuilder.core.fixes import apply_fix
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY


def block(conv: dict, merge: str = "Add", between: tuple[str, dict] = ("ReLU", {})) -> Graph:
    """in -> conv -> between -> merge, and in -> merge (the shortcut)."""
    graph = Graph()
    graph.add_node("in", "Input", {"shape": [16, 32, 32]})
    graph.add_node("c", "Conv2d", {"out_channels": 16, **conv})
    graph.add_node("mid", between[0], between[1])
    graph.add_node("merge", merge)
    for src, dst in (("in", "c"), ("c", "mid"), ("mid", "merge"), ("in", "merge")):
        graph.add_edge(src, dst)
    return graph


def mismatch(engine: InferenceEngine):
    return next(d for d in engine.diagnostics() if d.code.endswith("shape_mismatch"))


def test_add_after_an_unpadded_conv_offers_same_padding() -> None:
    graph = block({"kernel_size": 5})
    engine = InferenceEngine(graph, REGISTRY)
    problem = mismatch(engine)
    assert "pad the convolutions on the other path" in problem.message
    assert problem.fix is not None and problem.fix.node == "c"
    assert problem.fix.label == "Pad c to keep the size ('same': padding = 2)"
    apply_fix(graph, problem.fix)
    assert graph.params("c")["padding"] == 2
    assert engine.info("merge").output_shape == (16, 32, 32)
    assert not [d for d in engine.diagnostics() if d.severity == "error"]


def test_concat_gets_the_same_fix() -> None:
    engine = InferenceEngine(block({"kernel_size": 3}, "Concat"), REGISTRY)
    assert mismatch(engine).fix.label.endswith("padding = 1)")


def test_a_partly_padded_conv_gets_the_rest() -> None:
    engine = InferenceEngine(block({"kernel_size": 5, "padding": 1}), REGISTRY)
    assert mismatch(engine).fix.label == "Pad c to keep the size ('same': padding = 2)"


def test_no_fix_when_no_padding_keeps_the_size() -> None:
    for conv in ({"kernel_size": 4}, {"kernel_size": 3, "dilation": 2}):
        engine = InferenceEngine(block(conv), REGISTRY)
        assert mismatch(engine).fix is None, conv


def test_no_fix_past_a_layer_that_changed_the_size() -> None:
    graph = block({"kernel_size": 3, "padding": 1}, between=("MaxPool2d", {"kernel_size": 2}))
    problem = mismatch(InferenceEngine(graph, REGISTRY))
    assert problem.fix is not None and "Project" in problem.fix.label  # stride 2 projection
