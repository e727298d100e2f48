"""Blocks in the core: instances inferred per run, problems lifted with their place, the
definitions' graph changes reaching every instance."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from block_graphs import depthwise_graph
from block_strategies import nested_graphs
from helpers import problems
from hypothesis import given

from dlbuilder.core.blocks import (
    BLOCK,
    BLOCK_INPUT,
    BLOCK_OUTPUT,
    BlockDef,
    BlockParam,
    cycle_through,
    instance_arguments,
    ref,
    would_contain_itself,
)
from dlbuilder.core.fileformat import dumps_graph, graph_from_dict, loads_graph
from dlbuilder.core.fixes import apply_fix, with_batchnorm
from dlbuilder.core.graph import Graph
from dlbuilder.core.inference import InferenceEngine
from dlbuilder.layers import REGISTRY

TINY = Path(__file__).parent / "data" / "blocks_tiny.json"
BASIC_PARAMS = 2 * (16 * 16 * 9) + 2 * (2 * 16)  # two bias-free 3x3 convs and two BatchNorms


def tiny_data() -> dict:
    return json.loads(TINY.read_text(encoding="utf-8"))


def tiny(data: dict | None = None) -> tuple[Graph, InferenceEngine]:
    graph = graph_from_dict(data or tiny_data(), REGISTRY)
    return graph, InferenceEngine(graph, REGISTRY)


def test_instances_sum_every_repeat_and_level() -> None:
    _graph, engine = tiny()
    assert engine.info("layer1").params == 3 * BASIC_PARAMS
    assert engine.info("layer2").params == 2 * BASIC_PARAMS  # Stage repeats Basic n = 2 times
    assert engine.info("layer2").output_shape == (16, 32, 32)
    assert engine.totals().errors == 0 and engine.totals().warnings == 0
    assert engine.totals().params == 448 + 5 * BASIC_PARAMS + 170


def test_runs_show_the_inside_for_each_repeat() -> None:
    _graph, engine = tiny()
    runs = engine.runs("layer1")
    assert len(runs) == 3 and all(run.in_shapes == ((16, 32, 32),) for run in runs)
    assert runs[0].checked_params("conv1")["out_channels"] == 16
    assert runs[0].env == {"channels": 16}
    (stage,) = engine.runs("layer2")
    assert [r.env for r in stage.runs("0")] == [{"channels": 16}] * 2
    assert engine.checked_params("layer1") == {"block": "Basic", "repeat": 3, "channels": 16}
    assert engine.runs("conv1") == []


def test_a_block_without_an_output_is_a_problem_not_a_crash() -> None:
    data = tiny_data()
    basic = data["blocks"][0]
    basic["nodes"] = [n for n in basic["nodes"] if n["id"] != "y"]
    basic["edges"] = [e for e in basic["edges"] if e["to"] != "y"]
    _graph, engine = tiny(data)
    (problem,) = [d for d in engine.info("layer1").diagnostics if d.code == "block_no_ports"]
    assert "the block has no BlockOutput" in problem.message
    assert engine.info("layer1").output_shape is None


def test_an_instance_without_its_input_has_no_runs() -> None:
    graph, engine = tiny()
    graph.remove_edge("conv1", "layer1")
    assert engine.runs("layer1") == [] and engine.info("layer1").output_shape is None


def test_identical_runs_are_evaluated_once() -> None:
    _graph, engine = tiny()
    (stage,) = engine.runs("layer2")
    assert engine.runs("layer1")[0] is stage.runs("0")[0]


def test_activations_count_inner_layers_not_ports() -> None:
    graph, engine = tiny()
    run = engine.runs("layer1")[0]
    layers = [i for i in run.infos() if i.type not in (BLOCK_INPUT, BLOCK_OUTPUT)]
    assert engine.info("layer1").activations == 3 * sum(i.activations for i in layers)


def test_a_problem_inside_names_its_place_and_fixes_the_definition() -> None:
    data = tiny_data()
    conv = data["blocks"][0]["nodes"][1]
    conv["params"].update(kernel_size=40, padding=0)
    graph, engine = tiny(data)
    (first,) = [d for d in engine.diagnostics() if d.code == "kernel_too_large"]
    assert first.node == "layer1"  # and layer2, downstream, waits for it
    assert first.message.startswith("layer1.0/conv1: kernel 40 is larger")
    assert first.inside == ("layer1", "conv1")
    assert first.fix is not None and first.fix.block == "Basic"
    graph.remove_node("layer1")
    graph.add_edge("conv1", "layer2")
    (nested,) = [d for d in engine.diagnostics() if d.code == "kernel_too_large"]
    assert nested.message.startswith("layer2.0.0/conv1:")  # through Stage, repeat 0 of Basic
    assert nested.inside == ("layer2", "0", "conv1")
    assert nested.fix is not None and nested.fix.block == "Basic"


def test_editing_a_definition_updates_every_instance() -> None:
    graph, engine = tiny()
    seen = []
    engine.subscribe(lambda message: seen.append(message.nodes))
    inner = graph.block("Basic").graph
    inner.set_params("conv1", {**inner.params("conv1"), "bias": True})
    assert engine.info("layer1").params == 3 * (BASIC_PARAMS + 16)
    assert engine.info("layer2").params == 2 * (BASIC_PARAMS + 16)
    assert seen and {"layer1", "layer2"} <= seen[-1]


def test_arguments_reach_references() -> None:
    data = tiny_data()
    _set_node(data["nodes"], "layer1", params={"block": "Basic", "channels": 16, "repeat": 1})
    _set_node(data["nodes"], "layer2", params={"block": "Stage", "channels": 32, "n": 1})
    _graph, engine = tiny(data)
    problems = [d for d in engine.diagnostics() if d.severity == "error"]
    assert problems and all(d.node == "layer2" for d in problems)
    assert any(d.code == "add_shape_mismatch" for d in problems)  # 32 channels + 16 shortcut


def test_bad_arguments_are_errors_on_their_field() -> None:
    data = tiny_data()
    _set_node(data["nodes"], "layer1", params={"block": "Basic", "channels": 0, "width": 3,
                                               "repeat": 0})
    _graph, engine = tiny(data)
    found = {(d.field, d.code) for d in engine.info("layer1").diagnostics}
    assert found == {("channels", "block_arguments"), ("width", "block_arguments"),
                     ("repeat", "block_arguments")}
    messages = " ".join(d.message for d in engine.info("layer1").diagnostics)
    assert "below its minimum 1" in messages and "no parameter 'width'" in messages


def test_unknown_block_and_missing_wires() -> None:
    graph, engine = tiny()
    graph.add_node("ghost", BLOCK, {"block": "Nope"})
    (diag,) = engine.info("ghost").diagnostics
    assert diag.code == "unknown_block" and "Basic, Stage" in diag.message
    graph.set_params("ghost", {"block": "Basic"})
    assert [d.code for d in engine.info("ghost").diagnostics] == ["no_input"]


def test_a_reference_outside_a_block_is_an_error() -> None:
    graph, engine = tiny()
    graph.set_params("conv1", {**graph.params("conv1"), "out_channels": ref("channels")})
    (diag,) = engine.info("conv1").diagnostics
    assert diag.code == "bad_reference" and diag.field == "out_channels"
    assert "not inside a block" in diag.message


def test_a_bad_reference_inside_names_the_field() -> None:
    data = tiny_data()
    data["blocks"][0]["nodes"][1]["params"]["out_channels"] = ref("width * 2")
    _graph, engine = tiny(data)
    diag = next(d for d in engine.diagnostics() if d.code == "bad_reference")
    assert diag.node == "layer1" and "layer1.0/conv1: out_channels:" in diag.message
    assert "'width'" in diag.message


def test_ports_outside_a_block_are_errors() -> None:
    graph, engine = tiny()
    graph.add_node("p", BLOCK_INPUT)
    assert [d.code for d in engine.info("p").diagnostics] == ["port_outside_block"]


def test_a_repeated_block_must_chain() -> None:
    inner = Graph("Two")
    for node, type_name in (("a", BLOCK_INPUT), ("b", BLOCK_INPUT), ("add", "Add"),
                            ("y", BLOCK_OUTPUT)):
        inner.add_node(node, type_name)
    for src, dst in (("a", "add"), ("b", "add"), ("add", "y")):
        inner.add_edge(src, dst)
    graph, engine = tiny()
    graph.add_block(BlockDef("Two", (), inner))
    graph.add_node("two", BLOCK, {"block": "Two", "repeat": 2})
    graph.add_edge("conv1", "two")
    graph.add_edge("layer1", "two")
    (diag,) = engine.info("two").diagnostics
    assert diag.code == "block_repeat" and "2 inputs and 1 outputs" in diag.message
    graph.set_params("two", {"block": "Two"})
    assert engine.info("two").diagnostics == ()
    assert engine.info("two").output_shape == (16, 32, 32)


def test_a_block_that_contains_itself_is_found() -> None:
    graph, engine = tiny()
    stage = graph.block("Stage").graph
    stage.add_node("again", BLOCK, {"block": "Stage"})
    assert cycle_through(graph.blocks, "Stage") == ["Stage", "Stage"]
    assert would_contain_itself(graph.blocks, "Stage", "Basic") is None
    assert would_contain_itself(graph.blocks, "Basic", "Stage") == ["Basic", "Stage", "Basic"]
    diags = engine.info("layer2").diagnostics
    assert any(d.code == "block_contains_itself" and "Stage > Stage" in d.message
               for d in diags)


def test_instance_arguments_fill_defaults_and_resolve() -> None:
    defn = BlockDef("B", (BlockParam("c", 8, 1, 64), BlockParam("s", 1)), Graph("B"))
    args, repeat, problems = instance_arguments(defn, {"c": ref("w * 2"), "repeat": ref("w")},
                                                {"w": 3})
    assert (args, repeat, problems) == ({"c": 6, "s": 1}, 3, [])
    _, _, problems = instance_arguments(defn, {"c": ref("w * 2")}, None)
    assert problems and "not inside a block" in problems[0][1]


def test_explain_an_instance() -> None:
    _graph, engine = tiny()
    lines = engine.explain("layer1")
    assert lines[0] == "layer1 runs block Basic 3 times, each repeat's output feeding the next"
    assert lines[-1].endswith(f"= {3 * BASIC_PARAMS:,}")


def _set_node(nodes: list[dict], node: str, **changes) -> None:
    entry = next(n for n in nodes if n["id"] == node)
    entry.update(copy.deepcopy(changes))


@pytest.mark.parametrize("node", ["x", "y"])
def test_port_inputs_are_checked(node: str) -> None:
    data = tiny_data()
    edges = data["blocks"][0]["edges"]
    if node == "x":
        data["blocks"][0]["nodes"].append({"id": "extra", "type": "ReLU"})
        edges.append({"from": "extra", "to": "x"})
    else:
        edges.remove({"from": "relu2", "to": "y"})
    _graph, engine = tiny(data)
    codes = {d.code for d in engine.diagnostics()}
    assert codes & {"too_many_inputs", "no_input", "unreachable"}


@given(nested_graphs())
def test_random_nested_graphs_are_valid_and_survive_the_file(graph: Graph) -> None:
    engine = InferenceEngine(graph, REGISTRY)
    assert problems(engine) == []
    again = InferenceEngine(loads_graph(dumps_graph(graph), REGISTRY), REGISTRY)
    assert again.totals() == engine.totals()
    assert [i.output_shape for i in again.infos()] == [i.output_shape for i in engine.infos()]


def test_a_softmax_ending_a_block_before_cross_entropy_is_found_inside() -> None:
    inner = Graph("Head")
    for node, type_name, params in (("x", BLOCK_INPUT, {}),
                                    ("fc", "Linear", {"out_features": ref("classes")}),
                                    ("soft", "Softmax", {}), ("y", BLOCK_OUTPUT, {})):
        inner.add_node(node, type_name, params)
    for src, dst in (("x", "fc"), ("fc", "soft"), ("soft", "y")):
        inner.add_edge(src, dst)
    graph = Graph("classifier")
    graph.add_block(BlockDef("Head", (BlockParam("classes", 10),), inner))
    graph.add_node("in", "Input", {"shape": [8]})
    graph.add_node("head", BLOCK, {"block": "Head", "repeat": 1})
    graph.add_node("out", "Output")
    graph.add_edge("in", "head")
    graph.add_edge("head", "out")
    engine = InferenceEngine(graph, REGISTRY)
    (warning,) = engine.diagnostics()
    assert warning.code == "softmax_before_cross_entropy"
    assert warning.node == "head" and warning.inside == ("head", "soft")
    assert warning.message.startswith("head/soft applies Softmax")
    assert warning.fix is not None and warning.fix.block == "Head"


def test_a_reference_may_name_the_inputs_channels() -> None:
    engine = InferenceEngine(depthwise_graph(), REGISTRY)
    assert [d.code for d in engine.diagnostics()] == ["no_output"]
    assert engine.runs("a")[0].checked_params("dw")["groups"] == 4
    assert engine.runs("b")[0].checked_params("dw")["groups"] == 8
    assert engine.info("b").output_shape == (16, 8, 8)
    assert engine.info("a").params == (4 * 9 + 4) + (4 * 8 + 8)


def test_a_projection_fixed_in_a_definition_takes_its_size_from_the_block() -> None:
    graph, engine = tiny()
    graph.remove_node("layer2")
    graph.set_params("layer1", {"block": "Basic", "channels": 32})  # 16 channels come in
    graph.add_node("layer3", BLOCK, {"block": "Basic", "channels": 64})
    graph.add_edge("layer1", "layer3")
    graph.add_edge("layer3", "pool")
    problem = next(d for d in engine.diagnostics() if d.node == "layer1"
                   and d.code == "add_shape_mismatch")
    assert problem.fix is not None and problem.fix.block == "Basic"
    assert problem.fix.remedy.params["out_channels"] == ref("channels")
    apply_fix(graph, problem.fix)
    assert engine.totals().errors == 0  # both instances, 16 -> 32 and 32 -> 64


def test_the_batchnorm_variant_of_a_fix_inside_a_block_stays_in_the_block() -> None:
    graph, engine = tiny()
    graph.set_params("layer1", {"block": "Basic", "channels": 32, "repeat": 3})
    problem = next(d for d in engine.diagnostics() if d.code == "add_shape_mismatch")
    variant = with_batchnorm(problem.fix)
    assert variant is not None and variant.block == "Basic"
    apply_fix(graph, variant)
    assert not [d for d in engine.diagnostics() if d.node == "layer1" and d.severity == "error"]
